"""The "nothing changed" build record: a fully cached rebuild answered without importing the builder.

A fully cached ``dockyard build`` of the tutorial app costs ~75 ms, of which ~45 ms are imports (the Dockerfile
parser, the executor, the store, ``dataclasses``, ``logging``) and ~10 ms the build. After a build that took
every step from the cache, :class:`Recorder` (called by ``commands/buildflow.py``) writes a record to
``<root>/build-records/<key>`` where ``key`` is the SHA-256 of everything the command line decides
(:func:`record_material`: the state root, the context directory, every option but ``--iidfile`` with ``-f``
made absolute and bare ``--build-arg``\\s resolved from the environment, the settings files' bytes, whether
stdout is a terminal, the dockyard and Python versions, the size and mtime of the builder's sources). The
record holds:

* the Dockerfile's and both ``.dockerignore`` candidates' SHA-256 (or their absence);
* every directory the context walk read (excluded ones it had to enter included): mtime, inode, mode, owner —
  a file added, removed or renamed changes its directory's mtime;
* every walked file: size, mtime, ctime, inode, device, mode, owner, and for the files COPY/ADD selected their
  content SHA-256 (files no source selected matter only by their size, in "Sending build context");
  every symlink: target, inode, owner;
* every image name the build resolved (``FROM``, ``COPY --from``) with the image ID, every cache hit (key,
  image ID, origin), the schema versions of the build and store tables, the result image ID, its tags, and the
  exact output.

:func:`serve` (called by ``cli/fastpath.py`` before anything else of the build is imported; of the standard
library it imports ``os``, ``sys``, ``marshal``, ``_sha256`` and ``_sqlite3`` only) parses the command line (with
``cli/argscan.py``, over the rows of ``commands/buildflags.py`` the click command is made from), finds the record
and checks all of it: file stats equal, or — where only the times differ (``touch``) — the content re-hashed equal
(the record is then rewritten with the new times); the names still resolve to the same images, the cache entries are
still there unchanged (and were used in the last :data:`REFRESH_AFTER` seconds, else the builder runs and marks them
used), every image and its config blob exists, and the tags already point at the result as the last-created tags of
the image (so the builder's re-tagging would change nothing but their timestamps). Then it prints the recorded
output, writes ``--iidfile`` and exits 0. Any doubt — a flag it does not know, ``--no-cache``, ``--pull``, a stdin
context, a missing, corrupt or other-version record, any difference at all — and it declines: the builder runs as
always (and rewrites the record). ``DOCKYARD_NO_FASTPATH=1`` turns it off; ``DOCKYARD_TRACE_FASTPATH=1`` makes it
say on stderr whether it served the build (``build record: served``) or why not (``build record: declined: ...``),
for tests.

No record is written when the build ran a step, pulled an image, added a URL, resolved a name that is not a
plain ``name:tag`` of the local store, selected a path the walk does not cover, found a special file, or when
any part of the context changed after the build began (its ctime is not older than the build's start).

Records are ``marshal`` data after their own SHA-256 (``json`` alone costs ~9 ms to import, more than the whole
check); ``builder prune`` and ``system prune`` may simply delete the directory.
"""

from __future__ import annotations

import marshal
import os
import sys

from dockyard.cli.argscan import scan
from dockyard.cli.commands.buildflags import BUILD_OPTIONS

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, TextIO

    from dockyard.build.context import BuildContext
    from dockyard.build.options import BuildResult

__all__ = [
    "FORMAT",
    "RECORDS_DIR",
    "REFRESH_AFTER",
    "Recorder",
    "check_files",
    "record_material",
    "root_path",
    "serve",
]

FORMAT = 1
RECORDS_DIR = "build-records"
REFRESH_AFTER = 600.0  # seconds: cache entries used longer ago get their last_used refreshed by the builder
_QUIET_NS = 50_000_000  # a context path changed less than this before the build began: no record (clock lag)

# the schema versions of the tables a build reads (images and tags, the build cache): another component's first
# migration (``containers``, ``network``...) changes nothing a build depends on
_SCHEMA_SQL = (
    "SELECT component, max(version) FROM schema_migrations WHERE component IN ('build', 'store') GROUP BY component"
)


def _trace(text: str) -> None:
    if os.environ.get("DOCKYARD_TRACE_FASTPATH"):
        sys.stderr.write(f"build record: {text}\n")


