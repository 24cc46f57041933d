"""History lines (``created_by``) worded like Docker's classic builder, and the Go formatting they need."""

from __future__ import annotations

import hashlib

import pytest

from dockyard.build import history as hist

SH = ("/bin/sh", "-c")


def test_nop_comments_have_docker_spacing() -> None:
    # commit(): "#(nop) " and the comment are two arguments -> two spaces
    assert hist.nop(SH, 'CMD ["python" "app.py"]') == '/bin/sh -c #(nop)  CMD ["python" "app.py"]'
    assert hist.nop(SH, "ENV NAME=World") == "/bin/sh -c #(nop)  ENV NAME=World"
    assert hist.nop(SH, "EXPOSE 80") == "/bin/sh -c #(nop)  EXPOSE 80"
    # WORKDIR/COPY/ADD: one argument
    assert hist.nop_single(SH, "WORKDIR /app") == "/bin/sh -c #(nop) WORKDIR /app"
    assert hist.nop(("/bin/bash", "-c"), "SHELL [/bin/bash -c]") == "/bin/bash -c #(nop)  SHELL [/bin/bash -c]"


def test_copy_comment_keeps_dockers_quirks() -> None:
    assert hist.copy_comment("COPY", "", "file:abc", "/app") == "COPY file:abc in /app "
    # moby's format string glues --chown to the hash
    assert hist.copy_comment("ADD", "1:2", "dir:abc", "/x/") == "ADD --chown=1:2dir:abc in /x/ "
    assert (
        hist.nop_single(SH, hist.copy_comment("ADD", "", "dir:6e88", "/app"))
        == "/bin/sh -c #(nop) ADD dir:6e88 in /app "
    )


def test_source_hash_single_and_multi() -> None:
    assert hist.source_hash(["file:aa"]) == "file:aa"
    joined = hashlib.sha256(b"file:aa,dir:bb").hexdigest()
    assert hist.source_hash(["file:aa", "dir:bb"]) == f"multi:{joined}"


def test_run_lines_with_and_without_build_args() -> None:
    assert hist.run_created_by((*SH, "pip install -r requirements.txt"), ()) == (
        "/bin/sh -c pip install -r requirements.txt"
    )
    assert hist.run_created_by((*SH, "echo $A"), ("A=1", "B=2")) == "|2 A=1 B=2 /bin/sh -c echo $A"
    assert hist.run_created_by(("echo", "hi"), ()) == "echo hi"


def test_go_quote_slice_and_value_slice() -> None:
    assert hist.go_quote_slice(["python", "app.py"]) == '["python" "app.py"]'
    assert hist.go_quote_slice(['say "hi"', "tab\t"]) == '["say \\"hi\\"" "tab\\t"]'
    assert hist.go_quote_slice([]) == "[]"
    assert hist.go_value_slice(["/data", "/cache"]) == "[/data /cache]"


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (5_000_000_000, "5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (1_500_000_000, "1.5s"),
        (500_000_000, "500ms"),
        (1_500_000, "1.5ms"),
        (2_000, "2µs"),
        (7, "7ns"),
    ],
)
def test_go_duration(ns: int, text: str) -> None:
    assert hist.go_duration(ns) == text


@pytest.mark.parametrize(("value", "text"), [(0, "'\\x00'"), (3, "'\\x03'"), (65, "'A'"), (10, "'\\n'"), (39, "'\\''")])
def test_go_rune_quote(value: int, text: str) -> None:
    assert hist.go_rune_quote(value) == text
