"""TLS material for the registry integration tests: a CA, a server certificate for 127.0.0.1, and a client CA with
one client certificate, written as PEM files into a directory (:func:`make_tls_files`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "make_tls_files"]


@dataclass
class TlsFiles:
    """A CA, a server certificate for 127.0.0.1 signed by it, and a client CA with one client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_ca: Path
    client_cert: Path
    client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def build(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
        *,
        ca: bool,
        usage: list[x509.ObjectIdentifier] | None = None,
        ip: str | None = None,
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer[0].subject if issuer else name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        if ip:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
            )
        return builder.sign(issuer[1] if issuer else key, hashes.SHA256())

    def write(path: Path, cert: x509.Certificate) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build("dockyard test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = build(
        "127.0.0.1", server_key, (ca, ca_key), ca=False, usage=[ExtendedKeyUsageOID.SERVER_AUTH], ip="127.0.0.1"
    )
    client_ca_key = ec.generate_private_key(ec.SECP256R1())
    client_ca = build("dockyard test client CA", client_ca_key, None, ca=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = build(
        "dockyard client", client_key, (client_ca, client_ca_key), ca=False, usage=[ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    (directory / "server.key").write_bytes(key_pem(server_key))
    (directory / "client.key").write_bytes(key_pem(client_key))
    return TlsFiles(
        ca=write(directory / "ca.crt", ca),
        server_cert=write(directory / "server.crt", server),
        server_key=directory / "server.key",
        client_ca=write(directory / "client-ca.crt", client_ca),
        client_cert=write(directory / "client.cert", client),
        client_key=directory / "client.key",
    )
