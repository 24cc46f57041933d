"""``dockyard push`` / ``pull`` against Debian's ``docker-registry``: the tutorial's flow, Docker's exact lines,
``images --digests`` and RepoDigests, ``-a``, ``-q``, errors in Docker's words, a second machine pulling."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.registry.servers import PASSWORD, USER, Distribution

from .conftest import Dockyard, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ID = r"[0-9a-f]{12}"
DIGEST = r"sha256:[0-9a-f]{64}"


def login(dy: Dockyard, registry: Distribution) -> None:
    out = dy("login", registry.host, "-u", USER, "--password-stdin", input=PASSWORD)
    assert "Login Succeeded" in out.stdout


def test_the_tutorial_flow_push_remove_pull(dy: Dockyard, basic_registry: Distribution) -> None:
    login(dy, basic_registry)
    dy("image", "bootstrap", "busybox")
    repo = f"{basic_registry.host}/pango/{unique('get-started')}"
    ref = f"{repo}:part2"
    dy("tag", "busybox", ref)

    out = dy("push", ref).stdout.splitlines()
    assert out[0] == f"The push refers to repository [{repo}]"
    assert re.fullmatch(rf"{ID}: Preparing", out[1]) and re.fullmatch(rf"{ID}: Pushed", out[2])
    assert out[1].split(":")[0] == out[2].split(":")[0]
    match = re.fullmatch(rf"part2: digest: ({DIGEST}) size: (\d+)", out[3])
    assert match and len(out) == 4
    digest = match.group(1)
    again = dy("push", ref).stdout.splitlines()
    assert again[2].endswith(": Layer already exists") and again[3] == out[3]

    # the capture's 8d: the tag and the repo digest the push recorded
    removed = dy("rmi", ref).stdout.splitlines()
    assert removed == [f"Untagged: {ref}", f"Untagged: {repo}@{digest}"]

    # the capture's 8e: everything is still here (busybox), so only three lines and the reference
    out = dy("pull", ref).stdout.splitlines()
    assert out == [
        f"part2: Pulling from {repo.split('/', 1)[1]}",
        f"Digest: {digest}",
        f"Status: Downloaded newer image for {ref}",
        ref,
    ]
    out = dy("pull", ref).stdout.splitlines()
    assert out[2] == f"Status: Image is up to date for {ref}"

    # gone for real: the layer comes down again
    dy("rmi", ref, "busybox")
    assert dy("images", "-q").stdout.strip() == ""
    out = dy("pull", ref).stdout.splitlines()
    layer = out[1].split(":")[0]
    assert out == [
        f"part2: Pulling from {repo.split('/', 1)[1]}",
        f"{layer}: Pulling fs layer",
        f"{layer}: Verifying Checksum",
        f"{layer}: Download complete",
        f"{layer}: Pull complete",
        f"Digest: {digest}",
        f"Status: Downloaded newer image for {ref}",
        ref,
    ]
    rows = dy("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").stdout.splitlines()
    assert rows == [f"{repo} part2 {digest}"]
    [data] = json.loads(dy("image", "inspect", ref).stdout)
    assert data["RepoDigests"] == [f"{repo}@{digest}"] and data["RepoTags"] == [ref]
    assert dy("pull", "-q", ref).stdout == f"{ref}\n"
    by_digest = dy("pull", f"{repo}@{digest}").stdout.splitlines()
    assert by_digest[0] == f"{digest}: Pulling from {repo.split('/', 1)[1]}"
    assert by_digest[-1] == f"{repo}@{digest}"


def test_errors_in_dockers_words(dy: Dockyard, basic_registry: Distribution, open_registry: Distribution) -> None:
    dy("image", "bootstrap", "busybox")
    repo = f"{open_registry.host}/pango/{unique('nonexistent')}"
    r = dy("pull", f"{repo}:nope", check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert (
        r.stderr
        == f"Error response from daemon: manifest for {repo}:nope not found: manifest unknown: manifest unknown\n"
    )
    # not logged in: the registry's refusal, plainly
    protected = f"{basic_registry.host}/pango/{unique('private')}:v1"
    r = dy("pull", protected, check=False)
    assert r.returncode == 1 and r.stderr.endswith(": no basic auth credentials\n")
    assert r.stderr.startswith(f'Error response from daemon: Get "http://{basic_registry.host}/v2/')
    dy("tag", "busybox", protected)
    r = dy("push", protected, check=False)
    assert r.returncode == 1 and r.stderr.endswith(": no basic auth credentials\n")
    # nothing local under that name
    missing = f"{open_registry.host}/pango/{unique('missing')}"
    r = dy("push", missing, check=False)
    assert r.stdout == f"Using default tag: latest\nThe push refers to repository [{missing}]\n"
    assert r.stderr == f"An image does not exist locally with the tag: {missing}\n" and r.returncode == 1
    dy("tag", "busybox", f"{missing}:v1")
    r = dy("push", f"{missing}:v2", check=False)
    assert r.stderr == f"tag does not exist: {missing}:v2\n"
    r = dy("pull", "-a", f"{missing}:v1", check=False)
    assert r.stderr == "tag can't be used with --all-tags/-a\n"
    r = dy("pull", "Not/Valid", check=False)
    assert r.returncode == 1 and "invalid reference format" in r.stderr


def test_all_tags_push_and_pull_to_another_machine(
    dy: Dockyard, other_root: Dockyard, open_registry: Distribution
) -> None:
    dy("image", "bootstrap", "busybox")
    repo = f"{open_registry.host}/pango/{unique('tags')}"
    for tag in ("v1", "v2"):
        dy("tag", "busybox", f"{repo}:{tag}")
    out = dy("push", "-a", repo).stdout.splitlines()
    assert out[0] == f"The push refers to repository [{repo}]"
    assert [line.split(":")[0] for line in out if ": digest: " in line] == ["v1", "v2"]
    assert out[-1].startswith("v2: digest: sha256:")
    assert dy("push", "-q", f"{repo}:v1").stdout == f"{repo}:v1\n"

    out = other_root("pull", "--all-tags", repo).stdout.splitlines()
    assert [line for line in out if "Pulling from" in line] == [
        f"v1: Pulling from {repo.split('/', 1)[1]}",
        f"v2: Pulling from {repo.split('/', 1)[1]}",
    ]
    assert out[-2:] == [f"Status: Downloaded newer image for {repo}", repo]
    # same image, same ID, on both machines; the pulled one runs from the unpacked layers
    ids = {dy("image", "inspect", "--format", "{{.Id}}", "busybox").stdout}
    ids.add(other_root("image", "inspect", "--format", "{{.Id}}", f"{repo}:v2").stdout)
    assert len(ids) == 1
    history = other_root("history", f"{repo}:v1").stdout
    assert "busybox" in history or history.count("\n") >= 2


def test_a_pulled_image_has_the_files_of_its_layers(
    dy: Dockyard, other_root: Dockyard, open_registry: Distribution
) -> None:
    dy("image", "bootstrap", "busybox")
    ref = f"{open_registry.host}/pango/{unique('files')}:v1"
    dy("tag", "busybox", ref)
    dy("push", ref)
    other_root("pull", ref)
    layers = sorted((other_root.root / "overlay").glob("*/diff/bin/busybox"))
    assert layers and layers[0].stat().st_size > 500_000
    assert not list((other_root.root / "ingest").iterdir())


def test_cross_repository_mount_with_token_auth(dy: Dockyard, other_root: Dockyard) -> None:
    from tests.integration.registry.servers import running

    with running("token") as registry:
        login(dy, registry)
        login(other_root, registry)
        dy("image", "bootstrap", "busybox")
        first = f"{registry.host}/library/{unique('busybox')}:latest"
        dy("tag", "busybox", first)
        dy("push", first)
        # another machine pulls it, so it knows where the blob lives, then pushes it elsewhere: a mount
        other_root("pull", first)
        second = f"{registry.host}/pango/{unique('app')}:v1"
        other_root("tag", first, second)
        out = other_root("push", second).stdout.splitlines()
        source = first.split("/", 1)[1].rsplit(":", 1)[0]
        assert re.fullmatch(rf"{ID}: Mounted from {re.escape(source)}", out[2]), out
        assert out[3].startswith("v1: digest: sha256:")
        # and that copy is complete: a third pull from the new repository works
        dy("rmi", first, "busybox")
        assert dy("pull", second).stdout.splitlines()[-1] == second
