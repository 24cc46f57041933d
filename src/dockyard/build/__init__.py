"""Building images from Dockerfiles: the pure frontend (``build.dockerfile``), the context, the executor.

Names are imported on first use (PEP 562): importing ``dockyard.build.dockerfile`` must stay light, and importing
``BuildContext`` must not load the executor, the cache or the runtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.build.cache import BuildCache, CacheEntry, CacheInputs
    from dockyard.build.context import (
        BuildContext,
        ContextEntry,
        EntryKind,
        SourceMatch,
        check_destination,
        is_remote_source,
    )
    from dockyard.build.executor import BuildHost, Executor
    from dockyard.build.layertar import commit_upper, write_layer_tar
    from dockyard.build.options import (
        BuildError,
        BuildNetwork,
        BuildOptions,
        BuildResult,
        BuildStepError,
        BuildTrace,
        CacheMiss,
    )
    from dockyard.build.seams import NetworkInfo, NetworkSeam

_LAZY = {
    "BuildContext": "context",
    "ContextEntry": "context",
    "EntryKind": "context",
    "SourceMatch": "context",
    "check_destination": "context",
    "is_remote_source": "context",
    "BuildCache": "cache",
    "CacheEntry": "cache",
    "CacheInputs": "cache",
    "BuildHost": "executor",
    "Executor": "executor",
    "commit_upper": "layertar",
    "write_layer_tar": "layertar",
    "BuildError": "options",
    "BuildNetwork": "options",
    "BuildOptions": "options",
    "BuildResult": "options",
    "BuildStepError": "options",
    "BuildTrace": "options",
    "CacheMiss": "options",
    "NetworkInfo": "seams",
    "NetworkSeam": "seams",
}

__all__ = [
    "BuildCache",
    "BuildContext",
    "BuildError",
    "BuildHost",
    "BuildNetwork",
    "BuildOptions",
    "BuildResult",
    "BuildStepError",
    "BuildTrace",
    "CacheEntry",
    "CacheInputs",
    "CacheMiss",
    "ContextEntry",
    "EntryKind",
    "Executor",
    "NetworkInfo",
    "NetworkSeam",
    "SourceMatch",
    "check_destination",
    "commit_upper",
    "is_remote_source",
    "write_layer_tar",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard.build' has no attribute {name!r}")
    return getattr(import_module(f"dockyard.build.{module}"), name)
