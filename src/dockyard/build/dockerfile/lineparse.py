"""Per-instruction line parsers, ported from BuildKit's ``parser/line_parsers.go`` and ``split_command.go``.

Each parser gets the text after the keyword and the builder flags and returns the arguments the way BuildKit's
AST holds them (``nodeArgs``): words, JSON arrays, or for ENV/LABEL (key, value, delimiter) triples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import DockerfileError, go_quote
from .shell import go_isspace

__all__ = [
    "NOT_STRING_ARRAY",
    "LineArgs",
    "extract_builder_flags",
    "parse_json_array",
    "parse_line_args",
    "parse_words",
    "split_command",
]

NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


@dataclass(frozen=True)
class LineArgs:
    """Arguments of one instruction line; ``sub`` is the rest of an ONBUILD line (parsed by the caller)."""

    args: tuple[str, ...] = ()
    json: bool = False
    sub: str | None = None


def split_command(line: str) -> tuple[str, list[str], str]:
    """Split a logical line into (keyword, builder flags, rest)."""
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    cmd = parts[0]
    if len(parts) == 2:
        rest, flags = extract_builder_flags(parts[1])
        return cmd, flags, rest.strip()
    return cmd, [], ""


def extract_builder_flags(line: str) -> tuple[str, list[str]]:
    """Take the leading ``--flag[=value]`` words off ``line``; quotes and backslashes in flag words are removed."""
    in_spaces, in_word, in_quote = 0, 1, 2
    words: list[str] = []
    phase = in_spaces
    word: list[str] = []
    quote = ""
    blank_ok = False
    n = len(line)
    pos = 0
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if go_isspace(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = in_word
        if phase in (in_word, in_quote) and pos == n:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if phase == in_word:
            if go_isspace(ch):
                phase = in_spaces
                text = "".join(word)
                if text == "--":
                    return line[pos:], words
                if blank_ok or text:
                    words.append(text)
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word.append(ch)
        pos += 1
    return "", words


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes (they are removed later by expansion)."""
    in_spaces, in_word, in_quote = 0, 1, 2
    words: list[str] = []
    phase = in_spaces
    word: list[str] = []
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if go_isspace(ch):
                pos += 1
                continue
            phase = in_word
        if phase in (in_word, in_quote) and pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == in_word:
            if go_isspace(ch):
                phase = in_spaces
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            word.append(ch)
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


class _NotJSON(Exception):
    pass


def _reject_constant(name: str) -> object:
    raise ValueError(name)


def parse_json_array(rest: str) -> tuple[str, ...]:
    """Parse a JSON array of strings; raise _NotJSON if it is not JSON, DockerfileError if not all strings."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        raise _NotJSON()
    import json  # only exec-form lines pay for it

    try:
        value = json.loads(rest, parse_constant=_reject_constant)
    except ValueError:
        raise _NotJSON() from None
    if not isinstance(value, list):
        raise _NotJSON()
    if not all(isinstance(item, str) for item in value):
        raise DockerfileError(NOT_STRING_ARRAY)
    return tuple(value)


def _parse_ignore(rest: str, escape: str) -> LineArgs:
    return LineArgs()


def _parse_sub_command(rest: str, escape: str) -> LineArgs:
    if rest == "":
        return LineArgs()
    return LineArgs(sub=rest)


def _parse_name_val(rest: str, key: str, escape: str) -> LineArgs:
    words = parse_words(rest, escape)
    if not words:
        return LineArgs()
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise DockerfileError(f"{key} must have two arguments")
        return LineArgs((parts[0], parts[1], ""))
    args: list[str] = []
    for word in words:
        if "=" not in word:
            raise DockerfileError(f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value")
        name, _, value = word.partition("=")
        args += [name, value, "="]
    return LineArgs(tuple(args))


def _parse_env(rest: str, escape: str) -> LineArgs:
    return _parse_name_val(rest, "ENV", escape)


def _parse_label(rest: str, escape: str) -> LineArgs:
    return _parse_name_val(rest, "LABEL", escape)


def _parse_name_or_name_val(rest: str, escape: str) -> LineArgs:
    return LineArgs(tuple(parse_words(rest, escape)))


def _parse_strings_whitespace_delimited(rest: str, escape: str) -> LineArgs:
    if rest == "":
        return LineArgs()
    return LineArgs(tuple(_WHITESPACE.split(rest)))


def _parse_string(rest: str, escape: str) -> LineArgs:
    if rest == "":
        return LineArgs()
    return LineArgs((rest,))


def _parse_maybe_json(rest: str, escape: str) -> LineArgs:
    if rest == "":
        return LineArgs()
    try:
        return LineArgs(parse_json_array(rest), json=True)
    except _NotJSON:
        return LineArgs((rest,))


def _parse_maybe_json_to_list(rest: str, escape: str) -> LineArgs:
    try:
        return LineArgs(parse_json_array(rest), json=True)
    except _NotJSON:
        return _parse_strings_whitespace_delimited(rest, escape)


def _parse_health_config(rest: str, escape: str) -> LineArgs:
    sep = 0
    while sep < len(rest) and not go_isspace(rest[sep]):
        sep += 1
    nxt = sep
    while nxt < len(rest) and go_isspace(rest[nxt]):
        nxt += 1
    if sep == 0:
        return LineArgs()
    cmd = _parse_maybe_json(rest[nxt:], escape)
    return LineArgs((rest[:sep], *cmd.args), json=cmd.json)


_DISPATCH: dict[str, Callable[[str, str], LineArgs]] = {
    "add": _parse_maybe_json_to_list,
    "arg": _parse_name_or_name_val,
    "cmd": _parse_maybe_json,
    "copy": _parse_maybe_json_to_list,
    "entrypoint": _parse_maybe_json,
    "env": _parse_env,
    "expose": _parse_strings_whitespace_delimited,
    "from": _parse_strings_whitespace_delimited,
    "healthcheck": _parse_health_config,
    "label": _parse_label,
    "maintainer": _parse_string,
    "onbuild": _parse_sub_command,
    "run": _parse_maybe_json,
    "shell": _parse_maybe_json,
    "stopsignal": _parse_string,
    "user": _parse_string,
    "volume": _parse_maybe_json_to_list,
    "workdir": _parse_string,
}


def parse_line_args(keyword: str, rest: str, escape: str) -> LineArgs:
    """Dispatch on the (lower-case) keyword; unknown instructions keep no arguments (typed later as an error)."""
    return _DISPATCH.get(keyword, _parse_ignore)(rest, escape)
