"""Endpoint lookup (mirrors, insecure registries, https-then-http) and certs.d handling."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.endpoints import Endpoint, is_insecure_registry, lookup_endpoints, tls_context


def test_docker_hub_with_mirrors() -> None:
    eps = lookup_endpoints("docker.io", mirrors=["http://127.0.0.1:5001", "mirror.example.com/prefix"])
    assert [str(e) for e in eps] == [
        "http://127.0.0.1:5001",
        "https://mirror.example.com/prefix",
        "https://registry-1.docker.io",
    ]
    assert [e.mirror for e in eps] == [True, True, False]
    assert eps[-1].official and eps[-1].tls_verify
    assert eps[1].url("/v2/") == "https://mirror.example.com/prefix/v2/"
    # index.docker.io is Docker Hub too; mirrors are for pulls only
    assert [str(e) for e in lookup_endpoints("index.docker.io", mirrors=["m.example.com"], include_mirrors=False)] == [
        "https://registry-1.docker.io"
    ]
    with pytest.raises(InvalidArgument, match="invalid mirror"):
        lookup_endpoints("docker.io", mirrors=["/var/run/mirror.sock"])


def test_secure_registry_is_https_only() -> None:
    eps = lookup_endpoints("registry.example.com:5000")
    assert eps == [Endpoint("https", "registry.example.com:5000", tls_verify=True)]


def test_loopback_is_insecure_like_docker() -> None:
    for host in ("127.0.0.1:5000", "localhost:5000", "127.1.2.3"):
        eps = lookup_endpoints(host)
        assert [(e.scheme, e.tls_verify) for e in eps] == [("https", False), ("http", False)], host


def test_insecure_registries_by_name_and_cidr() -> None:
    assert is_insecure_registry("myreg.example.com:5000", ["myreg.example.com:5000"])
    assert not is_insecure_registry("myreg.example.com:5000", ["other:5000"])
    assert is_insecure_registry("10.1.2.3:5000", ["10.0.0.0/8"])
    assert not is_insecure_registry("10.1.2.3:5000", ["192.168.0.0/16"])
    assert is_insecure_registry("10.1.2.3:5000", ["http://10.1.2.3:5000"])
    eps = lookup_endpoints("10.1.2.3:5000", insecure_registries=["10.0.0.0/8"])
    assert [e.scheme for e in eps] == ["https", "http"]


def test_explicit_tls_verify() -> None:
    assert [e.scheme for e in lookup_endpoints("reg.example.com", tls_verify=False)] == ["https", "http"]
    assert [e.scheme for e in lookup_endpoints("127.0.0.1:5000", tls_verify=True)] == ["https"]


def _write_cert(path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".keypem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def test_certs_d_ca_and_client_pair(tmp_path: Path) -> None:
    host_dir = tmp_path / "reg.example.com:5000"
    host_dir.mkdir()
    _write_cert(host_dir / "ca.crt")
    ep = Endpoint("https", "reg.example.com:5000")
    before = ssl.create_default_context().cert_store_stats()["x509_ca"]
    ctx = tls_context(ep, tmp_path)
    assert ctx.cert_store_stats()["x509_ca"] == before + 1
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    # a client pair: client.cert + client.key
    _write_cert(host_dir / "client.cert")
    (host_dir / "client.keypem").rename(host_dir / "client.key")
    tls_context(ep, tmp_path)
    (host_dir / "client.key").unlink()
    with pytest.raises(InvalidArgument, match=r"missing key client\.key for client certificate client\.cert"):
        tls_context(ep, tmp_path)
    (host_dir / "client.cert").unlink()
    (host_dir / "lonely.key").write_text("x")
    with pytest.raises(InvalidArgument, match=r"missing client certificate lonely\.cert for key lonely\.key"):
        tls_context(ep, tmp_path)


def test_insecure_endpoint_does_not_verify(tmp_path: Path) -> None:
    ctx = tls_context(Endpoint("https", "127.0.0.1:5000", tls_verify=False), tmp_path)
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
