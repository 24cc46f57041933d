"""Servers for the registry integration tests.

* :class:`Distribution` — the reference registry (Debian's ``docker-registry``, distribution 2.8) on a free
  loopback port, with htpasswd auth, token auth, or none; its storage in a temporary directory that is removed
  when it stops. :func:`running` starts one for a ``with`` block.
* :class:`TokenServer` (:mod:`.tokenserver`) — the token service a ``token`` registry trusts.
* :class:`TlsFiles` (:mod:`.tlsfiles`) — the certificates of a ``tls`` registry and its clients.
* :class:`FaultyRegistry` (:mod:`.faultyregistry`) — a tiny registry that misbehaves on purpose: serves the wrong
  bytes, cuts the connection half-way through a blob, answers 503 a few times, or 429.

The helpers of those modules are importable from here too, as the tests always have.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .faultyregistry import Blob, FaultyRegistry
from .tlsfiles import TlsFiles, make_tls_files
from .tokenserver import PASSWORD, USER, TokenServer

__all__ = [
    "PASSWORD",
    "START_TIMEOUT",
    "USER",
    "Blob",
    "Distribution",
    "FaultyRegistry",
    "TlsFiles",
    "TokenServer",
    "free_port",
    "make_tls_files",
    "running",
]

START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
