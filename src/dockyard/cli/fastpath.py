"""Fast paths of the command line: the common forms of a few short commands, served without click.

A short command costs mostly Python's start and imports: click alone (with ``typing``, ``inspect`` and its
own modules) takes ~25 ms here, the engine's record classes (``dataclasses``) ~15 ms more, where ``ps`` with
100 containers has ~10 ms of real work. So :func:`run_fast` looks at the command line first and serves:

* ``--help`` / ``-h`` alone, from the text click rendered at install time (``cli/helpcache.py``);
* ``--version`` / ``-v`` alone;
* ``ps`` and ``container ls|ps|list`` with ``-a``, ``-q``, ``-l``, ``-n N``, ``--no-trunc`` (default table or
  IDs), through ``engine.containers.rows`` (the table read directly, the same liveness checks) and
  ``cli.psformat`` (the same cells and table as the click command);
* ``run`` and ``create`` (and ``container run|create``): their flags parsed from the table the click commands
  are made of (``commands/runflags.py``), then ``commands/runflow.py``, the code the click commands call;
* ``build`` (and ``image build``, ``builder build``) likewise, with ``commands/buildflow.py`` — or, when nothing
  changed since a fully cached build of the same command, from that build's record (``cli/buildrecord/``);
* ``images`` (and ``image ls|list``) likewise, with ``commands/imageflow.py``.

It declines — returns ``None``, and ``main`` runs click on the same arguments — whenever anything is unusual:
an option or form it does not know (``--help``, ``--format``, filters, ``-D``...), an invalid configuration
(so click reports it in its words), or a state root the engine must look at first (see ``rows.read_rows``).
Declining is always safe: nothing has been printed or changed by then. ``DOCKYARD_NO_FASTPATH=1`` turns the
fast paths off (the tests compare both ways' output with it).
"""

from __future__ import annotations

import os
import sys

__all__ = ["run_fast"]

_PS_FLAGS = {"-a": "all", "--all": "all", "-q": "quiet", "--quiet": "quiet", "-l": "latest", "--latest": "latest",
             "--no-trunc": "no_trunc"}  # fmt: skip
_PS_LETTERS = {"a": "all", "q": "quiet", "l": "latest"}  # combinable short flags (-aq)


def run_fast(args: list[str]) -> int | None:
    """Serve ``args`` (the command line without the program) and return the exit code, or ``None``."""
    if os.environ.get("DOCKYARD_NO_FASTPATH"):
        return None
    if args in (["--help"], ["-h"]):
        from dockyard.cli.helpcache import cached

        text = cached()
        if text is None:
            return None
        sys.stdout.write(text + "\n")
        return 0
    if args in (["--version"], ["-v"]):
        from dockyard import __version__
        from dockyard.cli.main import VERSION_MESSAGE

        sys.stdout.write(VERSION_MESSAGE % {"version": __version__} + "\n")
        return 0
    if os.environ.get("DOCKYARD_DEBUG"):
        return None  # debug logging is configured by the click application
    root: str | None = None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, sep, value = args[i].partition("=")
        if name != "--root":
            return None
        if sep:
            root = value
        elif i + 1 < len(args):
            root = args[i + 1]
            i += 1
        else:
            return None
        i += 1
    rest = args[i:]
    if rest[:1] == ["ps"]:
        return _ps(root, rest[1:])
    if rest[:1] in (["run"], ["create"]):
        return _run(root, rest[0], rest[1:])
    if rest[:1] == ["build"]:
        return _build(root, rest[1:])
    if rest[:1] == ["images"]:
        return _images(root, rest[1:])
    if rest[:1] == ["image"] and rest[1:2] in (["ls"], ["list"]):
        return _images(root, rest[2:])
    if rest[:1] in (["image"], ["builder"]) and rest[1:2] == ["build"]:
        return _build(root, rest[2:])
    if rest[:1] == ["container"]:
        if rest[1:2] in (["ls"], ["ps"], ["list"]):
            return _ps(root, rest[2:])
        if rest[1:2] in (["run"], ["create"]):
            return _run(root, rest[1], rest[2:])
    return None


def _images(root: str | None, args: list[str]) -> int | None:
    """``images``/``image ls`` with the flags of ``commands/imageflow.py``'s table, listed by its code."""
    from dockyard.cli.commands.imageflow import IMAGE_LS_FLAGS, list_images
    from dockyard.cli.flagtable import parse_args

    parsed = parse_args(IMAGE_LS_FLAGS, args, docker=False)
    if parsed is None or len(parsed[1]) > 1:
        return None
    params, positional = parsed
    from dockyard.cli.dcache import install

    install()
    from dockyard.cli.state import CliState

    list_images(CliState(root=root, debug=False, log_level="warn"), positional[0] if positional else None, params)
    return 0


