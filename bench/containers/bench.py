"""Container benchmarks of issue 3, side by side with Docker and Podman when they run here.

    python bench/containers/bench.py [--runs 15] [--only run,detached,monitor,ps]

* ``run``: ``run --rm busybox true`` (default bridge network, and ``--network none``) — target: half of Docker's.
* ``detached``: 20 ``run -d busybox sleep`` — one after another and all at once — target: at most 1.5 s.
* ``monitor``: RSS and unique memory of the per-container monitor (dockyard: conmon; Docker: containerd-shim).
* ``ps``: ``ps`` with 100 running containers — target: under 0.05 s.

Run as root. Everything runs in throw-away roots; a private dockerd is started and stopped; podman (if
installed) uses its own storage root. Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DOCKYARD,
    PODMAN_RUN_FLAGS,
    PYTHON,
    Docker,
    Dockyard,
    Podman,
    busybox_tar,
    dockyard_root,
    median,
    parallel,
    pids_named,
    private_docker,
    private_podman,
    repeat,
    report,
    rss_of,
    sequential,
    timed,
)

N_DETACHED = 20
N_PS = 100


def bench_run(dy: Dockyard, docker: Docker | None, podman: Podman | None, runs: int) -> None:
    rows = [("python3 -c pass (interpreter start)", median(repeat([PYTHON, "-c", "pass"], runs)))]
    rows.append(
        ("dockyard run --rm busybox true", median(repeat([*DOCKYARD, "run", "--rm", "busybox", "true"], runs, dy.env)))
    )
    rows.append(
        (
            "dockyard ... --network none",
            median(repeat([*DOCKYARD, "run", "--rm", "--network", "none", "busybox", "true"], runs, dy.env)),
        )
    )
    if docker is not None:
        rows.append(
            (
                "docker run --rm busybox true",
                median(repeat(docker.argv("run", "--rm", "busybox", "true"), runs, docker.env)),
            )
        )
        rows.append(
            (
                "docker ... --network none",
                median(repeat(docker.argv("run", "--rm", "--network", "none", "busybox", "true"), runs, docker.env)),
            )
        )
    if podman is not None:
        rows.append(
            (
                "podman run --rm busybox true",
                median(repeat(podman.argv("run", "--rm", *PODMAN_RUN_FLAGS, "busybox", "true"), runs)),
            )
        )
        rows.append(
            (
                "podman ... --network none",
                median(
                    repeat(podman.argv("run", "--rm", "--network", "none", *PODMAN_RUN_FLAGS, "busybox", "true"), runs)
                ),
            )
        )
    report("run --rm busybox true (median)", rows, "docker run --rm busybox true" if docker else None)


def _detached_round(argv: list[str], cleanup: list[str], env: dict[str, str] | None, at_once: bool) -> float:
    commands = [argv] * N_DETACHED
    took = parallel(commands, env) if at_once else sequential(commands, env)
    import subprocess

    ids = subprocess.run([*cleanup[:-1], "ps", "-aq"], env=env, capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run([*cleanup, *ids], env=env, capture_output=True)
    return took


def bench_detached(dy: Dockyard, docker: Docker | None, podman: Podman | None, rounds: int = 3) -> None:
    rows = []
    tools: list[tuple[str, list[str], list[str], dict[str, str] | None]] = [
        ("dockyard", [*DOCKYARD, "run", "-d", "busybox", "sleep", "1000"], [*DOCKYARD, "rm", "-f"], dy.env)
    ]
    if docker is not None:
        tools.append(
            ("docker", docker.argv("run", "-d", "busybox", "sleep", "1000"), docker.argv("rm", "-f"), docker.env)
        )
    if podman is not None:
        tools.append(
            (
                "podman",
                podman.argv("run", "-d", *PODMAN_RUN_FLAGS, "busybox", "sleep", "1000"),
                podman.argv("rm", "-f", "-t", "0"),
                None,
            )
        )
    for name, argv, cleanup, env in tools:
        for at_once in (False, True):
            took = median([_detached_round(argv, cleanup, env, at_once) for _ in range(rounds)])
            rows.append((f"{name}: {N_DETACHED} x run -d, {'all at once' if at_once else 'one after another'}", took))
    report(f"{N_DETACHED} detached containers (median of {rounds}, seconds shown as ms)", rows)


def bench_monitor(dy: Dockyard, docker: Docker | None, podman: Podman | None, count: int = 10) -> None:
    import subprocess

    rows: list[tuple[str, float]] = []

    def measure(name: str, pids: list[int]) -> None:
        if not pids:
            return
        samples = [rss_of(p) for p in pids]
        rows.append((f"{name} RSS per container (MB)", median([s[0] for s in samples]) / 1e6))
        rows.append((f"{name} unique per container (MB)", median([s[1] for s in samples]) / 1e6))

    for _ in range(count):
        dy("run", "-d", "busybox", "sleep", "1000")
    measure("dockyard monitor (conmon)", pids_named(b"conmon", str(dy.root).encode()))
    subprocess.run([*DOCKYARD, "rm", "-f", *dy("ps", "-aq").split()], env=dy.env, capture_output=True)
    if docker is not None:
        for _ in range(count):
            docker("run", "-d", "busybox", "sleep", "1000")
        shims = [p for p in pids_named(b"containerd-shim") if Path(f"/proc/{p}").exists()]
        measure("docker monitor (containerd-shim)", shims)
        docker("rm", "-f", *docker("ps", "-aq").split())
    if podman is not None:
        for _ in range(count):
            podman("run", "-d", *PODMAN_RUN_FLAGS, "busybox", "sleep", "1000")
        measure("podman monitor (conmon)", pids_named(b"conmon", str(podman.root).encode()))
        podman("rm", "-f", "-t", "0", *podman("ps", "-aq").split())
    report(f"monitor memory with {count} containers (median)", rows, unit="MB")


def bench_ps(dy: Dockyard, docker: Docker | None, podman: Podman | None, runs: int) -> None:
    import subprocess

    rows = [("python3 -c pass (interpreter start)", median(repeat([PYTHON, "-c", "pass"], runs)))]
    start = time.perf_counter()
    for _ in range(N_PS // 10):
        parallel([[*DOCKYARD, "run", "-d", "busybox", "sleep", "1000"]] * 10, dy.env)
    print(f"(started {N_PS} dockyard containers in {time.perf_counter() - start:.1f}s)")
    assert len(dy("ps", "-q").split()) == N_PS, dy("ps", "-a")
    rows.append((f"dockyard ps ({N_PS} running)", median(repeat([*DOCKYARD, "ps"], runs, dy.env))))
    rows.append(
        (
            f"dockyard ps -a --format json ({N_PS})",
            median(repeat([*DOCKYARD, "ps", "-a", "--format", "json"], runs, dy.env)),
        )
    )
    subprocess.run([*DOCKYARD, "rm", "-f", *dy("ps", "-aq").split()], env=dy.env, capture_output=True)
    if docker is not None:
        for _ in range(N_PS // 10):
            parallel([docker.argv("run", "-d", "busybox", "sleep", "1000")] * 10, docker.env)
        rows.append((f"docker ps ({N_PS} running)", median(repeat(docker.argv("ps"), runs, docker.env))))
        docker("rm", "-f", *docker("ps", "-aq").split())
    if podman is not None:
        for _ in range(N_PS // 10):
            parallel([podman.argv("run", "-d", *PODMAN_RUN_FLAGS, "busybox", "sleep", "1000")] * 10)
        rows.append((f"podman ps ({N_PS} running)", median(repeat(podman.argv("ps"), runs))))
        podman("rm", "-f", "-t", "0", *podman("ps", "-aq").split())
    report(f"ps with {N_PS} running containers (median)", rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default="run,detached,monitor,ps")
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--no-podman", action="store_true")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    with dockyard_root() as dy:
        image = busybox_tar(dy)
        timed([*DOCKYARD, "run", "--rm", "busybox", "true"], dy.env)  # warm caches
        docker_ctx = private_docker(image) if not args.no_docker else None
        podman_ctx = private_podman(image) if not args.no_podman else None
        from contextlib import ExitStack

        with ExitStack() as stack:
            docker = stack.enter_context(docker_ctx) if docker_ctx is not None else None
            podman = stack.enter_context(podman_ctx) if podman_ctx is not None else None
            print(f"docker: {'yes' if docker else 'no'}, podman: {'yes' if podman else 'no'}")
            if "run" in wanted:
                bench_run(dy, docker, podman, args.runs)
            if "detached" in wanted:
                bench_detached(dy, docker, podman)
            if "monitor" in wanted:
                bench_monitor(dy, docker, podman)
            if "ps" in wanted:
                bench_ps(dy, docker, podman, args.runs)


if __name__ == "__main__":
    main()
