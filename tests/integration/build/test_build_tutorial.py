"""The tutorial end to end (slow: apt and pip from the network): the recipes build python:3.11-slim and redis on a
bootstrapped debian:bookworm-slim, then ``examples/friendlyhello`` builds as ``friendlyhello`` with --host-ca, and a
rebuild is fully cached."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import assert_nothing_left, raw_config, read_in_image, write_context

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]


def test_recipes_and_the_tutorial_app(cli: Cli, state_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DOCKYARD_ROOT": str(state_root)}
    r = subprocess.run(
        ["sh", str(REPO / "recipes" / "build.sh")], capture_output=True, text=True, env=env, timeout=900, check=False
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    tags = set(cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())
    assert {"debian:bookworm-slim", "python:3.11-slim", "redis:latest"} <= tags
    py = raw_config(state_root, "python:3.11-slim")["config"]
    assert py["Cmd"] == ["python3"] and "LANG=C.UTF-8" in py["Env"]  # type: ignore[index, operator]
    redis = raw_config(state_root, "redis:latest")["config"]
    assert redis["ExposedPorts"] == {"6379/tcp": {}} and redis["Cmd"][0] == "redis-server"  # type: ignore[index]

    app = REPO / "examples" / "friendlyhello"
    out = cli("build", "--host-ca", "-t", "friendlyhello", str(app), timeout=900).stdout
    assert "Successfully installed" in out and out.splitlines()[-1] == "Successfully tagged friendlyhello:latest"
    config = raw_config(state_root, "friendlyhello")["config"]
    assert config["Cmd"] == ["python", "app.py"] and "NAME=World" in config["Env"]  # type: ignore[index, operator]
    assert not any("host-ca" in e for e in config["Env"])  # type: ignore[index, union-attr]
    assert read_in_image(state_root, "friendlyhello", "/app/app.py") == (app / "app.py").read_text()
    again = cli("build", "--host-ca", "-t", "friendlyhello", str(app)).stdout
    assert again.count("Using cache") == 6

    check = write_context(
        tmp_path / "check",
        {
            "Dockerfile": (
                "FROM friendlyhello\n"
                'RUN python -c "import flask, redis; print(flask.__name__, redis.__name__)" > /imports && '
                "command -v python > /paths && command -v pip >> /paths\n"
            )
        },
    )
    cli("build", "-t", "check", str(check))
    assert read_in_image(state_root, "check", "/imports") == "flask redis\n"
    paths = (read_in_image(state_root, "check", "/paths") or "").split()
    assert [os.path.basename(p) for p in paths] == ["python", "pip"]
    assert_nothing_left(state_root)
