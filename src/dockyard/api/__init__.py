"""The Docker Engine API server (``dockyard system service``) and the JSON shapes Docker clients expect.

Nothing is imported eagerly: the CLI uses ``dockyard.api.schemas`` and must not pay for aiohttp.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dockyard.api import app

        return getattr(app, name)
    raise AttributeError(name)
