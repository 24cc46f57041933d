"""The one error taxonomy of dockyard.

Every failure that reaches a user is a :class:`DockyardError` (or a subclass). Messages follow
"verb noun: cause" where the verb is known (``build: Dockerfile:3: unknown instruction: RNU``), or
Docker's own wording where Docker has one (``No such image: foo:latest``). ``hint`` carries what to do.

Only ``api/errors.py`` maps these to HTTP status codes, only ``cli`` maps them to exit codes.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "Conflict",
    "CorruptContent",
    "DockyardError",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "Unauthorized",
    "Unavailable",
]


class DockyardError(Exception):
    """Base of every error dockyard reports to a user."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotFound(DockyardError):
    """The named object (image, container, network, volume, blob, ...) does not exist."""


class AlreadyExists(DockyardError):
    """An object with that name or key exists already."""


class Conflict(DockyardError):
    """The request conflicts with the current state (image in use, container running, ...)."""


class InvalidArgument(DockyardError):
    """The user's input is malformed: a bad reference, flag value, Dockerfile, tar, ..."""


class FailedPrecondition(DockyardError):
    """The host or the object is not in a state that allows the operation (missing runc, no overlay...)."""


class Unauthorized(DockyardError):
    """A registry refused the credentials, or none were given where they are required."""


class Unavailable(DockyardError):
    """A remote service or a host resource could not be reached or is exhausted (disk full, registry down)."""


class CorruptContent(InvalidArgument):
    """Content failed its digest or size check, or an archive is damaged or hostile."""
