"""``dockyard image ls`` with 200 images and ``dockyard --help``: median wall time, beside Docker's.

Run as root: ``.venv/bin/python bench/image_ls.py``. Creates a temporary state root with 200 images
(and, when dockerd is running, 200 images in Docker, removed afterwards).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DOCKYARD, docker_available, median, report, time_command

N = 200


def tiny_tar(i: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = f"image {i}\n".encode()
        info = tarfile.TarInfo(f"file{i}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def populate(root: Path) -> None:
    from dockyard.engine import Engine
    from dockyard.engine.archive import import_rootfs
    from dockyard.settings import load_settings

    engine = Engine(load_settings(root))
    tmp = root / "src"
    tmp.mkdir()
    for i in range(N):
        p = tmp / f"{i}.tar"
        p.write_bytes(tiny_tar(i))
        import_rootfs(engine, str(p), f"bench/image{i}:v{i % 7}")


def main() -> None:
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        populate(root)
        env = {"DOCKYARD_ROOT": str(root)}
        out = subprocess.run(
            [DOCKYARD, "image", "ls", "-q"],
            env={**__import__("os").environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert len(out) == N, len(out)
        rows.append(("dockyard image ls (200)", median(time_command([DOCKYARD, "image", "ls"], 15, env))))
        rows.append(("dockyard --help", median(time_command([DOCKYARD, "--help"], 15, env))))
    if docker_available():
        ids = []
        for i in range(N):
            r = subprocess.run(
                ["docker", "import", "-", f"dybench/image{i}:v1"], input=tiny_tar(i), capture_output=True, check=True
            )
            ids.append(r.stdout.decode().strip())
        try:
            rows.append(("docker image ls (200+)", median(time_command(["docker", "image", "ls"], 15))))
            rows.append(("docker --help", median(time_command(["docker", "--help"], 15))))
        finally:
            subprocess.run(["docker", "rmi", "-f", *ids], capture_output=True)
    else:
        print("(docker is not running: no side-by-side figures)")
    report("image ls / --help, median wall time", rows, baseline="docker image ls (200+)" if len(rows) > 2 else None)


if __name__ == "__main__":
    main()
