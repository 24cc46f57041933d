"""``create``: validate the options as Docker does, merge them with the image's config (moby ``runconfig``
``merge``), plan the mounts, record the container and prepare its root filesystem snapshot.

Intent first: the row is inserted as ``creating`` (owned by this process) before the snapshot and directory are
made, and becomes ``created`` only when both exist; a reconcile removes a ``creating`` row whose owner died.
"""

from __future__ import annotations

import logging
import os  # os.urandom(n).hex() is secrets.token_hex(n) without importing secrets (~4 ms)
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from dockyard.engine.containers.codec import dumps
from dockyard.engine.containers.names import generate_name, validate_name
from dockyard.engine.containers.options import CreateOptions, MountRequest
from dockyard.engine.containers.records import ContainerRecord
from dockyard.engine.containers.types import (
    ContainerMount,
    ContainerStatus,
    MountRequestType,
    NoSuchImage,
    RestartPolicyName,
    RunConfig,
)
from dockyard.engine.containers.verbs import CreateResult
from dockyard.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from dockyard.engine.containers.service import ContainerService
    from dockyard.engine.images import Image
    from dockyard.oci.image import ContainerConfig

__all__ = ["create_container", "merge_config", "plan_mounts", "validate_options"]

log = logging.getLogger(__name__)


def merge_config(opts: CreateOptions, image: ContainerConfig, container_id: str) -> RunConfig:
    """Docker's ``Config`` for the container: the user's values over the image's (moby ``runconfig.Merge``)."""
    env = list(opts.env)
    user_keys = {e.partition("=")[0] for e in env}
    env += [e for e in image.env if e.partition("=")[0] not in user_keys]
    labels = {**image.labels, **opts.labels}
    exposed = list(dict.fromkeys([*image.exposed_ports, *_exposed(opts)]))
    cmd, entrypoint = opts.cmd, opts.entrypoint
    if not entrypoint:
        if not cmd:
            cmd = image.cmd
        if entrypoint is None:
            entrypoint = image.entrypoint
    if entrypoint == ("",):
        entrypoint = None  # --entrypoint "": no entrypoint at all
    if not (*(entrypoint or ()), *(cmd or ())):
        raise InvalidArgument("No command specified")
    hostname = opts.hostname
    if not hostname:
        hostname = os.uname().nodename if opts.network_mode == "host" else container_id[:12]
    return RunConfig(
        image=opts.image,
        hostname=hostname,
        domainname=opts.domainname,
        user=opts.user or image.user,
        env=tuple(env),
        cmd=tuple(cmd) if cmd is not None else None,
        entrypoint=tuple(entrypoint) if entrypoint else None,
        working_dir=opts.working_dir or image.working_dir,
        labels=labels,
        exposed_ports=tuple(exposed),
        volumes=tuple(dict.fromkeys([*image.volumes, *opts.volumes])),
        stop_signal=opts.stop_signal or image.stop_signal,
        stop_timeout=opts.stop_timeout,
        tty=opts.tty,
        open_stdin=opts.open_stdin,
        stdin_once=opts.stdin_once,
        attach_stdin=opts.attach_stdin,
        attach_stdout=opts.attach_stdout,
        attach_stderr=opts.attach_stderr,
        on_build=image.on_build,
    )


def _exposed(opts: CreateOptions) -> list[str]:
    """``--expose`` and ``-p`` ports as ExposedPorts keys (``80/tcp``), as the docker CLI adds them."""
    from dockyard.network import parse_exposed_port, parse_port_specs

    out = []
    for raw in opts.exposed_ports:
        out += [f"{port}/{proto}" for port, proto in parse_exposed_port(raw)]
    out += [spec.key for spec in parse_port_specs(opts.publish)]
    return out


def validate_volume_name(name: str) -> None:
    """The volume service's name rule (Docker's local driver), with its words."""
    try:
        from dockyard.engine.volumes import validate_name
    except ImportError:  # the volume service is not part of this build yet
        import re

        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", name):
            raise InvalidArgument(
                f'create {name}: "{name}" includes invalid characters for a local volume name, only '
                '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
            ) from None
        return
    validate_name(name)


