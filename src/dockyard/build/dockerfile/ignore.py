"""``.dockerignore`` with Docker's rules: moby ``patternmatcher`` and ``ignorefile.ReadAll``.

Lines starting with ``#`` are comments; patterns are trimmed, ``filepath.Clean``-ed and a leading ``/`` dropped;
``!`` marks an exception; the last matching pattern wins; a pattern matches a path or any of its parent
directories; ``*`` and ``?`` do not cross ``/``, ``**`` does, ``[...]`` is a character class, ``\\`` escapes.

:meth:`IgnoreMatcher.walk` prunes an excluded directory unless an exception pattern starts with that directory's
path, which is exactly what the docker CLI and BuildKit's fsutil do (so ``!**/*.md`` does *not* bring back
``docs/README.md`` when ``docs`` is excluded). :meth:`IgnoreMatcher.excluded` gives the same answer for one path.

Note for the executor: Docker always reads the Dockerfile and ``.dockerignore`` even when they are ignored; they are
just not visible to COPY/ADD then.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from dockyard.errors import InvalidArgument

from . import gomatch
from .errors import go_quote

__all__ = ["IgnoreMatcher", "WalkEntry", "read_dockerignore"]

_ESCAPE = frozenset(".+()|{}$")


def read_dockerignore(data: bytes | str | None) -> list[str]:
    """Moby's ``ignorefile.ReadAll``: the patterns of a ``.dockerignore`` file, normalised."""
    if data is None:
        return []
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):
        text = text[1:]
    out: list[str] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = gomatch.clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


class _Kind(Enum):
    EXACT = 0
    PREFIX = 1
    SUFFIX = 2
    REGEXP = 3


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool
    kind: _Kind
    regex: re.Pattern[str] | None

    def match(self, path: str) -> bool:
        if self.kind is _Kind.EXACT:
            return path == self.text
        if self.kind is _Kind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is _Kind.SUFFIX:
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None


def _compile(text: str, exclusion: bool) -> _Pattern:
    """Moby's ``Pattern.compile``: classify the pattern and build its regexp."""
    reg = ["^"]
    kind = _Kind.EXACT
    i = 0
    n = len(text)
    first = True
    while i < n:
        ch = text[i]
        i += 1
        if ch == "*":
            if i < n and text[i] == "*":
                i += 1
                if i < n and text[i] == "/":
                    i += 1
                if i >= n:
                    if kind is _Kind.EXACT:
                        kind = _Kind.PREFIX
                    else:
                        reg.append(".*")
                        kind = _Kind.REGEXP
                else:
                    reg.append("(.*/)?")
                    kind = _Kind.REGEXP
                if first:
                    kind = _Kind.SUFFIX
            else:
                reg.append("[^/]*")
                kind = _Kind.REGEXP
        elif ch == "?":
            reg.append("[^/]")
            kind = _Kind.REGEXP
        elif ch in _ESCAPE:
            reg.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                reg.append("\\" + text[i])
                i += 1
                kind = _Kind.REGEXP
            else:
                reg.append("\\\\")
        elif ch in "[]":
            reg.append(ch)
            kind = _Kind.REGEXP
        else:
            reg.append(ch)
        first = False
    regex = None
    if kind is _Kind.REGEXP:
        try:
            regex = re.compile("".join(reg) + r"\Z")
        except re.error:
            raise gomatch.BadPattern() from None
    return _Pattern(text, exclusion, kind, regex)


@dataclass(frozen=True)
class WalkEntry:
    """An included path found by :meth:`IgnoreMatcher.walk` (``path`` is relative, slash-separated)."""

    path: str
    entry: os.DirEntry[str]


