"""Distribution service: login/logout, registry credentials, pull and push.

``login`` checks the credentials against the registry (ping ``/v2/``, then Basic or the Bearer token exchange)
**before** saving them to ``~/.docker/config.json`` (or the configured credential helper), so the docker CLI and
dockyard share logins. ``authenticate`` only checks them — what the Docker API's ``POST /auth`` does (the daemon
keeps nothing). ``logout`` erases the server's credentials under every key an older client may have used.

``pull`` and ``push`` move images between the store and a registry (:mod:`dockyard.registry.pull`,
:mod:`dockyard.registry.push`), emitting Docker's progress events to the caller's sink: the CLI draws them, the API
server encodes them as dockerd's JSON messages. Nothing is emitted before the registry has confirmed the manifest,
so a caller that starts its output on the first event can still report ``manifest unknown`` as a plain error.
Everything a pull writes is under a store lease and the image record comes last; ``build --pull`` and ``run``
call :meth:`DistributionService.pull` and read the image from :attr:`PullReport.image_id`.

Settings (``<root>/config.json``, Docker's ``daemon.json`` names): ``max-concurrent-downloads`` (3),
``max-concurrent-uploads`` (5), ``insecure-registries``, ``registry-mirrors``.

The progress event types are re-exported here so that the CLI and the API server need import nothing below the
engine.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound
from dockyard.registry.progress import (
    BuildAux,
    BuildOutput,
    LayerProgress,
    LayerStatus,
    ProgressError,
    ProgressEvent,
    ProgressSink,
    ProgressThrottle,
    PushAux,
    StatusMessage,
    decode_json_message,
    encode_json_line,
    render_progress,
)

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.search import SearchFilters, SearchResult
    from dockyard.oci.reference import Reference
    from dockyard.registry.auth import AuthConfig, DockerConfigFile
    from dockyard.registry.client import RegistryClient
    from dockyard.registry.login import LoginStatus
    from dockyard.registry.sources import BlobSources
    from dockyard.store.images import ImageRecord

__all__ = [
    "BuildAux",
    "BuildOutput",
    "CredentialsSaveError",
    "DistributionService",
    "LayerProgress",
    "LayerStatus",
    "LoginResult",
    "LogoutResult",
    "ProgressError",
    "ProgressEvent",
    "ProgressSink",
    "ProgressThrottle",
    "PullOptions",
    "PullReport",
    "PushAux",
    "PushOptions",
    "PushReport",
    "StatusMessage",
    "StoredCredentials",
    "decode_json_message",
    "encode_json_line",
    "render_progress",
]

log = logging.getLogger(__name__)


class CredentialsSaveError(FailedPrecondition):
    """The registry accepted the credentials but they could not be saved (config file, credential helper)."""


@dataclass(frozen=True)
class PullOptions:
    all_tags: bool = False
    platform: str | None = None
    """``os/arch[/variant]`` to pick from a multi-platform index (default: the host's, linux/amd64 here)."""
    quiet: bool = False
    tls_verify: bool | None = None
    """False: talk to this registry without TLS verification (or plain HTTP); None: decide as Docker does."""


@dataclass(frozen=True)
class PushOptions:
    all_tags: bool = False
    platform: str | None = None
    quiet: bool = False
    tls_verify: bool | None = None


@dataclass(frozen=True)
class PullReport:
    reference: str
    """The fully qualified reference pulled (``127.0.0.1:5000/pango/get-started:part2``), printed at the end."""
    digest: str = ""
    """The digest the reference resolved to on the registry (an index's, for a multi-platform image)."""
    image_id: str = ""
    """The local image (``sha256:<config digest>``); with ``all_tags``, the last tag's."""
    updated: bool = False
    """True when the name now points at a different image (``Downloaded newer image``), False if up to date."""


@dataclass(frozen=True)
class PushReport:
    reference: str
    digest: str = ""
    size: int = 0


@dataclass(frozen=True)
class LoginResult:
    status: str
    """``Login Succeeded``."""
    server_address: str
    """The key the credentials were stored under (``127.0.0.1:5000``, ``https://index.docker.io/v1/``)."""
    identity_token: str = ""
    unencrypted_file: Path | None = None
    """The config file when the credentials ended up in it in plain base64 (Docker then warns)."""


@dataclass(frozen=True)
class LogoutResult:
    server_address: str
    """What Docker prints: ``Removing login credentials for <server_address>``."""
    errors: tuple[tuple[str, str], ...] = ()
    """``(key, error)`` for each key that could not be erased, when none could."""


@dataclass(frozen=True)
class StoredCredentials:
    server_address: str
    username: str
    password: str
    identity_token: str = ""


class DistributionService:
    """Registry operations behind ``login``, ``logout``, ``pull``, ``push`` and the API's ``/auth``."""

    def __init__(self, engine: Engine, *, config_dir: Path | None = None, certs_dir: Path | None = None) -> None:
        self.engine = engine
        self.config_dir = config_dir
        from dockyard.registry.endpoints import DEFAULT_CERTS_DIR

        self.certs_dir = certs_dir or DEFAULT_CERTS_DIR

    # -- credentials -----------------------------------------------------------------------------------------

    def _config(self) -> DockerConfigFile:
        from dockyard.registry.auth import DockerConfigFile

        return DockerConfigFile.load(self.config_dir)

    def server_key(self, server: str | None) -> str:
        """The key credentials for what the user typed are stored under (``https://index.docker.io/v1/``...)."""
        from dockyard.registry.auth import login_server_key

        return login_server_key(server)

    def stored_credentials(self, server: str | None) -> StoredCredentials:
        """What ``config.json`` (or its helper) holds for the server a user typed (empty strings if nothing)."""
        from dockyard.registry.auth import login_server_key

        key = login_server_key(server)
        auth = self._config().get_auth(key)
        return StoredCredentials(key, auth.username, auth.password, auth.identity_token)

    def credentials_for(self, registry_host: str) -> AuthConfig:
        """The saved credentials for a registry host as it appears in a reference (``docker.io``, ``host:5000``)."""
        from dockyard.registry.auth import credentials_key

        key = credentials_key(registry_host)
        return self._config().get_auth(key)

    def search(
        self,
        term: str,
        limit: int = 25,
        filters: SearchFilters | None = None,
        *,
        credentials: AuthConfig | None = None,
    ) -> list[SearchResult]:
        """``docker search``: the term's registry's ``/v1/search`` answers, with ``credentials`` (the API's
        ``X-Registry-Auth``) or else the stored ones, if any."""
        from dockyard.engine.search import search

        def creds(host: str) -> AuthConfig:
            if credentials is not None and not credentials.empty:
                return credentials
            return self.credentials_for(host)

        return search(
            term,
            limit,
            filters,
            credentials_for=creds,
            insecure_registries=self.engine.settings.insecure_registries,
            certs_dir=self.certs_dir,
        )

    def authenticate(
        self, server: str | None, username: str, password: str, *, identity_token: str = ""
    ) -> LoginStatus:
        """Check credentials against the registry without saving anything (the API's ``POST /auth``)."""
        from dockyard.registry.auth import AuthConfig, login_server_key
        from dockyard.registry.login import verify_login

        key = login_server_key(server)
        creds = AuthConfig(username=username, password=password, identity_token=identity_token, server_address=key)
        return verify_login(
            key, creds, insecure_registries=self.engine.settings.insecure_registries, certs_dir=self.certs_dir
        )

    def login(self, server: str | None, username: str, password: str) -> LoginResult:
        """Verify the credentials with the registry, then save them; nothing is saved if the registry says no."""
        from dockyard.registry.auth import AuthConfig, login_server_key

        key = login_server_key(server)
        status = self.authenticate(key, username, password)
        auth = AuthConfig(username=username, password=password, server_address=key)
        if status.identity_token:
            auth = AuthConfig(username=username, identity_token=status.identity_token, server_address=key)
        config = self._config()
        store = config.store_for(key)
        try:
            store.store(auth)
        except Exception as exc:
            raise CredentialsSaveError(f"Error saving credentials: {exc}") from exc
        log.info("saved credentials for %s", key)
        return LoginResult(status.status, key, status.identity_token, config.path if store.is_file_store else None)

    def logout(self, server: str | None) -> LogoutResult:
        """Erase the credentials for ``server`` (Docker Hub when empty), under every key docker may have used."""
        from dockyard.registry.auth import INDEX_SERVER, convert_to_hostname, is_docker_hub

        if not server or is_docker_hub(server):
            hostname = INDEX_SERVER
            keys = [INDEX_SERVER] if not server or server == INDEX_SERVER else [server, INDEX_SERVER]
        else:
            hostname = convert_to_hostname(server)
            keys = list(dict.fromkeys([server, hostname, f"http://{hostname}", f"https://{hostname}"]))
        errors: list[tuple[str, str]] = []
        config = self._config()
        for key in keys:
            try:
                config.store_for(key).erase(key)
            except Exception as exc:
                errors.append((key, str(exc)))
        return LogoutResult(hostname, tuple(errors) if len(errors) == len(keys) else ())

    # -- registry access -------------------------------------------------------------------------------------

    def registry_client(
        self,
        reference: Reference,
        *,
        push: bool = False,
        credentials: AuthConfig | None = None,
        tls_verify: bool | None = None,
    ) -> RegistryClient:
        """A client for ``reference``'s repository with the saved (or given) credentials and the settings."""
        from dockyard.registry.client import RegistryClient

        creds = credentials if credentials is not None else self.credentials_for(reference.domain)
        return RegistryClient(
            reference.domain,
            reference.path,
            credentials=creds,
            settings=self.engine.settings,
            push=push,
            certs_dir=self.certs_dir,
            tls_verify=tls_verify,
        )

    def _setting(self, key: str, default: int) -> int:
        value = self.engine.settings.extra.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidArgument(f"settings: {key!r} must be a positive integer")
        return value

    def blob_sources(self) -> BlobSources:
        """Which repositories of which registries are known to hold which blobs (for cross-repository mounts)."""
        from dockyard.registry.sources import BlobSources

        return BlobSources(self.engine.store.db)

    def pull(
        self,
        ref: str,
        options: PullOptions = PullOptions(),
        progress: ProgressSink | None = None,
        *,
        credentials: AuthConfig | None = None,
    ) -> PullReport:
        """Pull ``NAME[:TAG|@DIGEST]`` (or every tag of ``NAME`` with ``all_tags``) into the store.

        Errors found before anything is emitted (bad reference, ``manifest unknown``, ``unauthorized``) are raised
        as they are; later ones too, after the events that were emitted so far.
        """
        from dockyard.engine.events import record as record_event
        from dockyard.oci.descriptor import Platform
        from dockyard.oci.reference import parse_reference
        from dockyard.registry.progress import downloaded_newer, image_up_to_date
        from dockyard.registry.pull import DEFAULT_DOWNLOADS, ImagePuller, PullResult

        reference = parse_reference(ref)
        if options.all_tags:
            if reference.tag is not None or reference.digest is not None:
                raise InvalidArgument("tag can't be used with --all-tags/-a")
        else:
            reference = reference.with_default_tag()
        platform = Platform.parse(options.platform) if options.platform else None
        sink = _serialized(progress)
        concurrency = self._setting("max-concurrent-downloads", DEFAULT_DOWNLOADS)
        store = self.engine.store
        results: list[PullResult] = []
        with self.registry_client(reference, credentials=credentials, tls_verify=options.tls_verify) as client:
            puller = ImagePuller(
                store, client, sink, platform=platform, concurrency=concurrency, sources=self.blob_sources()
            )
            targets = [reference.with_tag(t) for t in client.list_tags()] if options.all_tags else [reference]
            for target in targets:
                results.append(puller.pull(puller.resolve(target)))
                record_event(self.engine.database, "image", "pull", target.familiar, {"name": target.familiar})
        updated = any(r.updated for r in results)
        sink((downloaded_newer if updated else image_up_to_date)(reference.familiar))
        last = results[-1] if results else None
        log.info("pulled %s", reference)
        return PullReport(
            str(reference),
            str(last.digest) if last else "",
            str(last.image.id) if last else "",
            updated,
        )

    def push(
        self,
        ref: str,
        options: PushOptions = PushOptions(),
        progress: ProgressSink | None = None,
        *,
        credentials: AuthConfig | None = None,
    ) -> PushReport:
        """Push the local image tagged ``NAME[:TAG]`` (every tag of ``NAME`` with ``all_tags``) to its registry."""
        from dockyard.engine.events import record as record_event
        from dockyard.oci.descriptor import Platform
        from dockyard.oci.reference import parse_reference
        from dockyard.registry.progress import push_refers_to
        from dockyard.registry.push import DEFAULT_UPLOADS, ImagePusher, PushResult

        reference = parse_reference(ref)
        if reference.digest is not None:
            raise InvalidArgument("cannot push a digest reference")
        if options.all_tags and reference.tag is not None:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        if not options.all_tags:
            reference = reference.with_default_tag()
        sink = _serialized(progress)
        sink(push_refers_to(reference.name))
        targets = self._push_targets(reference, options.all_tags)
        if options.platform:
            want = Platform.parse(options.platform)
            for target, record in targets:
                config = self.engine.images.load(record).config
                actual = Platform(config.os, config.architecture, config.variant)
                if not actual.matches(want):
                    raise NotFound(
                        f"image with reference {target.familiar} was found but does not match the specified "
                        f"platform: wanted {want}, actual: {actual}"
                    )
        concurrency = self._setting("max-concurrent-uploads", DEFAULT_UPLOADS)
        results: list[PushResult] = []
        with self.registry_client(
            reference, push=True, credentials=credentials, tls_verify=options.tls_verify
        ) as client:
            pusher = ImagePusher(self.engine.store, client, sink, concurrency=concurrency, sources=self.blob_sources())
            for target, record in targets:
                results.append(pusher.push(target, record))
                record_event(self.engine.database, "image", "push", target.familiar, {"name": target.familiar})
        last = results[-1]
        log.info("pushed %s", reference)
        return PushReport(str(reference), str(last.digest), last.size)

    def _push_targets(self, reference: Reference, all_tags: bool) -> list[tuple[Reference, ImageRecord]]:
        """The (tag, image) pairs to push, in Docker's words when there are none."""
        images = self.engine.store.images
        named = sorted(
            ((tag, record) for record in images.all() for tag in record.tags if tag.name == reference.name),
            key=lambda pair: str(pair[0]),
        )
        if not named:
            raise NotFound(f"An image does not exist locally with the tag: {reference.familiar_name}")
        if all_tags:
            return named
        record = images.by_tag(reference)
        if record is None:
            raise NotFound(f"tag does not exist: {reference.familiar}")
        return [(reference, record)]


def _discard(event: ProgressEvent) -> None:
    pass


def _serialized(progress: ProgressSink | None) -> ProgressSink:
    """The caller's sink, throttled and called by one thread at a time (layers report from worker threads)."""
    if progress is None:
        return _discard
    lock = threading.Lock()

    def locked(event: ProgressEvent) -> None:
        with lock:
            progress(event)

    return ProgressThrottle(locked)
