"""``dockyard search HOST:PORT/TERM`` against dockyard's own registry (``GET /v1/search``), open and htpasswd."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.registry.server import RegistryThread
from tests.conftest import Cli
from tests.integration.registry_server.support import PASSWORD, USER, client, push_image, server_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

Run = Callable[..., subprocess.CompletedProcess[str]]


def _host(registry: RegistryThread) -> str:
    return registry.url.split("://", 1)[1].rstrip("/")


def _dockyard(state_root: Path, tmp_path: Path) -> Run:
    cli = Cli(state_root)
    config = tmp_path / "docker-config"

    def run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return cli(*args, env={"DOCKER_CONFIG": str(config)}, **kw)

    return run


def _seed(url: str, auth: tuple[str, str] | None = None) -> str:
    """Two repositories whose names share a unique word (returned), and one that does not match."""
    word = f"srch{os.getpid()}{os.urandom(2).hex()}"
    with client(url, auth=auth) as c:
        for repo in (f"team/{word}-api", f"{word.upper()}-web".lower(), "unrelated/thing"):
            push_image(c, repo, "v1", [os.urandom(64)])
    return word


def test_search_own_registry_table_format_limit_filter(state_root: Path, tmp_path: Path) -> None:
    dy = _dockyard(state_root, tmp_path)
    with server_thread(tmp_path / "registry", allow_anonymous_push=True) as registry:
        word = _seed(registry.url)
        host = _host(registry)
        lines = dy("search", f"{host}/{word.upper()}").stdout.splitlines()
        assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
        assert lines[0].startswith("NAME ") and "   DESCRIPTION   STARS     OFFICIAL   AUTOMATED" in lines[0]
        rows = [line.split() for line in lines[1:]]
        assert sorted(rows) == sorted([[f"team/{word}-api", "0"], [f"{word}-web", "0"]])

        out = dy("search", "--format", "{{.Name}}|{{.StarCount}}|{{.IsOfficial}}", f"{host}/{word}").stdout
        assert sorted(out.splitlines()) == sorted([f"team/{word}-api|0|", f"{word}-web|0|"])
        assert len(dy("search", "--limit", "1", "--format", "{{.Name}}", f"{host}/{word}").stdout.splitlines()) == 1
        assert dy("search", "-f", "stars=1", "--format", "{{.Name}}", f"{host}/{word}").stdout == ""
        out = dy("search", "-f", "is-official=false", "--format", "{{.Name}}", f"{host}/{word}").stdout
        assert len(out.splitlines()) == 2

        bad = dy("search", "--limit", "0", f"{host}/{word}", check=False)
        assert bad.returncode == 1
        assert bad.stderr.strip() == "Error response from daemon: limit 0 is outside the range of [1, 100]"


def test_search_needs_credentials_on_a_password_registry(state_root: Path, tmp_path: Path) -> None:
    from tests.integration.registry_server.support import make_htpasswd

    dy = _dockyard(state_root, tmp_path)
    htpasswd = make_htpasswd(tmp_path / "htpasswd")
    with server_thread(tmp_path / "registry", htpasswd=htpasswd, realm="test-realm") as registry:
        word = _seed(registry.url, (USER, PASSWORD))
        host = _host(registry)
        refused = dy("search", f"{host}/{word}", check=False)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.startswith("Error response from daemon: unauthorized: "), refused.stderr
        dy("login", host, "-u", USER, "--password-stdin", input=PASSWORD)
        out = dy("search", "--format", "{{json .}}", f"{host}/{word}").stdout
        names = sorted(json.loads(line)["Name"] for line in out.splitlines())
        assert names == sorted([f"team/{word}-api", f"{word}-web"])


def test_search_docker_hub_unreachable_is_a_transport_error(state_root: Path, tmp_path: Path) -> None:
    dy = _dockyard(state_root, tmp_path)
    out = dy("search", "busybox", check=False, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith('Error response from daemon: Get "https://index.docker.io/v1/search?q=busybox&n=25": ')


def test_v1_search_endpoint_pages_and_auth(tmp_path: Path) -> None:
    from tests.integration.registry_server.support import make_htpasswd

    htpasswd = make_htpasswd(tmp_path / "htpasswd")
    with server_thread(tmp_path / "registry", htpasswd=htpasswd, realm="r") as registry:
        word = _seed(registry.url, (USER, PASSWORD))
        with client(registry.url) as c:
            r = c.get("/v1/search", params={"q": word})
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="r"'
            assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
        with client(registry.url, auth=(USER, PASSWORD)) as c:
            body = c.get("/v1/search", params={"q": word.upper(), "n": "1", "page": "2"}).json()
            assert body["num_results"] == 2 and body["num_pages"] == 2 and body["page"] == 2
            assert body["page_size"] == 1 and body["query"] == word.upper() and len(body["results"]) == 1
            assert body["results"][0] == {
                "name": sorted([f"team/{word}-api", f"{word}-web"])[1],
                "description": "",
                "star_count": 0,
                "is_official": False,
                "is_automated": False,
            }
            everything = c.get("/v1/search").json()
            assert everything["num_results"] == 3
            assert c.get("/v1/search", params={"n": "x"}).status_code == 400
