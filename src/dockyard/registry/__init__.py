"""Registry client: credentials (``~/.docker/config.json``), transport (TLS, retries, Basic/Bearer), the distribution
API (manifests, blobs with resume, uploads, mounts, tags), login, and typed progress events.

Names are loaded lazily so that importing the progress events does not import ``httpx``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.registry.auth import (
        DEFAULT_NAMESPACE,
        INDEX_SERVER,
        AuthConfig,
        CredentialStore,
        DockerConfigFile,
        config_dir,
        convert_to_hostname,
        credentials_key,
        is_docker_hub,
        login_server_key,
    )
    from dockyard.registry.challenge import Challenge, parse_challenge, parse_challenges
    from dockyard.registry.client import RegistryClient
    from dockyard.registry.endpoints import Endpoint, is_insecure_registry, lookup_endpoints
    from dockyard.registry.errors import (
        RegistryDenied,
        RegistryError,
        RegistryInvalid,
        RegistryNotFound,
        RegistryUnauthorized,
        RegistryUnavailable,
        RegistryUnsupported,
    )
    from dockyard.registry.login import LOGIN_SUCCEEDED, LoginStatus, verify_login
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
    from dockyard.registry.pull import ImagePuller, PullResult
    from dockyard.registry.push import ImagePusher, PushResult
    from dockyard.registry.responses import (
        MANIFEST_MEDIA_TYPES,
        BlobWriter,
        ManifestResponse,
        ProgressCallback,
        UploadResult,
    )
    from dockyard.registry.sources import BlobSources
    from dockyard.registry.tokens import RegistryAuth
    from dockyard.registry.transport import PingResult, RetryPolicy

_WHERE = {
    "AuthConfig": "auth",
    "BlobSources": "sources",
    "BlobWriter": "responses",
    "BuildAux": "progress",
    "BuildOutput": "progress",
    "Challenge": "challenge",
    "CredentialStore": "auth",
    "DEFAULT_NAMESPACE": "auth",
    "DockerConfigFile": "auth",
    "Endpoint": "endpoints",
    "INDEX_SERVER": "auth",
    "ImagePuller": "pull",
    "ImagePusher": "push",
    "LOGIN_SUCCEEDED": "login",
    "LayerProgress": "progress",
    "LayerStatus": "progress",
    "LoginStatus": "login",
    "MANIFEST_MEDIA_TYPES": "responses",
    "ManifestResponse": "responses",
    "PingResult": "transport",
    "PullResult": "pull",
    "PushResult": "push",
    "ProgressCallback": "responses",
    "ProgressError": "progress",
    "ProgressEvent": "progress",
    "ProgressSink": "progress",
    "ProgressThrottle": "progress",
    "PushAux": "progress",
    "RegistryAuth": "tokens",
    "RegistryClient": "client",
    "RegistryDenied": "errors",
    "RegistryError": "errors",
    "RegistryInvalid": "errors",
    "RegistryNotFound": "errors",
    "RegistryUnauthorized": "errors",
    "RegistryUnavailable": "errors",
    "RegistryUnsupported": "errors",
    "RetryPolicy": "transport",
    "StatusMessage": "progress",
    "UploadResult": "responses",
    "config_dir": "auth",
    "convert_to_hostname": "auth",
    "credentials_key": "auth",
    "decode_json_message": "progress",
    "encode_json_line": "progress",
    "is_docker_hub": "auth",
    "is_insecure_registry": "endpoints",
    "login_server_key": "auth",
    "lookup_endpoints": "endpoints",
    "parse_challenge": "challenge",
    "parse_challenges": "challenge",
    "render_progress": "progress",
    "verify_login": "login",
}

__all__ = [
    "DEFAULT_NAMESPACE",
    "INDEX_SERVER",
    "LOGIN_SUCCEEDED",
    "MANIFEST_MEDIA_TYPES",
    "AuthConfig",
    "BlobSources",
    "BlobWriter",
    "BuildAux",
    "BuildOutput",
    "Challenge",
    "CredentialStore",
    "DockerConfigFile",
    "Endpoint",
    "ImagePuller",
    "ImagePusher",
    "LayerProgress",
    "LayerStatus",
    "LoginStatus",
    "ManifestResponse",
    "PingResult",
    "ProgressCallback",
    "ProgressError",
    "ProgressEvent",
    "ProgressSink",
    "ProgressThrottle",
    "PullResult",
    "PushAux",
    "PushResult",
    "RegistryAuth",
    "RegistryClient",
    "RegistryDenied",
    "RegistryError",
    "RegistryInvalid",
    "RegistryNotFound",
    "RegistryUnauthorized",
    "RegistryUnavailable",
    "RegistryUnsupported",
    "RetryPolicy",
    "StatusMessage",
    "UploadResult",
    "config_dir",
    "convert_to_hostname",
    "credentials_key",
    "decode_json_message",
    "encode_json_line",
    "is_docker_hub",
    "is_insecure_registry",
    "login_server_key",
    "lookup_endpoints",
    "parse_challenge",
    "parse_challenges",
    "render_progress",
    "verify_login",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dockyard.registry.{module}"), name)
    globals()[name] = value
    return value
