"""COPY/ADD semantics on a plain directory standing in for a mounted root filesystem."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.build.context import BuildContext
from dockyard.build.copier import Copier, Owner, archive_kind, normalize_dest, parse_chmod, parse_chown, scoped_path
from dockyard.errors import InvalidArgument

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")
    (r / "etc" / "group").write_text("root:x:0:\napp:x:1001:\nstaff:x:50:\n")
    (r / "usr" / "lib").mkdir(parents=True)
    os.symlink("usr/lib", r / "lib")
    os.symlink("/etc", r / "etclink")
    return r


@pytest.fixture
def context(tmp_path: Path) -> BuildContext:
    c = tmp_path / "ctx"
    (c / "src" / "sub").mkdir(parents=True)
    (c / "src" / "a.txt").write_text("a")
    (c / "src" / "sub" / "b.txt").write_text("b")
    os.chmod(c / "src" / "sub" / "b.txt", 0o755)
    os.symlink("a.txt", c / "src" / "link")
    (c / "app.py").write_text("print('hi')\n")
    (c / "secret").write_text("no")
    (c / ".dockerignore").write_text("secret\n")
    return BuildContext.from_directory(c)


def test_normalize_dest() -> None:
    assert normalize_dest("/app", ".") == "/app"
    assert normalize_dest("/app", "./") == "/app/"
    assert normalize_dest("/app", "sub/") == "/app/sub/"
    assert normalize_dest("", "x") == "/x"
    assert normalize_dest("/app", "/abs") == "/abs"


def test_scoped_path_never_leaves_the_root(rootfs: Path) -> None:
    assert scoped_path(str(rootfs), "/lib/x") == str(rootfs / "usr" / "lib" / "x")
    assert scoped_path(str(rootfs), "/etclink/passwd") == str(rootfs / "etc" / "passwd")
    assert scoped_path(str(rootfs), "/../../etc/passwd") == str(rootfs / "etc" / "passwd")
    os.symlink("../../../../../../tmp", rootfs / "escape")
    assert scoped_path(str(rootfs), "/escape/x") == str(rootfs / "tmp" / "x")


def test_parse_chown_like_docker(rootfs: Path) -> None:
    r = str(rootfs)
    assert parse_chown("1000", r) == Owner(1000, 1000)
    assert parse_chown("app", r) == Owner(1000, 1001)  # the user's name is looked up as a group too
    assert parse_chown("app:staff", r) == Owner(1000, 50)
    assert parse_chown("0:50", r) == Owner(0, 50)
    with pytest.raises(InvalidArgument, match="can't find uid for user nobody: no such user: nobody"):
        parse_chown("nobody", r)
    with pytest.raises(InvalidArgument, match="can't find gid for group ghost: no such group: ghost"):
        parse_chown("app:ghost", r)
    with pytest.raises(InvalidArgument, match="invalid chown string format: a:b:c"):
        parse_chown("a:b:c", r)


def test_parse_chmod() -> None:
    assert parse_chmod("") is None
    assert parse_chmod("755") == 0o755
    assert parse_chmod("0600") == 0o600
    for bad in ("rwx", "99999", "9"):
        with pytest.raises(InvalidArgument, match="invalid chmod parameter"):
            parse_chmod(bad)


@root_only
def test_copy_directory_contents_with_owner_and_modes(rootfs: Path, context: BuildContext) -> None:
    (match,) = context.resolve(["src"])
    Copier(str(rootfs), Owner(1000, 1001)).copy_match(context.root, match, "/app/")
    app = rootfs / "app"
    assert sorted(os.listdir(app)) == ["a.txt", "link", "sub"]
    assert (app / "sub" / "b.txt").read_text() == "b"
    assert stat.S_IMODE(os.stat(app / "sub" / "b.txt").st_mode) == 0o755
    assert os.readlink(app / "link") == "a.txt"
    st = os.lstat(app / "sub" / "b.txt")
    assert (st.st_uid, st.st_gid) == (1000, 1001)
    assert (os.stat(app).st_uid, stat.S_IMODE(os.stat(app).st_mode)) == (1000, 0o755)
    assert os.lstat(app / "link").st_uid == 1000


@root_only
def test_copy_whole_context_leaves_out_ignored_files(rootfs: Path, context: BuildContext) -> None:
    matches = context.resolve(["."])
    c = Copier(str(rootfs))
    for m in matches:
        c.copy_match(context.root, m, "/app")
    assert sorted(os.listdir(rootfs / "app")) == [".dockerignore", "app.py", "src"]


@root_only
def test_single_file_destinations(rootfs: Path, context: BuildContext) -> None:
    c = Copier(str(rootfs), chmod=0o600)
    (m,) = context.resolve(["app.py"])
    c.copy_match(context.root, m, "/srv/main.py")  # a file path
    c.copy_match(context.root, m, "/srv/")  # into a directory
    (rootfs / "opt").mkdir()
    c.copy_match(context.root, m, "/opt")  # an existing directory
    assert (rootfs / "srv" / "main.py").read_text() == "print('hi')\n"
    assert (rootfs / "srv" / "app.py").exists() and (rootfs / "opt" / "app.py").exists()
    assert stat.S_IMODE(os.stat(rootfs / "srv" / "main.py").st_mode) == 0o600
    # through the image's own symlinks, inside the rootfs
    c.copy_match(context.root, m, "/lib/")
    assert (rootfs / "usr" / "lib" / "app.py").exists() and os.path.islink(rootfs / "lib")


@root_only
def test_symlinked_source_keeps_its_name(rootfs: Path, context: BuildContext) -> None:
    (m,) = context.resolve(["src/link"])
    Copier(str(rootfs)).copy_match(context.root, m, "/x/")
    assert (rootfs / "x" / "link").read_text() == "a" and not os.path.islink(rootfs / "x" / "link")


@root_only
def test_add_extracts_local_archives_with_their_owners(rootfs: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "actx"
    ctx.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("pkg/file.txt")
        info.size = 5
        info.uid, info.gid = 123, 456
        t.addfile(info, io.BytesIO(b"hello"))
    (ctx / "a.tar.gz").write_bytes(gzip.compress(buf.getvalue()))
    (ctx / "plain.txt").write_text("not an archive")
    context = BuildContext.from_directory(ctx)
    assert archive_kind(str(ctx / "a.tar.gz")) == "gzip"
    assert archive_kind(str(ctx / "plain.txt")) is None
    c = Copier(str(rootfs))
    for m in context.resolve(["a.tar.gz", "plain.txt"], instruction="ADD"):
        c.copy_match(context.root, m, "/dest/", decompress=True)
    assert (rootfs / "dest" / "pkg" / "file.txt").read_text() == "hello"
    assert os.stat(rootfs / "dest" / "pkg" / "file.txt").st_uid == 123
    assert (rootfs / "dest" / "plain.txt").read_text() == "not an archive"
    # COPY never extracts
    (m,) = context.resolve(["a.tar.gz"])
    c.copy_match(context.root, m, "/copied/")
    assert (rootfs / "copied" / "a.tar.gz").is_file()


@root_only
def test_write_file_for_heredocs(rootfs: Path) -> None:
    c = Copier(str(rootfs))
    c.write_file(b"hello\n", c.file_target("/docs/", "EOF"))
    assert (rootfs / "docs" / "EOF").read_text() == "hello\n"
    assert stat.S_IMODE(os.stat(rootfs / "docs" / "EOF").st_mode) == 0o644


def test_a_file_in_the_way_of_a_directory_is_an_error(tmp_path: Path) -> None:
    r = tmp_path / "r"
    r.mkdir()
    (r / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="not a directory"):
        Copier(str(r), Owner(os.getuid(), os.getgid()))._makedirs("/file/sub")
