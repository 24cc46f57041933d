"""Starting a container and ending a run: ``start`` (rootfs, volumes, network, bundle, monitor, runc start) and
``finish_run`` (record the exit, release what the run held, apply the restart policy or ``--rm``).

Both run under the container's lock. A start records its intent first (``owner_pid`` and a fresh ``run_token``)
and undoes everything it made if it fails; a process killed half-way is cleaned up by the next reconcile.
``finish_run`` is idempotent and keyed by the run token: the exit hook, a foreground ``run``, ``stop`` and the
reconcile may all call it for the same exit, and the first one does the work.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dockyard.engine.containers.liveness import UNKNOWN_EXIT, boot_id, read_exit
from dockyard.engine.containers.records import ContainerRecord, PublishedPort
from dockyard.engine.containers.types import ContainerStatus, MountRequestType, RestartPolicyName
from dockyard.errors import Conflict, DockyardError, NotFound
from dockyard.pids import pid_alive

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService
    from dockyard.network import Attachment, PendingSetup
    from dockyard.runtime import Bundle, Mount, Namespace

__all__ = ["finish_run", "release_run", "release_runtime_state", "restart_delay", "start_container"]

log = logging.getLogger(__name__)

RESTART_MIN_DELAY = 0.1  # moby restartmanager: 100 ms, doubled per quick restart, at most a minute
RESTART_MAX_DELAY = 60.0
RESTART_RESET_AFTER = 10.0  # a run of 10 s or more resets the backoff

Attacher = Callable[["Bundle"], None]


def restart_delay(record: ContainerRecord, exit_code: int, ran_for: float) -> float | None:
    """moby ``restartmanager.ShouldRestart``: the backoff before the policy restarts this exit, None if it does
    not."""
    policy = record.options.restart_policy
    if policy.name is RestartPolicyName.NO or record.manually_stopped:
        return None  # docker stop/kill cancel the restart manager
    if policy.name is RestartPolicyName.ON_FAILURE:
        limit = policy.maximum_retry_count
        if exit_code == 0 or (limit and record.restart_count >= limit):
            return None
    previous = record.restart_delay
    if ran_for >= RESTART_RESET_AFTER or previous <= 0:
        delay = RESTART_MIN_DELAY
    else:
        delay = min(previous * 2, RESTART_MAX_DELAY)
    return delay


def _mounts(svc: ContainerService, record: ContainerRecord, rootfs: str) -> list[Mount]:
    from dockyard.runtime import Mount, MountType, Propagation

    out: list[Mount] = []
    for m in record.mounts:
        if m.type is MountRequestType.TMPFS:
            options = (*m.tmpfs_options, "ro") if m.read_only else m.tmpfs_options
            out.append(Mount(m.destination, type=MountType.TMPFS, tmpfs_options=tuple(options)))
        elif m.type is MountRequestType.BIND:
            if not os.path.exists(m.source):
                os.makedirs(m.source, exist_ok=True)  # -v creates a missing host directory, as Docker does
            propagation = Propagation(m.propagation) if m.propagation else Propagation.RPRIVATE
            out.append(Mount(m.destination, m.source, MountType.BIND, m.read_only, propagation))
        else:
            source = svc.engine.volumes.mount_source(m.source, rootfs, m.destination, record.id, copy=not m.no_copy)
            out.append(Mount(m.destination, str(source), MountType.VOLUME, m.read_only))
    return out


def _peer(svc: ContainerService, mode: str) -> ContainerRecord:
    """The running container named by ``container:<x>`` (``--network``/``--pid``/``--ipc``)."""
    target = mode.partition(":")[2]
    peer = svc.store.resolve(target)
    if peer.status is not ContainerStatus.RUNNING:
        raise Conflict(f"cannot join namespaces of a non running container: {target}")
    return peer


def _network(svc: ContainerService, record: ContainerRecord) -> tuple[PendingSetup, Namespace]:
    """The container's network, begun: the namespace is there (the spec names it); ``finish()`` attaches it."""
    from dockyard.engine.containers.runspec import network_options
    from dockyard.runtime import Namespace

    opts = record.options
    mode = None
    if opts.network_mode.startswith("container:"):
        mode = f"container:{_peer(svc, opts.network_mode).id}"
    hostname = "" if opts.network_mode.startswith("container:") else record.config.hostname
    netopts = network_options(opts, record.config.exposed_ports, mode=mode, hostname=hostname)
    if record.networks and netopts.mode.needs_namespace:
        import dataclasses

        from dockyard.network import AttachRequest

        primary = {opts.network_mode, "default" if opts.network_mode == "bridge" else "bridge"}
        extra = tuple(AttachRequest(n.name, n.aliases, n.ip or None) for n in record.networks if n.name not in primary)
        netopts = dataclasses.replace(netopts, extra_networks=extra)
    pending = svc.engine.networks.begin_setup(record.id, record.name, netopts)
    namespace = Namespace.join(pending.netns) if pending.netns else Namespace.host()
    return pending, namespace