def _volume_mode(raw: str) -> str:
    parts = raw.split(":")
    return parts[2] if len(parts) == 3 else parts[1] if len(parts) == 2 and not parts[1].startswith("/") else ""


def plan_mounts(opts: CreateOptions, config: RunConfig) -> tuple[ContainerMount, ...]:
    """Every mount of the container, with Docker's precedence: ``--mount``, ``-v`` and ``--tmpfs`` first (a
    destination twice is an error), then the image's and ``-v /path`` anonymous volumes where nothing is."""
    from dockyard.runtime.parse import parse_tmpfs, parse_volume

    planned: list[ContainerMount] = []
    seen: set[str] = set()

    def add(mount: ContainerMount) -> None:
        dest = os.path.normpath(mount.destination)
        if dest in seen:
            raise InvalidArgument(f"Duplicate mount point: {dest}")
        seen.add(dest)
        planned.append(replace(mount, destination=dest))

    for raw in opts.binds:
        m = parse_volume(raw)
        if not m.source:
            add(ContainerMount(MountRequestType.VOLUME, m.destination, os.urandom(32).hex(), m.read_only,
                               anonymous=True, mode=_volume_mode(raw)))  # fmt: skip
            continue
        if m.type.value == "volume":
            validate_volume_name(m.source)
            add(ContainerMount(MountRequestType.VOLUME, m.destination, m.source, m.read_only, mode=_volume_mode(raw),
                               no_copy="nocopy" in _volume_mode(raw).split(",")))  # fmt: skip
        else:
            add(ContainerMount(MountRequestType.BIND, m.destination, os.path.normpath(m.source), m.read_only,
                               str(m.propagation), _volume_mode(raw)))  # fmt: skip
    for req in opts.mounts:
        add(_from_request(req))
    for destination, options in opts.tmpfs.items():
        m = parse_tmpfs(f"{destination}:{options}" if options else destination)
        add(ContainerMount(MountRequestType.TMPFS, m.destination, tmpfs_options=m.tmpfs_options))
    for destination in config.volumes:
        if not destination.startswith("/"):
            raise InvalidArgument(f"invalid volume specification: '{destination}'")
        if os.path.normpath(destination) not in seen:
            add(ContainerMount(MountRequestType.VOLUME, destination, os.urandom(32).hex(), anonymous=True))
    return tuple(planned)


def _from_request(req: MountRequest) -> ContainerMount:
    if req.type is MountRequestType.BIND:
        if not os.path.isabs(req.source):
            raise InvalidArgument(f'invalid mount config for type "bind": invalid mount path: \'{req.source}\' '
                                  "mount path must be absolute")  # fmt: skip
        if not os.path.exists(req.source):
            raise InvalidArgument(
                f'invalid mount config for type "bind": bind source path does not exist: {req.source}'
            )
        return ContainerMount(MountRequestType.BIND, req.target, os.path.normpath(req.source), req.read_only,
                              req.propagation or "rprivate")  # fmt: skip
    if req.type is MountRequestType.TMPFS:
        options = []
        if req.tmpfs_size:
            options.append(f"size={req.tmpfs_size}")
        if req.tmpfs_mode:
            options.append(f"mode={req.tmpfs_mode:o}")
        return ContainerMount(MountRequestType.TMPFS, req.target, read_only=req.read_only,
                              tmpfs_options=tuple(options))  # fmt: skip
    if req.source:
        validate_volume_name(req.source)
        return ContainerMount(MountRequestType.VOLUME, req.target, req.source, req.read_only, no_copy=req.no_copy)
    return ContainerMount(MountRequestType.VOLUME, req.target, os.urandom(32).hex(), req.read_only,
                          anonymous=True, no_copy=req.no_copy)  # fmt: skip


