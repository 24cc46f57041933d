"""Dockerfile bytes -> AST with line ranges, ported from BuildKit's ``frontend/dockerfile/parser/parser.go``.

Handles parser directives at the top (``# escape=`` with a backslash or a backtick, ``# syntax=`` and ``# check=``
recorded and otherwise ignored), line continuations with the escape token (comment and blank lines inside a
continuation are skipped; blank ones produce a warning), heredocs (``<<EOF``, ``<<-EOF``, quoted delimiters that
disable expansion, several per line, in RUN/COPY/ADD and ONBUILD of those), exec (JSON) form versus shell form, and
builder flags (``--from=...``). Keywords are case-insensitive. Every node keeps its first and last line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .errors import DockerfileError, go_quote
from .lineparse import LineArgs, parse_line_args, split_command
from .shell import ExpansionError, ShellLexer

__all__ = ["Directive", "Heredoc", "Node", "ParseResult", "ParseWarning", "chomp_heredoc", "parse", "parse_heredoc"]

_MAX_LINE = 64 * 1024
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*\Z")
_VALID_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC = re.compile(r"(\d*)<<(-?)([^<]*)\Z")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
_HEREDOC_KEYWORDS = frozenset({"add", "copy", "run"})
_EMPTY_CONTINUATION_URL = "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/"


@dataclass(frozen=True)
class Heredoc:
    """One heredoc: its delimiter ``name``, raw ``content`` (with the trailing newline), whether ``$VAR`` in it is
    expanded (not when the delimiter was quoted), whether leading tabs are stripped (``<<-``), the fd (``3<<EOF``)."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0

    @property
    def text(self) -> str:
        """The content with leading tabs removed for ``<<-`` heredocs."""
        return chomp_heredoc(self.content) if self.chomp else self.content


@dataclass(frozen=True)
class Node:
    """One instruction as parsed: ``value`` is the keyword as written, ``args`` as BuildKit's ``nodeArgs``
    (ENV/LABEL as key, value, delimiter triples; ONBUILD as the trigger keyword then its arguments)."""

    value: str
    args: tuple[str, ...]
    flags: tuple[str, ...]
    original: str
    start_line: int
    end_line: int
    json: bool = False
    heredocs: tuple[Heredoc, ...] = ()
    child: Node | None = None
    comments: tuple[str, ...] = ()

    @property
    def keyword(self) -> str:
        return self.value.lower()

    def dump(self) -> str:
        """BuildKit's ``Node.Dump`` s-expression, e.g. ``(copy ["--from=a"] "x" "/y")``, for golden tests."""
        out = self.keyword
        if self.flags:
            out += " [" + " ".join(go_quote(f) for f in self.flags) + "]"
        if self.child is not None:
            return f"{out} ({self.child.dump()})"
        args = self.args
        if self.keyword in ("env", "label"):
            args = tuple(a for i, a in enumerate(args) if i % 3 != 2)
        for arg in args:
            out += " " + go_quote(arg)
        return out


@dataclass(frozen=True)
class Directive:
    name: str
    value: str
    line: int


@dataclass(frozen=True)
class ParseWarning:
    short: str
    detail: str
    url: str
    line: int


@dataclass(frozen=True)
class ParseResult:
    nodes: tuple[Node, ...]
    escape_token: str
    directives: tuple[Directive, ...] = ()
    warnings: tuple[ParseWarning, ...] = field(default=())

    def dump(self) -> str:
        return "".join(f"({n.dump()})\n" for n in self.nodes)


def chomp_heredoc(content: str) -> str:
    """Remove leading tabs from every line (``<<-EOF``)."""
    return _LEADING_TABS.sub("", content)


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.continuation = _continuation_regex("\\")
        self.done = False
        self.seen: list[Directive] = []

    def feed(self, line: str, lineno: int) -> bool:
        """Look for a parser directive in ``line``; True if it was one."""
        if self.done:
            return False
        if not line.startswith("#"):
            self.done = True
            return False
        m = _DIRECTIVE.match(line[1:].lstrip())
        if not m or m.group(1).lower() not in _VALID_DIRECTIVES:
            self.done = True
            return False
        name, value = m.group(1).lower(), m.group(2)
        if any(d.name == name for d in self.seen):
            raise DockerfileError(f"only one {name} parser directive can be used", line=lineno)
        self.seen.append(Directive(name, value, lineno))
        if name == "escape":
            if value not in ("`", "\\"):
                raise DockerfileError(f"invalid escape token '{value}' does not match ` or \\", line=lineno)
            self.escape = value
            self.continuation = _continuation_regex(value)
        return True


