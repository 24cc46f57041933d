"""Builder flags of one instruction (``--from=``, ``--chown=``, ``--link``...), ported from BuildKit's ``bflag.go``."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from .errors import DockerfileError

__all__ = ["BuilderFlags"]


class _Kind(Enum):
    BOOL = 0
    STRING = 1
    STRINGS = 2


class BuilderFlags:
    """Declare the flags an instruction accepts, then ``parse()`` the words the parser extracted."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = tuple(args)
        self._kinds: dict[str, _Kind] = {}
        self._values: dict[str, str] = {}
        self._lists: dict[str, list[str]] = {}
        self.used: list[str] = []

    def add_bool(self, name: str, default: bool = False) -> None:
        self._kinds[name] = _Kind.BOOL
        self._values[name] = "true" if default else "false"

    def add_string(self, name: str, default: str = "") -> None:
        self._kinds[name] = _Kind.STRING
        self._values[name] = default

    def add_strings(self, name: str) -> None:
        self._kinds[name] = _Kind.STRINGS
        self._lists[name] = []

    def string(self, name: str) -> str:
        return self._values[name]

    def boolean(self, name: str) -> bool:
        return self._values[name] == "true"

    def strings(self, name: str) -> tuple[str, ...]:
        return tuple(self._lists[name])

    def parse(self) -> None:
        for arg in self.args:
            if arg == "--":
                return
            if not arg.startswith("--"):
                raise DockerfileError(f"arg should start with -- : {arg}")
            flag_name, has_value, value = arg.partition("=")
            name = flag_name[2:]
            kind = self._kinds.get(name)
            if kind is None:
                raise DockerfileError(f"unknown flag: {flag_name}")
            if name in self.used and kind is not _Kind.STRINGS:
                raise DockerfileError(f"duplicate flag specified: {flag_name}")
            self.used.append(name)
            if kind is _Kind.BOOL:
                if has_value and value == "":
                    raise DockerfileError(f"missing a value on flag: {flag_name}")
                lowered = value.lower()
                if lowered in ("true", ""):
                    self._values[name] = "true"
                elif lowered == "false":
                    self._values[name] = "false"
                else:
                    raise DockerfileError(f"expecting boolean value for flag {flag_name}, not: {value}")
            elif not has_value:
                raise DockerfileError(f"missing a value on flag: {flag_name}")
            elif kind is _Kind.STRING:
                self._values[name] = value
            else:
                self._lists[name].append(value)