class IgnoreMatcher:
    """Moby's ``PatternMatcher`` over ``.dockerignore`` patterns (already normalised by read_dockerignore)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        compiled: list[_Pattern] = []
        for raw in patterns:
            p = raw.strip()
            if not p:
                continue
            p = gomatch.clean(p)
            exclusion = False
            if p.startswith("!"):
                if len(p) == 1:
                    raise InvalidArgument('illegal exclusion pattern: "!"')
                exclusion = True
                p = p[1:]
            if len(p) > 1 and p.startswith("/"):  # context paths are relative (ReadAll does this too)
                p = p[1:]
            try:
                gomatch.validate(p)
                compiled.append(_compile(p, exclusion))
            except gomatch.BadPattern:
                raise InvalidArgument(f"invalid .dockerignore pattern {go_quote(p)}: syntax error in pattern") from None
        self.patterns = tuple(compiled)
        self.has_exclusions = any(p.exclusion for p in compiled)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, path: str) -> bool:
        """``MatchesOrParentMatches``: does the last pattern matching ``path`` or a parent exclude it?"""
        path = gomatch.clean(path)
        if path == "." or not self.patterns:
            return False
        parents = path.split("/")[:-1]
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path) or any(pattern.match(p) for p in prefixes)
            if hit:
                matched = not pattern.exclusion
        return matched

    def matches_using_parent(self, path: str, parent: tuple[bool, ...] | None) -> tuple[bool, tuple[bool, ...]]:
        """``MatchesUsingParentResults``: match ``path`` given the per-pattern results of its parent directory."""
        if parent is None:
            return self.matches(path), tuple(self._parent_info(path))
        matched = False
        info: list[bool] = []
        for i, pattern in enumerate(self.patterns):
            hit = parent[i]
            if not hit:
                if pattern.exclusion != matched:
                    info.append(False)
                    continue
                hit = pattern.match(path)
            info.append(hit)
            if hit:
                matched = not pattern.exclusion
        return matched, tuple(info)

    def _parent_info(self, path: str) -> list[bool]:
        info: tuple[bool, ...] = tuple(False for _ in self.patterns)
        parts = path.split("/")
        for i in range(len(parts)):
            _, info = self.matches_using_parent("/".join(parts[: i + 1]), info)
        return list(info)

    def _can_prune(self, directory: str) -> bool:
        if not self.has_exclusions:
            return True
        prefix = directory + "/"
        return not any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` is left out of the context, consistently with :meth:`walk` (pruned parents count)."""
        path = gomatch.clean(path)
        if path == "." or not self.patterns:
            return False
        parts = path.split("/")
        info: tuple[bool, ...] = tuple(False for _ in self.patterns)
        for i in range(len(parts)):
            sub = "/".join(parts[: i + 1])
            hit, info = self.matches_using_parent(sub, info)
            if i == len(parts) - 1:
                return hit
            if hit and self._can_prune(sub):
                return True
        return False

    def walk(
        self, root: str | os.PathLike[str], start: str = "", *, listed: list[str] | None = None
    ) -> Iterator[WalkEntry]:
        """Walk ``root`` depth-first in lexical order like Go's WalkDir (not following symlinks), yielding the
        included entries, each directory before its contents. With ``start`` (a relative directory), walk only
        below it, with the ignore rules still applied to full context-relative paths. ``listed`` collects every
        directory read (relative; ``""`` the root), excluded ones the walk had to enter included."""
        base = os.fspath(root)
        empty: tuple[bool, ...] = tuple(False for _ in self.patterns)
        info = empty
        if start:
            parts = start.split("/")
            for i in range(len(parts)):
                sub = "/".join(parts[: i + 1])
                if self.patterns:
                    hit, info = self.matches_using_parent(sub, info)
                    if hit and self._can_prune(sub):
                        return
        top = os.path.join(base, start) if start else base
        if listed is not None:
            listed.append(start)
        stack: list[tuple[str, Iterator[os.DirEntry[str]], tuple[bool, ...]]] = [(start, _listdir(top), info)]
        while stack:
            rel_dir, entries, parent_info = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            hit, info = self.matches_using_parent(rel, parent_info) if self.patterns else (False, empty)
            if hit:
                if is_dir and not self._can_prune(rel):
                    if listed is not None:
                        listed.append(rel)
                    stack.append((rel, _listdir(entry.path), info))
                continue
            yield WalkEntry(rel, entry)
            if is_dir:
                if listed is not None:
                    listed.append(rel)
                stack.append((rel, _listdir(entry.path), info))


def _listdir(path: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return iter(())
    return iter(entries)
