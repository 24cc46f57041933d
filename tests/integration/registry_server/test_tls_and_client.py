"""TLS (``--tls-cert/--tls-key``) and dockyard's own registry client (Basic auth) against the server."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

import httpx
import pytest

from dockyard.oci.digest import Digest
from dockyard.registry.auth import AuthConfig
from dockyard.registry.client import RegistryClient
from dockyard.registry.server import RegistryThread
from dockyard.store.content import LocalContentStore
from tests.integration.registry_server.support import (
    OCI_MANIFEST,
    PASSWORD,
    USER,
    image,
    server_thread,
    sha,
    unique,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls(tmp_path: Path, storage: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with server_thread(storage, tls_cert=cert, tls_key=key, allow_anonymous_push=True) as registry:
        assert registry.url.startswith("https://")
        with httpx.Client(base_url=registry.url, verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as c:
            assert c.get("/v2/").headers["Docker-Distribution-API-Version"] == "registry/2.0"
            repo, data = unique(), os.urandom(3_000_000)
            r = c.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha(data)}, content=data)
            assert r.status_code == 201
            assert c.get(f"/v2/{repo}/blobs/{sha(data)}").content == data  # large blob over TLS (no sendfile)
        with pytest.raises(httpx.ConnectError):
            httpx.get(registry.url + "/v2/", timeout=10)  # an unknown CA is refused by default


def test_dockyard_client_push_and_pull_with_basic_auth(auth_registry: RegistryThread, tmp_path: Path) -> None:
    repo = unique()
    layer, config = os.urandom(400_000), b'{"architecture":"amd64","os":"linux"}'
    _, manifest = image([layer], config=config)
    creds = AuthConfig(username=USER, password=PASSWORD)
    with RegistryClient(auth_registry.host, repo, credentials=creds, push=True) as c:
        assert c.ping().challenges[0].scheme == "basic"
        for blob in (config, layer):
            c.upload_blob(Digest.of(blob), blob)
        c.upload_blob(Digest.of(layer), layer)  # again: the registry already has it
        pushed = c.put_manifest(manifest, OCI_MANIFEST, "v1")
        assert str(pushed) == sha(manifest)
        assert c.list_tags() == ["v1"]
    store = LocalContentStore(tmp_path / "blobs", tmp_path / "ingest")
    with RegistryClient(auth_registry.host, repo, credentials=creds) as c:
        got = c.get_manifest("v1")
        assert got.data == manifest and str(got.digest) == sha(manifest)
        writer = store.writer(ref=sha(layer), expected=Digest.of(layer), expected_size=len(layer))
        with writer:
            c.fetch_blob(Digest.of(layer), writer, size=len(layer))
    assert store.read(Digest.of(layer), verify=True) == layer
    mounted_repo = unique()
    with RegistryClient(auth_registry.host, mounted_repo, credentials=creds, push=True) as c:
        result = c.upload_blob(Digest.of(layer), layer, mount_from=repo)
        assert result.mounted


@pytest.mark.parametrize("token_auth", [False, True], ids=["basic", "token"])
def test_dockyard_login(storage: Path, htpasswd: Path, token_auth: bool) -> None:
    from dockyard.errors import Unauthorized
    from dockyard.registry.login import verify_login

    with server_thread(storage, htpasswd=htpasswd, token_auth=token_auth) as registry:
        status = verify_login(registry.host, AuthConfig(username=USER, password=PASSWORD))
        assert status.status == "Login Succeeded"
        with pytest.raises(Unauthorized):
            verify_login(registry.host, AuthConfig(username=USER, password="wrong"))
