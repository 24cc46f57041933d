"""Helpers for build tests: contexts on disk, a look into the store, and checks that nothing is left behind."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.support.service import api_service_process


def _free_block() -> ipaddress.IPv4Network:
    from dockyard.network.ipam import host_routes

    used = [net for _dev, net in host_routes()]
    blocks = list(ipaddress.IPv4Network("10.72.0.0/14").subnets(new_prefix=20))
    random.shuffle(blocks)
    for block in blocks:
        if not any(block.overlaps(u) for u in used):
            return block
    raise RuntimeError("no free test subnet")


@pytest.fixture(autouse=True)
def build_network(state_root: Path) -> Iterator[None]:
    """RUN steps use the default bridge: give each test root its own subnet, and remove the root's bridge, nft
    table and namespaces afterwards (even when the test failed)."""
    block = _free_block()
    subnets = list(block.subnets(new_prefix=24))
    config_path = state_root / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    config["bip"] = f"{subnets[0].network_address + 1}/24"
    config["default-address-pools"] = [{"base": str(s), "size": 24} for s in subnets[1:]]
    config_path.write_text(json.dumps(config))
    try:
        yield
    finally:
        from dockyard.network.manager import NetworkManager
        from dockyard.settings import load_settings

        manager = NetworkManager(load_settings(state_root))
        try:
            manager.destroy_all()
        finally:
            manager.close()


def set_setting(root: Path, key: str, value: object) -> None:
    path = root / "config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    config[key] = value
    path.write_text(json.dumps(config))


def write_context(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    d = tmp_path / "context"
    d.mkdir()
    return d


def image_config(cli: Cli, name: str) -> dict[str, object]:
    data = json.loads(cli("inspect", name).stdout)
    item = data[0] if isinstance(data, list) else data
    assert isinstance(item, dict)
    return item


def raw_config(root: Path, name: str) -> dict[str, object]:
    """The stored image config blob (the JSON whose digest is the image ID)."""
    from dockyard.engine import Engine
    from dockyard.settings import load_settings

    engine = Engine(load_settings(root))
    try:
        return json.loads(engine.images.get(name).config_bytes)  # type: ignore[no-any-return]
    finally:
        engine.store.db.close()


def layer_dirs(root: Path, name: str) -> list[Path]:
    """The image's unpacked layer directories, base first."""
    from dockyard.engine import Engine
    from dockyard.settings import load_settings

    engine = Engine(load_settings(root))
    try:
        image = engine.images.get(name)
        return [layer.path for layer in reversed(engine.store.layers.chain(image.record.top_layer))]
    finally:
        engine.store.db.close()


def layer_tar_names(root: Path, name: str, index: int = -1) -> list[str]:
    """Member names of one of the image's layer blobs (the OCI tar that push and save use)."""
    import tarfile

    from dockyard.engine import Engine
    from dockyard.settings import load_settings

    engine = Engine(load_settings(root))
    try:
        image = engine.images.get(name)
        desc = image.manifest.layers[index]
        with engine.store.content.open(desc.digest) as f, tarfile.open(fileobj=f, mode="r|*") as t:
            return [m.name for m in t]
    finally:
        engine.store.db.close()


def read_in_image(root: Path, name: str, path: str) -> str | None:
    """A file's content as the image's merged view shows it (walking layers top first, honouring whiteouts)."""
    import stat

    for d in reversed(layer_dirs(root, name)):
        p = d / path.lstrip("/")
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return None
        return p.read_text(errors="replace")
    return None


def assert_nothing_left(root: Path) -> None:
    """No mounts, build snapshots, runc containers, network namespaces or work directories survive a build."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[1].startswith(str(root))]
    assert mounts == [], mounts
    active = root / "overlay" / "active"
    assert not active.exists() or sorted(os.listdir(active)) == [], os.listdir(active)
    runc_root = root / "run" / "runc"
    if runc_root.exists() and shutil.which("runc"):
        out = subprocess.run(
            ["runc", f"--root={runc_root}", "list", "-q"], capture_output=True, text=True, check=False
        ).stdout
        assert out.strip() == "", out
    netns = root / "run" / "netns"
    assert not netns.exists() or os.listdir(netns) == [], os.listdir(netns)
    tmp = root / "tmp"
    leftovers = [e for e in os.listdir(tmp) if e.startswith("build-")] if tmp.exists() else []
    assert leftovers == []


class ApiService:
    def __init__(self, root: Path, socket: Path, home: Path) -> None:
        self.root = root
        self.socket = socket
        self.home = home

    def docker(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        docker = shutil.which("docker")
        if docker is None:
            pytest.skip("the docker CLI is not installed")
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_CONFIG": str(self.home)}
        env.pop("DOCKER_BUILDKIT", None)
        proc = subprocess.run(
            [docker, *args], capture_output=True, text=True, env=env, timeout=300, cwd=cwd, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture
def api_service(state_root: Path, tmp_path: Path) -> Iterator[ApiService]:
    """``dockyard system service`` on a private socket, for the real docker CLI."""
    socket = tmp_path / "api.sock"
    with api_service_process(state_root, socket, tmp_path / "service.log"):
        home = tmp_path / "docker-config"
        home.mkdir()
        yield ApiService(state_root, socket, home)
