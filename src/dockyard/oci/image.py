"""Image configuration (OCI ``config.md`` / Docker's image JSON): typed view plus exact JSON codec.

The stored config blob is never rewritten: its digest *is* the image ID. :func:`parse_image_config` gives
a typed view of any config; :meth:`ImageConfig.to_json` encodes new ones (built, imported, committed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest

__all__ = [
    "ContainerConfig",
    "HealthConfig",
    "History",
    "ImageConfig",
    "parse_image_config",
]


def _strs(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise InvalidArgument("invalid image config: expected a list of strings")
    return tuple(str(v) for v in value)


def _set(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if not isinstance(value, Mapping):
        raise InvalidArgument("invalid image config: expected an object")
    return tuple(value.keys())


@dataclass(frozen=True)
class HealthConfig:
    """An image's ``HEALTHCHECK``."""

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HealthConfig:
        return cls(
            test=tuple(data.get("Test") or ()),
            interval=int(data.get("Interval") or 0),
            timeout=int(data.get("Timeout") or 0),
            start_period=int(data.get("StartPeriod") or 0),
            start_interval=int(data.get("StartInterval") or 0),
            retries=int(data.get("Retries") or 0),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Test": list(self.test)}
        for key, value in (
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
            ("Retries", self.retries),
        ):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class ContainerConfig:
    """The runnable part of an image config (``config`` in the JSON). ``None`` means "not set"."""

    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: tuple[str, ...] = ()
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: HealthConfig | None = None
    on_build: tuple[str, ...] = ()
    shell: tuple[str, ...] | None = None
    args_escaped: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ContainerConfig:
        if not data:
            return cls()
        hc = data.get("Healthcheck")
        labels = data.get("Labels") or {}
        if not isinstance(labels, Mapping):
            raise InvalidArgument("invalid image config: Labels must be an object")
        return cls(
            user=str(data.get("User") or ""),
            exposed_ports=_set(data.get("ExposedPorts")),
            env=_strs(data.get("Env")) or (),
            entrypoint=_strs(data.get("Entrypoint")),
            cmd=_strs(data.get("Cmd")),
            volumes=_set(data.get("Volumes")),
            working_dir=str(data.get("WorkingDir") or ""),
            labels={str(k): str(v) for k, v in labels.items()},
            stop_signal=str(data.get("StopSignal") or ""),
            healthcheck=HealthConfig.from_json(hc) if isinstance(hc, Mapping) else None,
            on_build=_strs(data.get("OnBuild")) or (),
            shell=_strs(data.get("Shell")),
            args_escaped=bool(data.get("ArgsEscaped", False)),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {v: {} for v in self.volumes}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_json()
        if self.on_build:
            out["OnBuild"] = list(self.on_build)
        if self.shell is not None:
            out["Shell"] = list(self.shell)
        if self.args_escaped:
            out["ArgsEscaped"] = True
        return out

    def env_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.env:
            key, _, value = item.partition("=")
            out[key] = value
        return out


@dataclass(frozen=True)
class History:
    """One entry of an image config's history."""

    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> History:
        return cls(
            created=str(data.get("created") or ""),
            created_by=str(data.get("created_by") or ""),
            author=str(data.get("author") or ""),
            comment=str(data.get("comment") or ""),
            empty_layer=bool(data.get("empty_layer", False)),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.created_by:
            out["created_by"] = self.created_by
        if self.author:
            out["author"] = self.author
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


@dataclass(frozen=True)
class ImageConfig:
    """An OCI image configuration: platform, container config, layers' diff IDs and history."""

    architecture: str = "amd64"
    os: str = "linux"
    created: str = ""
    author: str = ""
    config: ContainerConfig = field(default_factory=ContainerConfig)
    diff_ids: tuple[Digest, ...] = ()
    history: tuple[History, ...] = ()
    variant: str = ""
    comment: str = ""

    def to_json(self) -> bytes:
        obj: dict[str, Any] = {"architecture": self.architecture}
        if self.author:
            obj["author"] = self.author
        if self.comment:
            obj["comment"] = self.comment
        obj["config"] = self.config.to_json()
        if self.created:
            obj["created"] = self.created
        obj["history"] = [h.to_json() for h in self.history]
        obj["os"] = self.os
        obj["rootfs"] = {"type": "layers", "diff_ids": [str(d) for d in self.diff_ids]}
        if self.variant:
            obj["variant"] = self.variant
        return json.dumps(obj, separators=(",", ":")).encode()


def parse_image_config(data: bytes) -> ImageConfig:
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"invalid image config: {exc}") from exc
    if not isinstance(obj, dict):
        raise InvalidArgument("invalid image config: not a JSON object")
    rootfs = obj.get("rootfs") or {}
    if not isinstance(rootfs, Mapping):
        raise InvalidArgument("invalid image config: rootfs must be an object")
    diff_ids = tuple(Digest.parse(str(d)) for d in rootfs.get("diff_ids") or ())
    history = tuple(History.from_json(h) for h in obj.get("history") or () if isinstance(h, Mapping))
    return ImageConfig(
        architecture=str(obj.get("architecture") or ""),
        os=str(obj.get("os") or ""),
        created=str(obj.get("created") or ""),
        author=str(obj.get("author") or ""),
        config=ContainerConfig.from_json(obj.get("config")),
        diff_ids=diff_ids,
        history=history,
        variant=str(obj.get("variant") or ""),
        comment=str(obj.get("comment") or ""),
    )
