"""Distribution-spec error responses: ``{"errors": [{"code": ..., "message": ..., "detail": ...}]}``.

Each code has distribution's default message and HTTP status (``registry/api/v2/errors.go`` and ``errcode``).
Handlers raise :class:`SpecError`; the application's middleware turns it into the JSON body (no body for HEAD).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum

from dockyard.errors import DockyardError

__all__ = ["Detail", "ErrorCode", "SpecError", "error_body"]


class ErrorCode(StrEnum):
    BLOB_UNKNOWN = "BLOB_UNKNOWN"
    BLOB_UPLOAD_INVALID = "BLOB_UPLOAD_INVALID"
    BLOB_UPLOAD_UNKNOWN = "BLOB_UPLOAD_UNKNOWN"
    DIGEST_INVALID = "DIGEST_INVALID"
    MANIFEST_BLOB_UNKNOWN = "MANIFEST_BLOB_UNKNOWN"
    MANIFEST_INVALID = "MANIFEST_INVALID"
    MANIFEST_UNKNOWN = "MANIFEST_UNKNOWN"
    NAME_INVALID = "NAME_INVALID"
    NAME_UNKNOWN = "NAME_UNKNOWN"
    SIZE_INVALID = "SIZE_INVALID"
    TAG_INVALID = "TAG_INVALID"
    UNAUTHORIZED = "UNAUTHORIZED"
    DENIED = "DENIED"
    UNSUPPORTED = "UNSUPPORTED"
    TOOMANYREQUESTS = "TOOMANYREQUESTS"
    PAGINATION_NUMBER_INVALID = "PAGINATION_NUMBER_INVALID"
    RANGE_INVALID = "RANGE_INVALID"
    UNAVAILABLE = "UNAVAILABLE"
    UNKNOWN = "UNKNOWN"

    @property
    def message(self) -> str:
        return _DEFAULTS[self][0]

    @property
    def status(self) -> int:
        return _DEFAULTS[self][1]


_DEFAULTS: dict[ErrorCode, tuple[str, int]] = {
    ErrorCode.BLOB_UNKNOWN: ("blob unknown to registry", 404),
    ErrorCode.BLOB_UPLOAD_INVALID: ("blob upload invalid", 400),
    ErrorCode.BLOB_UPLOAD_UNKNOWN: ("blob upload unknown to registry", 404),
    ErrorCode.DIGEST_INVALID: ("provided digest did not match uploaded content", 400),
    ErrorCode.MANIFEST_BLOB_UNKNOWN: ("blob unknown to registry", 400),
    ErrorCode.MANIFEST_INVALID: ("manifest invalid", 400),
    ErrorCode.MANIFEST_UNKNOWN: ("manifest unknown", 404),
    ErrorCode.NAME_INVALID: ("invalid repository name", 400),
    ErrorCode.NAME_UNKNOWN: ("repository name not known to registry", 404),
    ErrorCode.SIZE_INVALID: ("provided length did not match content length", 400),
    ErrorCode.TAG_INVALID: ("manifest tag did not match URI", 400),
    ErrorCode.UNAUTHORIZED: ("authentication required", 401),
    ErrorCode.DENIED: ("requested access to the resource is denied", 403),
    ErrorCode.UNSUPPORTED: ("The operation is unsupported.", 405),
    ErrorCode.TOOMANYREQUESTS: ("too many requests", 429),
    ErrorCode.PAGINATION_NUMBER_INVALID: ("invalid number of results requested", 400),
    ErrorCode.RANGE_INVALID: ("invalid content range", 416),
    ErrorCode.UNAVAILABLE: ("service unavailable", 503),
    ErrorCode.UNKNOWN: ("unknown error", 500),
}

#: JSON-serialisable detail values (``dict[str, Any]`` stays inside this package's JSON edge).
Detail = str | int | Mapping[str, object] | list[object] | None


class SpecError(DockyardError):
    """A request failed with a distribution-spec error code (and optional status, detail and headers)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        detail: Detail = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        more: tuple[SpecError, ...] = (),
    ) -> None:
        super().__init__(message or code.message)
        self.code = code
        self.detail = detail
        self.status = status or code.status
        self.headers: dict[str, str] = dict(headers or {})
        self.more = more  # further errors reported in the same body

    @property
    def body(self) -> bytes:
        return error_body(self, *self.more)


def error_body(*errors: SpecError) -> bytes:
    """The spec's JSON body for one or more errors."""
    return json.dumps(
        {"errors": [{"code": str(e.code), "message": e.message, "detail": e.detail} for e in errors]}
    ).encode()
