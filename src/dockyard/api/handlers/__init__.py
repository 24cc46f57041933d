"""Route handlers, one module per noun. Each module has ``register(router)``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.api.app import Router

__all__ = ["MODULES", "register_all"]

MODULES = ["system", "images", "networks", "auth", "volumes", "containers", "build"]


def register_all(router: Router) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(f"dockyard.api.handlers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dockyard.api.handlers.{name}":
                continue  # that part of the API is not built yet
            raise
        module.register(router)
