"""Root filesystems for build steps: a snapshot (overlay upper + work) on the image's layers, mounted by us.

RUN containers get one more lower layer, above the image's: an "init" directory holding empty stand-ins for
the paths runc mounts over (``/proc``, ``/sys``, ``/dev``, ``/etc/hosts``, ``/etc/resolv.conf``, ``/etc/hostname``,
the host CA bundle...) when the image lacks them. Without it runc would create those mount
points in the upper directory and every RUN layer would carry them; Docker's "-init" layer exists for the same
reason. Directories in the init layer copy the image's own mode, owner and times, so the merged view shows the
image's metadata and a copy-up takes it unchanged.

Read-only views of other images (``COPY --from``) are overlays of their layers with no upper directory.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.oci.digest import Digest
from dockyard.store.mounts import MS_RDONLY, mount, umount
from dockyard.store.snapshots import ActiveSnapshot

if TYPE_CHECKING:
    from dockyard.store import Store

__all__ = ["ImageView", "StepRootfs", "image_stat"]

_OPAQUE = ("trusted.overlay.opaque", "user.overlay.opaque")
_OPTIONS = "redirect_dir=off,index=off,metacopy=off"


def _opaque(path: Path) -> bool:
    for name in _OPAQUE:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def image_stat(layer_dirs: Sequence[Path], path: str) -> os.stat_result | None:
    """``lstat`` of container path ``path`` in the merged view of ``layer_dirs`` (top first), without mounting:
    whiteouts hide, opaque directories stop the search. Symlinks are not followed."""
    parts = [p for p in path.split("/") if p]
    active = list(layer_dirs)
    found: os.stat_result | None = None
    for i in range(len(parts)):
        rel = "/".join(parts[: i + 1])
        found = None
        below: list[Path] = []
        for d in active:
            p = d / rel
            try:
                st = os.lstat(p)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                break  # a whiteout: nothing below shows
            if found is None:
                found = st
            if not stat.S_ISDIR(found.st_mode):
                break
            if not stat.S_ISDIR(st.st_mode):
                break
            below.append(d)
            if _opaque(p):
                break
        if found is None:
            return None
        if i < len(parts) - 1 and not stat.S_ISDIR(found.st_mode):
            return None  # a file or symlink on the way: the stand-in cannot go there
        active = below
    return found


def _clone_dir(path: Path, like: os.stat_result | None) -> None:
    path.mkdir(exist_ok=True)
    if like is None:
        os.chmod(path, 0o755)
        return
    os.chmod(path, stat.S_IMODE(like.st_mode))
    os.lchown(path, like.st_uid, like.st_gid)
    os.utime(path, ns=(like.st_atime_ns, like.st_mtime_ns))


class StepRootfs:
    """The root filesystem of one step: ``prepare()`` then ``mount()``; ``release()`` always (idempotent).

    ``stubs`` are container paths that must exist for runc's mounts (``(path, is_dir)``); those the image lacks
    go into the init layer.
    """

    def __init__(self, store: Store, key: str, parent: Digest | None, stubs: Sequence[tuple[str, bool]] = ()) -> None:
        self.store = store
        self.key = key
        self.parent = parent
        self.stubs = tuple(stubs)
        self.snapshot: ActiveSnapshot | None = None
        self.mounted = False

    @property
    def merged(self) -> Path:
        assert self.snapshot is not None
        return self.snapshot.merged

    @property
    def upper(self) -> Path:
        assert self.snapshot is not None
        return self.snapshot.upper

    def prepare(self) -> None:
        self.snapshot = self.store.snapshots.prepare(self.key, self.parent, kind="build")

    def _init_layer(self) -> str | None:
        assert self.snapshot is not None
        if not self.stubs:
            return None
        layers = [layer.path for layer in self.store.layers.chain(self.parent)]
        init = self.snapshot.path / "init"
        made = False
        for path, is_dir in self.stubs:
            parts = [p for p in path.split("/") if p]
            if not parts or image_stat(layers, path) is not None:
                continue
            # every parent must be a plain directory in the image (or missing): never shadow a symlink
            ok = True
            likes: list[os.stat_result | None] = []
            for i in range(1, len(parts)):
                st = image_stat(layers, "/".join(parts[:i]))
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    ok = False
                    break
                likes.append(st)
            if not ok:
                continue
            init.mkdir(exist_ok=True)
            current = init
            for part, like in zip(parts[:-1], likes, strict=True):
                current = current / part
                if not current.exists():
                    _clone_dir(current, like)
            target = current / parts[-1]
            if is_dir:
                target.mkdir(mode=0o755, exist_ok=True)
            else:
                target.touch(mode=0o644, exist_ok=True)
            made = True
        if made:
            # directories were created top-down: restore the cloned times their children changed
            for path, _ in self.stubs:
                parts = [p for p in path.split("/") if p]
                for i in range(len(parts) - 1, 0, -1):
                    p = init.joinpath(*parts[:i])
                    like = image_stat(layers, "/".join(parts[:i]))
                    if p.is_dir() and like is not None:
                        os.utime(p, ns=(like.st_atime_ns, like.st_mtime_ns))
        return f"{init.relative_to(self.store.layers.root)}" if made else None

    def mount(self) -> Path:
        assert self.snapshot is not None
        snap = self.snapshot
        lowers = self.store.layers.lowerdirs(self.parent)
        init = self._init_layer()
        if init is not None:
            lowers = [init, *(lower for lower in lowers if lower != "empty")]
            if len(lowers) == 1:
                lowers.append("empty")
        rel = snap.path.relative_to(self.store.layers.root)
        options = f"lowerdir={':'.join(lowers)},upperdir={rel}/upper,workdir={rel}/work,{_OPTIONS}"
        mount("overlay", snap.merged, "overlay", 0, options, cwd=self.store.layers.root)
        self.mounted = True
        return snap.merged

    def unmount(self) -> None:
        if self.mounted and self.snapshot is not None:
            umount(self.snapshot.merged)
            self.mounted = False

    def release(self) -> None:
        """Unmount and delete the snapshot (what is left of it after its upper directory became a layer)."""
        with contextlib.suppress(Exception):
            self.unmount()
        self.store.snapshots.remove(self.key)


class ImageView:
    """A read-only overlay of an image's layers at ``target`` (for ``COPY --from``)."""

    def __init__(self, store: Store, top: Digest | None, target: Path) -> None:
        self.store = store
        self.top = top
        self.target = target
        self.mounted = False

    def __enter__(self) -> Path:
        self.target.mkdir(parents=True, exist_ok=True)
        if self.top is None:
            return self.target  # scratch: an empty directory
        lowers = self.store.layers.lowerdirs(self.top)
        if len(lowers) == 1:
            lowers.append("empty")
        mount(
            "overlay",
            self.target,
            "overlay",
            MS_RDONLY,
            f"lowerdir={':'.join(lowers)},{_OPTIONS}",
            cwd=self.store.layers.root,
        )
        self.mounted = True
        return self.target

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            umount(self.target)
            self.mounted = False
        with contextlib.suppress(OSError):
            self.target.rmdir()
