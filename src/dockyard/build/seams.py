"""The executor's view of the engine's network service (RUN steps need a network namespace and /etc files)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dockyard.build.options import BuildNetwork

__all__ = ["NetworkInfo", "NetworkSeam"]


@dataclass(frozen=True)
class NetworkInfo:
    """``netns`` is empty for the host's network; ``hosts``/``resolv_conf`` are the files' contents."""

    netns: str
    hosts: str
    resolv_conf: str


class NetworkSeam(Protocol):
    """What a RUN step needs from the network service (implemented by the engine)."""

    def setup(
        self, container_id: str, hostname: str, mode: BuildNetwork, extra_hosts: Sequence[str]
    ) -> NetworkInfo: ...

    def release(self, container_id: str) -> None: ...
