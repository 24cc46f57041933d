"""``--host-ca`` (and ``"host-ca": true`` in config.json): the host's CA bundle read-only in RUN steps, with the
usual variables pointing at it — never in a layer, the image config or the cache key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.integration.build.conftest import layer_dirs, raw_config, read_in_image, set_setting, write_context

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/etc/ssl/certs/ca-certificates.crt").is_file(), reason="no host CA bundle"),
]

PROBE = (
    "FROM busybox\n"
    "RUN (test -f /run/dockyard/host-ca.crt && echo mounted || echo absent) > /ca; "
    "env | grep -E '^(SSL_CERT_FILE|REQUESTS_CA_BUNDLE|PIP_CERT|CURL_CA_BUNDLE|NODE_EXTRA_CA_CERTS)=' | sort > /vars; "
    "(echo x >> /run/dockyard/host-ca.crt 2>/dev/null && echo writable || echo read-only) > /rw\n"
)
VARS = "".join(
    f"{name}=/run/dockyard/host-ca.crt\n"
    for name in sorted(("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"))
)


def _assert_not_in_image(root: Path, name: str) -> None:
    config = raw_config(root, name)["config"]
    assert not any("host-ca" in e for e in config.get("Env", []))  # type: ignore[union-attr]
    for layer in layer_dirs(root, name):
        assert not (layer / "run" / "dockyard").exists(), layer


def test_off_by_default(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(ctx, {"Dockerfile": PROBE})
    cli("build", "-t", "probe", str(ctx))
    assert read_in_image(state_root, "probe", "/ca") == "absent\n"
    assert read_in_image(state_root, "probe", "/vars") == ""


def test_flag_mounts_the_bundle_for_run_only(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    write_context(ctx, {"Dockerfile": PROBE})
    cli("build", "--host-ca", "-t", "probe", str(ctx))
    assert read_in_image(state_root, "probe", "/ca") == "mounted\n"
    assert read_in_image(state_root, "probe", "/vars") == VARS
    assert read_in_image(state_root, "probe", "/rw") == "read-only\n"
    _assert_not_in_image(state_root, "probe")
    # not part of the cache key: the same build without the flag is fully cached
    assert "Using cache" in cli("build", "-t", "probe", str(ctx)).stdout


def test_setting_enables_it_and_the_flag_can_turn_it_off(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    set_setting(state_root, "host-ca", True)
    write_context(ctx, {"Dockerfile": PROBE})
    cli("build", "-t", "probe", str(ctx))
    assert read_in_image(state_root, "probe", "/ca") == "mounted\n"
    _assert_not_in_image(state_root, "probe")
    cli("build", "--no-cache", "--no-host-ca", "-t", "probe2", str(ctx))
    assert read_in_image(state_root, "probe2", "/ca") == "absent\n"


def test_image_without_run_directory_gets_none(cli: Cli, busybox: str, ctx: Path, state_root: Path) -> None:
    """busybox has no /run: the mount point lives in the step's init layer, so no /run appears in the image."""
    write_context(ctx, {"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
    cli("build", "--host-ca", "-t", "norun", str(ctx))
    top = layer_dirs(state_root, "norun")[-1]
    assert sorted(os.listdir(top)) == ["x"]
