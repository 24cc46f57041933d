"""``kill -9`` in the middle of create, remove and populate: the next command leaves nothing half-made.

Each case runs the engine in a child process that SIGKILLs itself at a chosen step (by wrapping one internal
function), then checks what the next ordinary command sees and leaves on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.settings import Settings
from tests.conftest import Cli
from tests.integration.volumes.conftest import container_id

pytestmark = pytest.mark.integration

_PRELUDE = """
import os, signal, sys
from pathlib import Path
from dockyard.engine import Engine
from dockyard.settings import Settings
import dockyard.engine.volumes.service as service
import dockyard.engine.volumes.populate as populate
engine = Engine(Settings(root=Path(sys.argv[1])))
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _run_killed(root: Path, body: str) -> None:
    script = _PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def _entries(root: Path) -> list[str]:
    return sorted(os.listdir(root / "volumes"))


def test_killed_create_leaves_nothing(cli: Cli, state_root: Path) -> None:
    cli("volume", "create", "before")
    _run_killed(
        state_root,
        """
        service.fsync_dir = die  # after mkdir of the volume and its _data, before the row is committed
        engine.volumes.create("halfmade")
        """,
    )
    assert (state_root / "volumes/halfmade/_data").is_dir()  # the kill really came after the mkdir
    assert cli("volume", "ls", "-q").stdout.split() == ["before"]
    assert _entries(state_root) == ["before"]
    assert cli("volume", "create", "halfmade").stdout.strip() == "halfmade"
    assert cli("volume", "ls", "-q").stdout.split() == ["before", "halfmade"]


def test_killed_remove_is_finished_by_the_next_command(cli: Cli, state_root: Path) -> None:
    cli("volume", "create", "doomed")
    (state_root / "volumes/doomed/_data/file").write_text("x")
    _run_killed(
        state_root,
        """
        service.VolumeService._finish_removal_locked = die  # 'removing' committed, directory still there
        engine.volumes.delete(["doomed"])
        """,
    )
    assert (state_root / "volumes/doomed/_data/file").exists()
    assert cli("volume", "ls", "-q").stdout.split() == []
    assert _entries(state_root) == []
    r = cli("volume", "inspect", "doomed", check=False)
    assert r.returncode == 1 and "get doomed: no such volume" in r.stderr


def test_killed_while_deleting_the_files(cli: Cli, state_root: Path) -> None:
    cli("volume", "create", "big")
    for i in range(50):
        (state_root / f"volumes/big/_data/f{i}").write_text("x" * 1000)
    _run_killed(
        state_root,
        """
        service.remove_tree = die  # the directory is moved aside and the row deleted; the files are not
        engine.volumes.delete(["big"])
        """,
    )
    assert [e for e in _entries(state_root) if e.startswith(".trash-")]
    assert cli("volume", "ls", "-q").stdout == ""
    assert _entries(state_root) == []


def test_killed_create_with_the_same_name_is_repaired_by_create(state_root: Path) -> None:
    _run_killed(
        state_root,
        """
        service.fsync_dir = die
        engine.volumes.create("again")
        """,
    )
    engine = Engine(Settings(root=state_root))
    # the service's start-up recovery runs first; a stray directory found by create itself is handled too
    (state_root / "volumes/stray2/_data").mkdir(parents=True)
    engine.volumes.list()
    assert _entries(state_root) == []
    vol = engine.volumes.create("again")
    assert vol.mountpoint.is_dir() and list(vol.mountpoint.iterdir()) == []


def test_killed_populate_is_redone(state_root: Path, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "srv").mkdir(parents=True)
    for i in range(20):
        (rootfs / f"srv/file{i:02d}").write_text(f"content {i}\n" * 100)
    cid = container_id()
    _run_killed(
        state_root,
        f"""
        real = populate._copy_file
        count = 0
        def partial(source, target):
            global count
            count += 1
            if count == 8:
                with open(target, "w") as f:
                    f.write("trunc")  # a file cut in the middle
                die()
            real(source, target)
        populate._copy_file = partial
        engine.volumes.mount_source("site", Path({str(rootfs)!r}), "/srv", {cid!r})
        """,
    )
    data = state_root / "volumes/site/_data"
    assert 0 < len(os.listdir(data)) < 20 and (state_root / "volumes/site/populating").exists()
    engine = Engine(Settings(root=state_root))
    assert engine.volumes.users("site") == [cid]
    engine.volumes.mount_source("site", rootfs, "/srv", container_id())
    assert sorted(os.listdir(data)) == [f"file{i:02d}" for i in range(20)]
    assert all((data / f"file{i:02d}").read_text() == f"content {i}\n" * 100 for i in range(20))
    assert not (state_root / "volumes/site/populating").exists()


def test_volume_directories_with_data_are_adopted_not_deleted(cli: Cli, state_root: Path) -> None:
    # a lost database, or volumes restored from a backup (Docker's layout, opts.json included)
    restored = state_root / "volumes/restored/_data"
    restored.mkdir(parents=True)
    (restored / "db.sqlite").write_text("precious")
    mem = state_root / "volumes/mem"
    (mem / "_data").mkdir(parents=True)
    (mem / "opts.json").write_text('{"MountType":"tmpfs","MountOpts":"size=1m","MountDevice":"tmpfs","Quota":{}}')
    odd = state_root / "volumes/x"  # not a volume name: left alone
    odd.mkdir(parents=True)
    (odd / "file").write_text("?")
    assert cli("volume", "ls", "-q").stdout.split() == ["mem", "restored"]
    assert (restored / "db.sqlite").read_text() == "precious" and (odd / "file").exists()
    [doc] = json.loads(cli("volume", "inspect", "mem").stdout)
    assert doc["Options"] == {"type": "tmpfs", "o": "size=1m", "device": "tmpfs"}
    # create finds it as well when the recovery has not run in that process yet
    engine = Engine(Settings(root=state_root))
    engine.volumes.list()  # this process's recovery has run
    more = state_root / "volumes/late/_data"
    more.mkdir(parents=True)
    (more / "f").write_text("late")
    vol = engine.volumes.create("late", labels={"new": "1"})
    assert vol.mountpoint == more and vol.labels is None and (more / "f").read_text() == "late"
    empty = state_root / "volumes/fresh/_data"
    empty.mkdir(parents=True)  # empty: what a killed create leaves, so create starts over
    vol = engine.volumes.create("fresh", labels={"new": "1"})
    assert vol.labels == {"new": "1"} and vol.mountpoint.is_dir()
    assert not [e for e in _entries(state_root) if e.startswith(".")]
