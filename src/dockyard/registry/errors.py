"""Registry errors: distribution-spec error bodies and transport failures, in Docker's words.

A registry answers a failed request with ``{"errors": [{"code": "MANIFEST_UNKNOWN", "message": ..., "detail": ...}]}``.
Docker (distribution's ``errcode``) prints each error as ``<code in lower case, words>: <message>``, so the user
reads ``manifest unknown: manifest unknown`` or ``unauthorized: authentication required``. Failures that happen
while a request is being made (DNS, refused connection, TLS, a token server saying no) are printed the way Go's
``url.Error`` prints them: ``Get "http://127.0.0.1:5000/v2/": unauthorized: ...``.

Each error is one of the :mod:`dockyard.errors` classes, with ``status_code``, ``codes`` and ``retry_after`` kept
for callers that need them (the API server, retry logic).
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from dockyard.errors import (
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "ERROR_MESSAGES",
    "RegistryDenied",
    "RegistryError",
    "RegistryInvalid",
    "RegistryNotFound",
    "RegistryUnauthorized",
    "RegistryUnavailable",
    "RegistryUnsupported",
    "SpecError",
    "describe_transport_error",
    "error_from_response",
    "go_status",
    "parse_error_body",
    "url_error",
]

#: The codes distribution registers, with their default messages (``errcode.Register``).
ERROR_MESSAGES: dict[str, str] = {
    "UNKNOWN": "unknown error",
    "UNSUPPORTED": "The operation is unsupported.",
    "UNAUTHORIZED": "authentication required",
    "DENIED": "requested access to the resource is denied",
    "UNAVAILABLE": "service unavailable",
    "TOOMANYREQUESTS": "too many requests",
    "DIGEST_INVALID": "provided digest did not match uploaded content",
    "SIZE_INVALID": "provided length did not match content length",
    "NAME_INVALID": "invalid repository name",
    "TAG_INVALID": "manifest tag did not match URI",
    "NAME_UNKNOWN": "repository name not known to registry",
    "MANIFEST_UNKNOWN": "manifest unknown",
    "MANIFEST_INVALID": "manifest invalid",
    "MANIFEST_UNVERIFIED": "manifest failed signature verification",
    "MANIFEST_BLOB_UNKNOWN": "blob unknown to registry",
    "BLOB_UNKNOWN": "blob unknown to registry",
    "BLOB_UPLOAD_UNKNOWN": "blob upload unknown to registry",
    "BLOB_UPLOAD_INVALID": "blob upload invalid",
    "PAGINATION_NUMBER_INVALID": "invalid number of results requested",
    "RANGE_INVALID": "invalid content range",
}


class RegistryError(DockyardError):
    """Mixin data for every registry error: HTTP status, spec codes, Retry-After seconds."""

    status_code: int | None = None
    codes: tuple[str, ...] = ()
    retry_after: float | None = None


class RegistryUnauthorized(RegistryError, Unauthorized):
    """401 / UNAUTHORIZED, a token server refusing the credentials, or no credentials where some are needed."""


class RegistryDenied(RegistryError, Unauthorized):
    """403 / DENIED: authenticated, but not allowed to do that."""


class RegistryNotFound(RegistryError, NotFound):
    """MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN, ... or a bare 404."""


class RegistryInvalid(RegistryError, InvalidArgument):
    """The registry rejected what we sent (MANIFEST_INVALID, DIGEST_INVALID, NAME_INVALID, ...)."""


class RegistryUnsupported(RegistryError, FailedPrecondition):
    """UNSUPPORTED / 405: the registry does not offer the operation (deletes disabled, ...)."""


class RegistryUnavailable(RegistryError, Unavailable):
    """5xx, 429 TOOMANYREQUESTS, or the registry could not be reached."""


@dataclass(frozen=True)
class SpecError:
    """One entry of a distribution-spec error body."""

    code: str
    message: str
    detail: str | None = None

    def __str__(self) -> str:
        code = self.code if self.code in ERROR_MESSAGES else "UNKNOWN"
        words = code.replace("_", " ").lower()
        return f"{words}: {self.message or ERROR_MESSAGES[code]}"


def parse_error_body(body: bytes) -> list[SpecError] | None:
    """The spec errors in ``body``, or None if it is not a spec error document (or lists none)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    # Some token servers answer {"details": "..."} (handled like distribution's parseHTTPErrorResponse).
    details = obj.get("details")
    if isinstance(details, str) and details:
        return [SpecError("", details)]
    entries = obj.get("errors")
    if not isinstance(entries, list) or not entries:
        return None
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        detail = entry.get("detail")
        out.append(
            SpecError(
                code=str(entry.get("code") or "UNKNOWN").upper(),
                message=str(entry.get("message") or ""),
                detail=None if detail is None else json.dumps(detail, separators=(",", ":")),
            )
        )
    return out or None


def _go_json_error(text: str) -> str:
    """Roughly what Go's encoding/json says about a body that is not a spec error document."""
    if not text.strip():
        return "unexpected end of JSON input"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        pos = exc.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        char = text[pos] if pos < len(text) else ""
        if exc.msg.startswith("Extra data"):
            return f"invalid character {char!r} after top-level value"
        if char:
            return f"invalid character {char!r} looking for beginning of value"
        return "unexpected end of JSON input"
    return "no error details found in HTTP response body"


def go_status(status_code: int) -> str:
    """``401 Unauthorized`` — Go's ``resp.Status``."""
    try:
        return f"{status_code} {HTTPStatus(status_code).phrase}"
    except ValueError:
        return str(status_code)