def _continuation_regex(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z")


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _trim_continuation(line: str, d: _Directives) -> tuple[str, bool]:
    m = d.continuation.search(line)
    if m:
        return line[: m.start()] + (m.group(1) or ""), False
    return line, True


def parse_heredoc(word: str) -> Heredoc | None:
    """BuildKit's ``ParseHeredoc``: the heredoc a word like ``<<-"EOF"`` introduces, or None."""
    m = _HEREDOC.match(word)
    if not m:
        return None
    fd = int(m.group(1)) if m.group(1) else 0
    chomp = m.group(2) == "-"
    rest = m.group(3)
    if not rest:
        return None
    try:
        words = ShellLexer("\\", skip_unset_env=True).process_words(rest, {})
        if len(words) != 1:
            return None
        raw_words = ShellLexer("\\", skip_unset_env=True, raw_quotes=True).process_words(rest, {})
    except ExpansionError as exc:
        raise DockerfileError(str(exc)) from None
    if len(raw_words) != len(words):
        raise DockerfileError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name = words[0]
    quotes = name.count("'") + name.count('"')
    raw_quotes = raw_words[0].count("'") + raw_words[0].count('"')
    return Heredoc(name=name, expand=quotes == raw_quotes, chomp=chomp, fd=fd)


def _heredocs_from_line(line: str) -> list[Heredoc]:
    lex = ShellLexer("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process_words(line, {})
    except ExpansionError:
        words = []
    docs = []
    for word in words:
        doc = parse_heredoc(word)
        if doc is not None:
            docs.append(doc)
    return docs


def _new_node(line: str, d: _Directives, comments: tuple[str, ...], start: int, end: int) -> Node:
    cmd, flags, rest = split_command(line)
    keyword = cmd.lower()
    parsed: LineArgs = parse_line_args(keyword, rest, d.escape)
    child = None
    args = parsed.args
    if parsed.sub is not None:
        child = _new_node(parsed.sub, d, (), start, end)
        args = (child.value, *child.args)
    return Node(
        value=cmd,
        args=args,
        flags=tuple(flags),
        original=line,
        start_line=start,
        end_line=end,
        json=parsed.json,
        child=child,
        comments=comments,
    )


def _can_contain_heredoc(node: Node) -> bool:
    if node.keyword == "onbuild" and node.child is not None:
        node = node.child
    return node.keyword in _HEREDOC_KEYWORDS and not node.json


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "surrogateescape")


def parse(data: bytes | str, filename: str = "Dockerfile") -> ParseResult:
    """Parse a Dockerfile into nodes. Raises :class:`DockerfileError` (an InvalidArgument) naming file and line."""
    text = _decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    pieces = text.split("\n")
    # Go's line scanner splits only at "\n" and keeps it: heredoc content must stay byte-exact.
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    try:
        return _parse_lines(lines)
    except DockerfileError as exc:
        # Errors of the parser proper are not wrapped as "dockerfile parse error line N" by dockerd's classic builder.
        raise DockerfileError(
            exc.detail, filename=filename, line=exc.line, end_line=exc.end_line, parse_error=False
        ) from None


def _parse_lines(lines: list[str]) -> ParseResult:
    d = _Directives()
    nodes: list[Node] = []
    warnings: list[ParseWarning] = []
    comments: list[str] = []
    current = 0
    total = len(lines)
    i = 0

    def next_line() -> str | None:
        nonlocal i
        if i >= total:
            return None
        raw = lines[i]
        i += 1
        if len(raw.encode("utf-8", "surrogateescape")) > _MAX_LINE:
            raise DockerfileError(f"dockerfile line greater than max allowed size of {_MAX_LINE - 1}")
        return raw

    while (raw := next_line()) is not None:
        if _is_comment(raw):
            comment = _trim_newline(raw)[1:].strip()
            if comment == "":
                comments = []
            else:
                comments.append(comment)
        token = _trim_newline(raw).lstrip()
        if d.feed(token, current + 1) and comments:
            comments.pop()
        current += 1
        start = current
        body = "" if _is_comment(token) else token
        body, end_of_line = _trim_continuation(body, d)
        if end_of_line and body == "":
            continue
        parts = [body]
        empty_continuation = False
        while not end_of_line:
            raw2 = next_line()
            if raw2 is None:
                break
            token2 = _trim_newline(raw2)
            d.feed(token2, current + 1)
            current += 1
            if _is_comment(raw2):
                continue
            if token2.lstrip() == "":
                empty_continuation = True
                continue
            token2, end_of_line = _trim_continuation(token2, d)
            parts.append(token2)
        line = "".join(parts)
        if empty_continuation:
            warnings.append(
                ParseWarning(
                    short="Empty continuation line found in: " + line,
                    detail="Empty continuation lines will become errors in a future release",
                    url=_EMPTY_CONTINUATION_URL,
                    line=current,
                )
            )
        try:
            node = _new_node(line, d, tuple(comments), start, current)
        except DockerfileError as exc:
            raise exc.located("", start, current) from None
        if _can_contain_heredoc(node) and "<<" in line:
            heredocs = []
            for doc in _heredocs_from_line(line):
                terminated = False
                content: list[str] = []
                while (raw3 := next_line()) is not None:
                    current += 1
                    candidate = _trim_newline(raw3)
                    if doc.chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == doc.name:
                        terminated = True
                        break
                    content.append(raw3)
                if not terminated:
                    raise DockerfileError("unterminated heredoc", line=start, end_line=current)
                heredocs.append(Heredoc(doc.name, "".join(content), doc.expand, doc.chomp, doc.fd))
            node = _with_heredocs(node, tuple(heredocs), current)
        nodes.append(node)
        comments = []
    if not nodes:
        raise DockerfileError("file with no instructions", line=max(current, 1))
    return ParseResult(tuple(nodes), d.escape, tuple(d.seen), tuple(warnings))


def _with_heredocs(node: Node, heredocs: tuple[Heredoc, ...], end: int) -> Node:
    return replace(node, heredocs=heredocs, end_line=end)
