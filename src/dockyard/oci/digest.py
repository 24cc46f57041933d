"""Content digests (``sha256:<64 hex>``) and helpers to compute them.

``hashlib`` is imported where a digest is computed, not here: its OpenSSL module costs ~2 ms at import, and most
commands only parse and compare digests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import hashlib

from dockyard.errors import InvalidArgument

__all__ = ["Digest", "sha256_bytes", "sha256_file"]

_DIGEST_RE = re.compile(r"^(sha256|sha512):([a-f0-9]+)$")
_HEX_LEN = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True, order=True)
class Digest:
    """A content digest. ``str(d)`` is ``"sha256:<hex>"``; ``d.hex`` the hex part."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, value: str) -> Digest:
        m = _DIGEST_RE.match(value)
        if not m or len(m.group(2)) != _HEX_LEN[m.group(1)]:
            raise InvalidArgument(f"invalid digest: {value!r}")
        return cls(m.group(1), m.group(2))

    @classmethod
    def from_hex(cls, hex_: str, algorithm: str = "sha256") -> Digest:
        return cls.parse(f"{algorithm}:{hex_}")

    @classmethod
    def of(cls, data: bytes) -> Digest:
        import hashlib

        return cls("sha256", hashlib.sha256(data).hexdigest())

    @property
    def short(self) -> str:
        """The 12-hex short form Docker shows (``2f701134298d``)."""
        return self.hex[:12]

    def hasher(self) -> hashlib._Hash:
        import hashlib

        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def sha256_bytes(data: bytes) -> Digest:
    return Digest.of(data)


def sha256_file(f: BinaryIO, bufsize: int = 1 << 20) -> tuple[Digest, int]:
    """Digest and size of everything left in ``f``."""
    import hashlib

    h = hashlib.sha256()
    size = 0
    while chunk := f.read(bufsize):
        h.update(chunk)
        size += len(chunk)
    return Digest("sha256", h.hexdigest()), size
