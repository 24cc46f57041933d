"""How metadata instructions change an image config (Docker's dispatchers), shared by ``build`` and by
``import -c`` / ``commit -c`` (``--change``).

Instructions arrive typed and already expanded (``build.dockerfile``). Filesystem instructions (RUN, COPY,
ADD) are the executor's; everything here is pure.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import replace

from dockyard.build.dockerfile import (
    CmdInstruction,
    EntrypointInstruction,
    EnvInstruction,
    ExposeInstruction,
    HealthcheckInstruction,
    Instruction,
    InstructionKind,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    ShellInstruction,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
    expand_instruction,
    parse_dockerfile,
)
from dockyard.errors import InvalidArgument
from dockyard.oci.image import HealthConfig, ImageConfig

__all__ = [
    "CHANGE_INSTRUCTIONS",
    "DEFAULT_SHELL",
    "apply_dockerfile_changes",
    "apply_metadata",
    "normalize_ports",
    "set_env",
    "workdir_join",
]

DEFAULT_SHELL = ("/bin/sh", "-c")
CHANGE_INSTRUCTIONS = frozenset(
    {
        InstructionKind.CMD,
        InstructionKind.ENTRYPOINT,
        InstructionKind.ENV,
        InstructionKind.EXPOSE,
        InstructionKind.HEALTHCHECK,
        InstructionKind.LABEL,
        InstructionKind.ONBUILD,
        InstructionKind.STOPSIGNAL,
        InstructionKind.USER,
        InstructionKind.VOLUME,
        InstructionKind.WORKDIR,
    }
)


def set_env(env: Sequence[str], key: str, value: str) -> tuple[str, ...]:
    """Replace or append ``key=value`` keeping the order Docker keeps."""
    out = []
    found = False
    for item in env:
        if item.partition("=")[0] == key:
            out.append(f"{key}={value}")
            found = True
        else:
            out.append(item)
    if not found:
        out.append(f"{key}={value}")
    return tuple(out)


def workdir_join(current: str, path: str) -> str:
    """WORKDIR: absolute paths replace, relative ones are joined to the previous WORKDIR; cleaned."""
    if not path:
        return current
    joined = path if path.startswith("/") else posixpath.join(current or "/", path)
    cleaned = posixpath.normpath(joined)
    return "/" if cleaned in ("", ".") else cleaned


def normalize_ports(ports: Sequence[str]) -> tuple[str, ...]:
    """EXPOSE 80 8000-8001/udp -> ("80/tcp", "8000/udp", "8001/udp"), as nat.ParsePortSpecs does."""
    out: list[str] = []
    for spec in ports:
        port, _, proto = spec.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise InvalidArgument(f"invalid proto: {proto}")
        start_s, dash, end_s = port.partition("-")
        try:
            start = int(start_s)
            end = int(end_s) if dash else start
        except ValueError:
            raise InvalidArgument(f"invalid containerPort: {port}") from None
        if not (0 < start <= 65535 and 0 < end <= 65535) or end < start:
            raise InvalidArgument(f"invalid range specified for container port: {port}")
        for p in range(start, end + 1):
            item = f"{p}/{proto}"
            if item not in out:
                out.append(item)
    return tuple(out)


def _command(command: Sequence[str], shell_form: bool, shell: Sequence[str]) -> tuple[str, ...]:
    if shell_form:
        return (*shell, " ".join(command))
    return tuple(command)


def apply_metadata(
    image: ImageConfig, instr: Instruction, *, shell: Sequence[str] | None = None, cmd_inherited: bool = False
) -> ImageConfig:
    """Apply one metadata instruction to the image config (and return it). Unknown kinds are refused.

    ``cmd_inherited``: the current CMD came from the base image, so a new ENTRYPOINT clears it (Docker does).
    """
    cfg = image.config
    sh = tuple(shell) if shell is not None else (cfg.shell or DEFAULT_SHELL)
    if isinstance(instr, EnvInstruction):
        env = cfg.env
        for kv in instr.env:
            env = set_env(env, kv.key, kv.value)
        cfg = replace(cfg, env=env)
    elif isinstance(instr, LabelInstruction):
        labels = dict(cfg.labels)
        for kv in instr.labels:
            labels[kv.key] = kv.value
        cfg = replace(cfg, labels=labels)
    elif isinstance(instr, ExposeInstruction):
        ports = list(cfg.exposed_ports)
        for p in normalize_ports(instr.ports):
            if p not in ports:
                ports.append(p)
        cfg = replace(cfg, exposed_ports=tuple(ports))
    elif isinstance(instr, CmdInstruction):
        cfg = replace(
            cfg, cmd=_command(instr.command.effective_args(), instr.command.shell_form, sh), args_escaped=False
        )
    elif isinstance(instr, EntrypointInstruction):
        args = instr.command.effective_args()
        if instr.command.shell_form:
            cfg = replace(cfg, entrypoint=(*sh, " ".join(args)) if args else None)
        else:
            cfg = replace(cfg, entrypoint=tuple(args))
        if cmd_inherited:
            cfg = replace(cfg, cmd=None)
    elif isinstance(instr, WorkdirInstruction):
        cfg = replace(cfg, working_dir=workdir_join(cfg.working_dir, instr.path))
    elif isinstance(instr, UserInstruction):
        cfg = replace(cfg, user=instr.user)
    elif isinstance(instr, VolumeInstruction):
        volumes = list(cfg.volumes)
        for v in instr.volumes:
            if not v.strip():
                raise InvalidArgument("VOLUME specified can not be an empty string")
            if v not in volumes:
                volumes.append(v)
        cfg = replace(cfg, volumes=tuple(volumes))
    elif isinstance(instr, StopSignalInstruction):
        cfg = replace(cfg, stop_signal=instr.signal)
    elif isinstance(instr, HealthcheckInstruction):
        if instr.test == ("NONE",):
            cfg = replace(cfg, healthcheck=HealthConfig(test=("NONE",)))
        else:
            cfg = replace(
                cfg,
                healthcheck=HealthConfig(
                    test=instr.test,
                    interval=instr.interval,
                    timeout=instr.timeout,
                    start_period=instr.start_period,
                    start_interval=instr.start_interval,
                    retries=instr.retries,
                ),
            )
    elif isinstance(instr, OnbuildInstruction):
        cfg = replace(cfg, on_build=(*cfg.on_build, instr.expression))
    elif isinstance(instr, ShellInstruction):
        cfg = replace(cfg, shell=instr.shell)
    elif isinstance(instr, MaintainerInstruction):
        return replace(image, author=instr.maintainer)
    else:
        raise InvalidArgument(f"{instr.kind} is not a metadata instruction")
    return replace(image, config=cfg)


def apply_dockerfile_changes(image: ImageConfig, changes: Sequence[str]) -> ImageConfig:
    """``--change 'CMD ["x"]'`` for import and commit: each change one Dockerfile instruction."""
    for change in changes:
        text = change.strip()
        if not text:
            continue
        keyword = text.split(None, 1)[0].upper()
        if keyword in InstructionKind.__members__ and InstructionKind(keyword) not in CHANGE_INSTRUCTIONS:
            raise InvalidArgument(f"{keyword} is not a valid change command")
        try:
            parsed = parse_dockerfile(f"FROM scratch\n{text}\n".encode(), filename="change")
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid change {text!r}: {exc.message.split(': ', 1)[-1]}") from None
        instructions = parsed.stages[0].instructions
        if len(instructions) != 1:
            raise InvalidArgument(f"invalid change {text!r}: expected exactly one instruction")
        instr = instructions[0]
        if instr.kind not in CHANGE_INSTRUCTIONS:
            raise InvalidArgument(f"{instr.kind} is not a valid change command")
        instr, _ = expand_instruction(instr, image.config.env_dict())
        image = apply_metadata(image, instr)
    return image
