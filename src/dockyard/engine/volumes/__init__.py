"""Named volumes: records in SQLite, data under ``<root>/volumes/<name>/_data``, the ``local`` driver's options
(tmpfs, bind), and populating a new volume from the image (see :mod:`dockyard.engine.volumes.service`)."""

from __future__ import annotations

from dockyard.engine.volumes.populate import copy_tree, dir_size, resolve_in_root
from dockyard.engine.volumes.service import VolumeService
from dockyard.engine.volumes.types import (
    ANONYMOUS_LABEL,
    DEFAULT_DRIVER,
    DeleteReport,
    PruneReport,
    Volume,
    VolumeFilters,
    validate_name,
    volume_json,
)

__all__ = [
    "ANONYMOUS_LABEL",
    "DEFAULT_DRIVER",
    "DeleteReport",
    "PruneReport",
    "Volume",
    "VolumeFilters",
    "VolumeService",
    "copy_tree",
    "dir_size",
    "resolve_in_root",
    "validate_name",
    "volume_json",
]
