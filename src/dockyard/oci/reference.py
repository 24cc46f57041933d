"""Image references, parsed and normalised exactly as Docker does.

``friendlyhello`` -> ``docker.io/library/friendlyhello:latest``; ``pango/get-started:part2`` ->
``docker.io/pango/get-started:part2``; ``localhost:5000/x`` keeps its domain. A *ref* is the string a user
typed; a :class:`Reference` is its parsed form. ``familiar`` gives back the short form Docker prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "LEGACY_DEFAULT_DOMAIN",
    "Reference",
    "is_short_id_candidate",
    "parse_reference",
]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")
_ID_RE = re.compile(r"^[a-f0-9]{64}$")
NAME_TOTAL_LENGTH_MAX = 255


@dataclass(frozen=True)
class Reference:
    """A normalised reference: always a domain and a path; a tag, a digest, both, or neither."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """``docker.io/library/busybox`` — the repository, fully qualified."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """``busybox``, ``pango/get-started``, ``localhost:5000/x`` — the repository as Docker prints it."""
        if self.domain == DEFAULT_DOMAIN:
            if self.path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in self.path[len(OFFICIAL_REPO_PREFIX) :]:
                return self.path[len(OFFICIAL_REPO_PREFIX) :]
            return self.path
        return self.name

    def with_default_tag(self) -> Reference:
        """Adds ``:latest`` when neither tag nor digest is given (``TagNameOnly``)."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self

    def with_tag(self, tag: str) -> Reference:
        if not _TAG_RE.match(tag):
            raise InvalidArgument(f"invalid tag format: {tag!r}")
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest) -> Reference:
        return replace(self, tag=None, digest=digest)

    def repository(self) -> Reference:
        return replace(self, tag=None, digest=None)

    @property
    def familiar(self) -> str:
        return self._render(self.familiar_name)

    def _render(self, name: str) -> str:
        out = name
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def __str__(self) -> str:
        return self._render(self.name)


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    if i == -1 or (not any(c in name[:i] for c in ".:") and name[:i] != "localhost" and name[:i].lower() == name[:i]):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = name[:i], name[i + 1 :]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_reference(ref: str) -> Reference:
    """Parse and normalise a user's ref (``ParseNormalizedNamed``). Raises InvalidArgument in Docker's words."""
    if not ref:
        raise InvalidArgument("invalid reference format")
    if _ID_RE.match(ref):
        raise InvalidArgument(f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    rest = ref
    digest: Digest | None = None
    if "@" in rest:
        rest, _, dgst = rest.partition("@")
        if not _DIGEST_RE.match(dgst):
            raise InvalidArgument("invalid reference format")
        try:
            digest = Digest.parse(dgst)
        except InvalidArgument:
            raise InvalidArgument("invalid reference format") from None
    tag: str | None = None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidArgument("invalid reference format")
    domain, path = _split_domain(rest)
    if not _DOMAIN_RE.match(domain):
        raise InvalidArgument("invalid reference format")
    if not _PATH_RE.match(path):
        if path.lower() != path and _PATH_RE.match(path.lower()):
            raise InvalidArgument("invalid reference format: repository name must be lowercase")
        raise InvalidArgument("invalid reference format")
    if len(domain) + 1 + len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    return Reference(domain, path, tag, digest)


def is_short_id_candidate(value: str) -> bool:
    """Could ``value`` be an (abbreviated) image or container ID? Hex, at most 64 long."""
    return 0 < len(value) <= 64 and all(c in "0123456789abcdef" for c in value)
