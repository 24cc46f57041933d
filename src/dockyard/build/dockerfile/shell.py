"""Docker's word expansion, ported from BuildKit's ``frontend/dockerfile/shell/lex.go``.

``expand(word, env)`` is BuildKit's ``ProcessWord`` (quotes removed, variables substituted, one string out);
``expand_words(text, env)`` is ``ProcessWords`` (the same, then split on whitespace outside quotes; the value of an
unquoted variable is split too). Supported: ``$VAR``, ``${VAR}``, ``${VAR:-w}``, ``${VAR-w}``, ``${VAR:+w}``,
``${VAR+w}``, ``${VAR:?msg}``, ``${VAR?msg}``, ``${VAR#pat}``, ``${VAR##pat}``, ``${VAR%pat}``, ``${VAR%%pat}``,
``${VAR/pat/repl}``, ``${VAR//pat/repl}``; single quotes are literal, double quotes allow ``$`` and escapes of
``"``, ``$`` and the escape token. Unset variables expand to the empty string; ``Expansion.unmatched`` names them.

Which instruction expands which argument is decided in ``instructions.py`` (RUN, CMD, ENTRYPOINT, SHELL and
HEALTHCHECK are never expanded: the container's shell does it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

from .errors import go_quote

__all__ = ["Expansion", "ExpansionError", "ShellLexer", "expand", "expand_with_matches", "expand_words", "go_isspace"]

_EOF = ""


class ExpansionError(InvalidArgument):
    """A word that cannot be expanded (``failed to process "${}": syntax error: bad substitution``)."""


@dataclass(frozen=True)
class Expansion:
    """The result of expanding one word: the string, its whitespace-split words, and the variables looked up."""

    result: str
    words: tuple[str, ...]
    matched: frozenset[str]
    unmatched: frozenset[str]


def go_isspace(ch: str) -> bool:
    """Go's ``unicode.IsSpace``."""
    if ch < "\x80":
        return ch in " \t\n\v\f\r"
    return ch in "\x85\xa0" or ch.isspace()


class _Failure(Exception):
    pass


