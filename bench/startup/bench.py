"""Start-up and hot-path benchmarks (issues 3, 4 and 5), dockyard side by side with Docker and Podman.

    python bench/startup/bench.py [--runs 15] [--only run,detached,ps,port,build,help,images]
                                  [--no-docker] [--no-podman] [--base-root DIR] [--against SRC]

Rows (each a whole command as a user types it, wall time from exec to exit):

* ``run``       ``run --rm busybox true`` -- target: at most half of Docker's median;
* ``detached``  20 x ``run -d busybox sleep 600``, one after another and all at once -- target: at most 1.5 s;
* ``ps``        ``ps`` with 100 containers running -- target: under 50 ms;
* ``port``      ``run -d -p PORT:80 busybox httpd``, until the first HTTP answer on 127.0.0.1:PORT -- target 0.2 s;
* ``build``     a fully cached ``build`` of the tutorial app -- target: no slower than Docker's;
* ``help``, ``images``  ``--help`` and ``images`` -- as low as possible.

dockyard runs as installed (``.venv/bin/dockyard``, bytecode and the dataclass compile cache built, as
``scripts/install.sh`` does) in a throw-away root (busybox bootstrapped, its own bridge subnet). Docker runs as a
private ``dockerd`` (own data root, socket and containerd namespace, no iptables changes; stopped afterwards) and
Podman in its own storage root (``--runtime runc``, ulimits this host allows), both with the same busybox image.
The build row needs ``python:3.11-slim``: taken from ``--base-root`` (a dockyard root that has it, e.g.
``/var/lib/dockyard`` after the demo), else made with ``recipes/build.sh``; Docker and Podman build the same
context (``--network host``: the private dockerd has no bridge). ``--against SRC`` adds a column for another
checkout's ``src`` (``PYTHONPATH``) on the same root: before/after comparisons on one machine in one run.

Run as root. Figures and ratios only: nothing here asserts a timing. The host is shared: expect +-20 %.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "bench" / "containers"))
sys.path.insert(0, str(REPO / "bench" / "build"))

from _common import (  # noqa: E402  (bench/containers: roots, podman)
    PODMAN_RUN_FLAGS,
    Dockyard,
    Podman,
    _free_subnet,
    busybox_tar,
    dockyard_root,
    private_podman,
)

ENTRY = REPO / ".venv" / "bin" / "dockyard"
N_DETACHED = 20
N_PS = 100
HTTPD = ["sh", "-c", "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www"]


class Tool:
    """How to run one engine's CLI: argv prefix and environment."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}

    def cmd(self, *args: str) -> list[str]:
        return [*self.argv, *args]

    def __call__(self, *args: str, check: bool = True, cwd: Path | None = None) -> str:
        proc = subprocess.run(self.cmd(*args), env=self.env, capture_output=True, text=True, cwd=cwd)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)}: {proc.stderr.strip()[-500:]}")
        return proc.stdout

    def timed(self, *args: str, cwd: Path | None = None) -> float:
        start = time.perf_counter()
        proc = subprocess.run(self.cmd(*args), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              cwd=cwd)  # fmt: skip
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)}: {proc.stderr.decode().strip()[-500:]}")
        return elapsed

    def remove_all(self) -> None:
        """Every container of this engine gone (in batches, each bounded: a wedged daemon must not hang the run)."""
        ids = self("ps", "-aq", check=False).split()
        for start in range(0, len(ids), 20):
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(self.cmd("rm", "-f", *ids[start : start + 20]), env=self.env, capture_output=True,
                               timeout=120)  # fmt: skip


