"""The real docker CLI against dockyard's API socket: login, tag, push, pull with ``docker-registry`` (htpasswd) on
loopback — the same lines as dockerd printed in the capture reference (08-registry-login-push-pull.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator

import pytest

from tests.compat.conftest import ApiServer
from tests.integration.registry.servers import PASSWORD, USER, Distribution, running

pytestmark = [pytest.mark.integration, pytest.mark.compat, pytest.mark.timeout(300)]

ID = r"[0-9a-f]{12}"


@pytest.fixture(scope="module")
def registry() -> Iterator[Distribution]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("htpasswd") as reg:
        yield reg


def test_login_tag_push_pull_through_the_docker_cli(api: ApiServer, busybox: str, registry: Distribution) -> None:
    out = api.docker("login", registry.host, "-u", USER, "--password-stdin", input=PASSWORD)
    assert out.stdout.strip() == "Login Succeeded"
    repo = f"{registry.host}/pango/get-started-{os.getpid()}-{os.urandom(2).hex()}"
    ref = f"{repo}:part2"
    api.docker("tag", "busybox", ref)

    lines = api.docker("push", ref).stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{repo}]"
    assert re.fullmatch(rf"{ID}: Preparing", lines[1]) and re.fullmatch(rf"{ID}: Pushed", lines[2])
    match = re.fullmatch(r"part2: digest: (sha256:[0-9a-f]{64}) size: (\d+)", lines[3])
    assert match and len(lines) == 4
    digest = match.group(1)

    assert api.docker("rmi", ref).stdout.splitlines() == [f"Untagged: {ref}", f"Untagged: {repo}@{digest}"]
    path = repo.split("/", 1)[1]
    assert api.docker("pull", ref).stdout.splitlines() == [
        f"part2: Pulling from {path}",
        f"Digest: {digest}",
        f"Status: Downloaded newer image for {ref}",
        ref,
    ]
    assert api.docker("pull", ref).stdout.splitlines()[2] == f"Status: Image is up to date for {ref}"

    api.docker("rmi", ref, "busybox")
    lines = api.docker("pull", ref).stdout.splitlines()
    layer = lines[1].split(":")[0]
    assert lines == [
        f"part2: Pulling from {path}",
        f"{layer}: Pulling fs layer",
        f"{layer}: Verifying Checksum",
        f"{layer}: Download complete",
        f"{layer}: Pull complete",
        f"Digest: {digest}",
        f"Status: Downloaded newer image for {ref}",
        ref,
    ]
    [data] = json.loads(api.docker("image", "inspect", ref).stdout)
    assert data["RepoDigests"] == [f"{repo}@{digest}"]
    assert api.docker("pull", "-q", ref).stdout == f"{ref}\n"

    missing = api.docker("pull", f"{repo}:nope", check=False)
    assert missing.returncode == 1
    assert f"manifest for {repo}:nope not found: manifest unknown: manifest unknown" in missing.stderr

    api.docker("logout", registry.host)
    api.docker("tag", ref, f"{repo}:other")
    denied = api.docker("push", f"{repo}:other", check=False)
    assert denied.returncode == 1 and "no basic auth credentials" in denied.stderr
