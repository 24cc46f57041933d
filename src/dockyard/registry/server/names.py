"""Repository names, tags and references as the distribution spec defines them."""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.registry.server.errors import ErrorCode, SpecError

__all__ = ["MAX_NAME_LENGTH", "NAME_RE", "TAG_RE", "parse_digest", "parse_reference", "validate_name"]

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
#: The spec's ``<name>``: path components of lower-case alphanumerics and single separators.
NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
#: The spec's ``<reference>`` when it is a tag.
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
_DIGEST_SHAPE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
#: distribution's ``RepositoryNameTotalLengthMax``.
MAX_NAME_LENGTH = 255


def validate_name(name: str) -> str:
    """``name`` if it is a valid repository name, else ``NAME_INVALID``."""
    if len(name) > MAX_NAME_LENGTH or not NAME_RE.match(name):
        raise SpecError(ErrorCode.NAME_INVALID, detail={"name": name})
    return name


def parse_digest(value: str) -> Digest:
    """A digest from a URL or query (``sha256:<hex>`` or ``sha512:<hex>``), else ``DIGEST_INVALID``."""
    try:
        return Digest.parse(value)
    except InvalidArgument:
        raise SpecError(ErrorCode.DIGEST_INVALID, "invalid digest", detail={"digest": value}) from None


def parse_reference(reference: str) -> str | Digest:
    """A tag (``str``) or a :class:`Digest`; ``TAG_INVALID`` / ``DIGEST_INVALID`` when neither."""
    if ":" in reference:
        if not _DIGEST_SHAPE.match(reference):
            raise SpecError(ErrorCode.DIGEST_INVALID, "invalid digest", detail={"digest": reference})
        return parse_digest(reference)
    if not TAG_RE.match(reference):
        raise SpecError(ErrorCode.TAG_INVALID, "invalid tag", detail={"tag": reference})
    return reference
