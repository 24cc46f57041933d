"""dockyard.api."""

__all__: list[str] = []
