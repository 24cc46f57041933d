"""Per-invocation CLI state: settings and a lazily-created engine."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.settings import Settings

__all__ = ["CliState"]


class CliState:
    def __init__(self, root: str | None, debug: bool, log_level: str) -> None:
        self.root = root
        self.debug = debug
        level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(log_level, log_level.upper())
        logging.basicConfig(
            level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
        )
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from dockyard.settings import load_settings

            self._settings = load_settings(self.root, debug=self.debug)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from dockyard.engine import Engine

            self._engine = Engine(self.settings)
        return self._engine
