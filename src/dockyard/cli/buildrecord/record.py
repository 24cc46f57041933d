"""The build record itself: what it is keyed by (:func:`record_material`, :func:`record_path`) and how it is kept
on disk (:func:`load`, :func:`save`: ``marshal`` data after its own SHA-256), with the hashing and reading the
other parts of the record share.

Of the standard library only ``os``, ``sys``, ``marshal`` and ``_sha256`` are imported: this module is on the path
of a served build.
"""

from __future__ import annotations

import marshal
import os
import sys

from dockyard.cli.commands.buildflags import BUILD_OPTIONS

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "FORMAT",
    "RECORDS_DIR",
    "digest",
    "drop_all",
    "file_sha256",
    "load",
    "read",
    "record_material",
    "record_path",
    "root_path",
    "save",
    "trace",
]

FORMAT = 1
RECORDS_DIR = "build-records"


def drop_all(state_root: str | os.PathLike[str]) -> None:
    """Forget every record: after a prune of the build cache, the images they replay may be gone (their checks
    would fail and the builder run anyway)."""
    import shutil

    shutil.rmtree(os.path.join(state_root, RECORDS_DIR), ignore_errors=True)


def trace(text: str) -> None:
    """With ``DOCKYARD_TRACE_FASTPATH`` set: say on stderr what the record did (``build record: served``)."""
    if os.environ.get("DOCKYARD_TRACE_FASTPATH"):
        sys.stderr.write(f"build record: {text}\n")


def _sha256() -> Any:
    try:
        from _sha256 import sha256  # the builtin module: no OpenSSL (~4 ms to load)
    except ImportError:  # pragma: no cover - Python 3.12 renamed it
        from hashlib import sha256
    return sha256()


def digest(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    h = _sha256()
    h.update(data)
    return str(h.hexdigest())


def file_sha256(path: str) -> str:
    """The hex SHA-256 of the file at ``path``."""
    h = _sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return str(h.hexdigest())


def read(path: str) -> bytes | None:
    """The file's bytes, or None where there is no such file."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


# -- the key -------------------------------------------------------------------------------------------------------
def root_path(root: str | None) -> str:
    """``configfile.root_path`` (which imports ``json``): the explicit root, ``$DOCKYARD_ROOT``, the default."""
    if root:
        return os.path.join(os.getcwd(), root)
    env = os.environ.get("DOCKYARD_ROOT")
    return os.path.join(os.getcwd(), env) if env else "/var/lib/dockyard"


def _code_signature() -> list[list[Any]]:
    """The builder's own sources as installed (name, size, mtime): a record stands only for the code that made it,
    even where the version string stays the same (a development tree, an upgrade in place)."""
    here = os.path.dirname(os.path.abspath(__file__))  # cli/buildrecord
    cli = os.path.dirname(here)
    package = os.path.dirname(cli)
    out: list[list[Any]] = []
    for directory in (os.path.join(package, "build"), os.path.join(package, "build", "dockerfile"), here):
        with os.scandir(directory) as it:
            for entry in it:
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    out.append([entry.path, st.st_size, st.st_mtime_ns])
    for name in ("argscan.py", os.path.join("commands", "buildflags.py"), os.path.join("commands", "buildflow.py")):
        path = os.path.join(cli, name)
        st = os.stat(path)
        out.append([path, st.st_size, st.st_mtime_ns])
    out.sort()
    return out


def record_material(
    state_root: str, path: str, params: Mapping[str, Any], environ: Mapping[str, str], tty: bool
) -> str | None:
    """What a record is keyed by (its SHA-256 names the file; the record keeps it to compare whole), or None
    for a build no record may stand for (a stdin context, ``--no-cache``, ``--pull``, a Dockerfile on stdin)."""
    if path == "-" or params.get("no_cache") or params.get("pull") or params.get("dockerfile") == "-":
        return None
    if set(params) != {row[1] for row in BUILD_OPTIONS}:
        return None
    options: list[Any] = []
    for row in BUILD_OPTIONS:
        dest = row[1]
        value = params[dest]
        if dest == "iidfile":
            continue  # where the ID goes, not what is built: both paths write it the same way
        if dest == "dockerfile" and value:
            value = os.path.abspath(value)
        if dest == "build_args":  # bare ``--build-arg K``: the environment's value (buildflow._build_args)
            value = [[v, environ.get(v)] if "=" not in v else [v, None] for v in value]
        if isinstance(value, tuple):
            value = list(value)
        options.append([dest, value])
    from dockyard import __version__

    configs = []
    for candidate in (os.path.join(state_root, "config.json"), "/etc/dockyard/config.json"):
        data = read(candidate)
        configs.append([candidate, None if data is None else digest(data)])
    material = [
        FORMAT,
        __version__,
        sys.implementation.cache_tag,
        os.path.realpath(state_root),
        os.path.realpath(path),
        options,
        configs,
        bool(tty),
        _code_signature(),
    ]
    return repr(material)


def record_path(state_root: str, material: str) -> str:
    """Where the record keyed by ``material`` is kept."""
    return os.path.join(state_root, RECORDS_DIR, digest(material.encode("utf-8", "surrogateescape")))


# -- the file ------------------------------------------------------------------------------------------------------
def load(path: str) -> dict[str, Any] | None:
    """The record at ``path``, or None: missing, torn, corrupt or of another format."""
    data = read(path)
    if data is None or len(data) < 64:
        return None
    if data[:64] != digest(data[64:]).encode():
        return None  # torn or corrupt
    try:
        rec = marshal.loads(data[64:])
    except (ValueError, EOFError, TypeError):
        return None
    return rec if isinstance(rec, dict) and rec.get("format") == FORMAT else None


def save(path: str, rec: Mapping[str, Any]) -> None:
    """Write atomically: a temporary file in the same directory, fsync, rename, fsync the directory."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    payload = marshal.dumps(dict(rec))
    data = digest(payload).encode() + payload
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
