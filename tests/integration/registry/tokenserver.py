"""A distribution-spec token service for the registry integration tests.

:class:`TokenServer` signs RS256 JWTs with a throw-away key whose self-signed certificate the registry trusts (``x5c``
header); it serves ``GET /token`` (Basic credentials, ``offline_token``) and the OAuth2 ``POST /token`` (refresh
tokens and passwords). It knows one account, :data:`USER` / :data:`PASSWORD`, which the htpasswd registries of
:mod:`.servers` accept too.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

__all__ = ["PASSWORD", "USER", "TokenServer"]

USER = "testuser"
PASSWORD = "testpassword"


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