class _Words:
    __slots__ = ("buf", "in_word", "words")

    def __init__(self) -> None:
        self.buf = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if go_isspace(ch):
            if self.in_word and self.buf:
                self.words.append(self.buf)
                self.buf = ""
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.buf += ch
        self.in_word = True

    def add_string(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    def add_raw_string(self, s: str) -> None:
        self.buf += s
        self.in_word = True

    def get_words(self) -> list[str]:
        if self.buf:
            self.words.append(self.buf)
            self.buf = ""
            self.in_word = False
        return self.words


class _ShellWord:
    def __init__(self, lex: ShellLexer, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.text = text
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return _EOF

    def get_env(self, name: str) -> tuple[str, bool]:
        value = self.env.get(name)
        if value is not None:
            self.matched.add(name)
            return value, True
        self.unmatched.add(name)
        return "", False

    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process until ``stop`` (or the end when ``stop`` is empty); return the string and its words."""
        result: list[str] = []
        words = _Words()
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            escape = self.lex.escape_token
            quotes = not self.lex.skip_process_quotes
            while self.pos < len(self.text):
                ch = self.text[self.pos]
                if stop and ch == stop:
                    self.pos += 1
                    return "".join(result), words.get_words()
                if ch == "$":
                    tmp = self.process_dollar()
                    result.append(tmp)
                    words.add_string(tmp)
                elif quotes and ch == "'":
                    tmp = self.process_single_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                elif quotes and ch == '"':
                    tmp = self.process_double_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                else:
                    self.pos += 1
                    if ch == escape:
                        if self.raw_escapes:
                            words.add_raw_char(ch)
                            result.append(ch)
                        ch = self.next()
                        if ch == _EOF:
                            break
                        words.add_raw_char(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop:
                raise _Failure(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.get_words()
        finally:
            self.raw_escapes = saved

    def process_single_quote(self) -> str:
        result: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            result.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise _Failure("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def process_double_quote(self) -> str:
        result: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            result.append(ch)
        escape = self.lex.escape_token
        while True:
            nxt = self.peek()
            if nxt == _EOF:
                raise _Failure("unexpected end of statement while looking for matching double-quote")
            if nxt == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if nxt == "$":
                result.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == escape:
                if self.raw_escapes:
                    result.append(ch)
                after = self.peek()
                if after == _EOF:
                    continue
                if after in ('"', "$", escape):
                    ch = self.next()
            result.append(ch)

    def process_dollar(self) -> str:
        self.next()  # the '$'
        if self.peek() != "{":
            name = self.process_name()
            if name == "":
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value

        self.next()  # the '{'
        first = self.peek()
        if first == _EOF:
            raise _Failure("syntax error: missing '}'")
        if first in "{}:":
            raise _Failure("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        if ch == _EOF:
            raise _Failure("syntax error: missing '}'")
        chs = ch
        null_is_unset = False
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == "/":
            return self._substitute(name)
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            chs += ch
        elif ch not in "+-?#%":
            raise _Failure(f"unsupported modifier ({chs}) in substitution")

        raw_escapes = ch in ("#", "%")
        if null_is_unset and raw_escapes:
            raise _Failure(f"unsupported modifier ({chs}) in substitution")
        try:
            word, _ = self.process_stop_on("}", raw_escapes)
        except _Failure:
            if self.peek() == _EOF:
                raise _Failure("syntax error: missing '}'") from None
            raise
        value, found = self.get_env(name)
        if self.lex.skip_unset_env and not found:
            return "${" + name + chs + word + "}"
        if ch == "-":
            if not found or (null_is_unset and value == ""):
                return word
            return value
        if ch == "+":
            if not found or (null_is_unset and value == ""):
                return ""
            return word
        if ch == "?":
            if not found:
                raise _Failure(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise _Failure(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if ch in ("#", "%"):
            greedy = False
            if word.startswith(ch):
                greedy = True
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise _Failure(f"unsupported modifier ({chs}) in substitution")

    def _substitute(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        try:
            pattern, _ = self.process_stop_on("/", True)
        except _Failure:
            if self.peek() == _EOF:
                raise _Failure("syntax error: missing '/' in ${}") from None
            raise
        try:
            replacement, _ = self.process_stop_on("}", True)
        except _Failure:
            if self.peek() == _EOF:
                raise _Failure("syntax error: missing '}'") from None
            raise
        value, found = self.get_env(name)
        if self.lex.skip_unset_env and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda _m: replacement, value)
        m = regex.search(value)
        if m:
            return value[: m.start()] + replacement + value[m.end() :]
        return value

    def process_name(self) -> str:
        name: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if not name and ch.isdecimal():
                while self.pos < len(self.text) and self.text[self.pos].isdecimal():
                    name.append(self.text[self.pos])
                    self.pos += 1
                return "".join(name)
            if not name and ch in "@*#?-$!0":
                self.pos += 1
                return ch
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            name.append(ch)
            self.pos += 1
        return "".join(name)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """BuildKit's ``convertShellPatternToRegex``: ``?`` one char, ``*`` shortest or longest run, no brackets."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue
            i += 1
            if nxt not in ("*", "?", "\\"):
                raise _Failure(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'")
            out.append("\\" + nxt)
            continue
        if tok in "[]{}.+()|^$":
            out.append("\\" + tok)
            continue
        out.append(re.escape(tok) if not tok.isalnum() else tok)
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end() :] if m else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern without reversing its escapes (``a\\*c`` -> ``c\\*a``)."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i : i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # Regular expressions cannot find the shortest rightmost match: reverse both and trim a prefix.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


class ShellLexer:
    """BuildKit's ``shell.Lex`` with its options (the raw/skip ones serve heredoc detection)."""

    def __init__(
        self,
        escape_token: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset_env: bool = False,
        skip_process_quotes: bool = False,
    ) -> None:
        self.escape_token = escape_token
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset_env = skip_unset_env
        self.skip_process_quotes = skip_process_quotes
        self._special = frozenset("$'\"" + escape_token) if not skip_process_quotes else frozenset("$" + escape_token)

    def process(self, word: str, env: Mapping[str, str]) -> Expansion:
        """Expand ``word``: the string, its words and the variables found and missing."""
        sw = _ShellWord(self, word, env)
        try:
            result, words = sw.process_stop_on("", self.raw_escapes)
        except _Failure as exc:
            raise ExpansionError(f"failed to process {go_quote(word)}: {exc}") from None
        return Expansion(result, tuple(words), frozenset(sw.matched), frozenset(sw.unmatched))

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        if self._special.isdisjoint(word):
            return word
        return self.process(word, env).result

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        return list(self.process(word, env).words)


_LEXERS: dict[str, ShellLexer] = {}


def _lexer(escape_token: str) -> ShellLexer:
    lex = _LEXERS.get(escape_token)
    if lex is None:
        lex = _LEXERS[escape_token] = ShellLexer(escape_token)
    return lex


def expand(word: str, env: Mapping[str, str], escape_token: str = "\\") -> str:
    """BuildKit's ``ProcessWord``: one word in, one string out (quotes removed, ``$VAR`` substituted)."""
    return _lexer(escape_token).process_word(word, env)


def expand_words(text: str, env: Mapping[str, str], escape_token: str = "\\") -> list[str]:
    """BuildKit's ``ProcessWords``: expand, then split on whitespace outside quotes."""
    return _lexer(escape_token).process_words(text, env)


def expand_with_matches(word: str, env: Mapping[str, str], escape_token: str = "\\") -> Expansion:
    """BuildKit's ``ProcessWordWithMatches``: also report which variables were set and which were not."""
    return _lexer(escape_token).process(word, env)