def _build(root: str | None, args: list[str]) -> int | None:
    """``build`` with its flags parsed from the table its click command is made of (``commands/buildflow.py``);
    first, a build its "nothing changed" record answers (``cli/buildrecord/``), without the builder."""
    from dockyard.cli.buildrecord.replay import serve

    code = serve(root, args)
    if code is not None:
        return code
    from dockyard.cli.commands.buildflow import BUILD_FLAGS, run_build
    from dockyard.cli.flagtable import parse_args

    parsed = parse_args(BUILD_FLAGS, args, docker=False)
    if parsed is None or len(parsed[1]) != 1:
        return None  # no PATH or two, --help, an option it does not know: click says it
    params, (path,) = parsed
    from dockyard.cli.dcache import install

    install()
    from dockyard.cli.state import CliState

    return run_build(CliState(root=root, debug=False, log_level="warn"), path, params)


def _run(root: str | None, verb: str, args: list[str]) -> int | None:
    """``run``/``create`` with flags parsed from ``runflags``' table (as the click commands parse them), then
    ``runflow`` — the very code the click commands call."""
    from dockyard.cli.commands.runflags import CREATE_FLAGS, RUN_FLAGS, parse_docker_args

    parsed = parse_docker_args(RUN_FLAGS if verb == "run" else CREATE_FLAGS, args)
    if parsed is None or not parsed[1]:
        return None  # --help, a missing image, an option it does not know, a bad value: click says it
    params, (image, *command) = parsed
    from dockyard.cli.dcache import install

    install()  # what main does before click: the engine's modules define dozens of dataclasses
    from dockyard.cli.commands import runflow
    from dockyard.cli.state import CliState

    state = CliState(root=root, debug=False, log_level="warn")  # what the click group's callback makes
    if verb == "create":
        runflow.create_container(state, params, image, command)
        return 0
    detach, sig_proxy = params.pop("detach"), params.pop("sig_proxy")
    return runflow.run_container(state, params, image, command, detach=detach, sig_proxy=sig_proxy)


def _ps_options(args: list[str]) -> dict[str, object] | None:
    opts: dict[str, object] = {"all": False, "quiet": False, "latest": False, "no_trunc": False, "last": -1}
    i = 0
    while i < len(args):
        token = args[i]
        if token in _PS_FLAGS:
            opts[_PS_FLAGS[token]] = True
        elif token in ("-n", "--last") or token.startswith("--last="):
            value = token.partition("=")[2] if "=" in token else (args[i + 1] if i + 1 < len(args) else None)
            i += 0 if "=" in token else 1
            try:
                opts["last"] = int(value) if value is not None else None
            except ValueError:
                return None
            if opts["last"] is None:
                return None
        elif len(token) > 2 and token[0] == "-" and token[1] != "-" and all(c in _PS_LETTERS for c in token[1:]):
            for letter in token[1:]:
                opts[_PS_LETTERS[letter]] = True
        else:
            return None  # an argument, --format, --filter, --size, --help, --flag=value...: click's job
        i += 1
    return opts


def _ps(root: str | None, args: list[str]) -> int | None:
    import time

    from dockyard import configfile
    from dockyard.errors import DockyardError

    opts = _ps_options(args)
    if opts is None:
        return None
    path = configfile.root_path(root)
    try:
        configfile.read_config(path)
    except DockyardError:
        return None  # click's path reports it
    from dockyard.engine.containers.rows import read_rows, select

    found = read_rows(path)
    if found is None:
        return None
    rows, tags = found
    last = opts["last"]
    assert isinstance(last, int)
    limit = 1 if opts["latest"] else last
    shown = select(rows, lambda r: r.status, show_all=bool(opts["all"]) or limit > 0, limit=limit)
    from dockyard.cli.psformat import HEADERS, cell

    trunc = not opts["no_trunc"]
    now = time.time()
    if opts["quiet"]:
        sys.stdout.write("".join(cell("ID", r, "", trunc=trunc, now=now) + "\n" for r in shown))
        return 0
    from dockyard.cli.tables import render_table
    from dockyard.engine.containers.rows import display_image

    table = []
    for r in shown:
        image = display_image(r.image_ref, r.image_id, tags)
        table.append([cell(field, r, image, trunc=trunc, now=now) for _, field in HEADERS])
    render_table([header for header, _ in HEADERS], table)
    return 0
