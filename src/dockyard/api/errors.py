"""The one place that maps dockyard errors to HTTP statuses (Docker's errdefs mapping)."""

from __future__ import annotations

from dockyard.errors import (
    AlreadyExists,
    Conflict,
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthorized,
    Unavailable,
)

__all__ = ["status_for"]


def status_for(exc: BaseException) -> int:
    """404 not found, 409 conflict, 400 invalid, 401 unauthorized, 503 unavailable, 500 for the rest."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, AlreadyExists | Conflict):
        return 409
    if isinstance(exc, InvalidArgument):
        return 400
    if isinstance(exc, Unauthorized):
        return 401
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, FailedPrecondition | DockyardError):
        return 500
    return 500
