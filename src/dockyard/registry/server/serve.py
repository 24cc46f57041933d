"""Running the registry: in the foreground until SIGTERM/SIGINT (``dockyard registry serve``), or in a background
thread of the calling process (tests, embedding).

The storage directory is locked (``flock`` on ``<storage>/.lock``) while a server uses it, so a second server or a
``gc`` cannot work on it at the same time. Shutdown is graceful: the listener closes, requests in flight get
``shutdown_timeout`` seconds to finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import threading
from collections.abc import Callable

from aiohttp import web

from dockyard.errors import FailedPrecondition
from dockyard.registry.server.app import create_app
from dockyard.registry.server.config import RegistryConfig
from dockyard.registry.server.lock import lock_storage

__all__ = ["RegistryThread", "run_registry", "serve"]

log = logging.getLogger(__name__)


def _ssl_context(config: RegistryConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


async def run_registry(
    config: RegistryConfig, ready: Callable[[str], None] | None = None, stop: asyncio.Event | None = None
) -> None:
    """Serve until ``stop`` is set (or SIGTERM/SIGINT in the main thread); ``ready(url)`` once listening."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=config.shutdown_timeout)
    await runner.setup()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        site = web.TCPSite(runner, config.host, config.port, ssl_context=_ssl_context(config), reuse_address=True)
        await site.start()
        addresses = runner.addresses
        port = int(addresses[0][1]) if addresses else config.port
        host = f"[{config.host}]" if ":" in config.host else config.host
        url = f"{config.scheme}://{host}:{port}"
        log.info("registry listening on %s (storage %s)", url, config.storage)
        if ready is not None:
            ready(url)
        await stop.wait()
        log.info("registry shutting down")
    finally:
        try:
            await runner.cleanup()  # a second signal meanwhile is absorbed: requests in flight get to finish
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)


def serve(config: RegistryConfig, ready: Callable[[str], None] | None = None) -> None:
    """Run the registry in the foreground until SIGTERM/SIGINT, holding the storage lock."""
    with lock_storage(config.storage, "registry serve"):
        asyncio.run(run_registry(config, ready))


class RegistryThread:
    """The registry in a background thread of this process: ``with RegistryThread(config) as r: r.url``."""

    def __init__(self, config: RegistryConfig, timeout: float = 15.0) -> None:
        self.config = config
        self.timeout = timeout
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dockyard-registry", daemon=True)

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def ready(url: str) -> None:
                self.url = url
                self._ready.set()

            await run_registry(self.config, ready, self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    def start(self) -> RegistryThread:
        self._thread.start()
        self._ready.wait(self.timeout)
        if self._error is not None:
            raise self._error
        if not self.url:
            raise FailedPrecondition("registry: did not start in time")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.timeout)

    def __enter__(self) -> RegistryThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
