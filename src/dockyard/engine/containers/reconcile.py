"""Keeping the records true without a daemon: the exit hook conmon runs when a container ends, the reconcile
every command runs on rows the host contradicts, restart policies, and starting ``always``/``unless-stopped``
containers again when the API service starts or after a reboot.

Cases a reconcile settles (each under the container's lock, skipped if another process holds it):

* running/paused, but the monitor recorded an exit, died without one, or the host rebooted -> the run is finished
  (exit code from the exit file, else 255 like Docker), its network and mounts released, the policy applied;
* created/exited with a dead ``owner_pid`` -> a start was killed half-way: whatever it made is undone;
* ``creating``/``removing`` with a dead owner -> the create is discarded / the removal completed;
* ``restarting`` without a live owner -> a restarter process is spawned (it honours the backoff delay).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.engine.containers.create import discard_creation
from dockyard.engine.containers.lifecycle import finish_run, start_container
from dockyard.engine.containers.liveness import boot_id, needs_reconcile, read_exit
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import ContainerStatus, RestartPolicyName
from dockyard.errors import DockyardError
from dockyard.pids import pid_alive

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService

__all__ = ["autostart", "reconcile", "run_exit_hook", "should_autostart"]

log = logging.getLogger(__name__)


def reconcile(svc: ContainerService, rows: Sequence[ContainerRecord] | None = None) -> bool:
    """Settle every row (of ``rows``, else of the unsettled ones) the host contradicts. True if any changed."""
    candidates = svc.store.unsettled() if rows is None else rows
    changed = False
    for row in candidates:
        if not needs_reconcile(row, svc.container_dir(row.id)):
            continue
        with svc.locks.try_hold(row.id) as got:
            if not got:
                continue
            current = svc.store.get(row.id)
            if current is None or not needs_reconcile(current, svc.container_dir(row.id)):
                continue
            try:
                _settle(svc, current)
            except DockyardError:
                log.warning("reconcile %s failed", row.id[:12], exc_info=True)
            changed = True
    return changed


def _settle(svc: ContainerService, record: ContainerRecord) -> None:
    cid = record.id
    status = record.status
    owner_dead = bool(record.owner_pid) and not pid_alive(record.owner_pid)
    log.info("reconcile: container %s is %s (owner %s)", cid[:12], status, "dead" if owner_dead else "none")
    if status is ContainerStatus.CREATING:
        discard_creation(svc, cid)
        return
    if status is ContainerStatus.REMOVING:
        svc.remove_locked(cid, volumes=False)
        return
    if status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        directory = svc.container_dir(cid)
        same_boot = record.boot_id == boot_id()
        if same_boot and read_exit(directory) is None and pid_alive(record.monitor_pid):
            svc.store.update(cid, owner_pid=0)  # still running: only the owner mark was stale
            return
        finish_run(svc, cid, record.run_token, lost=True)
        current = svc.store.get(cid)
        if current is not None and current.status is ContainerStatus.RESTARTING:
            svc.spawn_hook(cid, current.run_token)
        return
    if status is ContainerStatus.RESTARTING:
        svc.spawn_hook(cid, record.run_token)
        return
    if owner_dead:  # a start killed half-way: undo what it may have made
        from dockyard.engine.containers.lifecycle import release_run

        release_run(svc, record)
        svc.store.update(cid, owner_pid=0)


def run_exit_hook(svc: ContainerService, container_id: str, token: str) -> None:
    """``dockyard container cleanup <id> --token <run>``: conmon's exit command, and the restarter."""
    record = svc.store.get(container_id)
    if record is None or (token and record.run_token != token):
        return
    if record.status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED):
        finish_run(svc, container_id, token, lost=True)
    elif record.owner_pid and not pid_alive(record.owner_pid):
        reconcile(svc, [record])
    record = svc.store.get(container_id)
    if record is None or record.status is not ContainerStatus.RESTARTING or record.run_token != token:
        return
    owner = record.owner_pid
    if owner and owner != os.getpid() and pid_alive(owner):
        return  # another restarter has it
    if not svc.store.claim(container_id, token, os.getpid(), owner):
        return
    time.sleep(max(0.0, record.restart_delay))
    with svc.locks.hold(container_id):
        current = svc.store.get(container_id)
        if current is None or current.status is not ContainerStatus.RESTARTING or current.run_token != token:
            return
        try:
            start_container(svc, current)
        except DockyardError as exc:
            log.warning("restart %s failed: %s", container_id[:12], exc)
            svc.store.update(container_id, status=ContainerStatus.EXITED, owner_pid=0, error=exc.message)
            return
    log.info("restarted container %s (restart %d)", container_id[:12], record.restart_count)


def should_autostart(record: ContainerRecord) -> bool:
    """moby ``daemon.restore``: a container that ran before and whose policy restarts it (``always`` even after
    a manual stop; ``unless-stopped`` unless stopped by hand; ``on-failure`` after a failure within the limit)."""
    if record.started_at <= 0 or record.status not in (ContainerStatus.EXITED, ContainerStatus.CREATED):
        return False
    policy = record.options.restart_policy
    if policy.name is RestartPolicyName.ALWAYS:
        return True
    if policy.name is RestartPolicyName.UNLESS_STOPPED:
        return not record.manually_stopped
    if policy.name is RestartPolicyName.ON_FAILURE:
        limit = policy.maximum_retry_count
        return record.exit_code != 0 and (not limit or record.restart_count < limit)
    return False


def autostart(svc: ContainerService) -> list[str]:
    """Start the containers Docker's daemon would start when it comes up. Returns their IDs."""
    started = []
    for record in svc.store.all():
        if not should_autostart(record):
            continue
        with svc.locks.hold(record.id):
            current = svc.store.get(record.id)
            if current is None or not should_autostart(current):
                continue
            try:
                start_container(svc, current)
                started.append(record.id)
            except DockyardError as exc:
                log.warning("autostart %s failed: %s", record.id[:12], exc)
    return started