# runc creates the container in ~50 ms, in other processes (conmon, runc): on this 2-core host, on the other core.
# Meanwhile this process attaches the network (veths, addresses, ports, DNS: the namespace it joins exists already,
# and its process runs only at ``start``) and, when it attaches (a foreground ``run``, ``start -a``), imports what the
# rest of such a run needs (waiting, recording the exit, releasing cgroups), so neither costs anything on the
# critical path. A detached start never waits: it does not import them (CPU every ``run -d`` would pay for nothing).
_AFTER_CREATE = ("dockyard.engine.containers.controls", "dockyard.engine.containers.reconcile",
                 "dockyard.runtime.cgroups", "shutil")  # fmt: skip


def start_container(
    svc: ContainerService,
    record: ContainerRecord,
    *,
    attachers: Sequence[Attacher] = (),
    console_size: tuple[int, int] | None = None,
    while_creating: Callable[[], None] | None = None,
) -> ContainerRecord:
    """Start a created or exited container (the caller holds its lock). ``attachers`` are called with the
    bundle once the monitor listens and before the process starts, so they miss no output. ``while_creating``
    runs while runc creates the container (the caller's own preparation for what follows, in parallel)."""
    from dockyard.engine.containers.runspec import container_spec
    from dockyard.runtime import EtcFiles, MonitorOptions, update_etc_files, write_bundle, write_etc_files

    if record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        return record
    if record.status in (ContainerStatus.REMOVING, ContainerStatus.DEAD):
        raise Conflict(f"cannot start a container in state {record.status}: {record.id}")
    cid = record.id
    token = os.urandom(8).hex()
    svc.store.update(cid, owner_pid=os.getpid(), run_token=token)
    runtime = svc.runtime
    directory = svc.container_dir(cid)
    created = None
    spawned = False  # the monitor was started: the runtime may have the container even if create failed
    networked = False
    pending: PendingSetup | None = None
    attachment: Attachment | None = None

    def during_create() -> None:
        nonlocal spawned, attachment
        spawned = True
        if attachment is None:
            assert pending is not None
            attachment = pending.finish()  # first: it holds the network lock other starts may wait for
            # runc bind-mounts these files while creating: rewritten in place, the container sees the contents
            update_etc_files(directory, EtcFiles(hosts=attachment.hosts, resolv_conf=attachment.resolv_conf))
        if attachers:
            from importlib import import_module

            for name in _AFTER_CREATE:
                import_module(name)
        if while_creating is not None:
            while_creating()

    try:
        rootfs = str(svc.engine.store.snapshots.mount(cid))
        mounts = _mounts(svc, record, rootfs)
        opts = record.options
        pid_peer = _peer(svc, opts.pid_mode).pid if opts.pid_mode.startswith("container:") else 0
        ipc_peer = _peer(svc, opts.ipc_mode).pid if opts.ipc_mode.startswith("container:") else 0
        networked = True
        pending, namespace = _network(svc, record)
        attachment = pending.attachment  # None until finished (while runc creates the container)
        etc = write_etc_files(
            directory,
            EtcFiles(
                hostname=record.config.hostname,
                hosts=attachment.hosts if attachment else "",
                resolv_conf=attachment.resolv_conf if attachment else "",
            ),
        )
        spec = container_spec(
            record, rootfs, mounts, etc, namespace, pid_peer=pid_peer, ipc_peer=ipc_peer, console_size=console_size
        )
        bundle = write_bundle(directory, spec)
        config = record.config
        monitor = MonitorOptions(
            tty=config.tty,
            stdin=config.open_stdin,
            stdin_once=config.stdin_once or not config.open_stdin,
            exit_command=svc.exit_command(cid, token),
            name=record.name,
        )
        created = runtime.create(cid, bundle, monitor, during=during_create)
        for attach in attachers:
            attach(bundle)
        runtime.start(cid)
    except BaseException as exc:
        if pending is not None:
            pending.abort()
        _undo_start(svc, record, created is not None or spawned, networked)
        code = getattr(exc, "exit_code", 128) if isinstance(exc, DockyardError) else 128
        svc.store.update(cid, owner_pid=0, error=str(exc), exit_code=code if code in (126, 127) else 128)
        raise
    assert attachment is not None  # finished while runc created the container
    ports = tuple(PublishedPort(p.container_port, str(p.protocol), p.host_ip, p.host_port) for p in attachment.ports)
    svc.store.update(
        cid,
        status=ContainerStatus.RUNNING,
        pid=created.pid,
        monitor_pid=created.monitor_pid,
        started_at=svc.store.now(),
        exit_code=0,
        error="",
        oom_killed=False,
        boot_id=boot_id(),
        ports=ports,
        owner_pid=0,
        manually_stopped=False,
    )
    log.debug("started container %s (pid %d, monitor %d)", cid[:12], created.pid, created.monitor_pid)
    refreshed = svc.store.get(cid)
    assert refreshed is not None
    svc.emit(refreshed, "start", when=refreshed.started_at)  # the time ``inspect`` shows, and no later than a die
    return refreshed


