"""A compile cache for the functions ``dataclasses`` generates (``__init__``, ``__eq__``, ``__hash__``...).

Python 3.11 writes the source of each generated method and compiles it every time a dataclass is defined: a
container command defines about 80 of them across the packages it imports, and compiling their ~450 methods is
about a third of its import time (measured: ~55 ms of ~150 ms for ``run``). The code objects only depend on the
generated text, so they are kept, by that text, in ``__pycache__/dataclass-fns.<tag>.marshal`` beside the
package (where Python keeps its own bytecode, with the same trust), and reused: defining a dataclass then costs
a dictionary lookup instead of a compile.

The cache follows Python's bytecode rules: it is read when present, and written only when bytecode may be
(``PYTHONDONTWRITEBYTECODE`` unset) or when built on purpose (``python -m dockyard.cli.commands.container_dccache``,
as ``compileall`` builds ``.pyc`` files). A missing, unreadable or foreign-version cache is simply not used.
Nothing changes for other Python versions: the hook installs only on the one ``_create_fn`` it knows.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["CACHE_FILE", "install"]

CACHE_FILE = (
    Path(__file__).resolve().parents[2] / "__pycache__" / f"dataclass-fns.{sys.implementation.cache_tag}.marshal"
)

_cache: dict[str, bytes] = {}  # generated text -> marshalled code object (unmarshalled on use: ~5 us each)
_new: dict[str, bytes] = {}
_installed = False


def _load() -> None:
    try:
        with open(CACHE_FILE, "rb") as f:
            data = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return
    if isinstance(data, dict):
        _cache.update(data)


def _save(force: bool = False) -> None:
    if not _new or (sys.dont_write_bytecode and not force):
        return
    merged = {**_cache, **_new}
    tmp = CACHE_FILE.with_name(f".{CACHE_FILE.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        CACHE_FILE.parent.mkdir(exist_ok=True)
        with open(tmp, "wb") as f:
            marshal.dump(merged, f)
        os.replace(tmp, CACHE_FILE)
    with contextlib.suppress(OSError):
        tmp.unlink()


def _create_fn(
    name: str,
    args: list[str],
    body: list[str],
    *,
    globals: dict[str, Any] | None = None,
    locals: dict[str, Any] | None = None,
    return_type: Any = dataclasses.MISSING,
) -> Any:
    """``dataclasses._create_fn`` of Python 3.11, with the compile step cached."""
    if locals is None:
        locals = {}
    return_annotation = ""
    if return_type is not dataclasses.MISSING:
        locals["_return_type"] = return_type
        return_annotation = "->_return_type"
    joined_args = ",".join(args)
    joined_body = "\n".join(f"  {b}" for b in body)
    txt = f" def {name}({joined_args}){return_annotation}:\n{joined_body}"
    local_vars = ", ".join(locals.keys())
    txt = f"def __create_fn__({local_vars}):\n{txt}\n return {name}"
    code: CodeType | None = None
    cached = _cache.get(txt)
    if cached is not None:
        with contextlib.suppress(EOFError, ValueError, TypeError):
            code = marshal.loads(cached)
    if not isinstance(code, CodeType):
        code = compile(txt, "<string>", "exec")
        _cache[txt] = _new[txt] = marshal.dumps(code)
    ns: dict[str, Any] = {}
    exec(code, globals, ns)
    return ns["__create_fn__"](**locals)


def install() -> None:
    """Use the cache from now on in this process (a no-op on Python versions it was not written for)."""
    global _installed
    if _installed or sys.version_info[:2] != (3, 11) or os.environ.get("DOCKYARD_NO_DATACLASS_CACHE"):
        return
    original = getattr(dataclasses, "_create_fn", None)
    if original is None or original.__code__.co_varnames[:3] != ("name", "args", "body"):
        return
    _installed = True
    _load()
    dataclasses._create_fn = _create_fn  # type: ignore[attr-defined]
    atexit.register(_save)


def build() -> int:
    """Import what container commands import, then write the cache (as ``compileall`` writes ``.pyc``)."""
    install()
    import importlib

    for module in (
        "dockyard.cli.commands.container_run", "dockyard.cli.commands.container_ps",
        "dockyard.cli.commands.container_lifecycle", "dockyard.cli.commands.container_io",
        "dockyard.cli.commands.container_files", "dockyard.engine.containers.service",
        "dockyard.engine.containers.create", "dockyard.engine.containers.lifecycle",
        "dockyard.engine.containers.controls", "dockyard.engine.containers.reconcile",
        "dockyard.engine.containers.streams", "dockyard.engine.containers.views", "dockyard.engine.containers.commit",
        "dockyard.engine.containers.options", "dockyard.engine.containers.verbs", "dockyard.engine.containers.listing",
        "dockyard.engine.containers.records", "dockyard.engine.containers.execs", "dockyard.engine.containers.files",
        "dockyard.engine.volumes", "dockyard.engine.system", "dockyard.engine.images",
        "dockyard.engine.networks", "dockyard.network.manager", "dockyard.network.attach", "dockyard.runtime.bundle",
        "dockyard.runtime.runtime", "dockyard.runtime.monitor", "dockyard.store", "dockyard.settings",
    ):  # fmt: skip
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    _save(force=True)
    return len(_cache)


if __name__ == "__main__":
    print(f"{build()} generated functions cached in {CACHE_FILE}")
