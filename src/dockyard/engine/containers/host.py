"""ContainerHost: the container service's side on the host, beneath the verbs of ``service.ContainerService``.

Where each container lives (its directory, its OCI bundle), the runtime that runs it, the conmon monitor watching
it and the exit hook conmon runs when it ends (``dockyard container cleanup``), the exit codes recorded, what the
runtime leaves behind — and settling the database rows against all of that (``settle``/``get``), once per
process and again for any row the host disagrees with. The verb modules (``lifecycle``, ``controls``,
``reconcile``, ``create``) call these through the service.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from dockyard.engine.containers.liveness import boot_marker_changed, needs_reconcile
from dockyard.engine.containers.locks import ContainerLocks
from dockyard.engine.containers.records import ContainerRecord, ContainerStore
from dockyard.engine.containers.types import MountRequestType
from dockyard.errors import DockyardError
from dockyard.pids import pid_alive

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.containers.execs import ExecStore
    from dockyard.engine.containers.service import ContainerService
    from dockyard.runtime import Bundle, RuncRuntime
    from dockyard.settings import Layout

__all__ = ["EXIT_HOOK_SCRIPT", "ContainerHost"]

log = logging.getLogger(__name__)

# $1: the container's directory; the rest: the hook's command line
EXIT_HOOK_SCRIPT = 'sleep 0.2; [ -e "$1" ] || exit 0; shift; exec "$@"'


class ContainerHost:
    """The base of :class:`~dockyard.engine.containers.service.ContainerService`: made only as one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.layout: Layout = engine.settings.layout
        self.locks = ContainerLocks(self.layout.locks / "containers")
        self._settled = False

    # -- plumbing ----------------------------------------------------------------------------------------------

    @property
    def _service(self) -> ContainerService:
        """This object as the verb modules take it (a ContainerHost is only ever made as a ContainerService)."""
        return cast("ContainerService", self)

    @cached_property
    def store(self) -> ContainerStore:
        return ContainerStore(self.engine.database)

    @cached_property
    def execs(self) -> ExecStore:
        from dockyard.engine.containers.execs import ExecStore

        return ExecStore(self.store.db)

    @cached_property
    def runtime(self) -> RuncRuntime:
        from dockyard.runtime import RuncRuntime

        return RuncRuntime(self.layout.root, runc=self.engine.settings.runtime or "runc")

    @property
    def runtime_exits_dir(self) -> Path:
        return self.layout.run / "exits"

    def container_dir(self, container_id: str) -> Path:
        return self.layout.containers / container_id

    def bundle(self, container_id: str) -> Bundle:
        from dockyard.runtime import Bundle

        return Bundle(self.container_dir(container_id))

    # -- the monitor and its exit hook -------------------------------------------------------------------------

    def hook_command(self, container_id: str, token: str) -> tuple[str, ...]:
        """``dockyard container cleanup``: finish the run, then ``--rm`` or the restart policy."""
        return (sys.executable, "-m", "dockyard", "--root", str(self.layout.root), "container", "cleanup",
                "--token", token, container_id)  # fmt: skip

    def exit_command(self, container_id: str, token: str) -> tuple[str, ...]:
        """What conmon runs when the container ends (also when no dockyard process is left): the hook, after a
        short pause and only if the container still exists. A foreground ``run --rm`` has removed it by then,
        so the common case costs a shell, not a Python start."""
        return ("/bin/sh", "-c", EXIT_HOOK_SCRIPT, "dockyard-exit-hook", str(self.container_dir(container_id)),
                *self.hook_command(container_id, token))  # fmt: skip

    def spawn_hook(self, container_id: str, token: str) -> None:
        """Run the exit hook in a detached process (a pending restart honours its backoff there)."""
        subprocess.Popen(
            self.hook_command(container_id, token),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )

    @staticmethod
    def is_monitor(pid: int, container_id: str) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"conmon" in cmdline.split(b"\0", 1)[0] and container_id.encode() in cmdline

    def monitor_alive(self, record: ContainerRecord) -> bool:
        return pid_alive(record.monitor_pid)

    def recorded_exit(self, container_id: str, default: int) -> int:
        try:
            return int((self.runtime_exits_dir / container_id).read_text().strip())
        except (OSError, ValueError):
            return default

    # -- what a run leaves behind ------------------------------------------------------------------------------

    def runtime_leftovers(self, container_id: str) -> bool:
        from dockyard.engine.containers.lifecycle import release_runtime_state

        return release_runtime_state(self._service, container_id)

    def mark_execs_done(self, container_id: str) -> None:
        if not self.store.db.query("SELECT 1 FROM execs WHERE container_id = ? AND running = 1", (container_id,)):
            return
        with self.store.db.transaction() as conn:
            conn.execute(
                "UPDATE execs SET running = 0, exit_code = coalesce(exit_code, 137) "
                "WHERE container_id = ? AND running = 1",
                (container_id,),
            )

    def release_volumes(self, record: ContainerRecord, *, anonymous_too: bool) -> None:
        """The container is going: its uses of volumes forgotten (``rm -v``/``--rm``: anonymous ones removed)."""
        if not any(m.type is MountRequestType.VOLUME for m in record.mounts):
            return
        try:
            self.engine.volumes.release(record.id, remove_anonymous=anonymous_too)
        except DockyardError:
            log.warning("release the volumes of %s", record.id[:12], exc_info=True)

    def remove_locked(self, container_id: str, *, volumes: bool) -> None:
        from dockyard.engine.containers.controls import remove_locked

        remove_locked(self._service, container_id, volumes=volumes)

    def emit(
        self, record: ContainerRecord, action: str, extra: dict[str, str] | None = None, *, when: float | None = None
    ) -> None:
        """Record a container event (Docker's attributes: the labels, ``image``, ``name``, then ``extra``)."""
        from dockyard.engine.events import container_attributes
        from dockyard.engine.events import record as record_event

        attrs = container_attributes(record.name, record.image_ref, record.config.labels, tuple((extra or {}).items()))
        record_event(self.engine.database, "container", action, record.id, attrs, when=when)

    # -- reconciling -------------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Once per process: after a reboot, reconcile everything and autostart; else the unsettled rows."""
        if self._settled:
            return
        self._settled = True
        if boot_marker_changed(self.layout.run):
            from dockyard.engine.containers.reconcile import autostart, reconcile

            reconcile(self._service)
            autostart(self._service)
            return
        if any(needs_reconcile(r, self.container_dir(r.id)) for r in self.store.unsettled_rows()):
            from dockyard.engine.containers.reconcile import reconcile

            reconcile(self._service, self.store.unsettled())

    def reconcile(self) -> bool:
        from dockyard.engine.containers.reconcile import reconcile

        return reconcile(self._service)

    def service_started(self) -> list[str]:
        """The API service came up: reconcile everything, then start what Docker's daemon would start."""
        from dockyard.engine.containers.reconcile import autostart, reconcile

        self._settled = True
        reconcile(self._service)
        return autostart(self._service)

    def get(self, name_or_id: str) -> ContainerRecord:
        """The container a user means (``No such container: x`` otherwise), reconciled if the host disagrees."""
        self.settle()
        record = self.store.resolve(name_or_id)
        if needs_reconcile(record, self.container_dir(record.id)):
            from dockyard.engine.containers.reconcile import reconcile

            reconcile(self._service, [record])
            record = self.store.resolve(record.id)
        return record
