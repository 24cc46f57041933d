"""dockyard.cli.commands."""

__all__: list[str] = []
