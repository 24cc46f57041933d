"""Writing a build record: :class:`Recorder`, started by ``commands/buildflow.py`` before a build and finished
after it, keeps what the build printed and writes the record when every step came from the cache.

No record is written when the build ran a step, pulled an image, added a URL, resolved a name that is not a
plain ``name:tag`` of the local store, selected a path the walk does not cover, found a special file, or when
any part of the context changed after the build began (its ctime is not older than the build's start).
"""

from __future__ import annotations

import os
import sys

from dockyard.cli.buildrecord.record import FORMAT, record_material, record_path, root_path, save, trace
from dockyard.cli.buildrecord.signature import scan_context
from dockyard.cli.buildrecord.storefacts import store_facts

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TextIO

    from dockyard.build.context import BuildContext
    from dockyard.build.options import BuildResult

__all__ = ["Recorder"]


class _Tee:
    """stdout as the build writes it, kept: what a cached build printed is what the record replays."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()

    def fileno(self) -> int:
        return self.out.fileno()


class Recorder:
    """Started before a build (:meth:`start` gives None when no record may stand for it); :meth:`finish` writes
    the record after a build that took every step from the cache. Never raises: a record is an optimisation."""

    def __init__(self, state_root: str, material: str, out: _Tee) -> None:
        import time

        self.state_root = state_root
        self.material = material
        self.tee = out
        self.started_ns = time.time_ns()

    @property
    def out(self) -> TextIO:
        return self.tee  # type: ignore[return-value]

    @classmethod
    def start(cls, root: str | None, path: str, params: Mapping[str, Any]) -> Recorder | None:
        try:
            state_root = root_path(root)
            tty = sys.stdout.isatty()
            material = record_material(state_root, path, params, os.environ, tty)
        except (OSError, ValueError):
            return None
        if material is None:
            return None
        return cls(state_root, material, _Tee(sys.stdout))

    def finish(self, context: BuildContext, result: BuildResult, quiet: bool) -> None:
        try:
            why = self._finish(context, result, quiet)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
        trace(f"not written: {why}" if why else "written")

    def _finish(self, context: BuildContext, result: BuildResult, quiet: bool) -> str:
        build_trace = result.trace
        if build_trace is None or result.first_miss is not None or build_trace.pulled or build_trace.unverifiable:
            return "the build ran steps, pulled or added a URL"
        if result.cached_steps != len(build_trace.hits):
            return "cache hits not traced"
        path = record_path(self.state_root, self.material)
        scan = scan_context(context, self.started_ns)
        if scan is None:
            return "the context changed during the build, or holds what a record cannot check"
        facts = store_facts(self.state_root, result)
        if facts is None:
            return "an image name a record cannot check"
        output = "".join(self.tee.parts)
        if quiet:
            output += f"{result.image_id}\n"
        rec = {
            "format": FORMAT,
            "material": self.material,
            "root": context.root,
            **scan,
            **facts,
            "hits": [list(h) for h in build_trace.hits],
            "image_id": str(result.image_id),
            "tags": [str(t) for t in result.tags],
            "output": output,
        }
        save(path, rec)
        return ""
