"""The build context's signature in a record: what the build read of the context (:func:`scan_context`, after the
build) and whether it is still so (:func:`check_files`, before serving one).

The signature is the Dockerfile's and both ``.dockerignore`` candidates' SHA-256 (``inputs``); every directory the
context walk read (``dirs``: mtime, inode, mode, owner — a file added, removed or renamed changes its directory's
mtime); every walked file (``files``: size, mtime, ctime, inode, device, mode, owner, and for the files a source
selected their content SHA-256); every symlink (``links``: target, inode, owner).
"""

from __future__ import annotations

import os

from dockyard.cli.buildrecord.record import digest, file_sha256, read

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from dockyard.build.context import BuildContext

__all__ = ["check_files", "scan_context"]

_QUIET_NS = 50_000_000  # a context path changed less than this before the build began: no record (clock lag)


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
        data = read(path)
        if (None if data is None else digest(data)) != sha:
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
                if file_sha256(abs_path) != sha or not _same(os.lstat(abs_path), st):
                    return False, None, f"{rel} changed (content)"
            except OSError:
                return False, None, f"{rel} changed"
        if refreshed is None:
            refreshed = [list(s) for s in files]
        refreshed[n] = _file_sig(rel, st, sha)
    return True, refreshed, ""


def scan_context(context: BuildContext, started_ns: int) -> dict[str, Any] | None:
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
                sha = context.known_digest(rel, st) or file_sha256(abs_path)
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
        data = read(candidate)
        if data is not None:
            st = os.stat(candidate)
            if st.st_ctime_ns >= quiet_before:
                return None
        inputs.append([candidate, None if data is None else digest(data)])
    return {"dirs": dirs, "files": files, "links": links, "inputs": inputs}
