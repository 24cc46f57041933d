"""Serving a build from its record: :func:`serve`, called by ``cli/fastpath.py`` before anything of the builder is
imported, checks the record whole and replays the build's output — or declines, and the builder runs.
"""

from __future__ import annotations

import os
import sys

from dockyard.cli.argscan import scan
from dockyard.cli.buildrecord.record import load, record_material, record_path, root_path, save, trace
from dockyard.cli.buildrecord.signature import check_files
from dockyard.cli.buildrecord.storefacts import check_store
from dockyard.cli.commands.buildflags import BUILD_OPTIONS

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["serve"]


def serve(root: str | None, args: Sequence[str]) -> int | None:
    """Answer ``build`` from its record (the exit code), or None: the builder must run."""
    parsed = scan(BUILD_OPTIONS, args, docker=False)  # as the click command parses them
    if parsed is None or len(parsed[1]) != 1:
        return None
    params, (path,) = parsed
    try:
        state_root = root_path(root)
        material = record_material(state_root, path, params, os.environ, sys.stdout.isatty())
        if material is None:
            return None
        path_of_record = record_path(state_root, material)
        rec = load(path_of_record)
        if rec is None or rec.get("material") != material:
            trace("declined: no record")
            return None
        ok, refreshed, why = check_files(rec["root"], rec)
        if not ok:
            trace(f"declined: {why}")
            return None
        import time

        why = check_store(state_root, rec, time.time())
        if why:
            trace(f"declined: {why}")
            return None
        if refreshed is not None:
            save(path_of_record, {**rec, "files": refreshed})
    except Exception as exc:
        trace(f"declined: {type(exc).__name__}: {exc}")
        return None
    trace("served")
    output = rec["output"]
    quiet = params["quiet"] or params["progress"] == "quiet"
    if quiet:
        if params["iidfile"]:
            with open(params["iidfile"], "w") as f:
                f.write(rec["image_id"])
        sys.stdout.write(output)
    else:
        sys.stdout.write(output)
        if params["iidfile"]:
            with open(params["iidfile"], "w") as f:
                f.write(rec["image_id"])
    sys.stdout.flush()
    return 0
