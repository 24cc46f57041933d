"""The dockyard command line (click, imported lazily per command)."""

from dockyard.cli.main import main

__all__ = ["main"]
