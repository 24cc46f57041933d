"""dockyard.api.handlers."""

__all__: list[str] = []
