"""``dockyard build`` without click: its flags as a table (``cli/flagtable.py``'s, made from the rows of
``buildflags.py``; the click command in ``build.py`` is made from it) and what the command does once they are
parsed (:func:`run_build`), which the click command and the command line's fast path (``cli/fastpath.py``) both
call."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.cli.commands.buildflags import BUILD_OPTIONS
from dockyard.cli.flagtable import FlagSpec

if TYPE_CHECKING:
    from dockyard.cli.state import CliState

__all__ = ["BUILD_FLAGS", "run_build"]

BUILD_FLAGS: tuple[FlagSpec, ...] = tuple(
    FlagSpec(opts, dest, kind, default, "", help, off, choices)  # metavar "": click's own (TEXT)
    for opts, dest, kind, default, off, choices, help in BUILD_OPTIONS
)


def _build_args(values: tuple[str, ...]) -> dict[str, str | None]:
    """``--build-arg K=V``; a bare ``K`` takes the value of the environment variable (unset if there is none)."""
    out: dict[str, str | None] = {}
    for item in values:
        key, sep, value = item.partition("=")
        out[key] = value if sep else os.environ.get(key)
    return out


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def run_build(state: CliState, path: str, params: Mapping[str, Any]) -> int:
    """Build the context at ``path`` (``-``: a tar or a Dockerfile on stdin) with Docker's classic output; the exit
    code (docker build exits 1 whatever failed)."""
    from dockyard.cli.tables import human_size
    from dockyard.engine.builds import BuildNetwork, BuildOptions, context_transfer_size
    from dockyard.errors import DockyardError

    p = params
    quiet = p["quiet"] or p["progress"] == "quiet"
    from dockyard.cli.buildrecord.recorder import Recorder

    recorder = Recorder.start(state.root, path, p)  # None: no record may stand for this build
    out = recorder.out if recorder is not None else sys.stdout
    try:
        options = BuildOptions(
            tags=p["tags"],
            dockerfile=p["dockerfile"] or "Dockerfile",
            build_args=_build_args(p["build_args"]),
            target=p["target"],
            no_cache=p["no_cache"],
            pull=p["pull"],
            labels=_labels(p["labels"]),
            quiet=quiet,
            network=BuildNetwork.parse(p["network"]),
            host_ca=p["host_ca"],
            explain_cache=p["explain_cache"],
            remove=p["remove"],
            force_remove=p["force_rm"],
            platform=p["platform"],
            extra_hosts=p["add_hosts"],
        )
        service = state.engine.builds
        if path == "-":
            context = service.open_stream(sys.stdin.buffer, p["dockerfile"] or "Dockerfile")
            context_id = ""
        else:
            context = service.open_directory(path, p["dockerfile"])
            context_id = context.root
        with context:
            if not quiet:
                size = context_transfer_size(context)
                out.write(f"Sending build context to Docker daemon  {human_size(size, 4)}\n\n")
                out.flush()
            from dockyard.cli.progress import ProgressPrinter

            printer = ProgressPrinter(out)
            result = service.build(context, options, printer, context_id=context_id)
            if recorder is not None:
                recorder.finish(context, result, quiet)
    except DockyardError as exc:
        if state.debug:
            import traceback

            traceback.print_exc()
        sys.stdout.flush()
        from dockyard.cli.output import print_error

        print_error(exc)
        return 1
    if p["iidfile"]:
        with open(p["iidfile"], "w") as f:
            f.write(str(result.image_id))
    if quiet:
        sys.stdout.write(f"{result.image_id}\n")
        sys.stdout.flush()
    return 0
