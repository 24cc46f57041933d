"""dockyard's own OCI registry server (distribution spec and Docker registry API v2), on ``aiohttp``.

``dockyard registry serve`` runs :func:`serve`; tests embed it with :class:`RegistryThread`; ``dockyard registry
gc`` runs :func:`collect_garbage`. Names are loaded lazily so that ``gc`` does not import ``aiohttp``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.registry.server.app import create_app
    from dockyard.registry.server.config import DEFAULT_ADDR, DEFAULT_STORAGE, RegistryConfig, parse_addr
    from dockyard.registry.server.errors import ErrorCode, SpecError
    from dockyard.registry.server.gc import GcReport, collect_garbage
    from dockyard.registry.server.lock import lock_storage
    from dockyard.registry.server.serve import RegistryThread, run_registry, serve

_WHERE = {
    "DEFAULT_ADDR": "config",
    "DEFAULT_STORAGE": "config",
    "ErrorCode": "errors",
    "GcReport": "gc",
    "RegistryConfig": "config",
    "RegistryThread": "serve",
    "SpecError": "errors",
    "collect_garbage": "gc",
    "create_app": "app",
    "lock_storage": "lock",
    "parse_addr": "config",
    "run_registry": "serve",
    "serve": "serve",
}

__all__ = [
    "DEFAULT_ADDR",
    "DEFAULT_STORAGE",
    "ErrorCode",
    "GcReport",
    "RegistryConfig",
    "RegistryThread",
    "SpecError",
    "collect_garbage",
    "create_app",
    "lock_storage",
    "parse_addr",
    "run_registry",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard.registry.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dockyard.registry.server.{module}"), name)
    globals()[name] = value
    return value
