"""dockyard.runtime: OCI bundles, runc, the conmon monitor, logs and attach — what the container service calls to
run containers.

Flow: ``write_bundle(dir, ContainerSpec(...))`` -> ``RuncRuntime(root).create(id, bundle, MonitorOptions(...))``
-> ``attach(bundle)`` (foreground) -> ``start(id)`` -> ``wait``/``logs``/``exec``/``stop``/``kill``/``pause`` ->
``delete(id)``. Every name is imported on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.runtime.attach import AttachSocket, DetachKeys, FrameDecoder, PumpResult, Stream, docker_frame, pump
    from dockyard.runtime.attach_async import AsyncAttachSocket
    from dockyard.runtime.bundle import Bundle, write_bundle
    from dockyard.runtime.caps import DEFAULT_CAPABILITIES
    from dockyard.runtime.cgroups import CgroupStats, FreezerState, freezer_state, read_stats
    from dockyard.runtime.errors import ContainerStartError
    from dockyard.runtime.etcfiles import host_resolv_conf_path, update_etc_files, write_etc_files
    from dockyard.runtime.exec import ExecOptions
    from dockyard.runtime.host import HostInfo, current_host
    from dockyard.runtime.logs import LogEntry, LogOptions, format_timestamp, read_log
    from dockyard.runtime.monitor import Created, ExecSession, MonitorOptions
    from dockyard.runtime.options import (
        DEFAULT_SHM_SIZE,
        ContainerSpec,
        EtcFiles,
        Mount,
        MountType,
        Namespace,
        NamespaceMode,
        Propagation,
        Resources,
        SeccompMode,
        SecurityOptions,
        Ulimit,
    )
    from dockyard.runtime.parse import (
        parse_bytes,
        parse_security_opts,
        parse_tmpfs,
        parse_ulimit,
        parse_volume,
    )
    from dockyard.runtime.runc import Runc, RuncState, RuncStatus
    from dockyard.runtime.runtime import ContainerState, ContainerStatus, RuncRuntime, Runtime, parse_signal
    from dockyard.runtime.spec import build_spec, linux_resources
    from dockyard.runtime.terminal import raw_terminal, terminal_size
    from dockyard.runtime.top import TopResult

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_SHM_SIZE",
    "AsyncAttachSocket",
    "AttachSocket",
    "Bundle",
    "CgroupStats",
    "ContainerSpec",
    "ContainerStartError",
    "ContainerState",
    "ContainerStatus",
    "Created",
    "DetachKeys",
    "EtcFiles",
    "ExecOptions",
    "ExecSession",
    "FrameDecoder",
    "FreezerState",
    "HostInfo",
    "LogEntry",
    "LogOptions",
    "MonitorOptions",
    "Mount",
    "MountType",
    "Namespace",
    "NamespaceMode",
    "Propagation",
    "PumpResult",
    "Resources",
    "Runc",
    "RuncRuntime",
    "RuncState",
    "RuncStatus",
    "Runtime",
    "SeccompMode",
    "SecurityOptions",
    "Stream",
    "TopResult",
    "Ulimit",
    "build_spec",
    "current_host",
    "docker_frame",
    "format_timestamp",
    "freezer_state",
    "host_resolv_conf_path",
    "linux_resources",
    "parse_bytes",
    "parse_security_opts",
    "parse_signal",
    "parse_tmpfs",
    "parse_ulimit",
    "parse_volume",
    "pump",
    "raw_terminal",
    "read_log",
    "read_stats",
    "terminal_size",
    "update_etc_files",
    "write_bundle",
    "write_etc_files",
]

_LAZY = {
    "DEFAULT_SHM_SIZE": "options",
    "ContainerSpec": "options",
    "EtcFiles": "options",
    "Mount": "options",
    "MountType": "options",
    "Namespace": "options",
    "NamespaceMode": "options",
    "Propagation": "options",
    "Resources": "options",
    "SeccompMode": "options",
    "SecurityOptions": "options",
    "Ulimit": "options",
    "AttachSocket": "attach",
    "DetachKeys": "attach",
    "FrameDecoder": "attach",
    "PumpResult": "attach",
    "Stream": "attach",
    "docker_frame": "attach",
    "pump": "attach",
    "AsyncAttachSocket": "attach_async",
    "Bundle": "bundle",
    "write_bundle": "bundle",
    "DEFAULT_CAPABILITIES": "caps",
    "CgroupStats": "cgroups",
    "FreezerState": "cgroups",
    "freezer_state": "cgroups",
    "read_stats": "cgroups",
    "ContainerStartError": "errors",
    "host_resolv_conf_path": "etcfiles",
    "update_etc_files": "etcfiles",
    "write_etc_files": "etcfiles",
    "ExecOptions": "exec",
    "HostInfo": "host",
    "current_host": "host",
    "LogEntry": "logs",
    "LogOptions": "logs",
    "format_timestamp": "logs",
    "read_log": "logs",
    "Created": "monitor",
    "ExecSession": "monitor",
    "MonitorOptions": "monitor",
    "parse_bytes": "parse",
    "parse_security_opts": "parse",
    "parse_tmpfs": "parse",
    "parse_ulimit": "parse",
    "parse_volume": "parse",
    "Runc": "runc",
    "RuncState": "runc",
    "RuncStatus": "runc",
    "ContainerState": "runtime",
    "ContainerStatus": "runtime",
    "RuncRuntime": "runtime",
    "Runtime": "runtime",
    "parse_signal": "runtime",
    "build_spec": "spec",
    "linux_resources": "spec",
    "raw_terminal": "terminal",
    "terminal_size": "terminal",
    "TopResult": "top",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard.runtime' has no attribute {name!r}")
    return getattr(import_module(f"dockyard.runtime.{module}"), name)
