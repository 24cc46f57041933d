"""Which registry endpoints pull and push use: insecure registries (loopback is, others only when told), TLS with a
CA from ``certs.d``, and ``registry-mirrors`` for every way of pulling from Docker Hub."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine import Engine
from dockyard.engine.distribution import DistributionService, PullOptions, PushOptions
from dockyard.errors import DockyardError
from dockyard.settings import load_settings
from tests.integration.registry.servers import Distribution, running

from .conftest import Dockyard, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def host_address() -> str | None:
    """A non-loopback address of this machine, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def remote_registry() -> Iterator[Distribution]:
    address = host_address()
    if address is None:
        pytest.skip("no non-loopback address")
    with running("none", bind=address) as registry:
        yield registry


def test_a_non_loopback_http_registry_needs_tls_verify_false_or_the_setting(
    dy: Dockyard, remote_registry: Distribution
) -> None:
    dy("image", "bootstrap", "busybox")
    ref = f"{remote_registry.host}/pango/{unique('insecure')}:v1"
    dy("tag", "busybox", ref)
    refused = dy("push", ref, check=False)
    assert refused.returncode == 1 and f"https://{remote_registry.host}/v2/" in refused.stderr, refused.stderr
    dy("push", "--tls-verify=false", ref)
    dy("rmi", ref, "busybox")
    refused = dy("pull", ref, check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("Error response from daemon: ")
    assert f"https://{remote_registry.host}/v2/" in refused.stderr
    (dy.root / "config.json").write_text(json.dumps({"insecure-registries": [remote_registry.host]}))
    out = dy("pull", ref).stdout.splitlines()
    assert out[-1] == ref and out[-2] == f"Status: Downloaded newer image for {ref}"


def test_a_mirror_serves_every_docker_hub_pull(dy: Dockyard, open_registry: Distribution) -> None:
    dy("image", "bootstrap", "busybox")
    mirrored = f"{open_registry.host}/library/busybox"
    dy("tag", "busybox", f"{mirrored}:latest")
    dy("tag", "busybox", f"{mirrored}:1.36")
    digest = dy("push", f"{mirrored}:latest").stdout.splitlines()[-1].split()[2]
    dy("push", f"{mirrored}:1.36")
    dy("rmi", f"{mirrored}:latest", f"{mirrored}:1.36", "busybox")
    (dy.root / "config.json").write_text(json.dumps({"registry-mirrors": [f"http://{open_registry.host}"]}))
    out = dy("pull", "busybox").stdout.splitlines()
    assert out[:2] == ["Using default tag: latest", "latest: Pulling from library/busybox"]
    assert out[-3:] == [
        f"Digest: {digest}",
        "Status: Downloaded newer image for busybox:latest",
        "docker.io/library/busybox:latest",
    ]
    assert dy("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.splitlines() == ["busybox:latest"]
    out = dy("pull", f"busybox@{digest}").stdout.splitlines()
    assert out[-1] == f"docker.io/library/busybox@{digest}"
    out = dy("pull", "-a", "busybox").stdout.splitlines()
    assert sorted(line for line in out if "Pulling from" in line) == [  # in the registry's order
        "1.36: Pulling from library/busybox",
        "latest: Pulling from library/busybox",
    ]
    assert out[-1] == "docker.io/library/busybox"


@pytest.fixture
def tls_registry() -> Iterator[Distribution]:
    with running("none", tls=True) as registry:
        yield registry


def service(root: Path, certs_dir: Path) -> DistributionService:
    return DistributionService(Engine(load_settings(root)), certs_dir=certs_dir)


def test_tls_with_a_ca_from_certs_d(dy: Dockyard, tls_registry: Distribution, tmp_path: Path) -> None:
    dy("image", "bootstrap", "busybox")
    ref = f"{tls_registry.host}/pango/{unique('tls')}:v1"
    dy("tag", "busybox", ref)
    certs = tmp_path / "certs.d"
    verified = PushOptions(tls_verify=True)
    with pytest.raises(DockyardError, match="x509: certificate signed by unknown authority"):
        service(dy.root, certs).push(ref, verified)
    (certs / tls_registry.host).mkdir(parents=True)
    assert tls_registry.tls_files is not None
    (certs / tls_registry.host / "ca.crt").write_bytes(tls_registry.tls_files.ca.read_bytes())
    report = service(dy.root, certs).push(ref, verified)
    assert report.digest.startswith("sha256:")
    dy("rmi", ref, "busybox")
    pulled = service(dy.root, certs).pull(ref, PullOptions(tls_verify=True))
    assert pulled.digest == report.digest and pulled.updated and pulled.image_id.startswith("sha256:")
    assert dy("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() == pulled.image_id
