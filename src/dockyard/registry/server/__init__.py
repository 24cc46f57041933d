"""dockyard.registry.server."""

__all__: list[str] = []
