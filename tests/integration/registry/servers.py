"""Servers for the registry integration tests.

* :class:`Distribution` — the reference registry (Debian's ``docker-registry``, distribution 2.8) on a free
  loopback port, with htpasswd auth, token auth, or none; its storage in a temporary directory that is removed
  when it stops.
* :class:`TokenServer` — a distribution-spec token service signing RS256 JWTs with a throw-away key whose
  self-signed certificate the registry trusts (``x5c`` header), with offline (refresh) tokens and the OAuth2 POST.
* :class:`FaultyRegistry` — a tiny registry that misbehaves on purpose: serves the wrong bytes, cuts the connection
  half-way through a blob, answers 503 a few times, or 429.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

USER = "testuser"
PASSWORD = "testpassword"
START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """``GET /token`` (Basic credentials, ``offline_token``) and ``POST /token`` (refresh_token / password)."""

    def __init__(self, directory: Path, issuer: str = "dockyard-test-issuer", service: str = "dockyard-test") -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.issuer = issuer
        self.service = service
        self.users = {USER: PASSWORD}
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.expires_in = 300
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test token signer")])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = directory / "token-signer.crt"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._der = self._cert.public_bytes(serialization.Encoding.DER)
        self._hashes = hashes
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _sign(self, account: str, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if account and kind == "repository":
                access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self._der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": account,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), self._hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _grant(self, account: str, scopes: list[str], offline: bool) -> None:
                token = server._sign(account, scopes)
                body: dict[str, object] = {
                    "token": token,
                    "access_token": token,
                    "expires_in": server.expires_in,
                    "issued_at": datetime.datetime.now(datetime.UTC).isoformat(),
                }
                if offline and account:
                    refresh = secrets.token_hex(16)
                    server.refresh_tokens[refresh] = account
                    body["refresh_token"] = refresh
                self._reply(200, body)

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                server.requests.append(("GET", query))
                account = ""
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if server.users.get(user) != password:
                        self._reply(401, {"details": "incorrect username or password"})
                        return
                    account = user
                self._grant(account, query.get("scope", []), query.get("offline_token") == ["true"])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                server.requests.append(("POST", form))
                grant = form.get("grant_type", [""])[0]
                scopes = form.get("scope", [""])[0].split()
                if grant == "refresh_token":
                    account = server.refresh_tokens.get(form.get("refresh_token", [""])[0], "")
                    if not account:
                        self._reply(401, {"details": "invalid refresh token"})
                        return
                    self._grant(account, scopes, False)
                elif grant == "password":
                    user, password = form.get("username", [""])[0], form.get("password", [""])[0]
                    if server.users.get(user) != password:
                        self._reply(401, {"details": "incorrect username or password"})
                        return
                    self._grant(user, scopes, form.get("access_type") == ["offline"])
                else:
                    self._reply(400, {"details": f"unsupported grant type {grant!r}"})

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


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


@dataclass
class Distribution:
    """A running ``docker-registry``; use :meth:`start` and :meth:`stop` (or the fixtures)."""

    auth: str  # "htpasswd", "token" or "none"
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dockyard-registry-")))
    port: int = 0
    token_server: TokenServer | None = None
    process: subprocess.Popen[bytes] | None = None
    tls: bool = False
    require_client_cert: bool = False
    tls_files: TlsFiles | None = None
    bind: str = "127.0.0.1"  # the address it listens on (another host address makes it a non-loopback registry)

    @property
    def host(self) -> str:
        return f"{self.bind}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.directory / 'data'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.bind}:{self.port}",
            f"  secret: {secrets.token_hex(16)}",
        ]
        if self.tls:
            if self.tls_files is None:
                self.tls_files = make_tls_files(self.directory)
            tf = self.tls_files
            lines += ["  tls:", f"    certificate: {tf.server_cert}", f"    key: {tf.server_key}"]
            if self.require_client_cert:
                lines += ["    clientcas:", f"      - {tf.client_ca}"]
        if self.auth == "htpasswd":
            htpasswd = self.directory / "htpasswd"
            out = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, check=True, text=True)
            htpasswd.write_text(out.stdout)
            lines += ["auth:", "  htpasswd:", "    realm: basic-realm", f"    path: {htpasswd}"]
        elif self.auth == "token":
            self.token_server = TokenServer(self.directory)
            ts = self.token_server
            lines += [
                "auth:",
                "  token:",
                f"    realm: {ts.realm}",
                f"    service: {ts.service}",
                f"    issuer: {ts.issuer}",
                f"    rootcertbundle: {ts.cert_path}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> Distribution:
        for _attempt in range(3):
            self.port = free_port()
            if self._launch():
                return self
        raise RuntimeError(f"docker-registry did not start:\n{(self.directory / 'registry.log').read_text()}")

    def restart(self) -> Distribution:
        """Start again on the same port with the same storage (after :meth:`kill`)."""
        self._kill()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._launch():
                return self
            time.sleep(0.2)  # the port may still be held for a moment
        raise RuntimeError(f"docker-registry did not restart:\n{(self.directory / 'registry.log').read_text()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup, connections cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def _launch(self) -> bool:
        config = self.directory / "config.yml"
        if not config.exists() or f"addr: {self.bind}:{self.port}" not in config.read_text():
            config.write_text(self._config())
        log = open(self.directory / "registry.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((self.bind, self.port), timeout=1):
                    pass
                if self.tls:
                    return True
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1).close()
                return True
            except urllib.error.HTTPError:
                return True  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.05)
        self._kill()
        return False

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def stop(self) -> None:
        self._kill()
        if self.token_server is not None:
            self.token_server.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def running(
    auth: str, *, tls: bool = False, require_client_cert: bool = False, bind: str = "127.0.0.1"
) -> Iterator[Distribution]:
    registry = Distribution(auth, tls=tls, require_client_cert=require_client_cert, bind=bind)
    try:
        yield registry.start()
    finally:
        registry.stop()


# -- a registry that misbehaves -------------------------------------------------------------------------------


@dataclass
class Blob:
    data: bytes
    serve: bytes | None = None  # what is actually sent (wrong content)
    cut_after: int | None = None  # close the connection after this many bytes of a full response
    cuts_left: int = 0  # how many responses get cut
    fail_status: int | None = None  # answer this status ...
    fails_left: int = 0  # ... this many times
    honour_range: bool = True

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


class FaultyRegistry:
    """An open registry serving only ``GET/HEAD /v2/`` and blobs, with injected faults; records requests."""

    def __init__(self) -> None:
        self.blobs: dict[str, Blob] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}  # reference -> (body served, Docker-Content-Digest)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.always_429 = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def add(self, blob: Blob) -> str:
        self.blobs[blob.digest] = blob
        return blob.digest

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                registry.requests.append((self.command, self.path, dict(self.headers.items())))
                if registry.always_429:
                    body = json.dumps(
                        {"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit."}]}
                    ).encode()
                    self._send(429, body, {"Retry-After": "7", "Content-Type": "application/json"})
                    return
                if self.path == "/v2/":
                    self._send(200, b"{}", {"Docker-Distribution-API-Version": "registry/2.0"})
                    return
                digest = self.path.rsplit("/", 1)[-1]
                if "/manifests/" in self.path and digest in registry.manifests:
                    body, header = registry.manifests[digest]
                    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
                    if header:
                        headers["Docker-Content-Digest"] = header
                    self._send(200, body, headers)
                    return
                blob = registry.blobs.get(digest)
                if "/blobs/" not in self.path or blob is None:
                    body = json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]})
                    self._send(404, body.encode(), {"Content-Type": "application/json"})
                    return
                if blob.fails_left > 0 and blob.fail_status and blob.cuts_left == 0:  # cuts come first
                    blob.fails_left -= 1
                    self._send(blob.fail_status, b"busy")
                    return
                content = blob.serve if blob.serve is not None else blob.data
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and blob.honour_range:
                    start = int(rng[6:].split("-", 1)[0])
                    part = content[start:]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
                else:
                    part = content
                    self.send_response(200)
                self.send_header("Content-Length", str(len(part)))
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Docker-Content-Digest", blob.digest)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if blob.cut_after is not None and blob.cuts_left > 0:
                    blob.cuts_left -= 1
                    self.wfile.write(part[: blob.cut_after])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(part)

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
