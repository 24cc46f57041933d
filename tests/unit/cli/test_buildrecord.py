"""The pure parts of the build record (``cli/buildrecord/``): its key, the context signature and its checks, and
records on disk. (It parses the command line with ``cli/argscan.py`` over the rows the click command is made
from: ``test_runflags.py`` holds that parsing to click's.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard import configfile
from dockyard.build.context import BuildContext
from dockyard.cli.argscan import scan
from dockyard.cli.buildrecord import record, recorder, signature
from dockyard.cli.commands.buildflags import BUILD_OPTIONS


def test_root_path_is_configfiles(monkeypatch: pytest.MonkeyPatch) -> None:
    for root in (None, "rel", "/abs"):
        assert record.root_path(root) == configfile.root_path(root)
    monkeypatch.setenv("DOCKYARD_ROOT", "/elsewhere")
    assert record.root_path(None) == configfile.root_path(None)


def _params(*args: str) -> dict[str, object]:
    parsed = scan(BUILD_OPTIONS, [*args, "."], docker=False)
    assert parsed is not None
    return parsed[0]


def test_material(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(tmp_path / "root")
    ctx = str(tmp_path)

    def material(*args: str, env: dict[str, str] | None = None, tty: bool = False) -> str | None:
        return record.record_material(root, ctx, _params(*args), env or {}, tty)

    base = material("-t", "a")
    assert base is not None and base == material("-t", "a")
    assert material("-t", "a", "--iidfile", "x") == base  # where the ID is written is not an input
    others = [material("-t", "b"), material("-t", "a", "-q"), material("-t", "a", tty=True),
              material("-t", "a", "--label", "x=y"), material("-t", "a", "--target", "t")]  # fmt: skip
    assert len({base, *others}) == 1 + len(others)
    assert material("--build-arg", "P", env={"P": "1"}) != material("--build-arg", "P", env={"P": "2"})
    assert material("--build-arg", "P", env={"P": "1"}) != material("--build-arg", "P=1")
    for unrecordable in (["--no-cache"], ["--pull"], ["-f", "-"]):
        assert material(*unrecordable) is None
    assert record.record_material(root, "-", _params(), {}, False) is None
    monkeypatch.chdir(tmp_path)
    assert material("-f", "Dockerfile") == material("-f", str(tmp_path / "Dockerfile"))
    os.makedirs(root)
    Path(root, "config.json").write_text("{}")
    assert material("-t", "a") != base  # the settings are an input


def _context(tmp_path: Path) -> tuple[BuildContext, dict[str, object]]:
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY src /src\n")
    (ctx / ".dockerignore").write_text("*.log\n")
    (ctx / "src" / "a.py").write_text("a = 1\n")
    (ctx / "notes.txt").write_text("not copied\n")
    os.symlink("a.py", ctx / "src" / "link")
    time.sleep(0.06)
    started = time.time_ns()
    context = BuildContext(ctx)
    context.resolve(["src"])
    rec = signature.scan_context(context, started)
    assert rec is not None
    return context, rec


def test_signature_and_checks(tmp_path: Path) -> None:
    context, rec = _context(tmp_path)
    root = context.root
    files = {f[0]: f for f in rec["files"]}  # type: ignore[attr-defined]
    assert files["src/a.py"][-1] and files["notes.txt"][-1] == ""  # only selected files carry their content
    assert {d[0] for d in rec["dirs"]} == {"", "src"}  # type: ignore[attr-defined]
    assert rec["links"][0][:2] == ["src/link", "a.py"]  # type: ignore[index]
    assert signature.check_files(root, rec) == (True, None, "")

    a = Path(root, "src", "a.py")
    a.touch()
    ok, refreshed, _ = signature.check_files(root, rec)
    assert ok and refreshed is not None
    rec = {**rec, "files": refreshed}
    assert signature.check_files(root, rec) == (True, None, "")

    Path(root, "notes.txt").touch()  # not selected: its times do not matter, its size does
    ok, refreshed, _ = signature.check_files(root, rec)
    assert ok and refreshed is not None
    rec = {**rec, "files": refreshed}
    Path(root, "notes.txt").write_text("not copied either\n")
    assert signature.check_files(root, rec)[0] is False

    _, rec = _context(tmp_path / "again")
    root = str(tmp_path / "again" / "ctx")
    a = Path(root, "src", "a.py")
    st = a.stat()
    a.write_text("b = 1\n")  # same size, mtime put back: the ctime tells, the content decides
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert signature.check_files(root, rec) == (False, None, "src/a.py changed (content)")


@pytest.mark.parametrize(
    "change",
    [
        lambda r: Path(r, "src", "new.py").write_text("x"),  # added: the directory's mtime
        lambda r: Path(r, "build.log").write_text("x"),  # even an ignored one: the builder decides
        lambda r: os.unlink(Path(r, "notes.txt")),
        lambda r: os.chmod(Path(r, "src", "a.py"), 0o600),
        lambda r: os.chmod(Path(r, "src"), 0o700),
        lambda r: (os.unlink(Path(r, "src", "link")), os.symlink("b.py", Path(r, "src", "link"))),
        lambda r: Path(r, ".dockerignore").write_text("*.tmp\n"),
        lambda r: Path(r, "Dockerfile").write_text("FROM busybox\nCOPY src /x\n"),
        lambda r: Path(r, "Dockerfile.dockerignore").write_text("x\n"),
    ],
)
def test_changes_fail_the_check(tmp_path: Path, change: object) -> None:
    context, rec = _context(tmp_path)
    change(context.root)  # type: ignore[operator]
    assert signature.check_files(context.root, rec)[0] is False


def test_no_signature_for_a_context_changed_during_the_build(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\n")
    started = time.time_ns()
    context = BuildContext(ctx)
    (ctx / "late.txt").write_text("x")
    assert signature.scan_context(context, started) is None


def test_no_signature_for_sources_past_the_walk(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "real").mkdir(parents=True)
    (ctx / "real" / "f").write_text("x")
    os.symlink("real", ctx / "hidden")
    (ctx / ".dockerignore").write_text("hidden\n")
    time.sleep(0.06)
    started = time.time_ns()
    context = BuildContext(ctx)
    context.resolve(["real"])
    assert signature.scan_context(context, started) is not None
    context.selected.add("hidden")  # as a source through the excluded symlink would
    assert signature.scan_context(context, started) is None


def test_records_on_disk(tmp_path: Path) -> None:
    path = str(tmp_path / "records" / "k")
    rec = {"format": record.FORMAT, "material": "m", "files": [["a", 1]]}
    record.save(path, rec)
    assert record.load(path) == rec
    assert os.listdir(tmp_path / "records") == ["k"]
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:-3] + b"xyz")
    assert record.load(path) is None
    Path(path).write_bytes(b"")
    assert record.load(path) is None
    record.save(path, {**rec, "format": record.FORMAT + 1})
    assert record.load(path) is None


def test_fast_module_imports_little() -> None:
    """What ``serve`` costs before it can decline: no builder, no json, no typing, no dataclasses, no writer."""
    code = (
        "import sys; from dockyard.cli.buildrecord.replay import serve; "
        "serve(None, ['-t', 'x', '/nonexistent-context']); print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DOCKYARD_ROOT": "/nonexistent-root"},
    )
    loaded = set(out.stdout.split())
    heavy = ("json", "typing", "dataclasses", "hashlib", "sqlite3", "click", "dockyard.cli.flagtable", "dockyard.build",
             "dockyard.errors", "dockyard.cli.buildrecord.recorder")  # fmt: skip
    assert not loaded & set(heavy)


@pytest.mark.parametrize(
    "trace, miss",
    [
        ({"pulled": True}, False),
        ({"unverifiable": ("ADD from a URL",)}, False),
        ({}, True),  # a step ran
        ({"hits": ()}, False),  # a cached step the trace does not know
    ],
)
def test_no_record_for_builds_it_cannot_stand_for(tmp_path: Path, trace: dict[str, object], miss: bool) -> None:
    import io

    from dockyard.build.options import BuildResult, BuildTrace, CacheMiss
    from dockyard.oci.digest import Digest

    context, _ = _context(tmp_path)
    hits = (("sha256:" + "1" * 64, "sha256:" + "2" * 64, "o"),)
    result = BuildResult(
        image_id=Digest.parse("sha256:" + "3" * 64),
        cached_steps=1,
        first_miss=CacheMiss(1, 2, "RUN x", ()) if miss else None,
        trace=BuildTrace(**{"hits": hits, **trace}),  # type: ignore[arg-type]
    )
    state_root = tmp_path / "root"
    writer = recorder.Recorder(str(state_root), "material", recorder._Tee(io.StringIO()))
    assert writer._finish(context, result, quiet=False) != ""
    assert not (state_root / record.RECORDS_DIR).exists()
