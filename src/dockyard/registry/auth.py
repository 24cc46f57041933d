"""``~/.docker/config.json``: registry credentials, read and written exactly as the docker CLI does.

The file lives in ``$DOCKER_CONFIG`` or ``~/.docker``. Credentials sit under ``auths`` keyed by server:
``https://index.docker.io/v1/`` for Docker Hub, ``host:port`` for anything else; ``auth`` is
``base64("user:password")``; an ``identitytoken`` replaces the password when a token server handed one out.
``credsStore`` names a ``docker-credential-<name>`` helper for every server and ``credHelpers`` one per server;
with a helper, ``auths`` keeps only an empty entry for the server. Keys this module does not know are written
back untouched (the docker CLI drops them; we keep them so neither tool loses the other's settings). The file is
replaced atomically, keeping the old file's mode and owner (``0600`` for a new file), in a ``0700`` directory.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.registry.credhelper import (
    HELPER_PREFIX,
    TOKEN_USERNAME,
    HelperCredentials,
    HelperRunner,
    helper_erase,
    helper_get,
    helper_store,
    run_helper,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "INDEX_SERVER",
    "AuthConfig",
    "CredentialStore",
    "DockerConfigFile",
    "FileCredentialStore",
    "HelperCredentialStore",
    "config_dir",
    "convert_to_hostname",
    "credentials_key",
    "is_docker_hub",
    "login_server_key",
]

log = logging.getLogger(__name__)

INDEX_SERVER = "https://index.docker.io/v1/"
DEFAULT_NAMESPACE = "docker.io"
CONFIG_FILE_NAME = "config.json"
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


@dataclass(frozen=True)
class AuthConfig:
    """Credentials for one registry (Docker's ``types.AuthConfig``)."""

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""
    email: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def __repr__(self) -> str:  # never print secrets
        secret = "<set>" if (self.password or self.identity_token or self.registry_token) else ""
        return f"AuthConfig(username={self.username!r}, server_address={self.server_address!r}, secret={secret!r})"


def config_dir() -> Path:
    """``$DOCKER_CONFIG``, else ``~/.docker`` (home from ``$HOME``, like Go's ``os.UserHomeDir``)."""
    env = os.environ.get("DOCKER_CONFIG")
    if env:
        return Path(env)
    return Path(os.path.expanduser("~")) / ".docker"


def convert_to_hostname(maybe_url: str) -> str:
    """``https://host:5000/v2/`` -> ``host:5000``; ``host:5000/x`` -> ``host:5000`` (docker's ConvertToHostname)."""
    if "://" in maybe_url:
        with contextlib.suppress(ValueError):
            parts = urlsplit(maybe_url)
            if parts.hostname:
                host = parts.hostname
                if ":" in host:
                    host = f"[{host}]"
                return f"{host}:{parts.port}" if parts.port is not None else host
    return maybe_url.split("/", 1)[0]


def is_docker_hub(host: str) -> bool:
    """Docker Hub under any of its names (``docker.io``, ``index.docker.io``, ``registry-1.docker.io``)."""
    return host == INDEX_SERVER or convert_to_hostname(host).lower() in _HUB_NAMES


def credentials_key(registry_host: str) -> str:
    """The ``auths`` key credentials for a registry host are stored under (``getAuthConfigKey``)."""
    return INDEX_SERVER if is_docker_hub(registry_host) else registry_host


def login_server_key(server: str | None) -> str:
    """What ``login``/``logout`` store under for the server the user typed (empty means Docker Hub)."""
    if not server or is_docker_hub(server):
        return INDEX_SERVER
    return convert_to_hostname(server)


def _decode_auth(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"illegal base64 data in auth: {exc}") from exc
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise InvalidArgument("Invalid auth configuration file")
    return user, password.strip("\x00")


def _encode_auth(username: str, password: str) -> str:
    if not username and not password:
        return ""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


class CredentialStore(Protocol):
    """Where a server's credentials live: the config file itself, or a credential helper."""

    def get(self, server: str) -> AuthConfig: ...

    def store(self, auth: AuthConfig) -> None: ...

    def erase(self, server: str) -> None: ...

    @property
    def is_file_store(self) -> bool: ...


class DockerConfigFile:
    """A loaded ``config.json``. ``auths`` entries are kept raw and decoded on demand."""

    def __init__(self, path: Path, data: dict[str, object] | None = None, *, runner: HelperRunner = run_helper):
        self.path = path
        self.data: dict[str, object] = dict(data or {})
        auths = self.data.get("auths")
        self._auths: dict[str, dict[str, object]] = {}
        if isinstance(auths, dict):
            for key, entry in auths.items():
                self._auths[str(key)] = dict(entry) if isinstance(entry, dict) else {}
        self.runner = runner

    @classmethod
    def load(cls, directory: Path | None = None, *, runner: HelperRunner = run_helper) -> DockerConfigFile:
        """Load ``<dir>/config.json`` (default :func:`config_dir`); a missing file is an empty config."""
        path = (directory or config_dir()) / CONFIG_FILE_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, runner=runner)
        except OSError as exc:
            raise InvalidArgument(f"{path}: {exc.strerror}") from exc
        if not text.strip():
            return cls(path, runner=runner)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"{path}: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidArgument(f"{path}: expected a JSON object")
        return cls(path, data, runner=runner)

    # -- settings -------------------------------------------------------------------------------------------

    @property
    def credentials_store(self) -> str:
        value = self.data.get("credsStore")
        return value if isinstance(value, str) else ""

    @property
    def credential_helpers(self) -> dict[str, str]:
        value = self.data.get("credHelpers")
        if not isinstance(value, dict):
            return {}
        return {str(k): str(v) for k, v in value.items()}

    def contains_auth(self) -> bool:
        return bool(self.credentials_store or self.credential_helpers or self._auths)

    def auth_keys(self) -> list[str]:
        return list(self._auths)

    def helper_for(self, server: str) -> str:
        """The helper for ``server``: its ``credHelpers`` entry, else ``credsStore``, else the platform default."""
        helpers = self.credential_helpers
        if server and server in helpers:
            return helpers[server]
        if self.credentials_store:
            return self.credentials_store
        if not self.contains_auth():
            return _detect_default_store()
        return ""

    def store_for(self, server: str) -> CredentialStore:
        helper = self.helper_for(server)
        if helper:
            return HelperCredentialStore(self, helper)
        return FileCredentialStore(self)

    # -- high level -----------------------------------------------------------------------------------------

    def get_auth(self, server: str) -> AuthConfig:
        """Credentials for a server key (``credentials_key(host)`` or what login stored), empty if none."""
        env = os.environ.get("DOCKER_AUTH_CONFIG")
        if env:
            with contextlib.suppress(InvalidArgument, ValueError):
                data = json.loads(env)
                if isinstance(data, dict):
                    found = DockerConfigFile(self.path, data).file_get(server)
                    if not found.empty:
                        return found
        return self.store_for(server).get(server)

    def store_auth(self, auth: AuthConfig) -> None:
        self.store_for(auth.server_address).store(auth)

    def erase_auth(self, server: str) -> None:
        self.store_for(server).erase(server)

    # -- the plain-file store -------------------------------------------------------------------------------

    def _decode(self, key: str, entry: dict[str, object]) -> AuthConfig:
        def s(name: str) -> str:
            v = entry.get(name)
            return v if isinstance(v, str) else ""

        username, password = s("username"), s("password")
        if s("auth"):
            username, password = _decode_auth(s("auth"))
        return AuthConfig(
            username=username,
            password=password,
            server_address=key,
            identity_token=s("identitytoken"),
            registry_token=s("registrytoken"),
            email=s("email"),
        )

    def file_get(self, server: str) -> AuthConfig:
        entry = self._auths.get(server)
        if entry is not None:
            return self._decode(server, entry)
        # Legacy keys (https://host/v1/ ...): compare by host name, as docker does.
        for key, other in self._auths.items():
            if convert_to_hostname(key) == server:
                return self._decode(key, other)
        return AuthConfig(server_address=server)

    def file_set(self, auth: AuthConfig) -> bool:
        """Record ``auth`` under its server address; False when nothing changed (docker skips the write then)."""
        old = self._auths.get(auth.server_address)
        entry: dict[str, object] = {}
        encoded = _encode_auth(auth.username, auth.password)
        if encoded:
            entry["auth"] = encoded
        if auth.email:
            entry["email"] = auth.email
        if auth.identity_token:
            entry["identitytoken"] = auth.identity_token
        if auth.registry_token:
            entry["registrytoken"] = auth.registry_token
        known = {"auth", "username", "password", "email", "serveraddress", "identitytoken", "registrytoken"}
        if old is not None:
            entry.update({k: v for k, v in old.items() if k not in known})
            if old == entry:
                return False
        self._auths[auth.server_address] = entry
        return True

    def file_remove(self, server: str) -> bool:
        return self._auths.pop(server, None) is not None

    # -- writing --------------------------------------------------------------------------------------------

    def to_json(self) -> str:
        """Docker's layout: ``auths`` first, tab indentation, Go's HTML escaping, no trailing newline."""
        out: dict[str, object] = {"auths": self._auths}
        for key, value in self.data.items():
            if key == "auths":
                continue
            if key == "HttpHeaders" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if str(k).lower() != "user-agent"}
            out[key] = value
        text = json.dumps(out, indent="\t", ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    def save(self) -> None:
        """Replace the file atomically, keeping a symlink's target and the old file's mode and owner."""
        self.data["auths"] = self._auths
        target = self.path
        with contextlib.suppress(OSError):
            target = Path(os.path.realpath(self.path))
        directory = target.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=target.name)
        try:
            try:
                view = memoryview(self.to_json().encode("utf-8"))
                while view:
                    view = view[os.write(fd, view) :]
                try:
                    st = os.stat(target)
                except FileNotFoundError:
                    os.fchmod(fd, 0o600)
                else:
                    os.fchmod(fd, st.st_mode & 0o7777)
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, st.st_uid, st.st_gid)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise FailedPrecondition(f"write {target}: {exc.strerror}") from exc
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def __iter__(self) -> Iterator[str]:
        return iter(self._auths)


