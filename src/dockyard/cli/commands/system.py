"""``dockyard system ...``, ``info`` and ``version``."""

from __future__ import annotations

import sys
from typing import Any

import click

from dockyard.cli.app import LazyGroup
from dockyard.cli.output import Template, binary_size

__all__ = ["check_cmd", "info_cmd", "system_group", "version_cmd"]


@click.group(
    "system",
    cls=LazyGroup,
    lazy={
        "service": "dockyard.cli.commands.service:service_cmd",
        "prune": "dockyard.cli.commands.prune:system_prune_cmd",
        "df": "dockyard.cli.commands.prune:df_cmd",
        "events": "dockyard.cli.commands.events:events_cmd",
    },
)
def system_group() -> None:
    """Manage dockyard and check the host."""


def _print_info(data: dict[str, Any]) -> None:
    lines = [
        "Client:",
        f" Version:    {data['ServerVersion']}",
        " Context:    default",
        f" Debug Mode: {str(data['Debug']).lower()}",
        "",
        "Server:",
        f" Containers: {data['Containers']}",
        f"  Running: {data['ContainersRunning']}",
        f"  Paused: {data['ContainersPaused']}",
        f"  Stopped: {data['ContainersStopped']}",
        f" Images: {data['Images']}",
        f" Server Version: {data['ServerVersion']}",
        f" Storage Driver: {data['Driver']}",
        *[f"  {k}: {v}" for k, v in data["DriverStatus"]],
        f" Logging Driver: {data['LoggingDriver']}",
        f" Cgroup Driver: {data['CgroupDriver']}",
        f" Cgroup Version: {data['CgroupVersion']}",
        " Plugins:",
        f"  Volume: {' '.join(data['Plugins']['Volume'])}",
        f"  Network: {' '.join(data['Plugins']['Network'])}",
        f"  Log: {' '.join(data['Plugins']['Log'])}",
        " Swarm: inactive",
        f" Runtimes: {' '.join(data['Runtimes'])}",
        f" Default Runtime: {data['DefaultRuntime']}",
        f" Init Binary: {data['InitBinary']}",
        f" runc version: {data['RuncCommit']['ID']}",
        " Security Options:",
        *[
            f"  {opt.split(',')[0].removeprefix('name=')}"
            + ("\n   Profile: default" if "profile=default" in opt else "")
            for opt in data["SecurityOptions"]
        ],
        f" Kernel Version: {data['KernelVersion']}",
        f" Operating System: {data['OperatingSystem']}",
        f" OSType: {data['OSType']}",
        f" Architecture: {data['Architecture']}",
        f" CPUs: {data['NCPU']}",
        f" Total Memory: {binary_size(data['MemTotal'])}",
        f" Name: {data['Name']}",
        f" ID: {data['ID']}",
        f" Docker Root Dir: {data['DockerRootDir']}",
        f" Debug Mode: {str(data['Debug']).lower()}",
        " Experimental: false",
        " Insecure Registries:",
        *[f"  {r}" for r in data["RegistryConfig"]["InsecureRegistryCIDRs"]],
        *[f"  {r}" for r, c in data["RegistryConfig"]["IndexConfigs"].items() if not c["Secure"]],
    ]
    if data["RegistryConfig"]["Mirrors"]:
        lines += [" Registry Mirrors:", *[f"  {m}" for m in data["RegistryConfig"]["Mirrors"]]]
    lines.append(f" Live Restore Enabled: {str(data['LiveRestoreEnabled']).lower()}")
    click.echo("\n".join(lines))


@system_group.command("info")
@click.option("-f", "--format", "fmt", help="Format the output using the given Go template")
def info_cmd(fmt: str | None) -> None:
    """Display system-wide information."""
    from dockyard.api.schemas.system import info_json

    data = info_json(click.get_current_context().obj.engine.system.info())
    if fmt:
        click.echo(Template("{{json .}}" if fmt == "json" else fmt).render(data))
        return
    _print_info(data)


@click.command("version")
@click.option("-f", "--format", "fmt", help="Format the output using the given Go template")
def version_cmd(fmt: str | None) -> None:
    """Show the dockyard version information."""
    from dockyard.api.schemas.system import version_json

    data = version_json(click.get_current_context().obj.engine.system.version())
    if fmt:
        client = {
            "Platform": {"Name": ""},
            "Version": data["Version"],
            "ApiVersion": data["ApiVersion"],
            "DefaultAPIVersion": data["ApiVersion"],
            "GitCommit": data["GitCommit"],
            "GoVersion": data["GoVersion"],
            "Os": data["Os"],
            "Arch": data["Arch"],
            "BuildTime": data["BuildTime"],
            "Context": "default",
            "Experimental": True,
        }
        view = {"Client": _GoFields(client), "Server": _GoFields(data)}
        click.echo(Template("{{json .}}" if fmt == "json" else fmt).render(view))
        return
    lines = [
        "Client:",
        f" Version:           {data['Version']}",
        f" API version:       {data['ApiVersion']}",
        f" Python version:    {data['GoVersion'].removeprefix('python')}",
        f" OS/Arch:           {data['Os']}/{data['Arch']}",
        " Context:           default",
        "",
        "Server:",
    ]
    for comp in data["Components"]:
        lines.append(f" {comp['Name']}:")
        lines.append(f"  Version:          {comp['Version']}")
        if comp["Name"] == "Engine":
            lines.append(f"  API version:      {data['ApiVersion']} (minimum version {data['MinAPIVersion']})")
            lines.append(f"  OS/Arch:          {data['Os']}/{data['Arch']}")
            lines.append("  Experimental:     false")
    click.echo("\n".join(lines))


class _GoFields(dict[str, Any]):
    """A JSON object whose keys are also reachable by the Go field names docker's templates use: the CLI's
    ``version`` data is a Go struct, ``{{.Server.APIVersion}}`` there, ``"ApiVersion"`` in ``{{json .}}``."""

    _GO_NAMES = {"APIVersion": "ApiVersion"}

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._GO_NAMES.get(key, key) if isinstance(key, str) else key)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(self._GO_NAMES.get(key, key))


@system_group.command("check")
def check_cmd() -> None:
    """Pre-flight check: what the host has and lacks, with the command that installs each missing piece."""
    checks = click.get_current_context().obj.engine.system.check()
    width = max(len(c.name) for c in checks)
    failed = False
    for c in checks:
        mark = "ok" if c.ok else ("missing" if c.required else "optional")
        click.echo(f"[{mark:<8}] {c.name.ljust(width)}  {c.detail}")
        if not c.ok and c.fix:
            click.echo(f"{'':11} {'':{width}}  fix: {c.fix}")
        failed |= (not c.ok) and c.required
    if failed:
        click.echo("\nSome required pieces are missing: containers will not run until they are installed.", err=True)
        sys.exit(1)


system_group.add_command(version_cmd)
