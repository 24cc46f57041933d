"""WWW-Authenticate parsing, as distribution's challenge package does it."""

from __future__ import annotations

from dockyard.registry.challenge import Challenge, parse_challenge, parse_challenges


def test_bearer_challenge_from_docker_hub() -> None:
    c = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"'
    )
    assert c == Challenge(
        "bearer",
        {
            "realm": "https://auth.docker.io/token",
            "service": "registry.docker.io",
            "scope": "repository:library/busybox:pull",
        },
    )
    assert (c.realm, c.service, c.scope) == (
        "https://auth.docker.io/token",
        "registry.docker.io",
        "repository:library/busybox:pull",
    )


def test_basic_challenge_and_case() -> None:
    assert parse_challenge('Basic realm="basic-realm"') == Challenge("basic", {"realm": "basic-realm"})
    assert parse_challenge('BASIC Realm="R"') == Challenge("basic", {"realm": "R"})


def test_spaces_unquoted_values_and_escapes() -> None:
    c = parse_challenge('Bearer  realm = "x" , service=reg.example.com,error="insufficient_scope",  note="a\\"b"')
    # Go's parser stops at "realm " (space before "="): nothing after it is read.
    assert c == Challenge("bearer", {})
    c = parse_challenge('Bearer realm="x",service=reg.example.com,error="insufficient_scope",note="a\\"b"')
    assert c is not None
    assert c.params == {"realm": "x", "service": "reg.example.com", "error": "insufficient_scope", "note": 'a"b'}


def test_garbage_and_multiple_headers() -> None:
    assert parse_challenge("") is None
    assert parse_challenge('"quoted"') is None
    got = parse_challenges(['Basic realm="a"', "", 'Bearer realm="b",service="s"'])
    assert [c.scheme for c in got] == ["basic", "bearer"]
    assert got[1].service == "s"
