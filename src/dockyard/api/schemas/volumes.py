"""Volumes as the Docker Engine API shows them: ``/volumes`` list, create request, prune report.

One volume's JSON is :func:`dockyard.engine.volumes.volume_json` (the engine's ``inspect`` returns it, so the
CLI's ``volume inspect`` and ``GET /volumes/{name}`` print the same object).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.engine.volumes import PruneReport, Volume, volume_json
from dockyard.errors import InvalidArgument

__all__ = ["VolumeCreateRequest", "parse_create", "volume_list", "volume_prune"]


@dataclass(frozen=True)
class VolumeCreateRequest:
    """``POST /volumes/create``: ``{"Name", "Driver", "DriverOpts", "Labels"}`` (all optional)."""

    name: str | None
    driver: str
    options: Mapping[str, str] | None
    labels: Mapping[str, str] | None


def _string_map(body: Mapping[str, Any], key: str) -> dict[str, str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"json: cannot unmarshal {key} into Go struct field of type map[string]string")
    return {str(k): v for k, v in value.items()}


def parse_create(body: object) -> VolumeCreateRequest:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidArgument("json: cannot unmarshal into Go value of type volume.CreateOptions")
    name = body.get("Name") or None
    driver = body.get("Driver") or "local"
    if name is not None and not isinstance(name, str):
        raise InvalidArgument("json: cannot unmarshal Name into Go struct field of type string")
    if not isinstance(driver, str):
        raise InvalidArgument("json: cannot unmarshal Driver into Go struct field of type string")
    return VolumeCreateRequest(name, driver, _string_map(body, "DriverOpts"), _string_map(body, "Labels"))


def volume_list(volumes: Sequence[Volume], warnings: Sequence[str] = ()) -> dict[str, object]:
    """``GET /volumes``: ``{"Volumes": [...], "Warnings": null}``."""
    return {"Volumes": [volume_json(v) for v in volumes], "Warnings": list(warnings) or None}


def volume_prune(report: PruneReport) -> dict[str, object]:
    """``POST /volumes/prune``: ``{"VolumesDeleted": [...], "SpaceReclaimed": n}``."""
    return {"VolumesDeleted": list(report.deleted), "SpaceReclaimed": report.space_reclaimed}
