"""RUN: one container per step, ``runc run`` in the foreground, its output streamed as it comes.

No monitor is needed: the build waits for the step anyway, so ``runc run`` (which creates, starts, waits for
and deletes the container) is the whole lifecycle. stdout and stderr share one pipe, in order. The container has
Docker's defaults (capabilities, seccomp, masked paths), the step's USER, WORKDIR and environment (image ENV,
build args in scope), hostname = its short ID, and a network: the default bridge, the host's, or none.

With ``--host-ca`` the host's CA bundle is bind-mounted read-only at :data:`HOST_CA_PATH` and the usual
variables point at it (``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, ``PIP_CERT``, ``CURL_CA_BUNDLE``,
``NODE_EXTRA_CA_CERTS``) — for this step only: nothing of it reaches the layer, the image config or the cache key.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.build.options import BuildNetwork
from dockyard.build.seams import NetworkInfo, NetworkSeam
from dockyard.errors import FailedPrecondition
from dockyard.runtime.bundle import write_bundle
from dockyard.runtime.errors import ContainerStartError, last_runtime_error, translate_runtime_error
from dockyard.runtime.etcfiles import write_etc_files
from dockyard.runtime.options import ContainerSpec, EtcFiles, Mount, Namespace
from dockyard.runtime.runc import Runc

__all__ = [
    "HOST_CA_ENV",
    "HOST_CA_PATH",
    "HOST_CA_SOURCE",
    "ContainerStartError",
    "NetworkInfo",
    "NetworkSeam",
    "RunRequest",
    "host_ca_environment",
    "mount_stubs",
    "run_container",
]

log = logging.getLogger(__name__)

HOST_CA_SOURCE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_CA_PATH = "/run/dockyard/host-ca.crt"
HOST_CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
# where runc mounts things: the init layer provides these when the image lacks them
_DEFAULT_STUBS: tuple[tuple[str, bool], ...] = (
    ("/proc", True),
    ("/sys", True),
    ("/dev", True),
    ("/etc/hosts", False),
    ("/etc/resolv.conf", False),
    ("/etc/hostname", False),
)


@dataclass(frozen=True)
class RunRequest:
    container_id: str
    rootfs: Path
    argv: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: str = ""
    network: BuildNetwork = BuildNetwork.DEFAULT
    host_ca: bool = False
    mounts: tuple[Mount, ...] = field(default_factory=tuple)
    extra_hosts: tuple[str, ...] = ()

    @property
    def hostname(self) -> str:
        return self.container_id[:12]


def mount_stubs(host_ca: bool, mounts: Sequence[Mount] = ()) -> tuple[tuple[str, bool], ...]:
    """The container paths a RUN step's mounts need to exist (for the init layer)."""
    stubs = list(_DEFAULT_STUBS)
    if host_ca:
        stubs.append((HOST_CA_PATH, False))
    stubs += [(m.destination, os.path.isdir(m.source)) for m in mounts]
    return tuple(stubs)


def host_ca_environment() -> tuple[str, ...]:
    return tuple(f"{name}={HOST_CA_PATH}" for name in HOST_CA_ENV)


def _kill(runc: Runc, container_id: str) -> None:
    for args in (["kill", container_id, "KILL"], ["delete", "--force", container_id]):
        with contextlib.suppress(Exception):
            subprocess.run([runc.path, *runc.global_args(), *args], capture_output=True, timeout=30, check=False)


def run_container(
    request: RunRequest,
    bundle_dir: Path,
    runc: Runc,
    network: NetworkSeam,
    output: Callable[[str], None],
) -> int:
    """Run the step's command to completion; return its exit status (128+N when killed by signal N).

    Raises :class:`ContainerStartError` when runc could not start the process (the command does not exist...).
    The container, its network and its bundle files are gone when this returns or raises.
    """
    mounts = list(request.mounts)
    env = list(request.env)
    if request.host_ca:
        if not HOST_CA_SOURCE.is_file():
            raise FailedPrecondition(
                f"--host-ca: {HOST_CA_SOURCE} not found", hint="install ca-certificates on the host"
            )
        mounts.append(Mount(destination=HOST_CA_PATH, source=str(HOST_CA_SOURCE), read_only=True))
        env += host_ca_environment()
    bundle_dir.mkdir(parents=True, exist_ok=True)
    cid = request.container_id
    attached = False
    proc: subprocess.Popen[bytes] | None = None
    try:
        info = network.setup(cid, request.hostname, request.network, request.extra_hosts)
        attached = True
        etc = write_etc_files(
            bundle_dir / "etc",
            EtcFiles(hostname=request.hostname, hosts=info.hosts, resolv_conf=info.resolv_conf),
        )
        if request.network is BuildNetwork.HOST:
            net = Namespace.host()
        else:
            net = Namespace.join(info.netns)
        spec = ContainerSpec(
            id=cid,
            rootfs=str(request.rootfs),
            args=request.argv,
            env=tuple(env),
            cwd=request.cwd or "/",
            user=request.user,
            hostname=request.hostname,
            mounts=tuple(mounts),
            etc_files=etc,
            network=net,
        )
        write_bundle(bundle_dir, spec)
        log_file = bundle_dir / "runc.log"
        argv = [runc.path, *runc.global_args(), f"--log={log_file}", "run", "--bundle", str(bundle_dir), cid]
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        assert proc.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            text = decoder.decode(chunk)
            if text:
                output(text)
        tail = decoder.decode(b"", final=True)
        if tail:
            output(tail)
        status = proc.wait()
        proc = None
        if status < 0:
            return 128 - status
        if status != 0:
            message = last_runtime_error(log_file)
            if message:
                raise translate_runtime_error(message)
        return status
    except BaseException:
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.send_signal(signal.SIGKILL)
            _kill(runc, cid)
            with contextlib.suppress(Exception):
                proc.wait(timeout=30)
        raise
    finally:
        if attached:
            try:
                network.release(cid)
            except Exception as exc:  # never hide the step's own error behind a cleanup failure
                log.warning("release the network of build container %s: %s", cid[:12], exc)
