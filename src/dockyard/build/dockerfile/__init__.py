"""dockyard.build.dockerfile."""

__all__: list[str] = []