def _undo_start(svc: ContainerService, record: ContainerRecord, created: bool, networked: bool) -> None:
    cid = record.id
    if created:
        with contextlib.suppress(DockyardError):
            svc.runtime.delete(cid, force=True)
        # the monitor would record the exit and run the exit hook for a run that never was: stop it now
        monitor = svc.runtime.monitor_pid(svc.bundle(cid))
        if monitor and svc.is_monitor(monitor, cid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(monitor, 9)
    if networked:
        with contextlib.suppress(Exception):
            svc.engine.networks.release(cid)
    with contextlib.suppress(Exception):
        svc.engine.store.snapshots.unmount(cid)


def release_run(svc: ContainerService, record: ContainerRecord, *, exited: bool = False) -> None:
    """What a run held, given back: the runtime's container and cgroups, the network, the rootfs mount.
    ``exited``: the monitor saw the init exit (so its PID namespace is empty) and runc need not be asked."""
    cid = record.id
    try:
        if not (svc.layout.run / "runc" / cid).exists():
            svc.runtime_leftovers(cid)  # runc lost it (its state is gone after a reboot): cgroups may remain
        elif not (exited and svc.runtime_leftovers(cid)):
            svc.runtime.delete(cid, force=True)
    except NotFound:
        svc.runtime_leftovers(cid)
    except DockyardError:
        log.warning("release %s: runc delete failed", cid[:12], exc_info=True)
        svc.runtime_leftovers(cid)
    monitor = record.monitor_pid
    if monitor and record.boot_id == boot_id() and pid_alive(monitor) and svc.is_monitor(monitor, cid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(monitor, 9)

    def release_network() -> None:
        try:
            svc.engine.networks.release(cid)
        except Exception:
            log.warning("release %s: network release failed", cid[:12], exc_info=True)

    # The network and the mounts are independent, and both mostly wait on the kernel (netlink, umount2, the
    # database's fsync: the GIL is released): the network goes in a thread while this one unmounts.
    import threading

    worker = threading.Thread(target=release_network, name=f"release-network-{cid[:12]}")
    worker.start()
    try:
        if any(m.type is MountRequestType.VOLUME for m in record.mounts):
            try:
                svc.engine.volumes.unmount(cid)
            except DockyardError:
                log.warning("release %s: volume unmount failed", cid[:12], exc_info=True)
        svc.engine.store.snapshots.unmount(cid)
    finally:
        worker.join()


def finish_run(svc: ContainerService, container_id: str, token: str = "", *, lost: bool = False) -> bool:
    """Record the end of the container's current run (if ``token`` names it) and act on it. ``lost``: its monitor
    is gone without an exit file (killed, or the host rebooted), Docker's exit code 255. True if it did the work."""
    with svc.locks.hold(container_id):
        record = svc.store.get(container_id)
        if record is None or (token and record.run_token != token):
            return False
        if record.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
            return False
        directory = svc.container_dir(container_id)
        same_boot = record.boot_id == boot_id()
        exited = read_exit(directory) if same_boot else None
        if exited is None:
            if same_boot and pid_alive(record.monitor_pid) and not lost:
                return False  # still running
            code, when = UNKNOWN_EXIT, svc.store.now()
        else:
            code, when = exited
        oom = (directory / "oom").exists()
        release_run(svc, record, exited=exited is not None)
        if oom:
            svc.emit(record, "oom", when=max(when, record.started_at))
        # when it exited (the exit file's time: a run found ended later is dated right), never before its start
        svc.emit(record, "die", {"exitCode": str(code)}, when=max(when, record.started_at))
        delay = restart_delay(record, code, when - record.started_at)
        if delay is not None:
            svc.store.update(
                container_id,
                status=ContainerStatus.RESTARTING,
                restart_count=record.restart_count + 1,
                restart_delay=delay,
                exit_code=code,
                finished_at=when,
                pid=0,
                oom_killed=oom,
                ports=(),
                owner_pid=0,
            )
            log.debug("container %s exited %d: restarting in %.1fs", container_id[:12], code, delay)
            return True
        removing = record.options.auto_remove
        svc.store.update(
            container_id,
            status=ContainerStatus.REMOVING if removing else ContainerStatus.EXITED,
            exit_code=code,
            finished_at=when,
            pid=0,
            oom_killed=oom,
            ports=(),
            owner_pid=os.getpid() if removing else 0,
        )
        svc.mark_execs_done(container_id)
        if removing:
            svc.remove_locked(container_id, volumes=True)
        return True


def release_runtime_state(svc: ContainerService, container_id: str) -> bool:
    """What ``runc delete`` removes for a container whose processes are all gone: its cgroups and the
    runtime's state directory (without a runc process: this runs on every exit). False if a cgroup is still
    busy (processes left), and then nothing is removed."""
    import shutil

    from dockyard.runtime.cgroups import cgroup_dirs

    for directory in cgroup_dirs(f"/dockyard/{container_id}"):
        try:
            directory.rmdir()
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                return False
    shutil.rmtree(svc.layout.run / "runc" / container_id, ignore_errors=True)
    return True
