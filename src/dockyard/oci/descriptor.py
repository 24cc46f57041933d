"""Descriptors and platforms (OCI image-spec ``descriptor.md``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest

__all__ = ["Descriptor", "Platform", "host_platform"]


@dataclass(frozen=True)
class Platform:
    """An OCI platform: OS, architecture and variant."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""
    os_version: str = ""

    @classmethod
    def parse(cls, value: str) -> Platform:
        """``linux/amd64``, ``linux/arm64/v8``, ``amd64`` (os defaults to linux)."""
        parts = [p for p in value.strip().split("/") if p]
        if not parts or len(parts) > 3:
            raise InvalidArgument(f"invalid platform: {value!r}")
        if len(parts) == 1:
            return cls("linux", normalize_arch(parts[0]))
        variant = parts[2] if len(parts) == 3 else ""
        return cls(parts[0].lower(), normalize_arch(parts[1]), variant)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Platform:
        return cls(
            os=str(data.get("os", "")),
            architecture=str(data.get("architecture", "")),
            variant=str(data.get("variant", "") or ""),
            os_version=str(data.get("os.version", "") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        return out

    def matches(self, other: Platform) -> bool:
        if self.os != other.os or normalize_arch(self.architecture) != normalize_arch(other.architecture):
            return False
        return not (self.variant and other.variant and self.variant != other.variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "i386": "386"}


def normalize_arch(arch: str) -> str:
    return _ARCH_ALIASES.get(arch.lower(), arch.lower())


def host_platform() -> Platform:
    return Platform("linux", normalize_arch(os.uname().machine))  # platform.machine(), without importing platform


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: media type, digest, size and annotations."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        try:
            digest = Digest.parse(str(data["digest"]))
            size = int(data["size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"invalid descriptor: {exc}") from exc
        if size < 0:
            raise InvalidArgument("invalid descriptor: negative size")
        plat = data.get("platform")
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=digest,
            size=size,
            annotations=dict(data.get("annotations") or {}),
            platform=Platform.from_json(plat) if isinstance(plat, Mapping) else None,
            urls=tuple(data.get("urls") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out
