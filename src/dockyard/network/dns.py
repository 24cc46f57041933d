"""Names on user-defined networks, served by aardvark-dns (Podman's DNS server, a Debian package).

One aardvark-dns process per state root, with its configuration directory in ``<root>/run/aardvark-dns``: one
file per network, named after the network (aardvark-dns 1.4's format, from its ``config.md``)::

    10.78.0.1                                  <- the addresses it listens on (port 53): the gateway
    <container id> <ipv4s> <ipv6s> <names>     <- one line per endpoint, comma-separated lists

It answers a container's query with the entries of the networks that container is on, and forwards other names
to the host's resolvers. It re-reads the directory on SIGHUP; it is started when the first entry appears and
stopped when none is left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import FailedPrecondition

__all__ = ["AARDVARK", "Aardvark", "DnsEntry"]

log = logging.getLogger(__name__)

AARDVARK = Path("/usr/lib/podman/aardvark-dns")
PID_FILE = "aardvark.pid"


@dataclass(frozen=True)
class DnsEntry:
    """One container's names and address on a network, for aardvark-dns."""

    container_id: str
    ipv4: str
    names: tuple[str, ...]


class Aardvark:
    def __init__(self, config_dir: Path, binary: Path = AARDVARK, port: int = 53) -> None:
        self.config_dir = config_dir
        self.binary = binary
        self.port = port

    @property
    def available(self) -> bool:
        return os.access(self.binary, os.X_OK)

    def _file(self, network: str) -> Path:
        return self.config_dir / network

    def write_network(self, network: str, gateway: str, entries: Sequence[DnsEntry]) -> None:
        """Replace the network's file (atomically) with ``entries``; remove it when there are none."""
        path = self._file(network)
        if not entries:
            path.unlink(missing_ok=True)
            return
        self.config_dir.mkdir(parents=True, exist_ok=True)
        lines = [gateway]
        for e in entries:
            names = ",".join(dict.fromkeys(n for n in e.names if n))
            lines.append(f"{e.container_id} {e.ipv4}  {names}")
        tmp = path.with_name(f".{network}.tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)

    def remove_network(self, network: str) -> None:
        self._file(network).unlink(missing_ok=True)

    def networks(self) -> list[str]:
        try:
            return sorted(
                p.name for p in self.config_dir.iterdir() if p.is_file() and not p.name.startswith((".", "aardvark"))
            )
        except FileNotFoundError:
            return []

    def pid(self) -> int | None:
        """The running server's pid (checked against /proc), or None."""
        try:
            pid = int((self.config_dir / PID_FILE).read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if os.fsencode(str(self.config_dir)) not in cmdline:
            return None
        return pid

    def reload(self) -> None:
        """Make the server match the files: start it, signal it, or stop it when no network is left."""
        pid = self.pid()
        if not self.networks():
            if pid:
                self.stop()
            return
        if pid:
            os.kill(pid, signal.SIGHUP)
            return
        if not self.available:
            raise FailedPrecondition(
                f"dns: {self.binary} is not installed: container names will not resolve",
                hint="apt-get install aardvark-dns",
            )
        self._start()

    def _start(self) -> None:
        (self.config_dir / PID_FILE).unlink(missing_ok=True)
        # The server daemonizes and keeps the inherited descriptors: never give it a pipe we would wait on.
        import tempfile  # here: ~5 ms at import (random, shutil...), and the server starts once per root

        with tempfile.TemporaryFile() as err:
            proc = subprocess.run(
                [str(self.binary), "--config", str(self.config_dir), "-p", str(self.port), "run"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                check=False,
                timeout=10,
            )
            if proc.returncode != 0:
                err.seek(0)
                message = err.read().decode(errors="replace").strip()
                raise FailedPrecondition(f"dns: aardvark-dns failed to start: {message}")
        deadline = time.monotonic() + 2
        while self.pid() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        log.debug("aardvark-dns started for %s (pid %s)", self.config_dir, self.pid())

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            status = Path(f"/proc/{pid}/stat")
            with contextlib.suppress(OSError):
                if status.read_text().split(") ")[-1].startswith("Z"):
                    break
            time.sleep(0.005)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        (self.config_dir / PID_FILE).unlink(missing_ok=True)
