"""The docker CLI's ``ps`` columns: headers, truncation, the ``COMMAND``, ``IMAGE`` and ``PORTS`` texts, and the
cell of each table field for a row (``engine.containers.rows.ContainerRow``).

Shared by ``ps`` through click (``commands/container_ps.py``, which adds the ``--format``-only fields) and the
fast ``ps`` (``fastpath.py``), so both print the same table; stdlib only, no click.
"""

from __future__ import annotations

from dockyard.cli.tables import human_duration
from dockyard.engine.containers.rows import split_reference

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers treat this name as True
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Protocol

    from dockyard.engine.containers.rows import ContainerRow

    class PortLike(Protocol):
        @property
        def container_port(self) -> int: ...
        @property
        def protocol(self) -> str: ...
        @property
        def host_ip(self) -> str: ...
        @property
        def host_port(self) -> int: ...


__all__ = [
    "FIELDS",
    "HEADERS",
    "HEADER_NAMES",
    "ROW_FIELDS",
    "TABLE_FIELDS",
    "cell",
    "displayable_ports",
    "ellipsis",
    "go_quote",
    "image_column",
]

HEADERS = [
    ("CONTAINER ID", "ID"),
    ("IMAGE", "Image"),
    ("COMMAND", "Command"),
    ("CREATED", "RunningFor"),
    ("STATUS", "Status"),
    ("PORTS", "Ports"),
    ("NAMES", "Names"),
]
TABLE_FIELDS = tuple(field for _, field in HEADERS)
HEADER_NAMES = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
    "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
}  # fmt: skip
FIELDS = ("Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports",
          "RunningFor", "Size", "State", "Status")  # fmt: skip
ROW_FIELDS = frozenset((*TABLE_FIELDS, "State"))  # the fields :func:`cell` makes from a row alone
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def ellipsis(text: str, limit: int) -> str:
    """docker's ``stringutils.Ellipsis``: at most ``limit`` characters, the last one ``…`` when cut."""
    if len(text) <= limit:
        return text
    if limit <= 3:
        return text[:limit]
    return text[: limit - 1] + "…"


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: double quotes, Go escapes for control characters, printable Unicode kept."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def displayable_ports(ports: Sequence[PortLike], exposed: Sequence[str] = ()) -> str:
    """docker/cli ``DisplayablePorts``: ``0.0.0.0:4000->80/tcp``, exposed-only ports as ``80/tcp``, runs of
    same-numbered ports folded into ranges."""
    entries: list[tuple[int, str, int, str]] = [(p.container_port, p.host_ip, p.host_port, p.protocol) for p in ports]
    published = {(p.container_port, p.protocol) for p in ports}
    for key in exposed:
        port, _, proto = key.partition("/")
        if port.isdigit() and (int(port), proto or "tcp") not in published:
            entries.append((int(port), "", 0, proto or "tcp"))
    entries.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []

    def form(key: str, first: int, last: int) -> str:
        ip, _, kind = key.rpartition("/")
        group = str(first) if first == last else f"{first}-{last}"
        if ip:
            group = f"{ip}:{group}->{group}"
        return f"{group}/{kind}"

    for private, ip, public, proto in entries:
        key = proto
        if ip:
            if public != private:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{public}->{private}/{proto}")
                continue
            key = f"{ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
            order.append(key)
            continue
        if private == group[1] + 1:
            group[1] = private
            continue
        result.append(form(key, group[0], group[1]))
        groups[key] = [private, private]
    result += [form(k, *groups[k]) for k in order]
    return ", ".join(result + mappings)


def image_column(image: str, image_id: str, trunc: bool) -> str:
    """The IMAGE column: the image as listed, shortened as the docker CLI shortens it."""
    if not image:
        return "<no image>"
    if not trunc:
        return image
    short = image_id.removeprefix("sha256:")[:12]
    if image.removeprefix("sha256:")[:12] == short:
        return short
    domain, path, tag, _ = split_reference(image)
    name = path.removeprefix("library/") if domain == "docker.io" else f"{domain}/{path}"
    typed_tag = ":" in image.partition("@")[0].rpartition("/")[2]
    return f"{name}:{tag}" if typed_tag else name  # docker: the tag only when one was given


def cell(field: str, row: ContainerRow, image: str, *, trunc: bool, now: float) -> str:
    """The text of one of :data:`ROW_FIELDS` for ``row``, listed with ``image``."""
    if field == "ID":
        return row.id[:12] if trunc else row.id
    if field == "Image":
        return image_column(image, row.image_id, trunc)
    if field == "Command":
        return go_quote(ellipsis(row.command, 20) if trunc else row.command)
    if field == "RunningFor":
        return f"{human_duration(max(0.0, now - row.created))} ago"
    if field == "Status":
        return row.status_text(now)
    if field == "Ports":
        return displayable_ports(row.ports, row.exposed_ports) if row.status in ("running", "paused") else ""
    if field == "Names":
        return row.name
    if field == "State":
        return row.status
    raise KeyError(field)
