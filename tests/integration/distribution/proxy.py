"""A TCP forwarder on loopback between dockyard and a registry: counts the bytes each way and can throttle them.

Throttling makes a transfer last long enough to kill the registry (or dockyard) in the middle of it; the counts
show how much a rerun sent again (a resumed download transfers only the rest).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class ThrottledProxy:
    def __init__(self, target_host: str, target_port: int, rate: float | None = None) -> None:
        self.target = (target_host, target_port)
        self.rate = rate  # bytes per second per direction and connection; None: as fast as possible
        self.to_client = 0
        self.to_server = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(32)
        self.port = self._listener.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.to_client = self.to_server = 0

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()  # the registry is down: the client sees a reset
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream, "to_server"), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "to_client"), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counter: str) -> None:
        started = time.monotonic()
        sent = 0
        try:
            while True:
                data = source.recv(64 << 10)
                if not data:
                    break
                sink.sendall(data)
                sent += len(data)
                with self._lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
                if self.rate:
                    ahead = sent / self.rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