def _sha256() -> Any:
    try:
        from _sha256 import sha256  # the builtin module: no OpenSSL (~4 ms to load)
    except ImportError:  # pragma: no cover - Python 3.12 renamed it
        from hashlib import sha256
    return sha256()


def _digest(data: bytes) -> str:
    h = _sha256()
    h.update(data)
    return str(h.hexdigest())


def _file_sha256(path: str) -> str:
    h = _sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return str(h.hexdigest())


# -- the command line ----------------------------------------------------------------------------------------------
def root_path(root: str | None) -> str:
    """``configfile.root_path`` (which imports ``json``): the explicit root, ``$DOCKYARD_ROOT``, the default."""
    if root:
        return os.path.join(os.getcwd(), root)
    env = os.environ.get("DOCKYARD_ROOT")
    return os.path.join(os.getcwd(), env) if env else "/var/lib/dockyard"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _code_signature() -> list[list[Any]]:
    """The builder's own sources as installed (name, size, mtime): a record stands only for the code that made it,
    even where the version string stays the same (a development tree, an upgrade in place)."""
    here = os.path.dirname(os.path.abspath(__file__))
    package = os.path.dirname(here)
    out: list[list[Any]] = []
    for directory in (os.path.join(package, "build"), os.path.join(package, "build", "dockerfile")):
        with os.scandir(directory) as it:
            for entry in it:
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    out.append([entry.path, st.st_size, st.st_mtime_ns])
    for name in ("buildrecord.py", "argscan.py", os.path.join("commands", "buildflags.py"),
                 os.path.join("commands", "buildflow.py")):  # fmt: skip
        path = os.path.join(here, name)
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
        data = _read(candidate)
        configs.append([candidate, None if data is None else _digest(data)])
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


def _record_path(state_root: str, material: str) -> str:
    return os.path.join(state_root, RECORDS_DIR, _digest(material.encode("utf-8", "surrogateescape")))


# -- records on disk -----------------------------------------------------------------------------------------------
def _load(path: str) -> dict[str, Any] | None:
    data = _read(path)
    if data is None or len(data) < 64:
        return None
    if data[:64] != _digest(data[64:]).encode():
        return None  # torn or corrupt
    try:
        rec = marshal.loads(data[64:])
    except (ValueError, EOFError, TypeError):
        return None
    return rec if isinstance(rec, dict) and rec.get("format") == FORMAT else None


