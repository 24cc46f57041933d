"""``dockyard images`` / ``image ls`` without click: the flags as a table (``cli/flagtable.py``; the click command in
``image.py`` is made from it), docker's image rows, and the listing itself (:func:`list_images`), which the click
command and the command line's fast path (``cli/fastpath.py``) both call."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.cli import flagtable as ft
from dockyard.cli.tables import human_duration, human_size, is_default_format, render_default

if TYPE_CHECKING:
    from dockyard.cli.state import CliState
    from dockyard.store.images import ImageRecord

__all__ = ["IMAGE_LS_FLAGS", "image_rows", "list_images"]

IMAGE_LS_FLAGS: tuple[ft.FlagSpec, ...] = (
    ft.flag("-a", "--all", dest="all_", help="Show all images (default hides intermediate images)"),
    ft.flag("--digests", help="Show digests"),
    ft.multiple("-f", "--filter", dest="filters", metavar="", help="Filter output based on conditions provided"),
    ft.value("--format", dest="fmt", metavar="",
             help="Format output using a custom template ('table', 'json', or a Go template)"),
    ft.flag("--no-trunc", help="Don't truncate output"),
    ft.flag("-q", "--quiet", help="Only show image IDs"),
)  # fmt: skip


def image_rows(records: list[ImageRecord], digests: bool, no_trunc: bool) -> list[dict[str, Any]]:
    """One row per (repository, tag) as docker's image formatter makes them."""
    from dockyard.timeutil import go_time_string, parse_rfc3339

    rows: list[dict[str, Any]] = []
    now = time.time()
    for r in records:
        created = parse_rfc3339(r.created) or r.added
        image_id = str(r.id) if no_trunc else r.id.short
        base = {
            "Containers": "N/A",
            "CreatedAt": go_time_string(created),
            "CreatedSince": f"{human_duration(max(0.0, now - created))} ago",
            "ID": image_id,
            "SharedSize": "N/A",
            "Size": human_size(r.size),
            "UniqueSize": "N/A",
            "VirtualSize": human_size(r.size, 4),
        }
        repo_tags: dict[str, list[str]] = {}
        for t in r.tags:
            repo_tags.setdefault(t.familiar_name, []).append(t.tag or "<none>")
        repo_digests: dict[str, list[str]] = {}
        for dref in r.digests:
            repo_digests.setdefault(dref.familiar_name, []).append(str(dref.digest))
        if not repo_tags and not repo_digests:
            repo_tags["<none>"] = ["<none>"]
        for repo in sorted(set(repo_tags) | set(repo_digests)):
            tags = repo_tags.get(repo) or ["<none>"]
            dg = repo_digests.get(repo, [])
            if digests and dg:
                for d in dg:
                    for tag in tags:
                        rows.append({**base, "Repository": repo, "Tag": tag, "Digest": d})
            else:
                for tag in tags:
                    rows.append({**base, "Repository": repo, "Tag": tag, "Digest": dg[0] if len(dg) == 1 else "<none>"})
    return [{k: row[k] for k in sorted(row)} for row in rows]


def list_images(state: CliState, repository: str | None, params: Mapping[str, Any]) -> None:
    """docker's ``images``: a table, IDs (``-q``) or ``--format`` (``cli/output.py``'s templates, with click)."""
    from dockyard.engine.images import ImageFilters

    parsed = ImageFilters.parse(params["filters"])
    if repository:
        parsed = ImageFilters(**{**parsed.__dict__, "references": (*parsed.references, repository)})
    records = state.engine.images.list(all=params["all_"], filters=parsed)
    rows = image_rows(records, params["digests"], params["no_trunc"])
    if params["quiet"]:
        ids = [str(r.id) if params["no_trunc"] else r.id.short for r in records]
        sys.stdout.write("".join(f"{i}\n" for i in dict.fromkeys(ids)))
        sys.stdout.flush()
        return
    headers = [("REPOSITORY", "Repository"), ("TAG", "Tag")]
    if params["digests"]:
        headers.append(("DIGEST", "Digest"))
    headers += [("IMAGE ID", "ID"), ("CREATED", "CreatedSince"), ("SIZE", "Size")]
    fmt = params["fmt"]
    if is_default_format(fmt):  # what render_rows does then, without importing its template engine (and click)
        render_default(rows, headers)
        return
    from dockyard.cli.output import render_rows

    names = {"ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Repository": "REPOSITORY"}
    render_rows(fmt, rows, headers, headers=names)
