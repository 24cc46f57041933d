"""A container's files: ``cp`` both ways (docker's placement rules, symlinks never followed out of the
container), ``diff`` (A/C/D, whiteouts as D), ``commit`` (a layer with whiteouts, ``--change``), ``export``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration

SETUP = "echo hello > /tmp/new; rm /bin/ls; mkdir -p /data/sub; echo x > /data/sub/f; ln -s /etc/passwd /data/link; "


def _tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


def _container(dy: Cli) -> str:
    return dy("run", "-d", "busybox", "sh", "-c", SETUP + "touch /tmp/ready; sleep 60").stdout.strip()


def _ready(dy: Cli, cid: str) -> None:
    from tests.integration.containers.conftest import wait_for

    wait_for(lambda: dy("exec", cid, "test", "-e", "/tmp/ready", check=False).returncode == 0)


def test_diff(dy: Cli) -> None:
    cid = _container(dy)
    _ready(dy, cid)
    lines = dy("diff", cid).stdout.splitlines()
    for expected in ("C /bin", "D /bin/ls", "A /data", "A /data/link", "A /data/sub/f", "C /tmp", "A /tmp/new"):
        assert expected in lines
    # the runtime's mount points are no changes of the container's own
    assert not any(line.endswith(("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")) for line in lines)
    assert lines == sorted(lines, key=lambda line: line[2:])
    dy("rm", "-f", cid)


def test_cp_out(dy: Cli, tmp_path: Path) -> None:
    cid = _container(dy)
    _ready(dy, cid)
    dy("cp", f"{cid}:/tmp/new", str(tmp_path))  # a file into a directory
    assert (tmp_path / "new").read_text() == "hello\n"
    dy("cp", f"{cid}:/tmp/new", str(tmp_path / "renamed"))  # onto a new name
    assert (tmp_path / "renamed").read_text() == "hello\n"
    dy("cp", f"{cid}:/data", str(tmp_path / "d"))  # a directory to a new one: its content
    assert (tmp_path / "d" / "sub" / "f").read_text() == "x\n"
    assert os.readlink(tmp_path / "d" / "link") == "/etc/passwd"  # copied as a link, not followed
    dy("cp", f"{cid}:/data", str(tmp_path / "d"))  # to an existing directory: inside it
    assert (tmp_path / "d" / "data" / "sub" / "f").exists()
    (tmp_path / "e").mkdir()
    dy("cp", f"{cid}:/data/.", str(tmp_path / "e"))  # /. : the contents
    assert (tmp_path / "e" / "sub" / "f").exists()
    raw = subprocess.run([sys.executable, "-m", "dockyard", "cp", f"{cid}:/data", "-"], capture_output=True,
                         env={**os.environ, "DOCKYARD_ROOT": str(dy.root)}, check=True).stdout  # fmt: skip
    names = _tar_names(raw)
    assert sorted(names) == ["data", "data/link", "data/sub", "data/sub/f"]
    missing = dy("cp", f"{cid}:/nope", str(tmp_path), check=False)
    assert missing.returncode == 1 and "Could not find the file /nope in container" in missing.stderr
    dy("rm", "-f", cid)


def test_cp_in_never_escapes_the_container(dy: Cli, tmp_path: Path) -> None:
    cid = _container(dy)
    _ready(dy, cid)
    (tmp_path / "up.txt").write_text("local\n")
    dy("cp", str(tmp_path / "up.txt"), f"{cid}:/tmp/")
    dy("cp", str(tmp_path / "up.txt"), f"{cid}:/tmp/renamed.txt")
    assert dy("exec", cid, "cat", "/tmp/up.txt", "/tmp/renamed.txt").stdout == "local\nlocal\n"
    # /data/link points at /etc/passwd: writing through it must land in the container's /etc, never the host's
    host_passwd = Path("/etc/passwd").read_bytes()
    (tmp_path / "passwd").write_text("evil\n")
    dy("cp", str(tmp_path / "passwd"), f"{cid}:/data/link")
    assert Path("/etc/passwd").read_bytes() == host_passwd
    # a symlink to a host directory in the container, then a copy "into" it
    dy("exec", cid, "ln", "-s", "/", "/tmp/root-link")
    (tmp_path / "payload").write_text("inside\n")
    dy("cp", str(tmp_path / "payload"), f"{cid}:/tmp/root-link/")
    assert not Path("/payload").exists()
    assert dy("exec", cid, "cat", "/payload").stdout == "inside\n"
    # a tar from stdin
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("piped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    dy("cp", "-", f"{cid}:/tmp", input=buf.getvalue().decode("latin-1"))
    assert dy("exec", cid, "cat", "/tmp/piped.txt").stdout == "abc"
    dy("rm", "-f", cid)


def test_commit_and_export(dy: Cli) -> None:
    cid = _container(dy)
    _ready(dy, cid)
    image_id = dy("commit", "-a", "Ada", "-m", "first", "-c", 'CMD ["cat", "/tmp/new"]', cid, "snap:v1").stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert dy("ps", "--format", "{{.State}}").stdout == "running\n"  # unpaused again
    assert dy("run", "--rm", "snap:v1").stdout == "hello\n"
    gone = dy("run", "--rm", "snap:v1", "ls", check=False)
    assert gone.returncode == 127  # the whiteout of /bin/ls
    assert dy("run", "--rm", "snap:v1", "readlink", "/data/link").stdout == "/etc/passwd\n"
    config = json.loads(dy("image", "inspect", "snap:v1").stdout)[0]
    assert config["Author"] == "Ada" and config["Comment"] == "first"
    assert config["Config"]["Cmd"] == ["cat", "/tmp/new"]
    assert len(config["RootFS"]["Layers"]) == 2
    exported = subprocess.run([sys.executable, "-m", "dockyard", "export", cid], capture_output=True,
                              env={**os.environ, "DOCKYARD_ROOT": str(dy.root)}, check=True).stdout  # fmt: skip
    names = set(_tar_names(exported))
    assert {"tmp/new", "data/sub/f", "bin/busybox"} <= names and "bin/ls" not in names
    stopped = dy("run", "-d", "busybox", "sh", "-c", "echo bye > /bye").stdout.strip()
    dy("wait", stopped)
    assert "A /bye" in dy("diff", stopped).stdout.splitlines()  # a stopped container's changes
    exported = subprocess.run([sys.executable, "-m", "dockyard", "export", stopped], capture_output=True,
                              env={**os.environ, "DOCKYARD_ROOT": str(dy.root)}, check=True).stdout  # fmt: skip
    assert "bye" in _tar_names(exported)
    dy("rm", "-f", cid, stopped)
