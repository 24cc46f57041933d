"""dockyard.build."""

__all__: list[str] = []
