"""The lifecycle commands on real containers: ps (formats, filters), stop timing, kill, restart, pause, rm, wait,
logs, exec, top, stats, rename, inspect, prune."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.containers.conftest import no_leftovers, wait_for

pytestmark = pytest.mark.integration


def _detached(dy: Cli, *args: str) -> str:
    return dy("run", "-d", *args).stdout.strip()


def test_ps_columns_formats_and_filters(dy: Cli) -> None:
    up = _detached(dy, "--name", "up", "-l", "tier=web", "busybox", "sleep", "60")
    dy("run", "--name", "three", "busybox", "sh", "-c", "exit 3", check=False)
    dy("create", "--name", "fresh", "busybox")
    table = dy("ps").stdout.splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert len(table) == 2 and table[1].startswith(up[:12]) and '"sleep 60"' in table[1]
    assert re.search(r"Up (Less than a second|\d+ seconds?)", table[1])
    everything = dy("ps", "-a", "--format", "{{.Names}}|{{.Status}}").stdout.splitlines()
    assert everything[0] == "fresh|Created"
    assert re.fullmatch(r"three\|Exited \(3\) .* ago", everything[1])
    assert everything[2].startswith("up|Up ")
    assert len(dy("ps", "-aq", "--no-trunc").stdout.split()[2]) == 64
    assert dy("ps", "-l", "--format", "{{.Names}}").stdout == "fresh\n"
    assert dy("ps", "-n", "2", "--format", "{{.Names}}").stdout == "fresh\nthree\n"

    def names(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return dy("ps", "-a", *args, "--format", "{{.Names}}").stdout.split()

    assert names("status=exited") == ["three"]
    assert names("status=created") == ["fresh"]
    assert names("name=thr") == ["three"]
    assert names("label=tier=web") == ["up"]
    assert names("label=tier") == ["up"]
    assert names("exited=3") == ["three"]
    assert names("id=" + up[:6]) == ["up"]
    assert names("ancestor=busybox") == ["fresh", "three", "up"]
    assert names("ancestor=busybox:latest", "status=running") == ["up"]
    assert names("network=bridge") == ["fresh", "three", "up"]
    row = json.loads(dy("ps", "--format", "{{json .}}").stdout)
    assert row["Names"] == "up" and row["State"] == "running" and row["Labels"] == "tier=web"
    assert row["Command"] == '"sleep 60"' and row["Networks"] == "bridge" and row["Image"] == "busybox"
    bad = dy("ps", "--filter", "color=red", check=False)
    assert bad.returncode != 0 and "invalid filter 'color'" in bad.stderr
    dy("rm", "-f", "up", "three", "fresh")


def test_stop_sends_sigterm_then_sigkill_after_the_timeout(dy: Cli) -> None:
    ignores = _detached(dy, "busybox", "sleep", "60")  # PID 1 without a handler ignores SIGTERM
    start = time.monotonic()
    assert dy("stop", "-t", "1", ignores[:12]).stdout == f"{ignores[:12]}\n"  # echoes the name as given
    took = time.monotonic() - start
    assert 1.0 <= took < 6.0
    assert dy("inspect", "--format", "{{.State.ExitCode}}", ignores).stdout == "137\n"
    handles = _detached(dy, "--init", "busybox", "sleep", "60")  # tini forwards SIGTERM: sleep dies at once
    start = time.monotonic()
    dy("stop", handles)
    assert time.monotonic() - start < 4.0
    assert dy("inspect", "--format", "{{.State.ExitCode}}", handles).stdout == "143\n"
    assert dy("stop", handles).returncode == 0  # stopping a stopped container is fine
    dy("rm", ignores, handles)
    no_leftovers(dy.root, [ignores, handles])


def test_stop_signal_from_the_flag(dy: Cli) -> None:
    script = "trap 'exit 7' USR1; while :; do sleep 0.1; done"
    cid = _detached(dy, "--stop-signal", "USR1", "busybox", "sh", "-c", script)
    dy("stop", cid)
    assert dy("inspect", "--format", "{{.State.ExitCode}} {{.Config.StopSignal}}", cid).stdout == "7 USR1\n"
    dy("rm", cid)


def test_kill_restart_pause_rm(dy: Cli) -> None:
    cid = _detached(dy, "--name", "kk", "busybox", "sh", "-c", "trap 'exit 9' HUP; while :; do sleep 0.1; done")
    dy("kill", "-s", "HUP", "kk")
    wait_for(lambda: dy("ps", "-a", "--format", "{{.Status}}").stdout.startswith("Exited (9)"))
    not_running = dy("kill", "kk", check=False)
    assert not_running.returncode == 1
    assert not_running.stderr == (
        f"Error response from daemon: Cannot kill container: kk: Container {cid} is not running\n"
    )
    dy("start", "kk")
    first_pid = dy("inspect", "--format", "{{.State.Pid}}", "kk").stdout
    dy("restart", "-t", "0", "kk")
    assert dy("inspect", "--format", "{{.State.Status}}", "kk").stdout == "running\n"
    assert dy("inspect", "--format", "{{.State.Pid}}", "kk").stdout != first_pid
    dy("pause", "kk")
    assert re.fullmatch(r"Up .* \(Paused\)\n", dy("ps", "--format", "{{.Status}}").stdout)
    freezer = Path(f"/sys/fs/cgroup/freezer/dockyard/{cid}/freezer.state")
    assert freezer.read_text().strip() == "FROZEN"
    assert dy("pause", "kk", check=False).stderr == f"Error response from daemon: Container {cid} is already paused\n"
    refused = dy("exec", "kk", "true", check=False)  # named as the caller named it, as dockerd does
    assert (refused.returncode, refused.stderr) == (
        1,
        "Error response from daemon: Container kk is paused, unpause the container before exec\n",
    )
    refused = dy("rm", "kk", check=False)
    assert refused.returncode == 1 and "You cannot remove a paused container" in refused.stderr
    dy("unpause", "kk")
    refused = dy("rm", "kk", check=False)
    assert refused.stderr == (
        f"Error response from daemon: You cannot remove a running container {cid}. "
        "Stop the container before attempting removal or force remove\n"
    )
    assert dy("rm", "-f", "kk").stdout == "kk\n"
    missing = dy("rm", "kk", check=False)
    assert (missing.returncode, missing.stderr) == (1, "Error response from daemon: No such container: kk\n")
    no_leftovers(dy.root, [cid])


def test_wait_prints_the_exit_code(dy: Cli) -> None:
    cid = _detached(dy, "busybox", "sh", "-c", "sleep 0.5; exit 42")
    assert dy("wait", cid).stdout == "42\n"
    assert dy("wait", cid).stdout == "42\n"  # already stopped
    dy("rm", cid)


def test_logs(dy: Cli) -> None:
    cid = _detached(dy, "busybox", "sh", "-c", "echo out1; echo err1 >&2; echo out2; printf no-newline")
    dy("wait", cid)
    logs = dy("logs", cid)
    assert logs.stdout == "out1\nout2\nno-newline" and logs.stderr == "err1\n"
    tail = dy("logs", "-t", "--tail", "2", cid)  # the last two records, whichever streams they are on
    lines = (tail.stdout + "\n" + tail.stderr).split("\n")
    stamped = [line for line in lines if line]
    assert len(stamped) == 2, stamped
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (out2|err1|no-newline)", s) for s in stamped)
    assert tail.stdout.endswith("Z no-newline")
    assert dy("logs", "--since", "1h", cid).stdout.startswith("out1")
    assert dy("logs", "--until", "2000-01-01T00:00:00Z", cid).stdout == ""
    follower = _detached(dy, "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done")
    assert dy("logs", "-f", follower, timeout=30).stdout == "line1\nline2\nline3\n"  # ends with the container
    dy("rm", cid, follower)


def test_exec(dy: Cli) -> None:
    cid = _detached(dy, "--name", "ex", "-e", "FROM_RUN=1", "busybox", "sleep", "60")
    out = dy("exec", "-e", "EXTRA=2", "-w", "/tmp", "ex", "sh", "-c", "echo $FROM_RUN $EXTRA; pwd; id -u").stdout
    assert out == "1 2\n/tmp\n0\n"
    assert dy("exec", "-u", "nobody", "ex", "id", "-u").stdout == "65534\n"
    assert dy("exec", "ex", "sh", "-c", "exit 5", check=False).returncode == 5
    assert dy("exec", "-i", "ex", "cat", input="piped\n").stdout == "piped\n"
    missing = dy("exec", "ex", "nosuch", check=False)
    assert missing.returncode == 127 and 'exec: "nosuch": executable file not found in $PATH' in missing.stderr
    nouser = dy("exec", "-u", "nosuchuser", "ex", "true", check=False)  # could not start: 126, as docker exec
    assert (nouser.returncode, nouser.stderr) == (
        126,
        "Error response from daemon: unable to find user nosuchuser: no matching entries in passwd file\n",
    )
    dy("exec", "-d", "ex", "sh", "-c", "echo detached > /tmp/marker")
    wait_for(lambda: dy("exec", "ex", "cat", "/tmp/marker", check=False).stdout == "detached\n")
    execs = json.loads(dy("inspect", "--format", "{{json .ExecIDs}}", "ex").stdout)
    assert len(execs) >= 5
    dy("stop", "-t", "0", "ex")
    stopped = dy("exec", "ex", "true", check=False)
    assert (stopped.returncode, stopped.stderr) == (1, f"Error response from daemon: Container {cid} is not running\n")
    dy("rm", "ex")


def test_top_stats_port_rename_inspect(dy: Cli) -> None:
    cid = _detached(dy, "--name", "obs", "-m", "64m", "-p", "127.0.0.1::80", "busybox", "sleep", "60")
    top = dy("top", "obs").stdout.splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"] and "sleep 60" in top[1]
    stats = dy("stats", "--no-stream", "obs").stdout.splitlines()
    assert stats[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                                "NET", "I/O", "BLOCK", "I/O", "PIDS"]  # fmt: skip
    assert stats[1].split()[:2] == [cid[:12], "obs"] and "/ 64MiB" in stats[1] and stats[1].split()[-1] == "1"
    port = dy("port", "obs", "80").stdout
    assert re.fullmatch(r"127\.0\.0\.1:\d+\n", port)
    unpublished = dy("port", "obs", "81", check=False)  # the port as the caller wrote it, as docker says it
    assert (unpublished.returncode, unpublished.stderr) == (1, "Error: No public port '81' published for obs\n")
    same = dy("rename", "obs", "obs", check=False)
    assert (same.returncode, same.stderr) == (
        1,
        "Error response from daemon: Renaming a container with the same name as its current name\n"
        "Error: failed to rename container named obs\n",
    )
    dy("rename", "obs", "watched")
    data = json.loads(dy("inspect", "watched").stdout)[0]
    assert data["Name"] == "/watched" and data["Id"] == cid
    assert data["HostConfig"]["Memory"] == 64 << 20
    assert data["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert data["State"]["Running"] is True and data["State"]["Pid"] > 0
    assert data["Config"]["Cmd"] == ["sleep", "60"] and data["Config"]["Hostname"] == cid[:12]
    assert data["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"] == "127.0.0.1"
    assert data["GraphDriver"]["Name"] == "overlay2" and data["GraphDriver"]["Data"]["UpperDir"].endswith("/upper")
    assert dy("inspect", "--format", "{{.Name}}", "watched").stdout == "/watched\n"
    missing = dy("inspect", "nope", check=False)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "[]\n", "Error: No such object: nope\n")
    dy("rm", "-f", "watched")


def test_prune_removes_stopped_containers_only(dy: Cli) -> None:
    keep = _detached(dy, "busybox", "sleep", "60")
    gone = dy("create", "busybox").stdout.strip()
    out = dy("container", "prune", "-f").stdout
    assert out.startswith(f"Deleted Containers:\n{gone}\n") and "Total reclaimed space:" in out
    assert dy("ps", "-aq").stdout.split() == [keep[:12]]
    dy("rm", "-f", keep)


def test_update_changes_the_running_cgroup_and_what_later_starts_get(dy: Cli) -> None:
    _detached(dy, "--name", "up", "-m", "64m", "--pids-limit", "20", "busybox", "sleep", "60")
    cgroup = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"
    r = dy("update", "-m", "128m", "--pids-limit", "30", "--cpus", "0.5", "--restart", "on-failure:3", "up", "nope",
           check=False)  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (1, "up\n", "Error response from daemon: No such container: nope\n")
    assert dy("exec", "up", "sh", "-c", cgroup).stdout == f"{128 << 20}\n30\n"
    fmt = "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}"
    assert dy("inspect", "--format", fmt, "up").stdout == f"{128 << 20} 30 500000000 on-failure\n"
    dy("restart", "-t", "0", "up")  # kept for later starts
    assert dy("exec", "up", "sh", "-c", cgroup).stdout == f"{128 << 20}\n30\n"
    dy("update", "--pids-limit", "-1", "up")
    assert dy("exec", "up", "cat", "/sys/fs/cgroup/pids/pids.max").stdout == "max\n"
    none = dy("update", "up", check=False)
    assert (none.returncode, none.stderr) == (1, "you must provide one or more flags when using this command\n")
    low = dy("update", "-m", "1k", "up", check=False)
    assert (low.returncode, low.stderr) == (1, "Error response from daemon: Minimum memory limit allowed is 6MB\n")
    _detached(dy, "--rm", "--name", "gone", "busybox", "sleep", "60")
    refused = dy("update", "--restart", "always", "gone", check=False)
    assert refused.stderr == (
        "Error response from daemon: Restart policy cannot be updated because AutoRemove is enabled for the container\n"
    )
    dy("rm", "-f", "up", "gone")
