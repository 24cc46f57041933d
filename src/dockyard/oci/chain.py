"""Chain IDs: the identity of a stack of layers (``ChainID(L0|...|Ln)``, image-spec ``config.md``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from dockyard.oci.digest import Digest

__all__ = ["chain_id", "chain_ids"]


def chain_ids(diff_ids: Sequence[Digest]) -> list[Digest]:
    """The chain ID of every prefix: ``[ChainID(L0), ChainID(L0|L1), ...]``."""
    out: list[Digest] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            h = hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest()
            out.append(Digest("sha256", h))
    return out


def chain_id(diff_ids: Sequence[Digest]) -> Digest | None:
    ids = chain_ids(diff_ids)
    return ids[-1] if ids else None
