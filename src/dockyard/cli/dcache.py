"""A compile cache for the functions ``dataclasses`` generates (``__init__``, ``__eq__``, ``__hash__``...).

Python 3.11 writes the source of each generated method and compiles it every time a dataclass is defined: a
container command defines about 80 of them across the packages it imports, and compiling their ~450 methods is
about a third of its import time (measured: ~55 ms of ~150 ms for ``run``). The code objects only depend on the
generated text, so they are kept, by that text, in ``__pycache__/dataclass-fns.<tag>.marshal`` beside the
package (where Python keeps its own bytecode, with the same trust), and reused: defining a dataclass then costs
a dictionary lookup instead of a compile.

The file holds one marshalled ``text -> code`` table per module, behind an index of where each table is: a
module's table is read (``os.pread``) when the module defines its first dataclass, so a command reads only what
it uses (~40 of ~1.4 MB for ``run``; reading and unmarshalling all of it would cost ~2 ms per command).

``dockyard.cli.main`` installs it for every command that goes through click (the fast paths of ``ps`` and
``--version`` define no dataclass and never load it). The cache follows Python's bytecode rules: it is read when
present, and written only when bytecode may be (``PYTHONDONTWRITEBYTECODE`` unset) or when built on purpose
(``python -m dockyard.cli.dcache``, which imports every module of the package, as ``compileall`` builds ``.pyc``
files; ``scripts/install.sh`` runs it). A missing, unreadable or foreign-version cache is simply not used.
Nothing changes for other Python versions: the hook installs only on the one ``_create_fn`` it knows.

Only ``os``, ``sys`` and ``marshal`` are imported at module level (``dataclasses`` when installing), so loading
this module costs nothing a command would not pay anyway.
"""

from __future__ import annotations

import marshal
import os
import sys
from types import CodeType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CACHE_FILE", "build", "flush", "install"]

CACHE_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "__pycache__",
    f"dataclass-fns.{sys.implementation.cache_tag}.marshal",
)
_MAGIC = b"dockyard-dataclass-fns 2\n"  # then the index's size (4 bytes, little-endian), the index, the tables
_HEAD = len(_MAGIC) + 4

_fd = -1  # the cache file, open while installed
_index: dict[str, tuple[int, int]] = {}  # module name -> (offset, size) of its marshalled table in the file
_tables: dict[str, dict[str, bytes]] = {}  # module name -> {generated text: marshalled code} (read on first use)
_new: dict[str, dict[str, bytes]] = {}  # module name -> what this process compiled for it
_installed = False
_UNSET: Any = object()  # stands for dataclasses.MISSING in the signature below (dataclasses is imported late)
_MISSING: Any = _UNSET  # dataclasses.MISSING, bound by install()


