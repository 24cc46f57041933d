"""What a build is asked to do (:class:`BuildOptions`), what it reports (:class:`BuildResult`), and its errors.

A failing step raises :class:`BuildStepError`: ``detail`` is Docker's own wording (what the Engine API streams
as ``errorDetail``, e.g. ``The command '/bin/sh -c exit 1' returned a non-zero code: 1``) and ``message`` adds
the Dockerfile location (``Dockerfile:4: The command ...``) for dockyard's own CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from dockyard.errors import DockyardError
from dockyard.oci.digest import Digest
from dockyard.oci.reference import Reference

__all__ = [
    "BuildError",
    "BuildNetwork",
    "BuildOptions",
    "BuildResult",
    "BuildStepError",
    "BuildTrace",
    "CacheMiss",
]


class BuildNetwork(StrEnum):
    """``--network`` for RUN steps: the default bridge, the host's network, or none (loopback only)."""

    DEFAULT = "default"
    HOST = "host"
    NONE = "none"

    @classmethod
    def parse(cls, value: str | None) -> BuildNetwork:
        text = (value or "default").strip().lower()
        if text in ("", "default", "bridge"):
            return cls.DEFAULT
        if text in ("host", "none"):
            return cls(text)
        raise BuildError(
            f"network mode {value!r} is not supported for builds (use default, bridge, host or none)", exit_code=1
        )


@dataclass(frozen=True)
class BuildOptions:
    """``docker build``'s options. ``build_args`` values of None mean "take it from the environment" (``--build-arg
    FOO`` without ``=``); the caller resolves those before the build."""

    tags: tuple[str, ...] = ()
    dockerfile: str = "Dockerfile"
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    quiet: bool = False
    network: BuildNetwork = BuildNetwork.DEFAULT
    host_ca: bool | None = None  # None: the ``host-ca`` setting decides
    explain_cache: bool = False
    remove: bool = True  # remove the containers of successful RUN steps (``--rm``, always true here)
    force_remove: bool = False  # also after a failed step (``--force-rm``; dockyard always cleans up)
    platform: str = ""
    extra_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CacheMiss:
    """The first step a build could not take from the cache, and why (one sentence per changed input)."""

    step: int
    total: int
    instruction: str
    reasons: tuple[str, ...]

    @property
    def text(self) -> str:
        why = "; ".join(self.reasons) if self.reasons else "no cached result for this step"
        return f"cache miss at step {self.step}/{self.total} ({self.instruction}): {why}"


@dataclass(frozen=True)
class BuildTrace:
    """What a build took from outside the context, for the command line's "nothing changed" record
    (``cli/buildrecord/``): ``images`` the names resolved to local images (``FROM``, ``COPY --from``) as
    (name as written after expansion, image ID); ``hits`` every cache hit as (key, image ID, origin); ``pulled``
    whether an image was pulled; ``unverifiable`` the inputs no such record can check (an ``ADD`` of a URL)."""

    images: tuple[tuple[str, str], ...] = ()
    hits: tuple[tuple[str, str, str], ...] = ()
    pulled: bool = False
    unverifiable: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildResult:
    image_id: Digest
    tags: tuple[Reference, ...] = ()
    steps: int = 0
    cached_steps: int = 0
    first_miss: CacheMiss | None = None
    warnings: tuple[str, ...] = ()
    trace: BuildTrace | None = field(default=None, compare=False)


class BuildError(DockyardError):
    """A build that failed; ``exit_code`` is what ``docker build`` exits with (1)."""

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int = 1, code: int | None = None) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code
        self.code = code  # the ``errorDetail.code`` of the Engine API (a RUN step's exit status)

    @property
    def detail(self) -> str:
        return self.message


class BuildStepError(BuildError):
    """A step that failed, located in the Dockerfile. ``detail`` keeps Docker's wording without the location."""

    def __init__(
        self,
        detail: str,
        *,
        filename: str,
        line: int,
        hint: str | None = None,
        code: int | None = None,
    ) -> None:
        where = f"{filename}:{line}" if line > 0 else filename
        super().__init__(f"{where}: {detail}", hint, code=code)
        self._detail = detail
        self.filename = filename
        self.line = line

    @property
    def detail(self) -> str:
        return self._detail
