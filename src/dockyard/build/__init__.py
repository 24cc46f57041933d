"""Building images from Dockerfiles: the pure frontend (``build.dockerfile``), the context, the executor."""

from dockyard.build.context import (
    BuildContext,
    ContextEntry,
    EntryKind,
    SourceMatch,
    check_destination,
    is_remote_source,
)

__all__ = ["BuildContext", "ContextEntry", "EntryKind", "SourceMatch", "check_destination", "is_remote_source"]
