"""Build arguments with the classic builder's semantics (moby ``builder/dockerfile/buildargs.go``).

* ``--build-arg`` values (``options``) override ARG defaults; an ARG without a default and without a value
  takes the value of the meta ARG (before the first FROM) of the same name.
* Each stage starts with no ARGs in scope (``reset``); the predefined proxy ARGs (``HTTP_PROXY`` ...) are always
  in scope, but only with a ``--build-arg`` value, and are left out of the image history (and the cache key)
  unless the Dockerfile declares them.
* ENV wins over ARG of the same name (``filter_allowed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["BUILTIN_ARGS", "BuildArgs"]

BUILTIN_ARGS = frozenset(
    {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy"}
)


class BuildArgs:
    def __init__(self, options: Mapping[str, str | None]) -> None:
        self.options: dict[str, str | None] = dict(options)
        self.allowed: dict[str, str | None] = {}
        self.meta: dict[str, str | None] = {}
        self.referenced: set[str] = set()

    def clone(self) -> BuildArgs:
        other = BuildArgs(self.options)
        other.allowed = dict(self.allowed)
        other.meta = dict(self.meta)
        other.referenced = set(self.referenced)
        return other

    def reset(self) -> None:
        """A new stage: no ARG is in scope any more (meta ARGs stay available to FROM and to bare ARGs)."""
        self.allowed = {}

    def add_meta(self, key: str, default: str | None) -> None:
        self.meta[key] = default

    def add(self, key: str, default: str | None) -> None:
        self.allowed[key] = default
        self.referenced.add(key)

    def _value(self, key: str, mapping: Mapping[str, str | None]) -> str | None:
        override = self.options.get(key)
        if key in self.options and override is not None:
            return override
        default = mapping.get(key)
        if default is None:
            meta = self.meta.get(key)
            return meta if meta is not None else None
        return default

    def _all(self, mapping: Mapping[str, str | None]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key in [*mapping, *sorted(BUILTIN_ARGS)]:
            if key in out:
                continue
            if key in BUILTIN_ARGS and key not in mapping:
                value = self.options.get(key)
            else:
                value = self._value(key, mapping)
            if value is not None:
                out[key] = value
        return out

    def all_allowed(self) -> dict[str, str]:
        """The ARGs in scope with a value (plus proxy ARGs given with ``--build-arg``)."""
        return self._all(self.allowed)

    def all_meta(self) -> dict[str, str]:
        """What FROM lines are expanded with: the meta ARGs with a value (plus proxy ARGs)."""
        return self._all(self.meta)

    def filter_allowed(self, env: Iterable[str]) -> dict[str, str]:
        """The ARGs in scope that no ENV of the same name overrides (what RUN gets in its environment)."""
        names = {e.partition("=")[0] for e in env}
        return {k: v for k, v in self.all_allowed().items() if k not in names}

    def referenced_or_not_builtin(self, key: str) -> bool:
        return key in self.allowed or key not in BUILTIN_ARGS

    def for_history(self, env: Iterable[str]) -> tuple[str, ...]:
        """``K=V`` of the RUN environment that go into history and the cache key: sorted, proxies left out
        unless declared (moby ``prependEnvOnCmd``)."""
        return tuple(
            sorted(f"{k}={v}" for k, v in self.filter_allowed(env).items() if self.referenced_or_not_builtin(k))
        )

    def unused(self) -> list[str]:
        """``--build-arg`` names nothing declared (the classic builder warns about them at the end)."""
        return sorted(k for k in self.options if k not in self.referenced and k not in BUILTIN_ARGS)

    def merge_referenced(self, other: BuildArgs) -> None:
        self.referenced |= other.referenced
