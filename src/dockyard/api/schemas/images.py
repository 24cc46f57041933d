"""Images as the Docker Engine API shows them: ``/images/json`` summaries, ``/images/{name}/json``, history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.engine.images import HistoryEntry, Image
from dockyard.oci.image import ContainerConfig
from dockyard.store.images import ImageRecord
from dockyard.store.layers import Layer
from dockyard.timeutil import parse_rfc3339, rfc3339_nano

__all__ = ["container_config_json", "image_history", "image_inspect", "image_summary"]


def container_config_json(cfg: ContainerConfig, image: str = "") -> dict[str, Any]:
    """The ``Config`` object of image inspect (Docker's container.Config with zero values)."""
    return {
        "Hostname": "",
        "Domainname": "",
        "User": cfg.user,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        **({"ExposedPorts": {p: {} for p in cfg.exposed_ports}} if cfg.exposed_ports else {}),
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": list(cfg.env) or None,
        "Cmd": list(cfg.cmd) if cfg.cmd is not None else None,
        **({"Healthcheck": cfg.healthcheck.to_json()} if cfg.healthcheck else {}),
        **({"ArgsEscaped": True} if cfg.args_escaped else {}),
        "Image": image,
        "Volumes": {v: {} for v in cfg.volumes} if cfg.volumes else None,
        "WorkingDir": cfg.working_dir,
        "Entrypoint": list(cfg.entrypoint) if cfg.entrypoint is not None else None,
        "OnBuild": list(cfg.on_build) if cfg.on_build else None,
        "Labels": dict(cfg.labels) if cfg.labels else None,
        **({"StopSignal": cfg.stop_signal} if cfg.stop_signal else {}),
        **({"Shell": list(cfg.shell)} if cfg.shell is not None else {}),
    }


def image_summary(record: ImageRecord, labels: dict[str, str] | None = None, containers: int = -1) -> dict[str, Any]:
    """One element of ``GET /images/json`` (API 1.41 shape)."""
    dangling = not record.tags and not record.digests
    return {
        "Containers": containers,
        "Created": int(parse_rfc3339(record.created) or record.added),
        "Id": str(record.id),
        "Labels": labels or None,
        "ParentId": str(record.parent) if record.parent else "",
        "RepoDigests": [d.familiar for d in record.digests]
        if record.digests
        else (["<none>@<none>"] if dangling else None),
        "RepoTags": [t.familiar for t in record.tags] if record.tags else (["<none>:<none>"] if dangling else None),
        "SharedSize": -1,
        "Size": record.size,
        "VirtualSize": record.size,
    }


def image_inspect(image: Image, layers: Sequence[Layer], layer_root: str) -> dict[str, Any]:
    """``GET /images/{name}/json``. ``layers`` top first (as ``LayerStore.chain`` returns them)."""
    rec, cfg = image.record, image.config
    graph: dict[str, Any] = {}
    if layers:
        graph["MergedDir"] = ""
        graph["UpperDir"] = str(layers[0].path)
        graph["WorkDir"] = ""
        if len(layers) > 1:
            graph["LowerDir"] = ":".join(str(layer.path) for layer in layers[1:])
    return {
        "Id": str(rec.id),
        "RepoTags": [t.familiar for t in rec.tags],
        "RepoDigests": [d.familiar for d in rec.digests],
        "Parent": str(rec.parent) if rec.parent else "",
        "Comment": cfg.comment,
        "Created": cfg.created or rfc3339_nano(rec.added),
        "Container": "",
        "ContainerConfig": container_config_json(ContainerConfig()),
        "DockerVersion": "",
        "Author": cfg.author,
        "Config": container_config_json(cfg.config),
        "Architecture": cfg.architecture,
        **({"Variant": cfg.variant} if cfg.variant else {}),
        "Os": cfg.os,
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {"Data": {k: graph[k] for k in sorted(graph)} or None, "Name": "overlay2"},
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in cfg.diff_ids]},
        "Metadata": {"LastTagTime": rfc3339_nano(rec.added)},
    }


def image_history(entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    """``GET /images/{name}/history``."""
    return [
        {
            "Id": e.id,
            "Created": int(parse_rfc3339(e.created)),
            "CreatedBy": e.created_by,
            "Tags": list(e.tags) or None,
            "Size": e.size,
            "Comment": e.comment,
        }
        for e in entries
    ]
