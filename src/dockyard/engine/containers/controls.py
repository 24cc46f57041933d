"""The verbs on a running container: stop, kill, restart, pause, unpause, remove, wait — with Docker's rules and
wording. Each takes the container's lock where it changes the row; ``kill`` only signals (the exit is recorded
by whoever sees it first, see ``lifecycle.finish_run``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dockyard.engine.containers.lifecycle import finish_run, start_container
from dockyard.engine.containers.liveness import read_exit
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import ContainerStatus
from dockyard.engine.containers.verbs import WaitCondition
from dockyard.errors import Conflict, DockyardError, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService
    from dockyard.engine.containers.verbs import PruneReport

__all__ = [
    "kill_container",
    "pause_container",
    "prune_containers",
    "remove_container",
    "remove_locked",
    "restart_container",
    "stop_container",
    "unpause_container",
    "wait_container",
]

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT = 10
KILL_WAIT = 10.0  # how long kill -9/rm -f wait for the exit to be recorded


def _stop_signal(record: ContainerRecord, signal: str = "") -> str:
    return signal or record.config.stop_signal or "SIGTERM"


def stop_container(
    svc: ContainerService, record: ContainerRecord, timeout: int | None, signal: str = "", *, removing: bool = False
) -> None:
    """Docker's stop: the stop signal, ``timeout`` seconds (``-1``: forever), then SIGKILL; the run is finished
    (network, mounts released) before this returns. Stopping a stopped container is not an error. ``removing``:
    for ``rm -f``, whose events are Docker's kill (SIGKILL) and die, without a stop."""
    cid = record.id
    with svc.locks.hold(cid):
        current = svc.store.get(cid)
        if current is None:
            raise NotFound(f"No such container: {record.name}")
        if current.status is ContainerStatus.RESTARTING:
            svc.store.update(cid, status=ContainerStatus.EXITED, manually_stopped=True, owner_pid=0)
            return
        if current.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
            return
        svc.store.update(cid, manually_stopped=True)
        if timeout is None:
            timeout = current.config.stop_timeout if current.config.stop_timeout is not None else DEFAULT_STOP_TIMEOUT
        bundle = svc.bundle(cid)
        if read_exit(bundle.path) is None:
            wait_for = 10**9 if timeout < 0 else timeout
            stop_signal = _stop_signal(current, signal)
            svc.emit(current, "kill", {"signal": "9" if removing else _signal_number(stop_signal)})
            try:
                svc.runtime.stop(cid, bundle, signal=stop_signal, timeout=wait_for)
            except NotFound:
                pass
        finish_run(svc, cid, current.run_token, lost=True)
        if not removing:
            svc.emit(current, "stop")


def _signal_number(signal: str) -> str:
    from dockyard.runtime import parse_signal

    try:
        return str(parse_signal(signal))
    except Exception:
        return signal


def kill_container(svc: ContainerService, record: ContainerRecord, signal: str = "KILL") -> None:
    """Send a signal (Docker's ``kill``). A killed container's policy does not restart it."""
    from dockyard.runtime import parse_signal

    number = parse_signal(signal)
    cid = record.id
    current = svc.store.get(cid) or record
    if current.status not in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        if current.status is ContainerStatus.RESTARTING:
            svc.store.update(cid, status=ContainerStatus.EXITED, manually_stopped=True, owner_pid=0)
            return
        raise Conflict(f"Cannot kill container: {record.name}: Container {cid} is not running")
    svc.store.update(cid, manually_stopped=True)
    try:
        svc.runtime.kill(cid, number)
    except NotFound:
        pass
    except Conflict as exc:
        raise Conflict(f"Cannot kill container: {record.name}: {exc.message}") from None
    svc.emit(current, "kill", {"signal": str(number)})
    if number == 9:
        code = svc.runtime.wait(cid, svc.bundle(cid), KILL_WAIT)
        if code is not None:
            finish_run(svc, cid, current.run_token)


def restart_container(svc: ContainerService, record: ContainerRecord, timeout: int | None, signal: str = "") -> None:
    with svc.locks.hold(record.id):
        stop_container(svc, record, timeout, signal)
        current = svc.store.get(record.id)
        if current is None:
            raise NotFound(f"No such container: {record.name}")
        started = start_container(svc, current)
        svc.emit(started, "restart")


def pause_container(svc: ContainerService, record: ContainerRecord) -> None:
    with svc.locks.hold(record.id):
        current = svc.store.get(record.id) or record
        if current.status is ContainerStatus.PAUSED:
            raise Conflict(f"Container {record.id} is already paused")
        if current.status is not ContainerStatus.RUNNING:
            raise Conflict(f"Container {record.id} is not running")
        svc.runtime.pause(record.id)
        svc.store.update(record.id, status=ContainerStatus.PAUSED)
        svc.emit(current, "pause")


def unpause_container(svc: ContainerService, record: ContainerRecord) -> None:
    with svc.locks.hold(record.id):
        current = svc.store.get(record.id) or record
        if current.status is not ContainerStatus.PAUSED:
            raise Conflict(f"Container {record.id} is not paused")
        svc.runtime.resume(record.id)
        svc.store.update(record.id, status=ContainerStatus.RUNNING)
        svc.emit(current, "unpause")