def _save(path: str, rec: Mapping[str, Any]) -> None:
    """Write atomically: a temporary file in the same directory, fsync, rename, fsync the directory."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    payload = marshal.dumps(dict(rec))
    data = _digest(payload).encode() + payload
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


# -- the context's signature ---------------------------------------------------------------------------------------
def _same(a: os.stat_result, b: os.stat_result) -> bool:
    """Equal but for the access time (reading a file to hash it may set it)."""
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino, a.st_dev, a.st_mode, a.st_uid, a.st_gid) == (
        b.st_size, b.st_mtime_ns, b.st_ctime_ns, b.st_ino, b.st_dev, b.st_mode, b.st_uid, b.st_gid)  # fmt: skip


def _file_sig(rel: str, st: os.stat_result, sha: str) -> list[Any]:
    return [rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, st.st_mode, st.st_uid,
            st.st_gid, sha]  # fmt: skip


def check_files(root: str, rec: Mapping[str, Any]) -> tuple[bool, list[list[Any]] | None, str]:
    """Check the record's files against the context at ``root``: ``(ok, refreshed, why)``. ``refreshed`` is the
    new file list when only times changed and the contents re-hashed equal (the record should be rewritten)."""
    import stat as st_mod

    for path, sha in rec["inputs"]:
        data = _read(path)
        if (None if data is None else _digest(data)) != sha:
            return False, None, f"{path} changed"
    for rel, mtime, ino, mode, uid, gid in rec["dirs"]:
        try:
            st = os.lstat(os.path.join(root, rel) if rel else root)
        except OSError:
            return False, None, f"{rel or '.'} is gone"
        if (st.st_mtime_ns, st.st_ino, st.st_mode, st.st_uid, st.st_gid) != (mtime, ino, mode, uid, gid):
            return False, None, f"directory {rel or '.'} changed"
    for rel, target, ino, uid, gid in rec["links"]:
        abs_path = os.path.join(root, rel)
        try:
            st = os.lstat(abs_path)
            now = os.readlink(abs_path)
        except OSError:
            return False, None, f"{rel} changed"
        if (now, st.st_ino, st.st_uid, st.st_gid) != (target, ino, uid, gid):
            return False, None, f"{rel} changed"
    refreshed: list[list[Any]] | None = None
    files = rec["files"]
    for n, sig in enumerate(files):
        rel, size, mtime, ctime, ino, dev, mode, uid, gid, sha = sig
        abs_path = os.path.join(root, rel)
        try:
            st = os.lstat(abs_path)
        except OSError:
            return False, None, f"{rel} is gone"
        if (st.st_size, st.st_ino, st.st_dev, st.st_mode, st.st_uid, st.st_gid) != (size, ino, dev, mode, uid, gid):
            return False, None, f"{rel} changed"
        if (st.st_mtime_ns, st.st_ctime_ns) == (mtime, ctime):
            continue
        if not st_mod.S_ISREG(st.st_mode):
            return False, None, f"{rel} changed"
        if sha:  # selected by a source: the content must be the same
            try:
                if _file_sha256(abs_path) != sha or not _same(os.lstat(abs_path), st):
                    return False, None, f"{rel} changed (content)"
            except OSError:
                return False, None, f"{rel} changed"
        if refreshed is None:
            refreshed = [list(s) for s in files]
        refreshed[n] = _file_sig(rel, st, sha)
    return True, refreshed, ""


def _scan(context: BuildContext, started_ns: int) -> dict[str, Any] | None:
    """The record's view of the context as the build saw it, or None when it cannot vouch for it."""
    import stat as st_mod

    root = context.root
    quiet_before = started_ns - _QUIET_NS
    listed: list[str] = []
    dirs: list[list[Any]] = []
    files: list[list[Any]] = []
    links: list[list[Any]] = []
    walked: set[str] = {""}
    selected = set(context.selected)
    for item in context.ignore.walk(root, listed=listed):
        rel = item.path
        walked.add(rel)
        abs_path = os.path.join(root, rel)
        st = os.lstat(abs_path)
        if st.st_ctime_ns >= quiet_before:
            return None  # changed while (or just before) the build ran: what it read is not known
        if st_mod.S_ISDIR(st.st_mode):
            continue  # recorded from ``listed`` below
        if st_mod.S_ISLNK(st.st_mode):
            links.append([rel, os.readlink(abs_path), st.st_ino, st.st_uid, st.st_gid])
        elif st_mod.S_ISREG(st.st_mode):
            sha = ""
            if rel in selected:
                sha = context.known_digest(rel, st) or _file_sha256(abs_path)
                if not _same(os.lstat(abs_path), st):
                    return None
            files.append(_file_sig(rel, st, sha))
        else:
            return None  # a device, fifo or socket: its metadata is in the key in ways not recorded here
    if not selected <= walked:
        return None  # a source reached past the walk (through an excluded symlink or directory)
    for rel in listed:
        st = os.lstat(os.path.join(root, rel) if rel else root)
        if st.st_ctime_ns >= quiet_before:
            return None
        dirs.append([rel, st.st_mtime_ns, st.st_ino, st.st_mode, st.st_uid, st.st_gid])
    dockerfile = context.dockerfile_path
    inputs = []
    for candidate in (dockerfile, dockerfile + ".dockerignore", os.path.join(root, ".dockerignore")):
        data = _read(candidate)
        if data is not None:
            st = os.stat(candidate)
            if st.st_ctime_ns >= quiet_before:
                return None
        inputs.append([candidate, None if data is None else _digest(data)])
    return {"dirs": dirs, "files": files, "links": links, "inputs": inputs}


# -- the store -----------------------------------------------------------------------------------------------------
def _connect(db: str) -> Any:
    try:
        from _sqlite3 import connect  # sqlite3's own C module: the package adds datetime adapters (~3 ms)
    except ImportError:  # pragma: no cover
        from sqlite3 import connect
    return connect(db, timeout=120.0, isolation_level=None)


