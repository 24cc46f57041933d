"""Go's ``path/filepath`` ``Match`` and ``Clean`` (Unix semantics), which Docker uses for COPY wildcards and
``.dockerignore`` syntax checks. Python's ``fnmatch`` differs (``*`` crosses ``/``, ``[!...]``), so we port Go's.
"""

from __future__ import annotations

__all__ = ["BadPattern", "clean", "contains_wildcards", "match", "validate"]


class BadPattern(ValueError):
    """Go's ``filepath.ErrBadPattern``."""

    def __init__(self) -> None:
        super().__init__("syntax error in pattern")


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` on Unix: lexical normalisation, ``""`` -> ``"."``, one leading ``/`` kept."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    joined = "/".join(out)
    if rooted:
        return "/" + joined
    return joined or "."


def contains_wildcards(name: str) -> bool:
    """Docker's ``containsWildcards``: an unescaped ``*``, ``?`` or ``[``."""
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "\\":
            i += 1
        elif ch in "*?[":
            return True
        i += 1
    return False


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    inrange = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            inrange = True
        elif ch == "]":
            inrange = False
        elif ch == "*" and not inrange:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise BadPattern()
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern()
    r, rest = chunk[0], chunk[1:]
    if not rest:
        raise BadPattern()
    return r, rest


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    """Match ``chunk`` at the start of ``s``; return (rest of s, ok). Raises BadPattern on a malformed chunk."""
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        c = chunk[0]
        if c == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk.startswith("^"):
                negated = True
                chunk = chunk[1:]
            matched = False
            nrange = 0
            while True:
                if chunk.startswith("]") and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= r <= hi:
                    matched = True
                nrange += 1
            if matched == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern()
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return "", False
    return s, True


def match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match``: ``*`` and ``?`` never match ``/``; ``[^...]`` negates; ``\\`` escapes.

    Raises :class:`BadPattern` when the pattern is malformed (as Go reports ``ErrBadPattern``).
    """
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            return "/" not in name
        t, ok = _match_chunk(chunk, name)
        if ok and (len(t) == 0 or len(pattern) > 0):
            name = t
            continue
        if star:
            i = 0
            found = False
            while i < len(name) and name[i] != "/":
                t, ok = _match_chunk(chunk, name[i + 1 :])
                if ok:
                    if len(pattern) == 0 and len(t) > 0:
                        i += 1
                        continue
                    name = t
                    found = True
                    break
                i += 1
            if found:
                continue
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return len(name) == 0


def validate(pattern: str) -> None:
    """Raise BadPattern if ``pattern`` is malformed (``filepath.Match(pattern, ".")`` style check)."""
    match(pattern, ".")