def remove_container(svc: ContainerService, record: ContainerRecord, *, force: bool, volumes: bool) -> None:
    """Docker's ``rm``: refuse a running container unless forced (then SIGKILL it first)."""
    cid = record.id
    with svc.locks.hold(cid):
        current = svc.store.get(cid)
        if current is None:
            raise NotFound(f"No such container: {record.name}")
        if current.status is ContainerStatus.REMOVING and current.owner_pid:
            raise Conflict(f"removal of container {record.name} is already in progress")
        if current.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED, ContainerStatus.RESTARTING):
            if not force:
                if current.status is ContainerStatus.PAUSED:
                    raise Conflict(
                        f"You cannot remove a paused container {cid}. "
                        "Unpause and then stop the container before attempting removal or force remove"
                    )
                raise Conflict(
                    f"You cannot remove a running container {cid}. "
                    "Stop the container before attempting removal or force remove"
                )
            stop_container(svc, current, 0, removing=True)
        remove_locked(svc, cid, volumes=volumes)


def remove_locked(svc: ContainerService, container_id: str, *, volumes: bool) -> None:
    """Remove a stopped container (its lock held): volumes released, snapshot, directory and row gone."""
    record = svc.store.get(container_id)
    if record is None:
        return
    if record.status is not ContainerStatus.REMOVING or record.owner_pid != _pid():
        svc.store.update(container_id, status=ContainerStatus.REMOVING, owner_pid=_pid())
    if record.status not in (ContainerStatus.CREATED, ContainerStatus.EXITED, ContainerStatus.DEAD,
                             ContainerStatus.REMOVING):  # fmt: skip
        from dockyard.engine.containers.lifecycle import release_run

        release_run(svc, record)  # a killed run's leftovers
    svc.release_volumes(record, anonymous_too=volumes)
    svc.engine.store.snapshots.remove(container_id)
    import shutil  # here: ~3 ms at import (bz2, lzma): a run that ends imports it while runc creates it

    shutil.rmtree(svc.container_dir(container_id), ignore_errors=True)
    svc.store.delete(container_id)
    svc.emit(record, "destroy")
    svc.locks.forget(container_id)
    log.debug("removed container %s", container_id[:12])


def _pid() -> int:
    import os

    return os.getpid()


def wait_container(
    svc: ContainerService,
    record: ContainerRecord,
    condition: WaitCondition,
    timeout: float | None = None,
    run_token: str | None = None,
) -> int:
    """Block until ``condition``; the exit code of the run that ended (Docker's ``wait``).

    ``not-running`` returns at once for a stopped container; ``next-exit`` waits for the next exit (of a run that
    may not have started yet); ``removed`` waits until the container is gone. ``run_token`` names the run
    to wait for (a caller that started it), so an exit recorded before this call still counts."""
    cid = record.id
    deadline = None if timeout is None else time.monotonic() + timeout
    if condition is WaitCondition.NOT_RUNNING and not record.status.active:
        return record.exit_code
    initial_token = record.run_token
    ran = record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED) or (
        run_token is not None and record.run_token == run_token
    )
    last_code: int | None = None
    while True:
        current = svc.store.get(cid)
        if current is None:
            if condition is not WaitCondition.REMOVED:
                raise NotFound(f"No such container: {record.name}")
            return last_code if last_code is not None else svc.recorded_exit(cid, record.exit_code)
        if current.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
            ran = True
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = 1.0 if remaining is None else min(remaining, 1.0)
            code = svc.runtime.wait(cid, svc.bundle(cid), step)
            if code is not None:
                last_code = code
            if code is not None or not svc.monitor_alive(current):
                try:
                    finish_run(svc, cid, current.run_token, lost=code is None)
                except DockyardError:
                    log.debug("wait %s: finishing the run failed", cid[:12], exc_info=True)
                continue
        elif current.status is not ContainerStatus.REMOVING:
            ended = ran or current.run_token != initial_token
            if condition is WaitCondition.NOT_RUNNING and current.status is not ContainerStatus.RESTARTING:
                return current.exit_code
            if condition is WaitCondition.NEXT_EXIT and ended and current.status is not ContainerStatus.CREATED:
                return current.exit_code
            if condition is WaitCondition.NEXT_EXIT and ended and current.error:
                return current.exit_code  # the start failed
            last_code = current.exit_code if ended else last_code
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"wait {record.name}: timed out")
        time.sleep(0.02)


def prune_containers(svc: ContainerService, filters: Sequence[str] = ()) -> PruneReport:
    """Remove every stopped container (``until=``, ``label=`` filters as Docker's)."""
    from dockyard.engine.containers.listing import ContainerFilters
    from dockyard.engine.containers.verbs import PruneReport
    from dockyard.timeutil import parse_timestamp

    parsed = ContainerFilters.parse(filters, ("until", "label", "label!"))
    until = parse_timestamp(parsed.get("until")[-1]) if parsed.get("until") else None
    deleted: list[str] = []
    reclaimed = 0
    for record in svc.store.all():
        if record.status not in (ContainerStatus.CREATED, ContainerStatus.EXITED, ContainerStatus.DEAD):
            continue
        if until is not None and record.created >= until:
            continue
        labels = record.config.labels
        if not all(_label_match(labels, v) for v in parsed.get("label")):
            continue
        if any(_label_match(labels, v) for v in parsed.get("label!")):
            continue
        try:
            rw, _ = svc.sizes(record)
            svc.remove([record.id])
        except DockyardError:
            continue
        if svc.store.get(record.id) is None:
            deleted.append(record.id)
            reclaimed += rw
    from dockyard.engine.events import record as record_event

    record_event(svc.engine.database, "container", "prune", "", {"reclaimed": str(reclaimed)})
    return PruneReport(tuple(deleted), reclaimed)


def _label_match(labels: Mapping[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)
