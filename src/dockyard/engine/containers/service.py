"""ContainerService: the one API behind the container commands and the Docker API's ``/containers`` routes.

Flow of ``docker run`` on it: ``create(CreateOptions) -> CreateResult`` -> ``attach(id)`` (optional, before
start: nothing is missed) -> ``start(id)`` -> ``wait(id, NEXT_EXIT)`` -> exit code; ``--rm`` containers remove
themselves when their run ends. Everything else is one call each: ``stop``/``kill``/``restart``/``pause``/
``unpause``/``remove`` (batch, one report per name), ``logs``, ``exec_*``, ``top``, ``stats``, ``port``,
``rename``, ``prune``, ``list``, ``inspect``, ``diff``, ``commit``, ``export``, ``archive_get``/``archive_put``.

Nothing here needs a daemon: conmon runs ``dockyard container cleanup <id>`` when a container ends, and every
call first reconciles the rows it touches against the host (see ``reconcile.py``). The service's footing — rows,
bundles, the runtime, the monitor and its exit hook, settling — is its base class ``host.ContainerHost``; this
module holds the verbs. Heavy packages (runtime, network, the image store) are imported on first use, so
``list`` costs one query and a few syscalls.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING

from dockyard.engine.containers.host import ContainerHost
from dockyard.engine.containers.records import ContainerRecord, PublishedPort
from dockyard.engine.containers.types import ContainerStatus
from dockyard.errors import Conflict, DockyardError, InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.containers.commit import CommitOptions
    from dockyard.engine.containers.files import ArchiveStat, Change
    from dockyard.engine.containers.listing import ContainerSummary
    from dockyard.engine.containers.options import CreateOptions
    from dockyard.engine.containers.streams import ExecHandle, ExecInfo, PendingAttach, StatsSample
    from dockyard.engine.containers.verbs import (
        CreateResult,
        ExecCreateOptions,
        ItemReport,
        KillOptions,
        PruneReport,
        RemoveOptions,
        StopOptions,
        UpdateOptions,
        WaitCondition,
    )
    from dockyard.engine.containers.views import ContainerDetails
    from dockyard.engine.networks import ContainerTarget
    from dockyard.engine.system import ContainerCounts
    from dockyard.runtime import Bundle, LogEntry, LogOptions, TopResult

__all__ = ["ContainerService"]

log = logging.getLogger(__name__)


class ContainerService(ContainerHost):
    """The container verbs; what they stand on (rows, bundles, the runtime, the monitor, settling) is
    :class:`~dockyard.engine.containers.host.ContainerHost`."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._pending: dict[str, list[PendingAttach]] = {}

    # -- batches -----------------------------------------------------------------------------------------------

    def _batch(self, names: Sequence[str], action: Callable[[ContainerRecord], object]) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.verbs import ItemReport

        reports = []
        for name in names:
            try:
                record = self.get(name)
                action(record)
                reports.append(ItemReport(name, record.id))
            except DockyardError as exc:
                reports.append(ItemReport(name, error=exc.message))
        return reports

    # -- create and start --------------------------------------------------------------------------------------

    def create(self, options: CreateOptions) -> CreateResult:
        from dockyard.engine.containers.create import create_container

        self.settle()
        return create_container(self, options)

    def start(
        self,
        name_or_id: str,
        *,
        attachers: Sequence[Callable[[Bundle], None]] = (),
        console_size: tuple[int, int] | None = None,
        while_creating: Callable[[], None] | None = None,
    ) -> ContainerRecord:
        """Start one container. ``attachers`` run after the monitor listens and before the process starts;
        ``while_creating`` while runc creates the container (in parallel with it: preparation, imports)."""
        from dockyard.engine.containers.lifecycle import start_container

        record = self.get(name_or_id)
        pending = self._pending.pop(record.id, [])
        everyone = [*attachers, *(p.attach_bundle for p in pending)]
        try:
            with self.locks.hold(record.id):
                current = self.store.get(record.id) or record
                try:
                    return start_container(
                        self, current, attachers=everyone, console_size=console_size, while_creating=while_creating
                    )
                except BaseException:
                    if current.options.auto_remove:  # --rm: Docker removes a container that failed to start too
                        self._remove_after_failed_start(record.id)
                    raise
        except BaseException as exc:
            for p in pending:
                p.fail(exc)
            raise

    def _remove_after_failed_start(self, container_id: str) -> None:
        """Remove an auto-remove container whose start failed (its lock held); the start's error is what the caller
        reports, so a failure here is only logged (a later command reconciles what is left). Only a container the
        failed start left created or exited: one being removed by another process, or still running, is not ours."""
        current = self.store.get(container_id)
        if current is None or current.status not in (ContainerStatus.CREATED, ContainerStatus.EXITED):
            return
        try:
            self.remove_locked(container_id, volumes=True)
        except Exception as exc:  # the start's own error is the one to report
            log.warning("container %s: not removed after its failed start: %s", container_id[:12], exc)

    def start_many(self, names: Sequence[str]) -> builtins.list[ItemReport]:
        return self._batch(names, lambda r: self.start(r.id))

    # -- stopping and removing ---------------------------------------------------------------------------------

    def stop(self, names: Sequence[str], options: StopOptions | None = None) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.controls import stop_container
        from dockyard.engine.containers.verbs import StopOptions

        opts = options or StopOptions()
        return self._batch(names, lambda r: stop_container(self, r, opts.timeout, opts.signal))

    def restart(self, names: Sequence[str], options: StopOptions | None = None) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.controls import restart_container
        from dockyard.engine.containers.verbs import StopOptions

        opts = options or StopOptions()
        return self._batch(names, lambda r: restart_container(self, r, opts.timeout, opts.signal))

    def kill(self, names: Sequence[str], options: KillOptions | None = None) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.controls import kill_container
        from dockyard.engine.containers.verbs import KillOptions

        opts = options or KillOptions()
        return self._batch(names, lambda r: kill_container(self, r, opts.signal))

    def pause(self, names: Sequence[str]) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.controls import pause_container

        return self._batch(names, lambda r: pause_container(self, r))

    def unpause(self, names: Sequence[str]) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.controls import unpause_container

        return self._batch(names, lambda r: unpause_container(self, r))

    def remove(self, names: Sequence[str], options: RemoveOptions | None = None) -> builtins.list[ItemReport]:
        from dockyard.engine.containers.controls import remove_container
        from dockyard.engine.containers.verbs import RemoveOptions

        opts = options or RemoveOptions()
        return self._batch(names, lambda r: remove_container(self, r, force=opts.force, volumes=opts.volumes))

    def wait(
        self,
        name_or_id: str,
        condition: WaitCondition | None = None,
        timeout: float | None = None,
        *,
        run_token: str | None = None,
    ) -> int:
        """Docker's ``wait``: block until ``condition``, return the exit code (TimeoutError after ``timeout``).

        ``run_token`` names a run the caller started (``start`` returns it): its end counts even if it came before
        this call. Leave it out to wait for the next run of a container that is not running (the API's
        ``wait?condition=next-exit`` before ``start``)."""
        from dockyard.engine.containers.controls import wait_container
        from dockyard.engine.containers.verbs import WaitCondition
        from dockyard.errors import NotFound

        condition = condition or WaitCondition.NOT_RUNNING
        run_token = run_token or None  # "": a container that never started, so no run to name
        try:
            record = self.get(name_or_id)
        except NotFound:
            if condition is WaitCondition.REMOVED and run_token is not None:
                return self.recorded_exit(name_or_id, 0)  # removed already: the exit code the monitor recorded
            raise
        return wait_container(self, record, condition, timeout, run_token)

    def resize(self, name_or_id: str, height: int, width: int) -> None:
        """Resize the container's TTY (Docker's ``POST /containers/{id}/resize``)."""
        from dockyard.errors import Conflict

        record = self.get(name_or_id)
        if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
            raise Conflict(f"Container {record.id} is not running")
        self.runtime.resize(self.bundle(record.id), height, width)

    def finish(self, name_or_id: str) -> None:
        """Record the end of the current run now, if it ended (a foreground ``run`` after its output closed)."""
        from dockyard.engine.containers.lifecycle import finish_run

        record = self.store.resolve(name_or_id)
        finish_run(self, record.id, record.run_token)

    def cleanup(self, container_id: str, token: str = "") -> None:
        """conmon's exit command (``dockyard container cleanup``): finish the run, restart per policy."""
        from dockyard.engine.containers.reconcile import run_exit_hook

        run_exit_hook(self, container_id, token)

    def rename(self, name_or_id: str, new_name: str) -> None:
        from dockyard.engine.containers.names import validate_name

        record = self.get(name_or_id)
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        name = validate_name(new_name)
        if name == record.name:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        self.store.rename(record.id, name)
        from dataclasses import replace

        self.emit(replace(record, name=name), "rename", {"oldName": "/" + record.name})
        if record.status.active:
            self._refresh_dns(record.id)

    def update(self, name_or_id: str, options: UpdateOptions) -> list[str]:
        """``docker update``: new limits (applied to the cgroups at once when the container runs) and restart
        policy, kept for its later starts; returns the warnings."""
        import dataclasses

        from dockyard.engine.containers.create import validate_options
        from dockyard.engine.containers.types import RestartPolicyName

        record = self.get(name_or_id)
        changes = options.changes()
        if not changes:
            raise InvalidArgument("You must provide one or more flags when using this command.")
        with self.locks.hold(record.id):
            current = self.store.get(record.id) or record
            old = current.options
            policy = options.restart_policy
            if policy is not None and policy.name is not RestartPolicyName.NO and old.auto_remove:
                raise InvalidArgument(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container"
                )
            new = dataclasses.replace(old, **changes)  # type: ignore[arg-type]
            validate_options(new)
            if current.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
                from dockyard.engine.containers.runspec import resources

                limits = resources(new)
                if options.pids_limit is not None and options.pids_limit <= 0:  # back to unlimited: say so to runc
                    limits = dataclasses.replace(limits, pids_limit=-1)
                self.runtime.update(current.id, limits)
            from dockyard.engine.containers.codec import dumps

            self.store.update(current.id, options=dumps(new))
        self.emit(record, "update")
        return []

    def _refresh_dns(self, container_id: str) -> None:
        try:
            manager = self.engine.networks.manager
            ids = {e.network_id for e in manager.endpoints(container_id)}
            if ids:
                name = self.store.get(container_id)
                with manager.db.transaction() as conn:
                    conn.execute(
                        "UPDATE endpoints SET container_name = ? WHERE container_id = ?",
                        (name.name if name else "", container_id),
                    )
                manager.update_dns(ids)
        except Exception:
            log.debug("rename: DNS names not updated", exc_info=True)

    # -- I/O ---------------------------------------------------------------------------------------------------

    def logs(self, name_or_id: str, options: LogOptions) -> Iterator[LogEntry]:
        """The container's output (``docker logs``); follows while it runs when ``options.follow``."""
        from dockyard.engine.containers.streams import logs

        return logs(self, self.get(name_or_id), options)

    def attach(self, name_or_id: str) -> PendingAttach:
        """Attach to the container's stdio: now if it runs, else at its next start by this process (which
        connects before the process starts, so no output is missed). ``PendingAttach.wait()`` gives the socket."""
        from dockyard.engine.containers.streams import PendingAttach
        from dockyard.runtime import AttachSocket

        record = self.get(name_or_id)
        pending = PendingAttach(record.id)
        if record.status is ContainerStatus.RUNNING or record.status is ContainerStatus.PAUSED:
            pending.connect(AttachSocket.connect(self.bundle(record.id).attach_socket))
        elif record.status in (ContainerStatus.CREATED, ContainerStatus.EXITED, ContainerStatus.RESTARTING):
            self._pending.setdefault(record.id, []).append(pending)
        else:
            raise Conflict("You cannot attach to a stopped container, start it first")
        return pending

    def exec_create(self, name_or_id: str, options: ExecCreateOptions) -> str:
        from dockyard.engine.containers.streams import exec_create

        return exec_create(self, self.get(name_or_id), options, name_or_id)

    def exec_start(
        self, exec_id: str, *, detach: bool = False, console_size: tuple[int, int] | None = None
    ) -> ExecHandle:
        """Start an exec. Attached (not ``detach``): connect to ``handle.attach_socket``, then
        ``handle.start()``; ``handle.wait()`` is the exit code."""
        from dockyard.engine.containers.streams import exec_start

        return exec_start(self, exec_id, detach=detach, console_size=console_size)

    def exec_inspect(self, exec_id: str) -> ExecInfo:
        from dockyard.engine.containers.streams import exec_info

        return exec_info(self, exec_id)

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        from dockyard.runtime.attach import resize

        record = self.execs.get_exec(exec_id)
        if record is None:
            from dockyard.errors import NotFound

            raise NotFound(f"No such exec instance: {exec_id}")
        resize(self.bundle(record.container_id).exec_dir(exec_id) / "ctl", height, width)

    def top(self, name_or_id: str, ps_args: str = "") -> TopResult:
        from dockyard.engine.containers.streams import pids_of
        from dockyard.runtime.top import top

        record = self.get(name_or_id)
        return top(pids_of(self, record), ps_args)

    def stats(self, name_or_id: str) -> StatsSample:
        from dockyard.engine.containers.streams import stats

        return stats(self, self.get(name_or_id))

    # -- files -------------------------------------------------------------------------------------------------

    def archive_stat(self, name_or_id: str, path: str) -> ArchiveStat:
        """What ``path`` names in the container (``HEAD /containers/{id}/archive``)."""
        from dockyard.engine.containers.files import container_root, stat_in_root

        record = self.get(name_or_id)
        with container_root(self, record) as root:
            return stat_in_root(root, path)

    def archive_get(self, name_or_id: str, path: str, out: IO[bytes]) -> ArchiveStat:
        """Write a tar of ``path`` in the container to ``out`` (``GET /containers/{id}/archive``)."""
        from dockyard.engine.containers.files import archive_get, container_root

        record = self.get(name_or_id)
        with container_root(self, record) as root:
            return archive_get(root, path, out)

    def archive_put(self, name_or_id: str, path: str, source: IO[bytes]) -> None:
        """Extract the tar in ``source`` into the container's directory ``path`` (``PUT .../archive``)."""
        from dockyard.engine.containers.files import archive_put, container_root

        record = self.get(name_or_id)
        with container_root(self, record) as root:
            archive_put(root, path, source)

    def diff(self, name_or_id: str) -> builtins.list[Change]:
        """What the container changed in its root filesystem (``docker diff``)."""
        from dockyard.engine.containers.files import RUNTIME_MOUNTPOINTS, changes

        record = self.get(name_or_id)
        snapshot = self.engine.store.snapshots.get(record.id)
        if snapshot is None:
            return []
        lowers = [layer.path for layer in self.engine.store.layers.chain(snapshot.parent)]
        ignore = frozenset((*RUNTIME_MOUNTPOINTS, *(m.destination for m in record.mounts)))
        return changes(snapshot.upper, lowers, ignore)

    def export(self, name_or_id: str, out: IO[bytes]) -> None:
        """The container's root filesystem as a tar (``docker export``; volumes are not part of it)."""
        from dockyard.engine.containers.files import container_root, export_root

        record = self.get(name_or_id)
        with container_root(self, record, with_mounts=False) as root:
            export_root(root, out)
        self.emit(record, "export")

    def commit(self, name_or_id: str, options: CommitOptions) -> str:
        """A new image from the container's changes; its ID (``sha256:...``)."""
        from dockyard.engine.containers.commit import commit_container

        return commit_container(self, self.get(name_or_id), options)

    # -- views -------------------------------------------------------------------------------------------------

    def list(
        self, *, all: bool = False, limit: int = -1, filters: Sequence[str] = (), size: bool = False
    ) -> builtins.list[ContainerSummary]:
        """``ps``: newest first, running ones unless ``all``; ``filters`` as ``key=value`` strings."""
        from dockyard.engine.containers.listing import ContainerFilters, list_containers

        return list_containers(self, all=all, limit=limit, filters=ContainerFilters.parse(filters), size=size)

    def sizes(self, record: ContainerRecord) -> tuple[int, int]:
        """(SizeRw, SizeRootFs): bytes the container wrote, and that plus its image's."""
        from dockyard.engine.containers.views import sizes

        return sizes(self, record)

    def details(self, name_or_id: str, *, size: bool = False) -> ContainerDetails:
        """Everything inspect shows about the container, typed."""
        from dockyard.engine.containers.views import container_details

        return container_details(self, self.get(name_or_id), size=size)

    def inspect(self, name_or_id: str, *, size: bool = False) -> dict[str, object]:
        """Docker's ``GET /containers/{id}/json`` for the container."""
        from dockyard.engine.containers.views import inspect_json

        return inspect_json(self.details(name_or_id, size=size))

    def port(self, name_or_id: str) -> builtins.list[PublishedPort]:
        """The published ports of a running container (``docker port``)."""
        record = self.get(name_or_id)
        return list(record.ports) if record.status.active else []

    def prune(self, filters: Sequence[str] = ()) -> PruneReport:
        """Remove every stopped container (``until=``, ``label=`` filters as Docker's)."""
        from dockyard.engine.containers.controls import prune_containers

        self.settle()
        return prune_containers(self, filters)

    # -- for other services ------------------------------------------------------------------------------------

    def using_image(self, image_id: str) -> builtins.list[tuple[str, bool]]:
        """``(container ID, running)`` of every container created from the image (``rmi`` asks)."""
        return self.store.using_image(image_id)

    def counts(self) -> ContainerCounts:
        from dockyard.engine.system import ContainerCounts

        counts = self.store.counts()
        running = counts.get("running", 0) + counts.get("restarting", 0)
        paused = counts.get("paused", 0)
        total = sum(v for k, v in counts.items() if k != "creating")
        return ContainerCounts(total=total, running=running, paused=paused, stopped=total - running - paused)

    def record_network(self, name_or_id: str, network: str, aliases: Sequence[str] = (), ip: str = "") -> None:
        """``network connect``: remember the network, so every later start attaches the container to it too."""
        from dockyard.engine.containers.types import NetworkRef

        record = self.get(name_or_id)
        with self.locks.hold(record.id):
            current = self.store.get(record.id) or record
            kept = tuple(n for n in current.networks if n.name != network)
            self.store.update(record.id, networks=(*kept, NetworkRef(network, tuple(aliases), ip)))

    def forget_network(self, name_or_id: str, network: str) -> None:
        """``network disconnect``: the network is not attached at later starts."""
        record = self.get(name_or_id)
        with self.locks.hold(record.id):
            current = self.store.get(record.id) or record
            self.store.update(record.id, networks=tuple(n for n in current.networks if n.name != network))

    def network_target(self, name_or_id: str) -> ContainerTarget:
        from dockyard.engine.networks import ContainerTarget

        record = self.get(name_or_id)
        netns = None
        if record.status.active and record.status is not ContainerStatus.RESTARTING:
            path = self.layout.run / "netns" / record.id
            netns = path if path.exists() else None
        return ContainerTarget(record.id, record.name, netns)
