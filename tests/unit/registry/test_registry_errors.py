"""Spec error bodies and transport failures become dockyard errors in Docker's words."""

from __future__ import annotations

import json
import socket
import ssl

import httpx
import pytest

from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthorized, Unavailable
from dockyard.registry.errors import (
    RegistryDenied,
    RegistryNotFound,
    RegistryUnauthorized,
    RegistryUnavailable,
    describe_transport_error,
    error_from_response,
    go_status,
    parse_error_body,
    url_error,
)


def body(*errors: dict[str, object]) -> bytes:
    return json.dumps({"errors": list(errors)}).encode()


def test_manifest_unknown_reads_like_docker() -> None:
    err = error_from_response(
        404, body({"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "nope"}})
    )
    assert isinstance(err, RegistryNotFound) and isinstance(err, NotFound)
    assert err.message == "manifest unknown: manifest unknown"
    assert err.codes == ("MANIFEST_UNKNOWN",)
    assert err.status_code == 404


@pytest.mark.parametrize(
    ("status", "code", "message", "cls", "text"),
    [
        (401, "UNAUTHORIZED", "authentication required", Unauthorized, "unauthorized: authentication required"),
        (
            403,
            "DENIED",
            "requested access to the resource is denied",
            RegistryDenied,
            "denied: requested access to the resource is denied",
        ),
        (
            404,
            "NAME_UNKNOWN",
            "repository name not known to registry",
            NotFound,
            "name unknown: repository name not known to registry",
        ),
        (404, "BLOB_UNKNOWN", "blob unknown to registry", NotFound, "blob unknown: blob unknown to registry"),
        (400, "MANIFEST_INVALID", "manifest invalid", InvalidArgument, "manifest invalid: manifest invalid"),
        (
            400,
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
            InvalidArgument,
            "digest invalid: provided digest did not match uploaded content",
        ),
        (
            405,
            "UNSUPPORTED",
            "The operation is unsupported.",
            FailedPrecondition,
            "unsupported: The operation is unsupported.",
        ),
        (400, "SOMETHING_NEW", "odd", InvalidArgument, "unknown: odd"),
        (400, "NAME_INVALID", "", InvalidArgument, "name invalid: invalid repository name"),
    ],
)
def test_codes_map_to_classes_and_words(status: int, code: str, message: str, cls: type, text: str) -> None:
    err = error_from_response(status, body({"code": code, "message": message}))
    assert isinstance(err, cls)
    assert err.message == text


def test_too_many_requests_is_plain_with_retry_after() -> None:
    msg = "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading"
    err = error_from_response(429, body({"code": "TOOMANYREQUESTS", "message": msg}), retry_after="21")
    assert isinstance(err, RegistryUnavailable) and isinstance(err, Unavailable)
    assert err.message == f"toomanyrequests: {msg}"
    assert err.retry_after == 21.0
    assert err.hint == "the registry asks to retry after 21 seconds"


def test_several_errors_are_listed() -> None:
    err = error_from_response(
        400,
        body(
            {"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"},
            {"code": "MANIFEST_INVALID", "message": "manifest invalid"},
        ),
    )
    assert err.message == "errors:\nblob unknown: blob unknown to registry\nmanifest invalid: manifest invalid"
    assert isinstance(err, NotFound)


def test_bodies_that_are_not_spec_errors() -> None:
    err = error_from_response(404, b"404 page not found\n")
    assert isinstance(err, NotFound)
    assert err.message == (
        "error parsing HTTP 404 response body: invalid character 'p' after top-level value: \"404 page not found\\n\""
    )
    assert error_from_response(401, b"").message == "unauthorized: authentication required"
    assert error_from_response(401, b"<html>").message == "unauthorized: authentication required"
    assert error_from_response(500, b"oops").message == "received unexpected HTTP status: 500 Internal Server Error"
    assert error_from_response(503, b"").message == "received unexpected HTTP status: 503 Service Unavailable"
    assert isinstance(error_from_response(502, b""), Unavailable)
    assert error_from_response(418, b"").message == (
        'error parsing HTTP 418 response body: unexpected end of JSON input: ""'
    )


def test_token_server_details_body() -> None:
    err = error_from_response(401, b'{"details":"incorrect username or password"}')
    assert isinstance(err, RegistryUnauthorized)
    assert err.message == "unauthorized: incorrect username or password"


def test_bearer_challenge_errors_come_first() -> None:
    err = error_from_response(403, b"", challenge_error=("insufficient_scope", ""))
    assert isinstance(err, RegistryDenied)
    assert err.message == "denied: requested access to the resource is denied"
    err = error_from_response(401, b"", challenge_error=("invalid_token", "token expired"))
    assert err.message == "unauthorized: token expired"


def test_parse_error_body() -> None:
    assert parse_error_body(b"nope") is None
    assert parse_error_body(b'{"errors": []}') is None
    got = parse_error_body(body({"code": "blob_unknown", "message": "m", "detail": {"d": 1}}))
    assert got is not None and got[0].code == "BLOB_UNKNOWN" and got[0].detail == '{"d":1}'


def test_go_wording_helpers() -> None:
    assert go_status(401) == "401 Unauthorized"
    assert go_status(599) == "599"
    assert url_error("GET", "http://127.0.0.1:5000/v2/", "unauthorized: x") == (
        'Get "http://127.0.0.1:5000/v2/": unauthorized: x'
    )
    assert url_error("HEAD", "u", "c") == 'Head "u": c'


def _wrapped(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError(str(inner)) from inner
    except httpx.ConnectError as outer:
        return outer


def test_transport_errors_in_go_words() -> None:
    dns = _wrapped(socket.gaierror(-2, "Name or service not known"))
    assert describe_transport_error(dns, "nohost.invalid:5000") == "dial tcp: lookup nohost.invalid: no such host"
    refused = _wrapped(ConnectionRefusedError(111, "Connection refused"))
    assert describe_transport_error(refused, "127.0.0.1:1") == "dial tcp 127.0.0.1:1: connect: connection refused"
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    assert describe_transport_error(_wrapped(verify), "h:443") == (
        "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    )
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert describe_transport_error(_wrapped(wrong), "h:443") == "http: server gave HTTP response to HTTPS client"
