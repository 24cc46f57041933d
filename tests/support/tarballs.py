"""Build small tar archives for tests."""

from __future__ import annotations

import io
import tarfile


def make_tar(entries: list[tuple[str, str, bytes | str]]) -> bytes:
    """entries: (name, kind, data/linkname); kind in file, dir, sym, hard, chr, fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o644
            if kind == "file":
                assert isinstance(data, bytes)
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
                continue
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, str(data)
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, str(data)
            elif kind == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            tar.addfile(ti)
    return buf.getvalue()
