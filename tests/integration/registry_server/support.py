"""Helpers for the registry server tests: a server in a subprocess or in a thread, htpasswd files, OCI layouts,
and a spec client (plain httpx)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dockyard.registry.server import RegistryConfig, RegistryThread

USER = "alice"
PASSWORD = "s3cret-pw"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
START_TIMEOUT = 20.0


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def unique(prefix: str = "t") -> str:
    return f"{prefix}/repo-{os.getpid()}-{os.urandom(3).hex()}"


def make_htpasswd(path: Path, users: dict[str, str] | None = None) -> Path:
    lines = []
    for user, password in (users or {USER: PASSWORD}).items():
        out = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, check=True, text=True)
        lines.append(out.stdout.strip())
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class ServerProcess:
    """``dockyard registry serve`` in a subprocess on a free loopback port."""

    storage: Path
    args: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = None
    url: str = ""
    output: list[str] = field(default_factory=list)
    log_path: Path | None = None

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path is not None and self.log_path.exists() else ""

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "dockyard", "registry", "serve", "--addr", "127.0.0.1:0"]
        cmd += ["--storage", str(self.storage), *self.args]
        self.log_path = self.storage.parent / f"{self.storage.name}-server.log"
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if not line:
                    break
                self.output.append(line)
                if "listening on " in line:
                    self.url = line.split("listening on ", 1)[1].split()[0]
                    return self
            if self.process.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"registry did not start: {''.join(self.output)}\n{self.logs()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        code = self.process.returncode
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@contextlib.contextmanager
def server_process(storage: Path, *args: str) -> Iterator[ServerProcess]:
    server = ServerProcess(storage, tuple(args))
    try:
        yield server.start()
    finally:
        server.kill()


@contextlib.contextmanager
def server_thread(storage: Path, **options: object) -> Iterator[RegistryThread]:
    config = RegistryConfig(storage=storage, port=0, **options)  # type: ignore[arg-type]
    with RegistryThread(config) as registry:
        yield registry


def client(url: str, auth: tuple[str, str] | None = None, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=url, auth=auth, timeout=timeout)


def push_blob(c: httpx.Client, repo: str, data: bytes) -> str:
    digest = sha(data)
    r = c.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert r.status_code == 201, r.text
    return digest


def image(layers: list[bytes], config: bytes | None = None, media_type: str = OCI_MANIFEST) -> tuple[bytes, bytes]:
    """(config, manifest) of an image made of ``layers``."""
    config = config or json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    docker = media_type == DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json" if docker else OCI_CONFIG,
            "digest": sha(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker else OCI_LAYER,
                "digest": sha(layer),
                "size": len(layer),
            }
            for layer in layers
        ],
    }
    return config, json.dumps(manifest).encode()


def push_image(c: httpx.Client, repo: str, tag: str, layers: list[bytes], media_type: str = OCI_MANIFEST) -> str:
    config, manifest = image(layers, media_type=media_type)
    for blob in [config, *layers]:
        push_blob(c, repo, blob)
    r = c.put(f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"Content-Type": media_type})
    assert r.status_code == 201, r.text
    return sha(manifest)


def tar_layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buf.getvalue(), mtime=0)


def oci_layout(directory: Path, tag: str, layers: list[bytes]) -> str:
    """An OCI image layout (as ``skopeo copy oci:DIR:TAG`` reads) holding one image; its manifest digest."""
    config, manifest = image(layers)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in [config, manifest, *layers]:
        (blobs / sha(blob)[7:]).write_bytes(blob)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return sha(manifest)


def blob_files(storage: Path) -> set[str]:
    """The digests of the blobs committed in a storage directory."""
    root = storage / "blobs"
    return {f"{p.parent.parent.name}:{p.name}" for p in root.glob("*/*/*") if p.is_file()}


def errors(response: httpx.Response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]