@contextlib.contextmanager
def private_docker(busybox: bytes) -> Iterator[Tool | None]:
    """A private dockerd (own data root, socket, containerd namespace and bridge: other engineers' dockerds on this
    host use docker0; no iptables changes) with busybox loaded; stopped and removed afterwards."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-startup-dockerd-"))
    bridge = f"dybs{os.getpid() % 100000}"
    subnet = _free_subnet()
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", f"{subnet.network_address + 1}/{subnet.prefixlen}", "dev", bridge], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    socket_path = tmp / "docker.sock"
    args = ["dockerd", f"--host=unix://{socket_path}", f"--data-root={tmp / 'data'}", f"--exec-root={tmp / 'exec'}",
            f"--pidfile={tmp / 'docker.pid'}", f"--bridge={bridge}", "--iptables=false", "--ip-forward=false",
            "--ip-masq=false", "--storage-driver=overlay2", f"--containerd-namespace=dystart{os.getpid()}",
            f"--containerd-plugins-namespace=dystartp{os.getpid()}"]  # fmt: skip
    log = open(tmp / "dockerd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    docker = Tool("docker", ["docker"], {"DOCKER_HOST": f"unix://{socket_path}"})
    try:
        deadline = time.time() + 60
        while proc.poll() is None and subprocess.run(docker.cmd("version"), env=docker.env,
                                                     capture_output=True).returncode != 0:  # fmt: skip
            if time.time() > deadline:
                break
            time.sleep(0.2)
        if proc.poll() is not None:
            print(f"(dockerd did not start: {(tmp / 'dockerd.log').read_text()[-500:]})")
            yield None
            return
        subprocess.run(docker.cmd("load"), input=busybox, env=docker.env, capture_output=True, check=True)
        yield docker
    finally:
        with contextlib.suppress(Exception):
            docker.remove_all()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()
        with open("/proc/self/mounts") as f:
            points = [line.split()[1] for line in f if line.split()[1].startswith(str(tmp))]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _helpers(warm_dir: Path) -> list[int]:
    """PIDs of the warm helpers serving ``warm_dir``."""
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if b"dockyard.cli.warm" in cmdline and str(warm_dir).encode() in cmdline:
                found.append(int(entry))
    return found


@contextlib.contextmanager
def private_warm_helper() -> Iterator[Path]:
    """A socket directory of the run's own for dockyard's warm helper (started by the first command, as a user's
    would be); the helper is stopped afterwards."""
    warm_dir = Path(tempfile.mkdtemp(prefix="dyw-bench-", dir="/tmp"))
    try:
        yield warm_dir
    finally:
        for pid in _helpers(warm_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(warm_dir, ignore_errors=True)


def helper_memory(warm_dir: Path) -> None:
    """What the lingering helper costs: its resident and proportional set sizes."""
    for pid in _helpers(warm_dir):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
            print(f"\n## warm helper {pid}: RSS {fields['Rss'].strip()}, PSS {fields['Pss'].strip()}")


def dockyard_tool(dy: Dockyard, name: str = "dockyard", src: str | None = None) -> Tool:
    argv = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-m", "dockyard"]
    env = {"DOCKYARD_ROOT": str(dy.root)}
    if src:
        env["PYTHONPATH"] = src
    return Tool(name, argv, env)


# -- measurements -------------------------------------------------------------------------------------------------
def interleaved(tools: Sequence[Tool], runs: int, once: Callable[[Tool], float], warmup: int = 2) -> dict[str, float]:
    """Median per tool, runs interleaved (A, B, C, A, B, C...) so a busy moment hits every tool alike."""
    for tool in tools:
        for _ in range(warmup):
            once(tool)
    times: dict[str, list[float]] = {t.name: [] for t in tools}
    for _ in range(runs):
        for tool in tools:
            times[tool.name].append(once(tool))
    return {name: statistics.median(values) for name, values in times.items()}


def first_answer(port: int, deadline: float) -> float:
    request = b"GET / HTTP/1.0\r\n\r\n"
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1."):
                    return time.perf_counter()
        except OSError:
            time.sleep(0.001)
    raise TimeoutError("no HTTP answer in time")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def run_row(tools: Sequence[Tool], runs: int) -> dict[str, float]:
    def once(tool: Tool) -> float:
        extra = PODMAN_RUN_FLAGS if tool.name == "podman" else []
        return tool.timed("run", "--rm", *extra, "busybox", "true")

    return interleaved(tools, runs, once)


def detached_row(tools: Sequence[Tool], rounds: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for tool in tools:
        extra = PODMAN_RUN_FLAGS if tool.name == "podman" else []
        argv = tool.cmd("run", "-d", *extra, "busybox", "sleep", "600")
        seq, par = [], []
        for _ in range(rounds):
            tool.remove_all()
            start = time.perf_counter()
            for _ in range(N_DETACHED):
                subprocess.run(argv, env=tool.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            seq.append(time.perf_counter() - start)
            tool.remove_all()
            start = time.perf_counter()
            procs = [subprocess.Popen(argv, env=tool.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for _ in range(N_DETACHED)]  # fmt: skip
            for p in procs:
                p.wait()
            par.append(time.perf_counter() - start)
        tool.remove_all()
        out[f"{tool.name} sequential"] = statistics.median(seq)
        out[f"{tool.name} parallel"] = statistics.median(par)
    return out


def ps_row(tools: Sequence[Tool], runs: int, count: int = N_PS) -> dict[str, float]:
    for tool in tools:
        tool.remove_all()
        extra = PODMAN_RUN_FLAGS if tool.name == "podman" else []
        for _ in range(count):
            tool("run", "-d", *extra, "busybox", "sleep", "3600")
    try:
        return interleaved(tools, runs, lambda tool: tool.timed("ps"))
    finally:
        for tool in tools:
            tool.remove_all()


def port_row(tools: Sequence[Tool], runs: int) -> dict[str, float]:
    def once(tool: Tool) -> float:
        port = free_port()
        extra = PODMAN_RUN_FLAGS if tool.name == "podman" else []
        start = time.perf_counter()
        cid = tool("run", "-d", *extra, "-p", f"{port}:80", "busybox", *HTTPD).strip()
        try:
            return first_answer(port, time.perf_counter() + 10) - start
        finally:
            tool("rm", "-f", cid, check=False)

    return interleaved(tools, runs, once, warmup=1)


def simple_row(tools: Sequence[Tool], runs: int, *args: str) -> dict[str, float]:
    return interleaved(tools, runs, lambda tool: tool.timed(*args))


# -- the build row --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def build_setup(dy: Tool, base_root: str | None, docker: Tool | None, podman: Tool | None) -> Iterator[Path]:
    """The tutorial's context (pip trusting PyPI's hosts, as bench/build does), built once by each tool."""
    from build_bench import DOCKERFILE

    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-startup-build-"))
    try:
        ctx = tmp / "app"
        shutil.copytree(REPO / "examples" / "friendlyhello", ctx)
        (ctx / "Dockerfile").write_text(DOCKERFILE)
        if base_root:
            image = subprocess.run([str(ENTRY), "--root", base_root, "save", "python:3.11-slim"], capture_output=True,
                                   check=True).stdout  # fmt: skip
            subprocess.run(dy.cmd("load"), input=image, env=dy.env, capture_output=True, check=True)
        else:
            subprocess.run(["sh", str(REPO / "recipes" / "build.sh")], env={**dy.env, "DOCKYARD": str(ENTRY)},
                           check=True, capture_output=True)  # fmt: skip
            image = subprocess.run(dy.cmd("save", "python:3.11-slim"), env=dy.env, capture_output=True,
                                   check=True).stdout  # fmt: skip
        for other in (docker, podman):
            if other is not None:
                subprocess.run(other.cmd("load"), input=image, env=other.env, capture_output=True, check=True)
        yield ctx
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_row(tools: Sequence[Tool], runs: int, ctx: Path) -> dict[str, float]:
    def flags(tool: Tool) -> list[str]:
        return ["--layers", *PODMAN_RUN_FLAGS] if tool.name == "podman" else []

    for tool in tools:  # the cold build, once: the rest is the cache
        env = {**tool.env, "DOCKER_BUILDKIT": "0"}
        subprocess.run(tool.cmd("build", *flags(tool), "--network", "host", "-t", "friendlyhello", str(ctx)),
                       env=env, capture_output=True, check=True)  # fmt: skip
        tool.env = env
    return interleaved(tools, runs, lambda t: t.timed("build", *flags(t), "--network", "host", "-t", "friendlyhello",
                                                      str(ctx)))  # fmt: skip


# -- report ---------------------------------------------------------------------------------------------------------
def report(title: str, figures: dict[str, float], target: str = "") -> None:
    """The figures, each with its ratio to Docker's figure of the same kind (``... sequential``/``parallel``)."""
    print(f"\n## {title}" + (f"   (target: {target})" if target else ""))
    for name, value in figures.items():
        kind = name.rpartition(" ")[2] if name.endswith(("sequential", "parallel")) else ""
        docker = figures.get(f"docker {kind}".strip())
        ratio = f"   {value / docker:.2f}x docker" if docker and not name.startswith("docker") else ""
        print(f"  {name:<28} {value * 1000:9.1f} ms{ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 20-container figures")
    parser.add_argument("--only", default="run,detached,ps,port,build,help,images")
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--no-podman", action="store_true")
    parser.add_argument("--base-root", help="a dockyard root that has python:3.11-slim (for the build row)")
    parser.add_argument("--against", help="another checkout's src directory, measured as 'before'")
    parser.add_argument("--cold", action="store_true", help="add a column for dockyard without its warm helper")
    parser.add_argument("--ps-containers", type=int, default=N_PS, help="containers running for the ps row")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"load average before: {os.getloadavg()}", flush=True)
    with dockyard_root() as dy, contextlib.ExitStack() as stack:
        # what scripts/install.sh builds besides bytecode and the dataclass cache (dockyard_root makes those)
        subprocess.run([sys.executable, "-m", "dockyard.cli.helpcache"], capture_output=True, check=False)
        tar = busybox_tar(dy)
        docker: Tool | None = None if args.no_docker else stack.enter_context(private_docker(tar))
        podman_handle: Podman | None = None if args.no_podman else stack.enter_context(private_podman(tar))
        warm_dir = stack.enter_context(private_warm_helper())
        mine = dockyard_tool(dy)
        mine.env["DOCKYARD_WARM_DIR"] = str(warm_dir)
        tools = [mine]
        if args.cold:
            tools.append(dockyard_tool(dy, "dockyard cold"))
            tools[-1].env["DOCKYARD_WARM"] = "0"
        if args.against:
            tools.append(dockyard_tool(dy, "dockyard (before)", args.against))
        podman = Tool("podman", podman_handle.argv()) if podman_handle else None
        others = [t for t in (docker, podman) if t is not None]
        everyone = [*tools, *others]
        if "run" in only:
            report("run --rm busybox true", run_row(everyone, args.runs), "half of docker's median")
        if "detached" in only:
            report(f"{N_DETACHED} x run -d busybox sleep", detached_row(everyone, args.rounds), "1.5 s")
        if "ps" in only:
            report(f"ps with {args.ps_containers} running", ps_row(everyone, args.runs, args.ps_containers),
                   "under 50 ms")  # fmt: skip
        if "port" in only:
            report("run -d -p + busybox httpd, to the first HTTP answer", port_row(everyone, args.runs), "0.2 s")
        if "build" in only:
            with build_setup(mine, args.base_root, docker, podman) as ctx:
                report("fully cached build of the tutorial app", build_row(everyone, args.runs, ctx),
                       "docker's (0.05-0.07 s here)")  # fmt: skip
        if "help" in only:
            report("--help", simple_row(everyone, args.runs, "--help"))
        if "images" in only:
            report("images", simple_row(everyone, args.runs, "images"))
        helper_memory(warm_dir)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
