"""The build service's pure helpers: the context size the docker CLI would print, and telling a tar context from a
bare Dockerfile on stdin."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from dockyard.build.context import BuildContext
from dockyard.build.options import BuildError, BuildNetwork, BuildStepError, CacheMiss
from dockyard.engine.builds import _looks_like_archive, _peek, context_transfer_size


def test_context_size_matches_the_docker_cli(tmp_path: Path) -> None:
    # the capture in reference/docker-api/02-build.md: a 131-byte Dockerfile and a 48-byte index.html -> 3.072kB
    (tmp_path / "Dockerfile").write_bytes(b"x" * 131)
    (tmp_path / "index.html").write_bytes(b"y" * 48)
    assert context_transfer_size(BuildContext.from_directory(tmp_path)) == 3072


def test_context_size_counts_directories_and_skips_ignored_files_but_not_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a").write_bytes(b"a" * 513)
    (tmp_path / "big.bin").write_bytes(b"z" * 100_000)
    (tmp_path / ".dockerignore").write_text("*.bin\nDockerfile\n")
    size = context_transfer_size(BuildContext.from_directory(tmp_path))
    # Dockerfile (512+512) + .dockerignore (512+512) + src/ (512) + src/a (512+1024) + end (1024)
    assert size == 1024 + 1024 + 512 + 1536 + 1024


def test_tar_or_bare_dockerfile() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("Dockerfile")
        info.size = 5
        t.addfile(info, io.BytesIO(b"FROM "))
    data = buf.getvalue()
    assert _looks_like_archive(data[:512])
    assert _looks_like_archive(gzip.compress(data)[:512])
    assert not _looks_like_archive(b"FROM busybox\nRUN echo hi\n")
    assert not _looks_like_archive(b"")


def test_peek_gives_everything_back() -> None:
    peeked = _peek(io.BytesIO(b"0123456789"), 4)
    assert peeked.data == b"0123"
    assert peeked.read(2) == b"01" and peeked.read(5) == b"23456" and peeked.read() == b"789"
    assert _peek(io.BytesIO(b"abc"), 512).read() == b"abc"


def test_network_modes_and_error_types() -> None:
    assert BuildNetwork.parse(None) is BuildNetwork.DEFAULT
    assert BuildNetwork.parse("bridge") is BuildNetwork.DEFAULT
    assert BuildNetwork.parse("HOST") is BuildNetwork.HOST
    with pytest.raises(BuildError, match="not supported for builds"):
        BuildNetwork.parse("container:abc")
    err = BuildStepError("The command 'x' returned a non-zero code: 2", filename="Dockerfile", line=4, code=2)
    assert err.message == "Dockerfile:4: The command 'x' returned a non-zero code: 2"
    assert err.detail == "The command 'x' returned a non-zero code: 2" and err.code == 2 and err.exit_code == 1
    miss = CacheMiss(1, 2, "RUN x", ())
    assert miss.text == "cache miss at step 1/2 (RUN x): no cached result for this step"