def _check_store(state_root: str, rec: Mapping[str, Any], now: float) -> str:
    """Why the store no longer matches the record ("" when it does)."""
    db = os.path.join(state_root, "dockyard.db")
    if not os.path.isfile(db):
        return "no database"
    conn = _connect(db)
    try:
        conn.execute("BEGIN")
        schema = sorted((str(c), int(v)) for c, v in conn.execute(_SCHEMA_SQL))
        if schema != [tuple(s) for s in rec["schema"]]:
            return "schema changed"
        for name, image_id in rec["images"]:
            row = conn.execute("SELECT image_id FROM image_tags WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] != image_id:
                return f"{name} changed"
        for key, image_id, origin in rec["hits"]:
            row = conn.execute("SELECT image_id, origin, last_used FROM build_cache WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] != image_id or row[1] != origin:
                return "build cache changed"
            if now - float(row[2]) > REFRESH_AFTER:
                return "build cache entries to mark as used"
        ids = sorted({rec["image_id"], *(i for _, i in rec["images"]), *(h[1] for h in rec["hits"])})
        marks = ",".join("?" * len(ids))
        found = conn.execute(f"SELECT count(*) FROM images WHERE id IN ({marks})", ids).fetchone()[0]
        if found != len(ids):
            return "an image is gone"
        for image_id in ids:
            algorithm, _, hexpart = image_id.partition(":")
            if not os.path.isfile(os.path.join(state_root, "blobs", algorithm, hexpart)):
                return "an image config is gone"
        tags = [r[0] for r in conn.execute("SELECT name FROM image_tags WHERE image_id = ? ORDER BY created",
                                           (rec["image_id"],))]  # fmt: skip
        wanted = list(rec["tags"])
        if wanted and tags[-len(wanted) :] != wanted:
            return "tags to move"
        conn.execute("COMMIT")
        return ""
    finally:
        conn.close()


def _store_facts(state_root: str, result: BuildResult) -> dict[str, Any] | None:
    """The store's side of a record: the names as stored, schema versions; None when a name cannot be checked."""
    from dockyard.errors import DockyardError
    from dockyard.oci.reference import parse_reference

    assert result.trace is not None
    images = []
    for name, image_id in result.trace.images:
        value = name.strip()
        if value.startswith("sha256:") or (len(value) == 64 and all(c in "0123456789abcdef" for c in value)):
            return None
        try:
            ref = parse_reference(value)
        except DockyardError:
            return None
        if ref.digest is not None:
            return None
        images.append([str(ref.with_default_tag()), image_id])
    conn = _connect(os.path.join(state_root, "dockyard.db"))
    try:
        conn.execute("BEGIN")
        schema = sorted([str(c), int(v)] for c, v in conn.execute(_SCHEMA_SQL))
        for name, image_id in images:  # the engine resolved it by this name, not by an ID prefix
            row = conn.execute("SELECT image_id FROM image_tags WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] != image_id:
                return None
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {"images": images, "schema": schema}


# -- writing (after a build) ---------------------------------------------------------------------------------------
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
        _trace(f"not written: {why}" if why else "written")

    def _finish(self, context: BuildContext, result: BuildResult, quiet: bool) -> str:
        trace = result.trace
        if trace is None or result.first_miss is not None or trace.pulled or trace.unverifiable:
            return "the build ran steps, pulled or added a URL"
        if result.cached_steps != len(trace.hits):
            return "cache hits not traced"
        path = _record_path(self.state_root, self.material)
        scan = _scan(context, self.started_ns)
        if scan is None:
            return "the context changed during the build, or holds what a record cannot check"
        facts = _store_facts(self.state_root, result)
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
            "hits": [list(h) for h in trace.hits],
            "image_id": str(result.image_id),
            "tags": [str(t) for t in result.tags],
            "output": output,
        }
        _save(path, rec)
        return ""


# -- the fast path -------------------------------------------------------------------------------------------------
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
        record_path = _record_path(state_root, material)
        rec = _load(record_path)
        if rec is None or rec.get("material") != material:
            _trace("declined: no record")
            return None
        ok, refreshed, why = check_files(rec["root"], rec)
        if not ok:
            _trace(f"declined: {why}")
            return None
        import time

        why = _check_store(state_root, rec, time.time())
        if why:
            _trace(f"declined: {why}")
            return None
        if refreshed is not None:
            _save(record_path, {**rec, "files": refreshed})
    except Exception as exc:
        _trace(f"declined: {type(exc).__name__}: {exc}")
        return None
    _trace("served")
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
