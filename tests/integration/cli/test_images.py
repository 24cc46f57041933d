"""Image commands as a user runs them: output, errors, exit codes, and a store that stays intact."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.integration


def test_image_ls_columns_and_formats(cli: Cli, busybox: str) -> None:
    out = cli("image", "ls").stdout.splitlines()
    assert re.match(r"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", out[0])
    assert re.match(r"^busybox\s+latest\s+[0-9a-f]{12}\s+.+ago\s+\d+(\.\d+)?[kM]B$", out[1])
    ids = cli("images", "-q").stdout.split()
    assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{12}", ids[0])
    full = cli("images", "-q", "--no-trunc").stdout.split()
    assert full[0].startswith("sha256:") and full[0][7:].startswith(ids[0])
    row = json.loads(cli("images", "--format", "json").stdout)
    assert row["Repository"] == "busybox" and row["Tag"] == "latest" and row["ID"] == ids[0]
    assert sorted(row) == [
        "Containers",
        "CreatedAt",
        "CreatedSince",
        "Digest",
        "ID",
        "Repository",
        "SharedSize",
        "Size",
        "Tag",
        "UniqueSize",
        "VirtualSize",
    ]
    assert cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"
    table = cli("images", "--format", "table {{.Repository}}\t{{.ID}}").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "IMAGE", "ID"] and table[1].split() == ["busybox", ids[0]]
    assert "DIGEST" in cli("images", "--digests").stdout.splitlines()[0]


def test_tag_untag_and_delete(cli: Cli, busybox: str) -> None:
    cli("tag", "busybox", "pango/get-started:part2")
    cli("tag", "busybox:latest", "localhost:5000/x")
    rows = cli("images", "--format", "{{.Repository}} {{.Tag}}").stdout.splitlines()
    assert sorted(rows) == ["busybox latest", "localhost:5000/x latest", "pango/get-started part2"]
    assert cli("rmi", "pango/get-started:part2").stdout == "Untagged: pango/get-started:part2\n"
    image_id = cli("images", "-q", "--no-trunc").stdout.split()[0]
    # by ID while two repositories name it: refused without -f
    r = cli("rmi", image_id[7:19], check=False)
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: conflict: unable to delete")
    assert "must be forced" in r.stderr and "referenced in multiple repositories" in r.stderr
    out = cli("rmi", "-f", image_id[7:19]).stdout.splitlines()
    assert "Untagged: busybox:latest" in out and f"Deleted: {image_id}" in out
    assert cli("images", "-q").stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rmi", "nope"), "Error response from daemon: No such image: nope:latest"),
        (("image", "inspect", "nope:1"), "No such image: nope:1"),
        (("tag", "busybox", "Foo:bar"), "invalid reference format: repository name must be lowercase"),
        (("tag", "busybox", "a:b:c"), "invalid reference format"),
        (("tag", "nope", "x"), "No such image: nope:latest"),
        (("load", "-i", "/nonexistent.tar"), "open /nonexistent.tar: no such file or directory"),
        (("import", "/nonexistent.tar"), "no such file or directory"),
    ],
)
def test_errors_are_one_line_with_a_nonzero_exit(cli: Cli, busybox: str, args: tuple[str, ...], message: str) -> None:
    r = cli(*args, check=False)
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert cli("images", "-q").stdout.strip()  # busybox untouched


def test_inspect_has_dockers_shape(cli: Cli, busybox: str) -> None:
    [data] = json.loads(cli("image", "inspect", "busybox").stdout)
    for key in (
        "Id",
        "RepoTags",
        "RepoDigests",
        "Parent",
        "Created",
        "Config",
        "Architecture",
        "Os",
        "Size",
        "GraphDriver",
        "RootFS",
        "Metadata",
    ):
        assert key in data
    assert data["Config"]["Cmd"] == ["sh"]
    assert data["RootFS"]["Type"] == "layers" and len(data["RootFS"]["Layers"]) == 1
    assert cli("inspect", "--format", "{{.Os}}/{{.Architecture}}", "busybox").stdout.strip().startswith("linux/")


def test_save_load_round_trip_in_both_formats(cli: Cli, busybox: str, tmp_path: Path) -> None:
    image_id = cli("images", "-q", "--no-trunc").stdout.strip()
    for fmt in ("docker-archive", "oci-archive"):
        archive = tmp_path / f"{fmt}.tar"
        cli("save", "--format", fmt, "-o", str(archive), "busybox")
        with tarfile.open(archive) as tar:
            names = tar.getnames()
        assert "manifest.json" in names
        cli("rmi", "busybox")
        assert cli("load", "-i", str(archive)).stdout == "Loaded image: busybox:latest\n"
        assert cli("images", "-q", "--no-trunc").stdout.strip() == image_id
        assert cli("history", "-q", "busybox").stdout.splitlines()[0] == image_id[7:19]


def test_load_refuses_corrupt_and_hostile_archives(cli: Cli, busybox: str, tmp_path: Path) -> None:
    good = tmp_path / "good.tar"
    cli("save", "-o", str(good), "busybox")
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    r = cli("load", "-i", str(truncated), check=False)
    assert r.returncode == 1 and "load:" in r.stderr
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../../escaped")
        info.size = 1
        import io

        tar.addfile(info, io.BytesIO(b"x"))
    r = cli("load", "-i", str(evil), check=False)
    assert r.returncode == 1 and "unsafe" in r.stderr
    assert not (tmp_path.parent / "escaped").exists()
    notimage = tmp_path / "notimage.tar"
    with tarfile.open(notimage, "w") as tar:
        tar.add(__file__, arcname="hello.py")
    r = cli("load", "-i", str(notimage), check=False)
    assert r.returncode == 1 and "not an image archive" in r.stderr
    assert cli("images", "--format", "{{.Repository}}").stdout == "busybox\n"


def test_import_rootfs_tar(cli: Cli, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "hello.txt").write_text("hi\n")
    archive = tmp_path / "rootfs.tar"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(rootfs, arcname=".")
    image_id = cli("import", str(archive), "imported:v1").stdout.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
    [data] = json.loads(cli("image", "inspect", "imported:v1").stdout)
    assert data["Id"] == image_id
    hist = cli("history", "--format", "{{.Comment}}", "imported:v1").stdout
    assert f"Imported from {archive}" in hist


def test_prune_removes_dangling_images_only(cli: Cli, busybox: str, tmp_path: Path) -> None:
    archive = tmp_path / "x.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(__file__, arcname="x.py")
    cli("import", str(archive), "temp:1")
    cli("import", str(archive), "temp:1")  # same content, same ID: still one image
    cli("import", "-m", "other", str(archive), "temp:1")  # a new image takes the tag; the old one dangles
    assert "<none>" in cli("images").stdout
    out = cli("image", "prune", "-f").stdout
    assert "deleted: sha256:" in out and "Total reclaimed space:" in out
    assert "<none>" not in cli("images").stdout
    assert sorted(cli("images", "--format", "{{.Repository}}").stdout.split()) == ["busybox", "temp"]


def test_parallel_commands_leave_a_consistent_store(cli: Cli, busybox: str, tmp_path: Path) -> None:
    archives = []
    for i in range(4):
        archive = tmp_path / f"a{i}.tar"
        with tarfile.open(archive, "w") as tar:
            data = tmp_path / f"f{i}"
            data.write_text(str(i) * 1000)
            tar.add(data, arcname=f"file{i}")
        archives.append(archive)

    def job(i: int) -> int:
        name = f"par{i % 4}:{i}"
        steps = [
            ("import", str(archives[i % 4]), name),
            ("tag", name, f"copy{i}"),
            ("rmi", name),
            ("tag", "busybox", f"bb{i}"),
            ("rmi", f"copy{i}"),
        ]
        for step in steps:
            r = cli(*step, check=False)
            if r.returncode != 0:
                return r.returncode
        return 0

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(job, range(20)))
    assert results == [0] * 20
    rows = cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(rows) == sorted(["busybox:latest", *[f"bb{i}:latest" for i in range(20)]])
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            f"""
import sqlite3; c = sqlite3.connect({str(cli.root / "dockyard.db")!r})
print(c.execute('PRAGMA integrity_check').fetchone()[0])
print(c.execute('PRAGMA foreign_key_check').fetchall())
""",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.split("\n")[:2] == ["ok", "[]"]
    # every layer directory on disk belongs to a layer row and the other way round
    layer_dirs = {p.name for p in (cli.root / "overlay").iterdir() if len(p.name) == 64}
    db_rows = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sqlite3; print('\\n'.join(r[0][7:] for r in sqlite3.connect("
            f"{str(cli.root / 'dockyard.db')!r}).execute('select chain_id from layers')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert layer_dirs == set(db_rows)


def test_killed_import_leaves_no_image_and_is_cleaned_up(cli: Cli, busybox: str, tmp_path: Path) -> None:
    big = tmp_path / "big.tar"
    with tarfile.open(big, "w") as tar:
        blob = tmp_path / "blob"
        blob.write_bytes(os.urandom(1 << 20) * 64)
        tar.add(blob, arcname="blob")
    env = {**os.environ, "DOCKYARD_ROOT": str(cli.root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "import", str(big), "half:1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline and not any((cli.root / "ingest").glob("*")):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert cli("images", "--format", "{{.Repository}}").stdout == "busybox\n"
    cli("images")  # any later command cleans up
    assert list((cli.root / "ingest").iterdir()) == []
    assert not [p for p in (cli.root / "overlay").iterdir() if p.name.startswith("tmp-")]
    blobs = list((cli.root / "blobs" / "sha256").iterdir())
    assert len(blobs) == 3  # busybox: layer, config, manifest