def _load() -> None:
    """Open the file and read its index (the tables stay on disk until a module asks)."""
    global _fd
    try:
        fd = os.open(CACHE_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        head = os.pread(fd, 65536, 0)
        if not head.startswith(_MAGIC):
            raise ValueError("not a cache file of this version")
        size = int.from_bytes(head[len(_MAGIC) : _HEAD], "little")
        raw = head[_HEAD : _HEAD + size] if _HEAD + size <= len(head) else os.pread(fd, size, _HEAD)
        index = marshal.loads(raw)
        if not isinstance(index, dict):
            raise ValueError("no index")
        _index.update({str(m): (_HEAD + size + int(o), int(n)) for m, (o, n) in index.items()})
    except (OSError, EOFError, ValueError, TypeError):
        os.close(fd)
        return
    _fd = fd


def _table(module: str) -> dict[str, bytes]:
    """The module's ``text -> code`` table as the file has it (empty when it has none or it is damaged)."""
    where = _index.get(module)
    if where is None or _fd < 0:
        return {}
    try:
        table = marshal.loads(os.pread(_fd, where[1], where[0]))
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return table if isinstance(table, dict) else {}


def _save(force: bool = False) -> None:
    """Write the file again with what this process compiled (merged into what the file had)."""
    if not _new or (sys.dont_write_bytecode and not force):
        return
    tables = {module: _table(module) for module in _index}
    for module, compiled in _new.items():
        tables[module] = {**tables.get(module, {}), **compiled}
    blobs = {module: marshal.dumps(table) for module, table in tables.items()}
    index: dict[str, tuple[int, int]] = {}
    offset = 0
    for module, blob in blobs.items():
        index[module] = (offset, len(blob))
        offset += len(blob)
    raw_index = marshal.dumps(index)
    tmp = os.path.join(os.path.dirname(CACHE_FILE), f".{os.path.basename(CACHE_FILE)}.{os.getpid()}")
    try:
        os.makedirs(os.path.dirname(CACHE_FILE), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_MAGIC + len(raw_index).to_bytes(4, "little") + raw_index)
            for blob in blobs.values():
                f.write(blob)
        os.replace(tmp, CACHE_FILE)
    except OSError:
        pass
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _create_fn(
    name: str,
    args: list[str],
    body: list[str],
    *,
    globals: dict[str, Any] | None = None,
    locals: dict[str, Any] | None = None,
    return_type: Any = _UNSET,
) -> Any:
    """``dataclasses._create_fn`` of Python 3.11, with the compile step cached."""
    if return_type is _UNSET:
        return_type = _MISSING
    if locals is None:
        locals = {}
    return_annotation = ""
    if return_type is not _MISSING:
        locals["_return_type"] = return_type
        return_annotation = "->_return_type"
    joined_args = ",".join(args)
    joined_body = "\n".join(f"  {b}" for b in body)
    txt = f" def {name}({joined_args}){return_annotation}:\n{joined_body}"
    local_vars = ", ".join(locals.keys())
    txt = f"def __create_fn__({local_vars}):\n{txt}\n return {name}"
    module = str((globals or {}).get("__name__", ""))
    table = _tables.get(module)
    if table is None:
        table = _tables[module] = _table(module)
    code: CodeType | None = None
    cached = table.get(txt)
    if cached is not None:
        try:
            code = marshal.loads(cached)
        except (EOFError, ValueError, TypeError):
            code = None
    if not isinstance(code, CodeType):
        code = compile(txt, "<string>", "exec")
        table[txt] = _new.setdefault(module, {})[txt] = marshal.dumps(code)
    ns: dict[str, Any] = {}
    exec(code, globals, ns)
    return ns["__create_fn__"](**locals)


def install() -> None:
    """Use the cache from now on in this process (a no-op on Python versions it was not written for)."""
    global _installed, _MISSING
    if _installed or sys.version_info[:2] != (3, 11) or os.environ.get("DOCKYARD_NO_DATACLASS_CACHE"):
        return
    import atexit
    import dataclasses

    original = getattr(dataclasses, "_create_fn", None)
    if original is None or original.__code__.co_varnames[:3] != ("name", "args", "body"):
        return
    _installed = True
    _MISSING = dataclasses.MISSING
    _load()
    dataclasses._create_fn = _create_fn  # type: ignore[attr-defined]
    atexit.register(_save)


def flush() -> None:
    """Write what this process compiled so far (when bytecode may be written) and forget it: a process that forks
    (the warm helper, ``cli/warm.py``) writes once, instead of every child again at its exit."""
    _save()
    _new.clear()


def build() -> int:
    """Import every module of the package, then write the cache (as ``compileall`` writes ``.pyc``); the number
    of functions cached."""
    import importlib
    import pkgutil

    import dockyard

    install()
    _index.clear()  # exactly the functions of this version: what older code generated is dropped
    _tables.clear()
    for info in pkgutil.walk_packages(dockyard.__path__, "dockyard."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # a module that cannot load here (an optional dependency) just adds nothing
            continue
    _save(force=True)
    return sum(len(compiled) for compiled in _new.values())


if __name__ == "__main__":
    print(f"{build()} generated functions cached in {CACHE_FILE}")
