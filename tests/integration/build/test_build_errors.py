"""Bad input fails cleanly: an error naming the Dockerfile line, exit code 1, no half image tagged, the previous
image of that tag untouched, and no container, mount, snapshot or network namespace left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import assert_nothing_left, write_context

pytestmark = pytest.mark.integration

CASES = {
    "unknown-instruction": ("FROM busybox\nRNU echo hi\n", "Dockerfile:2: unknown instruction: RNU"),
    "malformed-json": (
        'FROM busybox\nCMD ["echo", 1]\n',
        "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only",
    ),
    "missing-from": ("RUN echo hi\n", "Dockerfile:1: no build stage in current context"),
    "unknown-stage-index": (
        "FROM busybox\nCOPY --from=3 /bin/sh /x\n",
        "Dockerfile:2: invalid stage index 3",
    ),
    "later-stage": (
        "FROM busybox AS one\nCOPY --from=two /x /x\nFROM busybox AS two\n",
        "Dockerfile:2: invalid from flag value two: circular dependency detected on stage: two",
    ),
    "undefined-arg-in-from": ("FROM ${NOPE}\n", "Dockerfile:1: base name (${NOPE}) should not be blank"),
    "copy-outside": (
        "FROM busybox\nCOPY ../secret /x\n",
        "Dockerfile:2: COPY failed: forbidden path outside the build context: ../secret ()",
    ),
    "copy-missing": (
        "FROM busybox\nCOPY nothere.txt /x\n",
        "Dockerfile:2: COPY failed: file not found in build context or excluded by .dockerignore: "
        "stat nothere.txt: file does not exist",
    ),
    "copy-ignored": (
        "FROM busybox\nCOPY secret.txt /x\n",
        "Dockerfile:2: COPY failed: file not found in build context or excluded by .dockerignore: "
        "stat secret.txt: file does not exist",
    ),
    "run-exits-nonzero": (
        "FROM busybox\nRUN echo about to fail && exit 3\n",
        "Dockerfile:2: The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3",
    ),
    "run-command-not-found": (
        'FROM busybox\nRUN ["no-such-command"]\n',
        'Dockerfile:2: exec: "no-such-command": executable file not found in $PATH',
    ),
    "bad-chown": (
        "FROM busybox\nCOPY --chown=nosuchuser ok.txt /x\n",
        "Dockerfile:2: unable to convert uid/gid chown string to host mapping: can't find uid for user "
        "nosuchuser: no such user: nosuchuser",
    ),
    "bad-stopsignal": ("FROM busybox\nSTOPSIGNAL SIGNOPE\n", "Dockerfile:2: Invalid signal: SIGNOPE"),
    "unknown-target": ("FROM busybox AS a\n", 'Dockerfile: target stage "nope" could not be found'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case: str, cli: Cli, busybox: str, tmp_path: Path, state_root: Path) -> None:
    dockerfile, message = CASES[case]
    good = write_context(tmp_path / "good", {"Dockerfile": "FROM busybox\nRUN echo good > /good\n"})
    cli("build", "-t", "app", str(good))
    before = cli("images", "-q", "--no-trunc", "app").stdout.strip()
    count = len(cli("images", "-a", "-q").stdout.split())
    ctx = write_context(
        tmp_path / "ctx",
        {"Dockerfile": dockerfile, "ok.txt": "ok", "secret.txt": "s", ".dockerignore": "secret.txt\n"},
    )
    (tmp_path / "secret").write_text("outside the context")
    args = ["build", "-t", "app"]
    if case == "unknown-target":
        args += ["--target", "nope"]
    r = cli(*args, str(ctx), check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.splitlines()[0] == f"Error: {message}", r.stderr
    assert cli("images", "-q", "--no-trunc", "app").stdout.strip() == before
    if case != "run-exits-nonzero":
        # nothing new but the images of the steps that succeeded
        assert len(cli("images", "-a", "-q").stdout.split()) <= count + 1
    assert_nothing_left(state_root)


def test_run_output_streams_before_the_error(cli: Cli, busybox: str, ctx: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM busybox\nRUN echo about to fail && exit 1\n"})
    r = cli("build", "-t", "fails", str(ctx), check=False)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[-2].startswith(" ---> Running in ") and lines[-1] == "about to fail"
    assert "Successfully" not in r.stdout
    assert cli("images", "-q", "fails").stdout == ""


def test_missing_base_image_is_named(cli: Cli, ctx: Path, state_root: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM localhost:1/no/such-image:1.0\n"})
    r = cli("build", str(ctx), check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Dockerfile:1: ")
    assert_nothing_left(state_root)


def test_unconsumed_build_args_warn(cli: Cli, busybox: str, ctx: Path) -> None:
    write_context(ctx, {"Dockerfile": "FROM busybox\nARG USED\nRUN echo $USED\n"})
    out = cli("build", "--build-arg", "USED=1", "--build-arg", "UNUSED=2", str(ctx)).stdout
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in out