def _detect_default_store() -> str:
    """Docker's ``DetectDefaultStore`` on Linux: ``pass`` if set up, else ``secretservice`` if installed."""
    pass_ready = shutil.which("pass") is not None and (Path(os.path.expanduser("~")) / ".password-store").is_dir()
    name = "pass" if pass_ready else "secretservice"
    return name if shutil.which(HELPER_PREFIX + name) else ""


class FileCredentialStore:
    """Credentials kept in ``config.json`` itself (base64, unencrypted)."""

    is_file_store = True

    def __init__(self, config: DockerConfigFile) -> None:
        self.config = config

    def get(self, server: str) -> AuthConfig:
        return self.config.file_get(server)

    def store(self, auth: AuthConfig) -> None:
        if self.config.file_set(auth):
            self.config.save()

    def erase(self, server: str) -> None:
        if self.config.file_remove(server):
            self.config.save()


class HelperCredentialStore:
    """Credentials kept by ``docker-credential-<helper>``; the file keeps an empty entry (and the e-mail)."""

    is_file_store = False

    def __init__(self, config: DockerConfigFile, helper: str) -> None:
        self.config = config
        self.helper = helper

    def get(self, server: str) -> AuthConfig:
        base = self.config.file_get(server)
        creds = helper_get(self.helper, server, self.config.runner)
        if creds is None:
            return replace(base, username="", password="", identity_token="", server_address=server)
        if creds.username == TOKEN_USERNAME:
            return replace(base, username="", password="", identity_token=creds.secret, server_address=server)
        return replace(base, username=creds.username, password=creds.secret, identity_token="", server_address=server)

    def store(self, auth: AuthConfig) -> None:
        if auth.identity_token:
            creds = HelperCredentials(auth.server_address, TOKEN_USERNAME, auth.identity_token)
        else:
            creds = HelperCredentials(auth.server_address, auth.username, auth.password)
        helper_store(self.helper, creds, self.config.runner)
        FileCredentialStore(self.config).store(
            AuthConfig(server_address=auth.server_address, email=auth.email, registry_token=auth.registry_token)
        )

    def erase(self, server: str) -> None:
        helper_erase(self.helper, server, self.config.runner)
        FileCredentialStore(self.config).erase(server)
