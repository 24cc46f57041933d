"""Building images from Dockerfiles: the pure frontend (``build.dockerfile``), the context, the executor.

Names are imported on first use (PEP 562): importing ``dockyard.build.dockerfile`` must stay light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.build.context import (
        BuildContext,
        ContextEntry,
        EntryKind,
        SourceMatch,
        check_destination,
        is_remote_source,
    )

_WHERE = {
    name: "context"
    for name in ("BuildContext", "ContextEntry", "EntryKind", "SourceMatch", "check_destination", "is_remote_source")
}

__all__ = ["BuildContext", "ContextEntry", "EntryKind", "SourceMatch", "check_destination", "is_remote_source"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(import_module(f"dockyard.build.{module}"), name)
