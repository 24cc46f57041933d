"""The build context: directory and tar sources, .dockerignore, COPY source resolution with Docker's wording,
content checksums that ignore times, and safe tar extraction. Everything lives in pytest's tmp_path."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from dockyard.build.context import BuildContext, EntryKind, check_destination, is_remote_source
from dockyard.errors import CorruptContent, InvalidArgument


def make_tree(root: Path) -> None:
    files = {
        "Dockerfile": "FROM busybox\nCOPY . /app\n",
        "app.py": "print('hi')\n",
        "requirements.txt": "flask\n",
        "notes.txt": "notes\n",
        "src/main.py": "main\n",
        "src/util.py": "util\n",
        "src/pkg/__init__.py": "",
        "src/cache/x.pyc": "bytecode",
        "docs/README.md": "readme\n",
        "docs/guide.md": "guide\n",
        "secret.env": "TOKEN=1\n",
        "odd name [1].txt": "odd\n",
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    os.symlink("src", root / "srclink")
    os.symlink("/src/main.py", root / "abslink")
    os.symlink("../../outside", root / "src" / "escape")
    os.symlink("missing", root / "dangling")
    (root / ".dockerignore").write_text("# comment\nsecret.env\n**/*.pyc\ndocs\n!docs/README.md\n")


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    root = tmp_path / "ctx"
    root.mkdir()
    make_tree(root)
    return BuildContext.from_directory(root)


def paths(matches: tuple) -> list[list[str]]:  # type: ignore[type-arg]
    return [[e.path for e in m.entries] for m in matches]


def test_walk_applies_dockerignore(ctx: BuildContext) -> None:
    walked = [e.path for e in ctx.walk()]
    assert "secret.env" not in walked and "src/cache/x.pyc" not in walked and "docs/guide.md" not in walked
    assert "docs/README.md" in walked and ".dockerignore" in walked and "Dockerfile" in walked
    assert walked.index("src") < walked.index("src/main.py") < walked.index("srclink")
    kinds = {e.path: e.kind for e in ctx.walk()}
    assert kinds["srclink"] is EntryKind.SYMLINK and kinds["src"] is EntryKind.DIR


def test_resolve_directory_and_file_forms(ctx: BuildContext) -> None:
    (dot,) = ctx.resolve(["."])
    assert dot.kind is EntryKind.DIR and dot.resolved == ""
    assert {e.path for e in dot.entries} == {e.path for e in ctx.walk()}
    for spelling in ("src", "src/", "/src", "./src", "src/./pkg/.."):
        (m,) = ctx.resolve([spelling])
        assert m.kind is EntryKind.DIR and m.resolved == "src"
        # src/cache stays (only the *.pyc inside is ignored); src/escape is a symlink, copied as one
        assert [e.path for e in m.entries] == [
            "src/cache",
            "src/escape",
            "src/main.py",
            "src/pkg",
            "src/pkg/__init__.py",
            "src/util.py",
        ]
    (f,) = ctx.resolve(["app.py"])
    assert f.kind is EntryKind.FILE and [e.path for e in f.entries] == ["app.py"]
    assert f.entries[0].size == len("print('hi')\n")


def test_resolve_wildcards(ctx: BuildContext) -> None:
    assert paths(ctx.resolve(["*.txt"])) == [["notes.txt"], ["odd name [1].txt"], ["requirements.txt"]]
    assert paths(ctx.resolve(["src/*.py"])) == [["src/main.py"], ["src/util.py"]]
    assert paths(ctx.resolve(["./src/m?in.py", "/app.p[xy]"])) == [["src/main.py"], ["app.py"]]
    # like dockerd: "[" makes a pattern, so a name with brackets is reached with "?" (or not at all)
    assert paths(ctx.resolve(["odd name ?1?.txt"])) == [["odd name [1].txt"]]
    with pytest.raises(InvalidArgument, match="no source files were specified"):
        ctx.resolve(["odd name [1].txt"])
    # a directory matched by a pattern stands for its contents
    (pkg,) = ctx.resolve(["src/p*"])
    assert pkg.kind is EntryKind.DIR and [e.path for e in pkg.entries] == ["src/pkg/__init__.py"]
    with pytest.raises(InvalidArgument) as info:
        ctx.resolve(["*.nothing"])
    assert info.value.message == "COPY failed: no source files were specified"


def test_resolve_follows_symlinks_in_scope(ctx: BuildContext) -> None:
    (m,) = ctx.resolve(["srclink"])
    assert m.path == "srclink" and m.resolved == "src" and m.kind is EntryKind.DIR
    (absolute,) = ctx.resolve(["abslink"])  # "/src/main.py" is taken relative to the context root
    assert absolute.resolved == "src/main.py" and absolute.kind is EntryKind.FILE
    with pytest.raises(InvalidArgument, match="file not found in build context"):
        ctx.resolve(["src/escape"])  # ../../outside is clamped at the root: /outside does not exist
    with pytest.raises(InvalidArgument, match="stat dangling: file does not exist"):
        ctx.resolve(["dangling"])


def test_resolve_errors_use_docker_wording(ctx: BuildContext) -> None:
    with pytest.raises(InvalidArgument) as info:
        ctx.resolve(["missing.txt"])
    assert info.value.message == (
        "COPY failed: file not found in build context or excluded by .dockerignore: "
        "stat missing.txt: file does not exist"
    )
    with pytest.raises(InvalidArgument) as info:
        ctx.resolve(["../x"])
    assert info.value.message == "COPY failed: forbidden path outside the build context: ../x ()"
    with pytest.raises(InvalidArgument) as info:
        ctx.resolve(["a/../../x"], instruction="ADD")
    assert info.value.message == "ADD failed: forbidden path outside the build context: a/../../x ()"
    for ignored in ("secret.env", "src/cache/x.pyc", "docs/guide.md"):
        with pytest.raises(InvalidArgument) as info:
            ctx.resolve([ignored])
        assert info.value.message.endswith(f"stat {ignored}: file does not exist")
    with pytest.raises(InvalidArgument, match="source can't be a URL for COPY"):
        ctx.resolve(["https://example.com/x"])
    with pytest.raises(InvalidArgument, match="is a remote source"):
        ctx.resolve(["https://example.com/x"], instruction="ADD")


def test_excluded_directory_with_reincluded_file(ctx: BuildContext) -> None:
    (docs,) = ctx.resolve(["docs"])
    assert [e.path for e in docs.entries] == ["docs/README.md"]
    assert ctx.excluded("docs/guide.md") and not ctx.excluded("docs/README.md")


def test_dockerfile_is_read_even_when_ignored(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    ctx = BuildContext.from_directory(tmp_path)
    assert ctx.read_dockerfile() == b"FROM a\n"
    assert [e.path for e in ctx.walk()] == []
    with pytest.raises(InvalidArgument, match="file not found in build context"):
        ctx.resolve(["Dockerfile"])


def test_dockerfile_lookup(tmp_path: Path) -> None:
    (tmp_path / "dockerfile").write_text("FROM lower\n")
    ctx = BuildContext.from_directory(tmp_path)
    assert ctx.read_dockerfile() == b"FROM lower\n" and ctx.dockerfile == "dockerfile"
    with pytest.raises(InvalidArgument) as info:
        BuildContext.from_directory(tmp_path, dockerfile="build/Dockerfile.dev").read_dockerfile()
    assert info.value.message == "Cannot locate specified Dockerfile: build/Dockerfile.dev"
    with pytest.raises(InvalidArgument, match="unable to prepare context"):
        BuildContext.from_directory(tmp_path / "nope")


def test_dockerfile_specific_ignore_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile.dev").write_text("FROM a\n")
    (tmp_path / "sub" / "Dockerfile.dev.dockerignore").write_text("a.txt\n")
    (tmp_path / ".dockerignore").write_text("b.txt\n")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    ctx = BuildContext.from_directory(tmp_path, dockerfile="sub/Dockerfile.dev")
    assert ctx.excluded("a.txt") and not ctx.excluded("b.txt")


def test_check_destination_and_remote_sources() -> None:
    check_destination("COPY", (), "/x")
    with pytest.raises(InvalidArgument, match="When using COPY with more than one source file, the destination"):
        check_destination("COPY", (object(), object()), "/x")  # type: ignore[arg-type]
    check_destination("COPY", (object(), object()), "/x/")  # type: ignore[arg-type]
    assert is_remote_source("https://x/y.tar") and is_remote_source("git@github.com:a/b.git")
    assert not is_remote_source("src/http.py")


# --- checksums ---


def test_checksum_ignores_times(ctx: BuildContext) -> None:
    before = ctx.checksum(ctx.resolve(["."]))
    for entry in ctx.walk():
        os.utime(os.path.join(ctx.root, entry.path), (1, 1), follow_symlinks=False)
    assert ctx.checksum(ctx.resolve(["."])) == before
    # rewriting identical content (new mtime, same bytes) keeps the checksum
    (Path(ctx.root) / "app.py").write_text("print('hi')\n")
    assert ctx.checksum(ctx.resolve(["."])) == before


@pytest.mark.parametrize(
    "change",
    ["content", "mode", "symlink", "new-file", "rename", "uid"],
)
def test_checksum_sees_what_matters(ctx: BuildContext, change: str) -> None:
    root = Path(ctx.root)
    before = ctx.checksum(ctx.resolve(["."]))
    if change == "content":
        (root / "src/main.py").write_text("mainX\n")
    elif change == "mode":
        os.chmod(root / "src/main.py", 0o755)
    elif change == "symlink":
        os.unlink(root / "srclink")
        os.symlink("docs", root / "srclink")
    elif change == "new-file":
        (root / "src/new.py").write_text("")
    elif change == "rename":
        os.rename(root / "notes.txt", root / "notes2.txt")
    elif change == "uid":
        if os.geteuid() != 0:
            pytest.skip("needs root to chown")
        os.lchown(root / "app.py", 1234, 1234)
    assert ctx.checksum(ctx.resolve(["."])) != before


def test_checksum_of_ignored_changes_is_stable(ctx: BuildContext) -> None:
    before = ctx.checksum(ctx.resolve(["."]))
    (Path(ctx.root) / "secret.env").write_text("TOKEN=2\n")
    (Path(ctx.root) / "src/cache/y.pyc").write_text("more")
    assert ctx.checksum(ctx.resolve(["."])) == before


def test_checksum_depends_on_selection(ctx: BuildContext) -> None:
    a = ctx.checksum(ctx.resolve(["src"]))
    b = ctx.checksum(ctx.resolve(["srclink"]))
    c = ctx.checksum(ctx.resolve(["src/main.py"]))
    assert len({a, b, c}) == 3 and a.startswith("sha256:")
    (Path(ctx.root) / "app.py").write_text("changed")
    assert ctx.checksum(ctx.resolve(["src"])) == a


def test_checksum_large_context_is_fast(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    chunk = os.urandom(1 << 20)
    for i in range(24):
        (root / f"blob{i}.bin").write_bytes(chunk[i:] + chunk[:i])
    for i in range(1500):
        d = root / f"d{i % 30}"
        d.mkdir(exist_ok=True)
        (d / f"f{i}.txt").write_text(f"file {i}\n" * 20)
    ctx = BuildContext.from_directory(root)
    start = time.perf_counter()
    cold = ctx.checksum(ctx.resolve(["."]))
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    warm = ctx.checksum(ctx.resolve(["."]))
    warm_s = time.perf_counter() - start
    assert cold == warm
    assert cold_s < 10 and warm_s < 5, (cold_s, warm_s)


# --- tar contexts ---


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], compress: bool = False) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    return io.BytesIO(gzip.compress(raw) if compress else raw)


def _file(name: str, data: bytes, mode: int = 0o644, uid: int = 0) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, uid, 1_600_000_000
    return info, data


def _special(name: str, kind: bytes, link: str = "", mode: int = 0o755) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info, None


@pytest.mark.parametrize("compress", [False, True])
def test_from_tar(tmp_path: Path, compress: bool) -> None:
    stream = _tar(
        [
            _file("Dockerfile", b"FROM busybox\n"),
            _special("dir/", tarfile.DIRTYPE, mode=0o750),
            _file("dir/run.sh", b"#!/bin/sh\n", mode=0o755, uid=1000),
            _special("dir/link", tarfile.SYMTYPE, "run.sh"),
            _special("dir/abs", tarfile.SYMTYPE, "/etc/passwd"),
            _special("hard", tarfile.LNKTYPE, "dir/run.sh"),
            _file("./implicit/parent.txt", b"x"),
        ],
        compress,
    )
    with BuildContext.from_tar(stream, temp_dir=tmp_path) as ctx:
        root = Path(ctx.root)
        assert root.parent == tmp_path.resolve()
        assert ctx.read_dockerfile() == b"FROM busybox\n"
        assert (root / "dir").stat().st_mode & 0o7777 == 0o750
        assert (root / "dir/run.sh").stat().st_mode & 0o7777 == 0o755
        assert os.readlink(root / "dir/link") == "run.sh" and os.readlink(root / "dir/abs") == "/etc/passwd"
        assert (root / "hard").read_bytes() == b"#!/bin/sh\n"
        assert (root / "implicit/parent.txt").read_bytes() == b"x"
        assert int((root / "dir/run.sh").stat().st_mtime) == 1_600_000_000
        if os.geteuid() == 0:
            assert (root / "dir/run.sh").stat().st_uid == 1000
        assert [m.resolved for m in ctx.resolve(["dir/link"])] == ["dir/run.sh"]
    assert not root.exists()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([_file("../evil", b"x")], "is outside of the build context"),
        ([_file("a/../../evil", b"x")], "is outside of the build context"),
        ([_file("/etc/evil", b"x")], "refusing absolute path"),
        ([_special("l", tarfile.SYMTYPE, "../../etc")], "invalid symlink"),
        ([_special("d/l", tarfile.SYMTYPE, "../../x")], "invalid symlink"),
        ([_special("h", tarfile.LNKTYPE, "../etc/passwd")], "is outside of the build context"),
        ([_special("h", tarfile.LNKTYPE, "missing")], "invalid hardlink"),
        ([_special("l", tarfile.SYMTYPE, "/tmp"), _file("l/evil", b"x")], "through a symlink"),
    ],
)
def test_from_tar_refuses_escapes(tmp_path: Path, members: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(CorruptContent, match=message):
        BuildContext.from_tar(_tar(members), temp_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # the temporary directory is gone


def test_from_tar_garbage(tmp_path: Path) -> None:
    with pytest.raises(CorruptContent):
        BuildContext.from_tar(io.BytesIO(b"definitely not a tar archive" * 40), temp_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_from_tar_later_member_replaces_earlier(tmp_path: Path) -> None:
    stream = _tar([_file("a", b"1"), _special("a/", tarfile.DIRTYPE), _file("a/b", b"2"), _file("a", b"3")])
    with BuildContext.from_tar(stream, temp_dir=tmp_path) as ctx:
        assert (Path(ctx.root) / "a").read_bytes() == b"3"


def test_tar_context_applies_dockerignore(tmp_path: Path) -> None:
    stream = _tar([_file("Dockerfile", b"FROM a\n"), _file(".dockerignore", b"*.log\n"), _file("x.log", b"")])
    with BuildContext.from_tar(stream, temp_dir=tmp_path) as ctx:
        assert [e.path for e in ctx.walk()] == [".dockerignore", "Dockerfile"]


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    ctx = BuildContext.from_directory(tmp_path)
    with pytest.raises(InvalidArgument, match="too many levels of symbolic links"):
        ctx.resolve(["a"])


def test_empty_tar_stream_is_an_empty_context(tmp_path: Path) -> None:
    with BuildContext.from_tar(io.BytesIO(b""), temp_dir=tmp_path) as ctx:
        assert list(ctx.walk()) == []
        with pytest.raises(InvalidArgument, match="Cannot locate specified Dockerfile: Dockerfile"):
            ctx.read_dockerfile()


class _Trickle(io.RawIOBase):
    """A non-seekable stream returning at most 7 bytes per read, like a chunked HTTP body."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = 7 if size is None or size < 0 else min(size, 7)
        out, self._data = self._data[:n], self._data[n:]
        return out


@pytest.mark.parametrize("compress", [False, True])
def test_from_non_seekable_trickling_stream(tmp_path: Path, compress: bool) -> None:
    data = _tar([_file("Dockerfile", b"FROM a\n"), _file("src/x", b"y" * 5000)], compress=compress).getvalue()
    with BuildContext.from_tar(_Trickle(data), temp_dir=tmp_path) as ctx:  # type: ignore[arg-type]
        assert ctx.read_dockerfile() == b"FROM a\n"
        assert (Path(ctx.root) / "src/x").read_bytes() == b"y" * 5000
