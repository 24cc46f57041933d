"""``dockyard build`` as the tutorial uses it, on busybox: Docker's classic output, the image it makes, and the
cache (every step cached on a rerun; touch changes nothing; an edit rebuilds from the step that reads the file,
and says why)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import assert_nothing_left, raw_config, read_in_image, write_context

pytestmark = pytest.mark.integration

DOCKERFILE = """\
FROM busybox
WORKDIR /app
ADD . /app
RUN echo built > /built.txt
EXPOSE 80
ENV NAME World
CMD ["httpd","-f","-p","80","-h","/app"]
"""
INDEX = "<html><body><h1>Hello World!</h1></body></html>\n"


@pytest.fixture
def app(ctx: Path) -> Path:
    return write_context(ctx, {"Dockerfile": DOCKERFILE, "index.html": INDEX})


def test_classic_builder_output_and_image(cli: Cli, busybox: str, app: Path, state_root: Path) -> None:
    r = cli("build", "-t", "friendlyhello", str(app))
    lines = r.stdout.splitlines()
    assert lines[0] == "Sending build context to Docker daemon  3.072kB"
    assert lines[1] == ""
    base = cli("images", "-q", "busybox").stdout.strip()
    assert lines[2:4] == ["Step 1/7 : FROM busybox", f" ---> {base}"]
    assert lines[4] == "Step 2/7 : WORKDIR /app"
    assert re.fullmatch(r" ---> [0-9a-f]{12}", lines[5])
    assert lines[6] == "Step 3/7 : ADD . /app"
    assert lines[8] == "Step 4/7 : RUN echo built > /built.txt"
    running = re.fullmatch(r" ---> Running in ([0-9a-f]{12})", lines[9])
    assert running, lines[9]
    assert lines[10] == f"Removing intermediate container {running.group(1)}"
    assert [line for line in lines if line.startswith("Step")][
        -1
    ] == 'Step 7/7 : CMD ["httpd","-f","-p","80","-h","/app"]'
    built = re.fullmatch(r"Successfully built ([0-9a-f]{12})", lines[-2])
    assert built and lines[-1] == "Successfully tagged friendlyhello:latest"
    assert cli("images", "-q", "friendlyhello").stdout.strip() == built.group(1)
    assert "Using cache" not in r.stdout

    config = raw_config(state_root, "friendlyhello")
    c = config["config"]
    assert isinstance(c, dict)
    assert c["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NAME=World"]
    assert c["Cmd"] == ["httpd", "-f", "-p", "80", "-h", "/app"]
    assert c["ExposedPorts"] == {"80/tcp": {}} and c["WorkingDir"] == "/app"
    history = config["history"]
    assert isinstance(history, list)
    created_by = [h["created_by"] for h in history[-6:]]
    assert created_by[0] == "/bin/sh -c #(nop) WORKDIR /app"
    assert re.fullmatch(r"/bin/sh -c #\(nop\) ADD dir:[0-9a-f]{64} in /app ", created_by[1])
    assert created_by[2] == "/bin/sh -c echo built > /built.txt"
    assert created_by[3:] == [
        "/bin/sh -c #(nop)  EXPOSE 80",
        "/bin/sh -c #(nop)  ENV NAME=World",
        '/bin/sh -c #(nop)  CMD ["httpd" "-f" "-p" "80" "-h" "/app"]',
    ]
    assert [bool(h.get("empty_layer")) for h in history[-6:]] == [False, False, False, True, True, True]
    assert read_in_image(state_root, "friendlyhello", "/built.txt") == "built\n"
    assert read_in_image(state_root, "friendlyhello", "/app/index.html") == INDEX
    # docker history lists the intermediate images by ID, images -a shows them
    hist = cli("history", "friendlyhello").stdout.splitlines()
    assert "/bin/sh -c echo built > /built.txt" in hist[4] and not hist[4].startswith("<missing>")
    assert len(cli("images", "-a", "-q").stdout.split()) == 7  # busybox and one image per step after FROM
    assert_nothing_left(state_root)


def test_rebuild_uses_the_cache_and_touch_changes_nothing(cli: Cli, busybox: str, app: Path, state_root: Path) -> None:
    first = cli("build", "-t", "friendlyhello", str(app)).stdout
    image = first.splitlines()[-2].split()[-1]
    again = cli("build", "-t", "friendlyhello", str(app)).stdout
    assert again.count(" ---> Using cache") == 6
    assert "Running in" not in again and "cache miss" not in again
    assert again.splitlines()[-2] == f"Successfully built {image}"
    os.utime(app / "index.html", (1, 1))
    os.utime(app / "Dockerfile")
    touched = cli("build", "-t", "friendlyhello", str(app)).stdout
    assert touched.count(" ---> Using cache") == 6 and touched.splitlines()[-2] == f"Successfully built {image}"


def test_an_edit_rebuilds_from_the_step_that_reads_it_and_says_why(
    cli: Cli, busybox: str, app: Path, state_root: Path
) -> None:
    cli("build", "-t", "friendlyhello", str(app))
    (app / "index.html").write_text(INDEX + "<p>more</p>\n")
    out = cli("build", "-t", "friendlyhello", str(app)).stdout
    lines = out.splitlines()
    step3 = lines.index("Step 3/7 : ADD . /app")
    assert lines[step3 - 2] == " ---> Using cache"  # WORKDIR still cached
    assert lines[step3 + 1] == "cache miss at step 3/7 (ADD . /app): index.html changed (content)"
    assert out.count("Using cache") == 1 and "Running in" in out
    assert read_in_image(state_root, "friendlyhello", "/app/index.html").endswith("<p>more</p>\n")  # type: ignore[union-attr]
    # a mode change is a change too; the explanation names it
    os.chmod(app / "index.html", 0o600)
    out = cli("build", "-t", "friendlyhello", str(app)).stdout
    assert "cache miss at step 3/7 (ADD . /app): index.html changed (mode 644 -> 600)" in out
    # --explain-cache speaks about every step
    explained = cli("build", "--explain-cache", "-t", "friendlyhello", str(app)).stdout
    assert explained.count(" ---> cache hit: ") == 6


def test_no_cache_rebuilds_everything(cli: Cli, busybox: str, app: Path) -> None:
    first = cli("build", "-t", "friendlyhello", str(app)).stdout.splitlines()[-2]
    out = cli("build", "--no-cache", "-t", "friendlyhello", str(app)).stdout
    assert "Using cache" not in out and "cache miss" not in out and "Running in" in out
    assert out.splitlines()[-2] != first


def test_quiet_iidfile_and_several_tags(cli: Cli, busybox: str, app: Path, tmp_path: Path) -> None:
    iid = tmp_path / "iid"
    r = cli("build", "-q", "--iidfile", str(iid), "-t", "a:1", "-t", "b", str(app))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout)
    assert iid.read_text() == r.stdout.strip()
    assert cli("images", "-q", "--no-trunc", "a:1").stdout.strip() == r.stdout.strip()
    assert cli("images", "-q", "--no-trunc", "b:latest").stdout.strip() == r.stdout.strip()
    assert cli("build", "--progress=quiet", str(app)).stdout.startswith("sha256:")


def test_context_on_stdin_as_tar_and_as_a_bare_dockerfile(cli: Cli, busybox: str, app: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name in ("Dockerfile", "index.html"):
            t.add(app / name, arcname=name)
    env = {**os.environ, "DOCKYARD_ROOT": str(cli.root)}
    r = subprocess.run(
        [sys.executable, "-m", "dockyard", "build", "-t", "fromtar", "-"],
        input=buf.getvalue(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert b"Successfully tagged fromtar:latest" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "dockyard", "build", "-t", "bare", "-"],
        input=b"FROM busybox\nRUN echo from-stdin > /x\n",
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert b"Successfully tagged bare:latest" in r.stdout


def test_dockerfile_outside_the_context_and_lowercase_name(cli: Cli, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "c", {"data.txt": "d\n"})
    other = tmp_path / "elsewhere.Dockerfile"
    other.write_text("FROM busybox\nCOPY data.txt /\n")
    out = cli("build", "-f", str(other), "-t", "outside", str(ctx)).stdout
    assert "Successfully tagged outside:latest" in out
    lower = write_context(tmp_path / "l", {"dockerfile": "FROM busybox\nCOPY data.txt /\n", "data.txt": "x"})
    assert "Successfully tagged lower:latest" in cli("build", "-t", "lower", str(lower)).stdout
