"""The real docker CLI's ``docker search`` over dockyard's API socket (``GET /images/search``), against
dockyard's own registry on loopback: the same names as ``dockyard search``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.compat.conftest import ApiServer
from tests.integration.registry_server.support import client, push_image, server_thread

pytestmark = [pytest.mark.integration, pytest.mark.compat, pytest.mark.timeout(120)]


def test_docker_search_through_the_api(api: ApiServer, tmp_path: Path) -> None:
    word = f"dsrch{os.getpid()}{os.urandom(2).hex()}"
    with server_thread(tmp_path / "registry", allow_anonymous_push=True) as registry:
        with client(registry.url) as c:
            for repo in (f"team/{word}-api", f"{word}-web", "other/thing"):
                push_image(c, repo, "v1", [os.urandom(64)])
        host = registry.url.split("://", 1)[1].rstrip("/")
        lines = api.docker("search", f"{host}/{word}").stdout.splitlines()
        # docker 20.10 adds AUTOMATED; newer CLIs dropped that column (their table, our JSON)
        assert lines[0].split()[:4] == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
        assert sorted(line.split()[0] for line in lines[1:]) == sorted([f"team/{word}-api", f"{word}-web"])
        names = api.docker("search", "--limit", "1", "--format", "{{.Name}}", f"{host}/{word}").stdout.split()
        assert len(names) == 1
        assert api.docker("search", "-f", "stars=1", "--format", "{{.Name}}", f"{host}/{word}").stdout == ""


def test_docker_search_sends_the_login_it_stored(api: ApiServer, tmp_path: Path) -> None:
    from tests.integration.registry_server.support import PASSWORD, USER, make_htpasswd

    word = f"dauth{os.getpid()}{os.urandom(2).hex()}"
    htpasswd = make_htpasswd(tmp_path / "htpasswd")
    with server_thread(tmp_path / "registry", htpasswd=htpasswd, realm="r") as registry:
        with client(registry.url, auth=(USER, PASSWORD)) as c:
            push_image(c, f"team/{word}", "v1", [os.urandom(64)])
        host = registry.url.split("://", 1)[1].rstrip("/")
        # Without a login the API answers 401 (the dockyard CLI test checks the words); the docker CLI then waits
        # for credentials at its prompt, as it does with dockerd, so only the logged-in search is run here.
        api.docker("login", host, "-u", USER, "--password-stdin", input=PASSWORD)
        assert api.docker("search", "--format", "{{.Name}}", f"{host}/{word}").stdout.split() == [f"team/{word}"]
