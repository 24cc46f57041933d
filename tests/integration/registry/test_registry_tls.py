"""TLS registries: CAs and client certificates from certs.d, verification, and Docker's insecure-registry rules."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.oci.digest import Digest
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.login import verify_login
from dockyard.registry.transport import RetryPolicy

from .servers import Distribution, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FAST = RetryPolicy(2, 0.01, 0.01)


@pytest.fixture(scope="module")
def tls_registry() -> Iterator[Distribution]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("none", tls=True) as registry:
        yield registry


@pytest.fixture(scope="module")
def mtls_registry() -> Iterator[Distribution]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry not installed")
    with running("none", tls=True, require_client_cert=True) as registry:
        yield registry


def certs_d(tmp_path: Path, registry: Distribution, *, ca: bool = True, client: bool = False) -> Path:
    root = tmp_path / "certs.d"
    host_dir = root / registry.host
    host_dir.mkdir(parents=True)
    tf = registry.tls_files
    assert tf is not None
    if ca:
        shutil.copy(tf.ca, host_dir / "ca.crt")
    if client:
        shutil.copy(tf.client_cert, host_dir / "client.cert")
        shutil.copy(tf.client_key, host_dir / "client.key")
    return root


def roundtrip(c: RegistryClient) -> None:
    data = os.urandom(5000)
    c.upload_blob(Digest.of(data), data)
    assert c.read_blob(Digest.of(data)) == data


def test_verified_tls_with_the_ca_from_certs_d(tls_registry: Distribution, tmp_path: Path) -> None:
    certs = certs_d(tmp_path, tls_registry)
    with RegistryClient(tls_registry.host, "tls/ok", tls_verify=True, certs_dir=certs, retry=FAST) as c:
        assert c.ping().endpoint.secure
        roundtrip(c)
    status = verify_login(tls_registry.host, AuthConfig(username="u", password="p"), tls_verify=True, certs_dir=certs)
    assert status.endpoint == f"https://{tls_registry.host}"


def test_unknown_ca_is_refused_when_verifying(tls_registry: Distribution, tmp_path: Path) -> None:
    c = RegistryClient(tls_registry.host, "tls/x", tls_verify=True, certs_dir=tmp_path, retry=FAST)
    with c, pytest.raises(Unavailable) as info:
        c.ping()
    assert info.value.message == (
        f'Get "https://{tls_registry.host}/v2/": '
        "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    )


def test_loopback_is_insecure_so_https_is_used_unverified(tls_registry: Distribution, tmp_path: Path) -> None:
    with RegistryClient(tls_registry.host, "tls/insecure", certs_dir=tmp_path, retry=FAST) as c:
        endpoint = c.ping().endpoint
        assert endpoint.scheme == "https" and not endpoint.tls_verify
        roundtrip(c)


def test_client_certificate_from_certs_d(mtls_registry: Distribution, tmp_path: Path) -> None:
    without = certs_d(tmp_path / "a", mtls_registry)
    c = RegistryClient(mtls_registry.host, "mtls/x", tls_verify=True, certs_dir=without, retry=FAST)
    with c, pytest.raises(Unavailable):
        c.ping()
    with_client = certs_d(tmp_path / "b", mtls_registry, client=True)
    with RegistryClient(mtls_registry.host, "mtls/x", tls_verify=True, certs_dir=with_client, retry=FAST) as c:
        roundtrip(c)


def test_client_key_without_certificate_is_a_plain_error(mtls_registry: Distribution, tmp_path: Path) -> None:
    certs = certs_d(tmp_path, mtls_registry)
    (certs / mtls_registry.host / "client.key").write_text("x")
    with pytest.raises(InvalidArgument, match=r"missing client certificate client\.cert for key client\.key"):
        RegistryClient(mtls_registry.host, "x/y", tls_verify=True, certs_dir=certs, retry=FAST).ping()
