"""Restart policies (moby restartmanager's decisions and backoff), autostart rules, and the cheap checks that
decide when a row needs reconciling."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from dockyard.engine.containers.codec import dumps
from dockyard.engine.containers.lifecycle import restart_delay
from dockyard.engine.containers.liveness import boot_id, boot_marker_changed, effective, needs_reconcile
from dockyard.engine.containers.options import CreateOptions
from dockyard.engine.containers.reconcile import should_autostart
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import ContainerStatus, RestartPolicy, RunConfig


def _record(policy: str = "no", **kw: object) -> ContainerRecord:
    opts = CreateOptions(image="x", restart_policy=RestartPolicy.parse(policy))
    values: dict[str, object] = {
        "id": "a" * 64, "name": "n", "image_id": "sha256:" + "e" * 64, "image_ref": "x", "created": 1.0,
        "options_data": dumps(opts), "config": RunConfig("x", "h", "", "", (), ("sh",), None, ""),
        "status": ContainerStatus.RUNNING, "started_at": 100.0,
    }  # fmt: skip
    values.update(kw)
    return ContainerRecord(**values)  # type: ignore[arg-type]


def test_no_policy_never_restarts() -> None:
    assert restart_delay(_record("no"), 1, 1) is None


def test_always_and_unless_stopped_restart_unless_stopped_by_hand() -> None:
    for policy in ("always", "unless-stopped"):
        assert restart_delay(_record(policy), 0, 1) is not None
        assert restart_delay(_record(policy, manually_stopped=True), 0, 1) is None


def test_on_failure_counts() -> None:
    assert restart_delay(_record("on-failure"), 0, 1) is None
    assert restart_delay(_record("on-failure"), 2, 1) is not None
    assert restart_delay(_record("on-failure:2", restart_count=1), 2, 1) is not None
    assert restart_delay(_record("on-failure:2", restart_count=2), 2, 1) is None


def test_backoff_doubles_and_resets() -> None:
    r = _record("always")
    delays = []
    for _ in range(12):
        delay = restart_delay(r, 1, 0.5)
        assert delay is not None
        delays.append(delay)
        r = dataclasses.replace(r, restart_delay=delay)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert max(delays) == 60.0
    assert restart_delay(dataclasses.replace(r, restart_delay=60.0), 1, 10.0) == 0.1


def test_autostart_rules() -> None:
    stopped = {"status": ContainerStatus.EXITED, "started_at": 5.0}
    assert should_autostart(_record("always", **stopped))
    assert should_autostart(_record("always", manually_stopped=True, **stopped))
    assert should_autostart(_record("unless-stopped", **stopped))
    assert not should_autostart(_record("unless-stopped", manually_stopped=True, **stopped))
    assert should_autostart(_record("on-failure", exit_code=1, **stopped))
    assert not should_autostart(_record("on-failure", exit_code=0, **stopped))
    assert not should_autostart(_record("no", **stopped))
    assert not should_autostart(_record("always", status=ContainerStatus.CREATED, started_at=0.0))  # never ran
    assert not should_autostart(_record("always"))  # running already


def test_needs_reconcile(tmp_path: Path) -> None:
    alive = {"boot_id": boot_id(), "monitor_pid": os.getpid()}
    assert not needs_reconcile(_record(**alive), tmp_path)
    assert needs_reconcile(_record(boot_id="another-boot", monitor_pid=os.getpid()), tmp_path)
    assert needs_reconcile(_record(boot_id=boot_id(), monitor_pid=2**22 + 7), tmp_path)  # no such process
    (tmp_path / "exit").write_text("3")
    assert needs_reconcile(_record(**alive), tmp_path)
    created = {"status": ContainerStatus.CREATED}
    assert not needs_reconcile(_record(**created), tmp_path)
    assert needs_reconcile(_record(owner_pid=2**22 + 7, **created), tmp_path)
    assert not needs_reconcile(_record(owner_pid=os.getpid(), **created), tmp_path)
    assert needs_reconcile(_record(status=ContainerStatus.RESTARTING), tmp_path)
    assert not needs_reconcile(_record(status=ContainerStatus.RESTARTING, owner_pid=os.getpid()), tmp_path)


def test_effective_state_for_display(tmp_path: Path) -> None:
    r = _record(boot_id=boot_id(), monitor_pid=os.getpid())
    assert effective(r, tmp_path) == r
    (tmp_path / "exit").write_text("7\n")
    shown = effective(r, tmp_path)
    assert (shown.status, shown.exit_code) == (ContainerStatus.EXITED, 7)
    assert shown.finished_at == (tmp_path / "exit").stat().st_mtime
    lost = effective(_record(boot_id="old", monitor_pid=os.getpid()), tmp_path)
    assert (lost.status, lost.exit_code) == (ContainerStatus.EXITED, 255)


def test_boot_marker(tmp_path: Path) -> None:
    assert boot_marker_changed(tmp_path)
    assert not boot_marker_changed(tmp_path)
    (tmp_path / "containers.boot_id").write_text("an earlier boot")
    assert boot_marker_changed(tmp_path)
    assert not boot_marker_changed(tmp_path)
