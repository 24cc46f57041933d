"""The container service: records in SQLite, lifecycle on runc + conmon, and the views ``ps``/``inspect`` show.

Modules, one noun each: ``types`` (small values and reports), ``options`` (CreateOptions), ``schema``/``records``
(the tables), ``names``, ``create``, ``runspec`` (record -> runtime/network options), ``lifecycle`` (start, end
of a run), ``controls`` (stop, kill, pause, remove, wait), ``reconcile`` (exit hook, restart policies),
``liveness`` (cheap host checks), ``listing`` (ps, filters), ``views`` (Docker's JSON), ``streams`` (logs,
attach, exec, top, stats), ``files`` (cp, diff, export, commit), ``locks``, ``host`` (rows, bundles, the conmon
monitor and its exit hook, settling: the base of the service). ``service.ContainerService`` is the facade. Names
are imported on first use, so ``ps`` pays only for what it touches.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the fast ``ps`` imports this package)
if TYPE_CHECKING:
    from typing import Any

    from dockyard.engine.containers.commit import CommitOptions
    from dockyard.engine.containers.endpoints import EndpointView
    from dockyard.engine.containers.execs import ExecRecord
    from dockyard.engine.containers.files import ArchiveStat, Change, ChangeKind
    from dockyard.engine.containers.options import CreateOptions, MountRequest
    from dockyard.engine.containers.records import ContainerRecord, PublishedPort
    from dockyard.engine.containers.service import ContainerService
    from dockyard.engine.containers.streams import ExecHandle, ExecInfo, PendingAttach, StatsSample
    from dockyard.engine.containers.types import (
        ContainerMount,
        ContainerStatus,
        MountRequestType,
        NoSuchImage,
        RestartPolicy,
        RestartPolicyName,
        RunConfig,
        UlimitSpec,
    )
    from dockyard.engine.containers.verbs import (
        AttachOptions,
        CreateResult,
        ExecCreateOptions,
        ItemReport,
        KillOptions,
        PruneReport,
        PullPolicy,
        RemoveOptions,
        StopOptions,
        UpdateOptions,
        WaitCondition,
    )
    from dockyard.engine.containers.views import ContainerDetails

__all__ = [
    "ArchiveStat",
    "AttachOptions",
    "Change",
    "ChangeKind",
    "CommitOptions",
    "ContainerDetails",
    "ContainerMount",
    "ContainerRecord",
    "ContainerService",
    "ContainerStatus",
    "CreateOptions",
    "CreateResult",
    "EndpointView",
    "ExecCreateOptions",
    "ExecHandle",
    "ExecInfo",
    "ExecRecord",
    "ItemReport",
    "KillOptions",
    "MountRequest",
    "MountRequestType",
    "NoSuchImage",
    "PendingAttach",
    "PruneReport",
    "PublishedPort",
    "PullPolicy",
    "RemoveOptions",
    "RestartPolicy",
    "RestartPolicyName",
    "RunConfig",
    "StatsSample",
    "StopOptions",
    "UlimitSpec",
    "UpdateOptions",
    "WaitCondition",
]

_LAZY = {
    "AttachOptions": "verbs",
    "CreateResult": "verbs",
    "ExecCreateOptions": "verbs",
    "ItemReport": "verbs",
    "KillOptions": "verbs",
    "PruneReport": "verbs",
    "PullPolicy": "verbs",
    "RemoveOptions": "verbs",
    "StopOptions": "verbs",
    "UpdateOptions": "verbs",
    "WaitCondition": "verbs",
    "ArchiveStat": "files",
    "Change": "files",
    "ChangeKind": "files",
    "CommitOptions": "commit",
    "CreateOptions": "options",
    "MountRequest": "options",
    "ContainerRecord": "records",
    "ExecRecord": "execs",
    "PublishedPort": "records",
    "ContainerService": "service",
    "PendingAttach": "streams",
    "ExecHandle": "streams",
    "ExecInfo": "streams",
    "StatsSample": "streams",
    "ContainerDetails": "views",
    "EndpointView": "endpoints",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'dockyard.engine.containers' has no attribute {name!r}")
    return getattr(import_module(f"dockyard.engine.containers.{_LAZY.get(name, 'types')}"), name)
