"""A container's files: ``cp`` in both directions (tar streams through the container's root filesystem, never
following a symlink out of it), ``diff`` (A/C/D from the upper directory), ``export`` and ``commit``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["tree_size"]


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (hard links counted once), 0 if it does not exist."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_size
    return total
