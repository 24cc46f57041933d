"""``WWW-Authenticate`` challenges (RFC 7235), parsed as distribution's ``challenge`` package does.

``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"``
becomes ``Challenge("bearer", {"realm": ..., "service": ..., "scope": ...})``. Scheme and parameter names are
lower-cased; values keep their case. One challenge per header value, as Go's parser reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Challenge", "parse_challenge", "parse_challenges"]

_SEPARATORS = ' \t"(),/:;<=>?@[]\\{}'
_SPACE = " \t\r\n"


def _is_token_char(c: str) -> bool:
    o = ord(c)
    return 32 < o < 127 and c not in _SEPARATORS


@dataclass(frozen=True)
class Challenge:
    """One authentication challenge: a lower-case scheme (``basic``, ``bearer``) and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")


def _skip_space(s: str) -> str:
    i = 0
    while i < len(s) and s[i] in _SPACE:
        i += 1
    return s[i:]


def _expect_token(s: str) -> tuple[str, str]:
    i = 0
    while i < len(s) and _is_token_char(s[i]):
        i += 1
    return s[:i], s[i:]


def _expect_token_or_quoted(s: str) -> tuple[str, str]:
    if not s.startswith('"'):
        return _expect_token(s)
    s = s[1:]
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == '"':
            return "".join(out), s[i + 1 :]
        if c == "\\":
            i += 1
            if i >= len(s):
                break
            out.append(s[i])
        else:
            out.append(c)
        i += 1
    return "", ""


def parse_challenge(header: str) -> Challenge | None:
    """Parse one header value; None when it does not start with a scheme token."""
    scheme, rest = _expect_token(header)
    if not scheme:
        return None
    params: dict[str, str] = {}
    rest = "," + _skip_space(rest)
    while rest.startswith(","):
        key, rest = _expect_token(_skip_space(rest[1:]))
        if not key or not rest.startswith("="):
            break
        value, rest = _expect_token_or_quoted(rest[1:])
        if not value:
            break
        params[key.lower()] = value
        rest = _skip_space(rest)
    return Challenge(scheme.lower(), params)


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """All challenges of a response's ``WWW-Authenticate`` header values."""
    out = []
    for value in headers:
        challenge = parse_challenge(value)
        if challenge is not None:
            out.append(challenge)
    return out
