"""top, update, the state listing, and the cost of create+start+wait."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dockyard.runtime import ContainerStatus, Resources
from tests.integration.runtime.conftest import Harness

pytestmark = pytest.mark.integration


def test_top_lists_the_containers_processes(harness: Harness) -> None:
    ready = harness.fifo("ready")
    spec = harness.spec("sh", "-c", "sleep 101 & echo > /tmp/ready; exec sleep 100")
    bundle = harness.start(spec)
    harness.read_fifo(ready)
    result = harness.runtime.top(spec.id)
    assert result.titles[:3] == ("UID", "PID", "PPID")
    commands = sorted(p[-1] for p in result.processes)
    assert commands == ["sleep 100", "sleep 101"]
    state = harness.runtime.state(spec.id, bundle)
    assert str(state.pid) in {p[1] for p in result.processes}
    custom = harness.runtime.top(spec.id, "-o pid,comm")
    assert custom.titles == ("PID", "COMMAND") and {p[1] for p in custom.processes} == {"sleep"}


def test_update_resources_of_a_running_container(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    harness.start(spec)
    harness.runtime.update(spec.id, Resources(pids_limit=33, memory=128 << 20, memory_swap=256 << 20))
    base = Path("/sys/fs/cgroup")
    assert (base / "pids" / "dockyard" / spec.id / "pids.max").read_text().strip() == "33"
    assert (base / "memory" / "dockyard" / spec.id / "memory.limit_in_bytes").read_text().strip() == str(128 << 20)


def test_states_listed_by_runc(harness: Harness) -> None:
    spec = harness.spec("sleep", "100")
    bundle = harness.start(spec)
    [listed] = harness.runtime.runc.containers()
    assert (listed.id, listed.status, listed.bundle) == (spec.id, "running", str(bundle.path))
    assert harness.runtime.state(spec.id, bundle).status is ContainerStatus.RUNNING


def test_create_start_wait_is_fast(harness: Harness) -> None:
    """create (conmon + runc create) + start + wait of `true`, the path of `run --rm`; the budget is loose here
    (other tests share the machine), the measured numbers are in the report."""
    timings = []
    for _ in range(5):
        spec = harness.spec("true")
        bundle = harness.bundle(spec)
        start = time.perf_counter()
        harness.runtime.create(spec.id, bundle)
        harness.runtime.start(spec.id)
        code = harness.runtime.wait(spec.id, bundle, 10)
        timings.append(time.perf_counter() - start)
        assert code == 0
        harness.runtime.delete(spec.id)
    assert min(timings) < 0.5, timings


def test_runc_run_in_the_foreground(harness: Harness) -> None:
    """runc run without a monitor (short helper containers): stdio are the caller's fds."""
    import os

    spec = harness.spec("sh", "-c", "cat; echo err >&2; exit 6")
    bundle = harness.bundle(spec)
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    os.write(stdin_w, b"through runc\n")
    os.close(stdin_w)
    code = harness.runtime.runc.run(spec.id, bundle.path, stdin=stdin_r, stdout=out_w, stderr=err_w, timeout=30)
    for fd in (stdin_r, out_w, err_w):
        os.close(fd)
    assert code == 6
    assert os.read(out_r, 100) == b"through runc\n"
    assert os.read(err_r, 100) == b"err\n"
    os.close(out_r)
    os.close(err_r)
    assert harness.runtime.runc.containers() == []
