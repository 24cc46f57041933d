import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import Digest, parse_reference


@pytest.mark.parametrize(
    ("ref", "full", "familiar"),
    [
        ("friendlyhello", "docker.io/library/friendlyhello:latest", "friendlyhello:latest"),
        ("pango/get-started:part2", "docker.io/pango/get-started:part2", "pango/get-started:part2"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
        ("localhost/x:1", "localhost/x:1", "localhost/x:1"),
        (
            "127.0.0.1:5000/pango/get-started:part2",
            "127.0.0.1:5000/pango/get-started:part2",
            "127.0.0.1:5000/pango/get-started:part2",
        ),
        ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
        ("Example.com/a/b", "Example.com/a/b:latest", "Example.com/a/b:latest"),
        ("a.b/c_d__e-f.g/h:T.1-x", "a.b/c_d__e-f.g/h:T.1-x", "a.b/c_d__e-f.g/h:T.1-x"),
    ],
)
def test_normalisation(ref: str, full: str, familiar: str) -> None:
    parsed = parse_reference(ref).with_default_tag()
    assert str(parsed) == full
    assert parsed.familiar == familiar


def test_digest_reference() -> None:
    d = "sha256:" + "ab" * 32
    parsed = parse_reference(f"busybox@{d}")
    assert parsed.digest == Digest.parse(d)
    assert parsed.tag is None
    assert parsed.with_default_tag() is parsed
    both = parse_reference(f"busybox:1@{d}")
    assert both.tag == "1" and both.digest is not None


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("Foo:bar", "invalid reference format: repository name must be lowercase"),
        ("a:b:c", "invalid reference format"),
        ("", "invalid reference format"),
        ("x:", "invalid reference format"),
        ("x@sha256:abc", "invalid reference format"),
        ("-x", "invalid reference format"),
        ("x/", "invalid reference format"),
        ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
        ("x:" + "t" * 129, "invalid reference format"),
    ],
)
def test_invalid(ref: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_reference(ref)
    assert message in str(err.value)


def test_familiar_name_keeps_nested_library_paths() -> None:
    assert parse_reference("library/a/b").familiar_name == "library/a/b"
    assert parse_reference("busybox").familiar_name == "busybox"