def validate_options(opts: CreateOptions) -> None:
    """What Docker refuses at create time, in its words (the same checks run again at start)."""
    from dockyard.engine.containers.runspec import network_options, resources, security_options, ulimits
    from dockyard.runtime import current_host
    from dockyard.runtime.spec import linux_resources

    if opts.auto_remove and opts.restart_policy.name is not RestartPolicyName.NO:
        raise InvalidArgument("Conflicting options: --restart and --rm")
    network_options(opts, ())
    security_options(opts)
    ulimits(opts)
    linux_resources(resources(opts), current_host())
    for mode, what in ((opts.ipc_mode, "IPC"), (opts.pid_mode, "PID"), (opts.uts_mode, "UTS")):
        if mode and mode not in ("host", "private", "shareable", "") and not mode.startswith("container:"):
            raise InvalidArgument(f"invalid {what} mode: {mode}")
    if opts.working_dir and not opts.working_dir.startswith("/"):
        raise InvalidArgument(f"the working directory '{opts.working_dir}' is invalid, it needs to be an absolute path")


def _load_image(service: ContainerService, ref: str) -> Image:
    images = service.engine.images
    try:
        return images.get(ref)
    except NotFound as exc:
        raise NoSuchImage(exc.message, exc.hint) from None


def create_container(service: ContainerService, opts: CreateOptions) -> CreateResult:
    """Record a new container (status ``created``) with its snapshot and directory."""
    store = service.store
    name = validate_name(opts.name) if opts.name else ""
    validate_options(opts)
    image = _load_image(service, opts.image)
    container_id = os.urandom(32).hex()
    config = merge_config(opts, image.config.config, container_id)
    mounts = plan_mounts(opts, config)
    if not name:
        name = generate_name(lambda n: store.name_holder(n) is not None)
    record = ContainerRecord(
        id=container_id,
        name=name,
        image_id=str(image.id),
        image_ref=opts.image,
        created=store.now(),
        options_data=dumps(opts),
        config=config,
        status=ContainerStatus.CREATING,
        owner_pid=os.getpid(),
        mounts=mounts,
    )
    store.insert(record)  # Conflict in Docker's words when the name is taken
    directory = service.container_dir(container_id)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        service.engine.store.snapshots.prepare(container_id, image.record.top_layer)
        _use_volumes(service, container_id, mounts)
        store.update(container_id, status=ContainerStatus.CREATED, owner_pid=0)
    except BaseException:
        discard_creation(service, container_id)
        raise
    service.emit(record, "create")
    log.debug("created container %s (%s) from %s", container_id[:12], name, image.id)
    return CreateResult(container_id, _warnings(opts))


def _use_volumes(service: ContainerService, container_id: str, mounts: Sequence[ContainerMount]) -> None:
    """Record the container as a user of its volumes (named ones are created on first use, anonymous ones with
    Docker's anonymous label), so ``volume rm`` refuses them while the container exists."""
    volumes = [m for m in mounts if m.type is MountRequestType.VOLUME]
    if not volumes:
        return
    from dockyard.engine.volumes import ANONYMOUS_LABEL

    service_ = service.engine.volumes
    for m in volumes:
        labels = {ANONYMOUS_LABEL: ""} if m.anonymous else None
        service_.use(m.source, container_id, anonymous=m.anonymous, labels=labels)


def discard_creation(service: ContainerService, container_id: str) -> None:
    """Undo a create that did not finish (ours, or a killed process's): snapshot, directory, row."""
    try:
        service.engine.store.snapshots.remove(container_id)
    except Exception:  # best effort: the reconcile of a later command retries
        log.warning("create %s: could not remove its snapshot", container_id[:12], exc_info=True)
    record = service.store.get(container_id)
    if record is not None and record.mounts:
        service.release_volumes(record, anonymous_too=True)
    import shutil  # here: ~2 ms at import (bz2, lzma), and only a failed create needs it

    shutil.rmtree(service.container_dir(container_id), ignore_errors=True)
    service.store.delete(container_id)


def _warnings(opts: CreateOptions) -> tuple[str, ...]:
    warnings = []
    if opts.oom_kill_disable and not opts.memory:
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result in "
                        "the system running out of resources.")  # fmt: skip
    return tuple(warnings)