_CLASS_BY_CODE: dict[str, type[RegistryError]] = {
    "UNAUTHORIZED": RegistryUnauthorized,
    "DENIED": RegistryDenied,
    "TOOMANYREQUESTS": RegistryUnavailable,
    "UNAVAILABLE": RegistryUnavailable,
    "UNSUPPORTED": RegistryUnsupported,
    "NAME_UNKNOWN": RegistryNotFound,
    "MANIFEST_UNKNOWN": RegistryNotFound,
    "BLOB_UNKNOWN": RegistryNotFound,
    "BLOB_UPLOAD_UNKNOWN": RegistryNotFound,
}


def _class_for(status_code: int, codes: Sequence[str]) -> type[RegistryError]:
    for code in codes:
        if code in _CLASS_BY_CODE:
            return _CLASS_BY_CODE[code]
    if status_code == 401:
        return RegistryUnauthorized
    if status_code == 403:
        return RegistryDenied
    if status_code == 404:
        return RegistryNotFound
    if status_code == 405:
        return RegistryUnsupported
    if status_code == 429 or status_code >= 500:
        return RegistryUnavailable
    return RegistryInvalid


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def error_from_response(
    status_code: int,
    body: bytes,
    *,
    retry_after: str | None = None,
    challenge_error: tuple[str, str] | None = None,
) -> RegistryError:
    """The error for an unsuccessful response, worded like distribution's ``HandleErrorResponse``.

    ``challenge_error`` is the ``(error, error_description)`` of a Bearer challenge (RFC 6750), which Docker
    reports before the body: ``invalid_token`` -> unauthorized, ``insufficient_scope`` -> denied.
    """
    errors: list[SpecError] = []
    if challenge_error is not None and 400 <= status_code < 500:
        kind, description = challenge_error
        code = {"invalid_token": "UNAUTHORIZED", "insufficient_scope": "DENIED"}.get(kind)
        if code:
            errors.append(SpecError(code, description or ERROR_MESSAGES[code]))
    parsed = parse_error_body(body) if 400 <= status_code < 500 else None
    if parsed:
        if parsed[0].code == "" and len(parsed) == 1:
            code = {401: "UNAUTHORIZED", 429: "TOOMANYREQUESTS"}.get(status_code, "UNKNOWN")
            parsed = [SpecError(code, parsed[0].message)]
        errors.extend(parsed)
    if errors:
        if len(errors) == 1:
            message = str(errors[0])
        else:
            message = "errors:\n" + "\n".join(str(e) for e in errors)
    elif status_code == 401:
        message = str(SpecError("UNAUTHORIZED", ""))
    elif 400 <= status_code < 500:
        text = body.decode("utf-8", "replace")
        if status_code == 429 and text.strip():
            message = str(SpecError("TOOMANYREQUESTS", text.strip()))
        else:
            message = f"error parsing HTTP {status_code} response body: {_go_json_error(text)}: {json.dumps(text)}"
    else:
        message = f"received unexpected HTTP status: {go_status(status_code)}"
    codes = tuple(e.code for e in errors)
    cls = _class_for(status_code, codes)
    wait = _retry_after(retry_after)
    hint = None
    if status_code == 429 or "TOOMANYREQUESTS" in codes:
        hint = f"the registry asks to retry after {wait:.0f} seconds" if wait is not None else "retry later"
    err = cls(message, hint)
    err.status_code = status_code
    err.codes = codes
    err.retry_after = wait
    return err


def _go_op(method: str) -> str:
    return method[:1].upper() + method[1:].lower()


def url_error(method: str, url: str, cause: str) -> str:
    """Go's ``url.Error`` text: ``Get "https://host/v2/": <cause>``."""
    return f'{_go_op(method)} "{url}": {cause}'


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def describe_transport_error(exc: BaseException, host: str) -> str:
    """A failure to talk to ``host`` (``name:port``), in the words Go's net/http would use."""
    import httpx

    for e in _chain(exc):
        if isinstance(e, socket.gaierror):
            return f"dial tcp: lookup {host.rsplit(':', 1)[0] if host.count(':') == 1 else host}: no such host"
        if isinstance(e, ConnectionRefusedError) or (isinstance(e, OSError) and e.errno == errno.ECONNREFUSED):
            return f"dial tcp {host}: connect: connection refused"
        if isinstance(e, ssl.SSLCertVerificationError):
            reason = e.verify_message or str(e)
            if "unable to get local issuer" in reason or "self-signed" in reason or "self signed" in reason:
                reason = "certificate signed by unknown authority"
            return f"tls: failed to verify certificate: x509: {reason}"
        if isinstance(e, ssl.SSLError) and ("WRONG_VERSION_NUMBER" in str(e) or "record layer failure" in str(e)):
            return "http: server gave HTTP response to HTTPS client"
    text = str(exc) or type(exc).__name__
    if "Name or service not known" in text or "Temporary failure in name resolution" in text:
        return f"dial tcp: lookup {host.rsplit(':', 1)[0]}: no such host"
    if "Connection refused" in text:
        return f"dial tcp {host}: connect: connection refused"
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return "http: server gave HTTP response to HTTPS client"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"dial tcp {host}: i/o timeout"
    if isinstance(exc, httpx.TimeoutException):
        return "net/http: timeout awaiting response headers"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"unexpected EOF ({text})"
    return text
