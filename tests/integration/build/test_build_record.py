"""The "nothing changed" build record (``cli/buildrecord/``): a fully cached rebuild served without the builder
must print byte for byte what the builder prints and give the same image; anything that changed sends the build
to the builder. Which path ran is told by ``DOCKYARD_TRACE_FASTPATH=1`` (a line on stderr)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import write_context

pytestmark = pytest.mark.integration

DOCKERFILE = """\
FROM busybox
WORKDIR /app
COPY . /app
RUN echo built > /built
ENV NAME=World
CMD ["cat", "/app/app.py"]
"""
TRACE = {"DOCKYARD_TRACE_FASTPATH": "1"}
SLOW = {"DOCKYARD_NO_FASTPATH": "1"}


def served(r: object) -> bool:
    return "build record: served" in r.stderr  # type: ignore[attr-defined]


def image_id(cli: Cli, name: str) -> str:
    return cli("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()


@pytest.fixture
def app(ctx: Path, busybox: str) -> Path:
    write_context(
        ctx,
        {"Dockerfile": DOCKERFILE, "app.py": "print('hello')\n", "lib/util.py": "X = 1\n", ".dockerignore": "*.log\n"},
    )
    return ctx


def build(cli: Cli, app: Path, *extra: str, env: dict[str, str] | None = None) -> object:
    time.sleep(0.06)  # what the test just changed is older than the build's start (see buildrecord.signature)
    return cli("build", "-t", "recapp", *extra, str(app), env={**TRACE, **(env or {})})


def primed(cli: Cli, app: Path, *extra: str) -> object:
    """Build cold, then cached (that build writes the record): the next one can be served."""
    build(cli, app, *extra)
    r = build(cli, app, *extra)
    assert not served(r) and "build record: written" in r.stderr, r.stderr  # type: ignore[attr-defined]
    return r


def settles(cli: Cli, app: Path) -> None:
    """After a build that ran steps: the next (fully cached) build writes the record, the one after is served."""
    r = build(cli, app)
    assert not served(r) and "build record: written" in r.stderr, r.stderr  # type: ignore[attr-defined]
    assert served(build(cli, app))


def test_served_output_is_the_builders(cli: Cli, app: Path) -> None:
    slow = primed(cli, app)
    first = image_id(cli, "recapp")
    fast = build(cli, app)
    assert served(fast)
    assert fast.stdout == slow.stdout  # type: ignore[attr-defined]
    assert "Using cache" in fast.stdout and fast.stdout.endswith("Successfully tagged recapp:latest\n")  # type: ignore[attr-defined]
    again = build(cli, app, env=SLOW)
    assert not served(again) and again.stdout == fast.stdout  # type: ignore[attr-defined]
    assert image_id(cli, "recapp") == first


def test_quiet_and_iidfile(cli: Cli, app: Path, tmp_path: Path) -> None:
    iid = tmp_path / "iid"
    slow = primed(cli, app, "-q", "--iidfile", str(iid))
    iid.unlink()
    fast = build(cli, app, "-q", "--iidfile", str(iid))
    assert served(fast) and fast.stdout == slow.stdout  # type: ignore[attr-defined]
    assert fast.stdout.strip() == iid.read_text() == image_id(cli, "recapp")  # type: ignore[attr-defined]
    other = tmp_path / "other"
    r = build(cli, app, "-q", "--iidfile", str(other))  # --iidfile is not part of the key
    assert served(r) and other.read_text() == iid.read_text()


def test_touch_is_served_and_edits_are_not(cli: Cli, app: Path) -> None:
    primed(cli, app)
    first = image_id(cli, "recapp")
    (app / "app.py").touch()
    r = build(cli, app)
    assert served(r) and image_id(cli, "recapp") == first
    assert served(build(cli, app))  # the record was refreshed with the new times

    # same size, mtime put back: only the ctime tells, and the content is re-hashed
    st = os.stat(app / "app.py")
    (app / "app.py").write_text("print('HELLO')\n")
    os.utime(app / "app.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    r = build(cli, app)
    assert not served(r) and "Using cache" in r.stdout  # type: ignore[attr-defined]
    second = image_id(cli, "recapp")
    assert second != first
    assert "build record: written" not in r.stderr  # type: ignore[attr-defined]
    settles(cli, app)

    (app / "app.py").write_text("print('hello, world')\n")  # another size
    r = build(cli, app)
    assert not served(r) and image_id(cli, "recapp") not in (first, second)


def test_context_changes(cli: Cli, app: Path) -> None:
    primed(cli, app)
    first = image_id(cli, "recapp")
    (app / "lib" / "new.py").write_text("Y = 2\n")  # COPY . picks it up
    r = build(cli, app)
    assert not served(r)
    second = image_id(cli, "recapp")
    assert second != first
    settles(cli, app)

    (app / "debug.log").write_text("ignored\n")  # excluded: the builder decides, the image stays
    r = build(cli, app)
    assert image_id(cli, "recapp") == second
    assert served(build(cli, app))

    (app / ".dockerignore").write_text("*.log\nlib/new.py\n")
    r = build(cli, app)
    assert not served(r) and image_id(cli, "recapp") not in (first, second)
    settles(cli, app)

    (app / "Dockerfile").write_text(DOCKERFILE + "LABEL x=y\n")
    r = build(cli, app)
    assert not served(r) and image_id(cli, "recapp") != first


def test_store_changes(cli: Cli, app: Path, tmp_path: Path) -> None:
    primed(cli, app)
    first = image_id(cli, "recapp")
    r = build(cli, app)
    assert served(r)

    cli("rmi", "recapp")  # the result (and its untagged parents) gone: the builder makes it again
    r = build(cli, app)
    assert not served(r) and "Successfully tagged recapp:latest" in r.stdout  # type: ignore[attr-defined]
    first = image_id(cli, "recapp")
    settles(cli, app)

    cli("tag", "recapp", "elsewhere")  # another tag was added last: re-tagging would reorder them
    assert not served(build(cli, app))
    assert served(build(cli, app))

    other = write_context(tmp_path / "base", {"Dockerfile": "FROM busybox\nLABEL base=2\n"})
    cli("build", "-t", "busybox", str(other))  # the base name now means another image
    r = build(cli, app)
    assert not served(r) and image_id(cli, "recapp") != first


def test_corrupt_record_and_builder_prune(cli: Cli, app: Path, state_root: Path) -> None:
    primed(cli, app)
    first = image_id(cli, "recapp")
    records = list((state_root / "build-records").iterdir())
    assert len(records) == 1
    records[0].write_bytes(records[0].read_bytes()[:-7] + b"garbage")
    r = build(cli, app)
    assert not served(r) and "no record" in r.stderr and image_id(cli, "recapp") == first  # type: ignore[attr-defined]
    assert served(build(cli, app))

    cli("builder", "prune", "-a", "-f")
    assert not (state_root / "build-records").exists()
    r = build(cli, app)
    assert not served(r)


def test_no_cache_build_replaces_what_the_record_stood_for(cli: Cli, app: Path) -> None:
    primed(cli, app)
    first = image_id(cli, "recapp")
    r = build(cli, app, "--no-cache")
    assert not served(r) and "build record: written" not in r.stderr  # type: ignore[attr-defined]
    fresh = image_id(cli, "recapp")
    assert fresh != first
    r = build(cli, app)  # the cache entries now point at the new images: the record no longer holds
    assert not served(r) and image_id(cli, "recapp") == fresh
    assert served(build(cli, app)) and image_id(cli, "recapp") == fresh  # that build was fully cached


def test_copy_from_an_image_and_a_dockerfile_outside(cli: Cli, app: Path, tmp_path: Path) -> None:
    src = write_context(tmp_path / "src", {"Dockerfile": "FROM busybox\nRUN echo one > /payload\n"})
    cli("build", "-t", "payload:1", str(src))
    outside = tmp_path / "elsewhere" / "Build.dockerfile"
    outside.parent.mkdir()
    outside.write_text("FROM busybox\nCOPY --from=payload:1 /payload /payload\nCOPY app.py /\n")
    args = ("-f", str(outside), "-t", "second")
    primed(cli, app, *args)
    first = image_id(cli, "recapp")
    assert served(build(cli, app, *args))
    assert image_id(cli, "second") == first

    (src / "Dockerfile").write_text("FROM busybox\nRUN echo two > /payload\n")
    cli("build", "-t", "payload:1", str(src))  # the name now means another image
    r = build(cli, app, *args)
    assert not served(r) and image_id(cli, "recapp") != first
    r = build(cli, app, *args)
    assert not served(r) and "build record: written" in r.stderr  # type: ignore[attr-defined]
    assert served(build(cli, app, *args))

    outside.write_text(outside.read_text() + "LABEL changed=1\n")
    assert not served(build(cli, app, *args))
