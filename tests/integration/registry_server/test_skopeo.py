"""Interoperability with a real client: ``skopeo copy`` pushes an OCI layout to dockyard's registry (Basic auth
over ``dockyard registry serve`` in a subprocess) and copies it back, byte for byte."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.registry_server.support import (
    PASSWORD,
    USER,
    client,
    make_htpasswd,
    oci_layout,
    server_process,
    sha,
    tar_layer,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed"),
]


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["skopeo", "--insecure-policy", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return proc


def test_skopeo_push_and_pull(tmp_path: Path) -> None:
    source = tmp_path / "source"
    layers = [tar_layer({"hello.txt": b"hello from dockyard\n"}), tar_layer({"bin/tool": b"\x7fELF" + b"x" * 5000})]
    manifest_digest = oci_layout(source, "1", layers)
    htpasswd = make_htpasswd(tmp_path / "htpasswd")
    with server_process(tmp_path / "storage", "--htpasswd", str(htpasswd)) as server:
        dest = f"docker://{server.host}/dockyard-test/x:1"
        creds = f"{USER}:{PASSWORD}"
        # Unauthenticated and wrong-password pushes fail.
        denied = skopeo("copy", "--dest-tls-verify=false", f"oci:{source}:1", dest, check=False)
        assert denied.returncode != 0 and ("401" in denied.stderr or "authentication required" in denied.stderr)
        wrong = skopeo(
            "copy", "--dest-tls-verify=false", "--dest-creds", f"{USER}:bad", f"oci:{source}:1", dest, check=False
        )
        assert wrong.returncode != 0
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{source}:1", dest)
        out = skopeo("inspect", "--tls-verify=false", "--creds", creds, "--raw", dest).stdout
        assert sha(out.encode()) == manifest_digest  # stored byte for byte
        tags = skopeo("list-tags", "--tls-verify=false", "--creds", creds, f"docker://{server.host}/dockyard-test/x")
        assert json.loads(tags.stdout)["Tags"] == ["1"]
        # Pushing again finds every blob present.
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{source}:1", dest)
        # And back into a fresh layout.
        back = tmp_path / "back"
        skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, dest, f"oci:{back}:1")
        index = json.loads((back / "index.json").read_text())
        assert index["manifests"][0]["digest"] == manifest_digest
        for layer in layers:
            assert (back / "blobs" / "sha256" / sha(layer)[7:]).read_bytes() == layer
        # A second repository: skopeo mounts the blobs across.
        skopeo(
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            creds,
            "--dest-creds",
            creds,
            dest,
            f"docker://{server.host}/dockyard-test/copy:2",
        )
        with client(server.url, auth=(USER, PASSWORD)) as c:
            assert c.get("/v2/_catalog").json()["repositories"] == ["dockyard-test/copy", "dockyard-test/x"]
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(20) == 0  # SIGTERM: a clean, graceful exit


def test_skopeo_anonymous_pull(tmp_path: Path) -> None:
    source = tmp_path / "source"
    oci_layout(source, "latest", [tar_layer({"a": b"a"})])
    htpasswd = make_htpasswd(tmp_path / "htpasswd")
    args = ("--htpasswd", str(htpasswd), "--allow-anonymous-pull")
    with server_process(tmp_path / "storage", *args) as server:
        dest = f"docker://{server.host}/pub/img:latest"
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{PASSWORD}", f"oci:{source}:latest", dest)
        skopeo("copy", "--src-tls-verify=false", dest, f"oci:{tmp_path / 'anon'}:latest")
        assert (tmp_path / "anon" / "index.json").exists()
