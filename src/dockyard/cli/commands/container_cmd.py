"""Click plumbing for docker-style container commands: options stop at the first argument (``run busybox ls -l``
passes ``-l`` to ls), boolean flags accept ``--flag=false`` as docker's do, and a shortcut for the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.engine.containers import ContainerService

__all__ = ["DockerCommand", "engine", "service"]

_TRUE = ("1", "t", "true", "y", "yes", "on", "")
_FALSE = ("0", "f", "false", "n", "no", "off")


class DockerCommand(click.Command):
    """A command whose options end at the first positional argument, with docker's ``--bool=value`` forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = dict(kwargs.pop("context_settings", None) or {})
        settings.setdefault("allow_interspersed_args", False)
        settings.setdefault("help_option_names", ["--help"])
        kwargs["context_settings"] = settings
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags: dict[str, click.Option] = {}
        valued: set[str] = set()
        for param in self.params:
            if isinstance(param, click.Option):
                for name in param.opts:
                    if param.is_flag:
                        flags[name] = param
                    else:
                        valued.add(name)
        out: list[str] = []
        i = 0
        while i < len(args):
            token = args[i]
            if token == "--" or not token.startswith("-") or token == "-":
                out += args[i:]
                break
            name, sep, value = token.partition("=")
            if sep and name in flags:
                option = flags[name]
                lowered = value.lower()
                if lowered in _TRUE:
                    out.append(option.opts[0])
                elif lowered in _FALSE:
                    if option.secondary_opts:
                        out.append(option.secondary_opts[0])
                else:
                    raise click.BadParameter(f'invalid argument "{value}" for "{name}" flag: parse error', ctx)
                i += 1
                continue
            out.append(token)
            if not sep and (token in valued or (len(token) == 2 and token in valued)):
                if i + 1 < len(args):
                    out.append(args[i + 1])
                    i += 1
            elif not token.startswith("--") and len(token) > 2:
                # combined short flags (-it) or -p80:80: a value-taking letter consumes the rest or the next token
                for j, letter in enumerate(token[1:], 1):
                    if f"-{letter}" in valued:
                        if j == len(token) - 1 and i + 1 < len(args):
                            out.append(args[i + 1])
                            i += 1
                        break
            i += 1
        return super().parse_args(ctx, out)


def engine() -> Engine:
    value: Engine = click.get_current_context().obj.engine
    return value


def service() -> ContainerService:
    return engine().containers
