"""Distribution service: login/logout, registry credentials, and (next) pull and push.

``login`` checks the credentials against the registry (ping ``/v2/``, then Basic or the Bearer token exchange)
**before** saving them to ``~/.docker/config.json`` (or the configured credential helper), so the docker CLI and
dockyard share logins. ``authenticate`` only checks them — what the Docker API's ``POST /auth`` does (the daemon
keeps nothing). ``logout`` erases the server's credentials under every key an older client may have used.

The progress event types are re-exported here so that the CLI and the API server need import nothing below the
engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import FailedPrecondition
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
    from dockyard.oci.reference import Reference
    from dockyard.registry.auth import AuthConfig, DockerConfigFile
    from dockyard.registry.client import RegistryClient
    from dockyard.registry.login import LoginStatus

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
    quiet: bool = False


@dataclass(frozen=True)
class PushOptions:
    all_tags: bool = False
    platform: str | None = None
    quiet: bool = False


@dataclass(frozen=True)
class PullReport:
    reference: str
    """The fully qualified reference pulled (``127.0.0.1:5000/pango/get-started:part2``), printed at the end."""
    digest: str = ""


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
        self, reference: Reference, *, push: bool = False, credentials: AuthConfig | None = None
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
        )

    def pull(
        self,
        ref: str,
        options: PullOptions = PullOptions(),
        progress: ProgressSink | None = None,
        *,
        credentials: AuthConfig | None = None,
    ) -> PullReport:
        """Pull an image into the store, reporting progress events. (Orchestration comes with the image store.)"""
        raise FailedPrecondition("pull: not implemented yet")

    def push(
        self,
        ref: str,
        options: PushOptions = PushOptions(),
        progress: ProgressSink | None = None,
        *,
        credentials: AuthConfig | None = None,
    ) -> PushReport:
        """Push an image from the store, reporting progress events. (Orchestration comes with the image store.)"""
        raise FailedPrecondition("push: not implemented yet")
