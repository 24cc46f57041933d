"""``dockyard events`` (and ``system events``): the event log, past events then new ones as other processes
record them (the CLI has no daemon to subscribe to: it polls the state root's database)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

__all__ = ["EventView", "event_view", "events_cmd", "parse_bound"]

POLL_INTERVAL = 0.15


class EventView(dict[str, Any]):
    """A JSON event whose keys are also reachable by the Go field names docker's templates use (``{{.Status}}``,
    ``{{.ID}}``, ``{{.From}}``, ``{{.Scope}}``, ``{{.Time}}``, ``{{.TimeNano}}``); ``{{json .}}`` shows the JSON."""

    _GO_NAMES = {"Status": "status", "ID": "id", "From": "from", "Scope": "scope", "Time": "time",
                 "TimeNano": "timeNano"}  # fmt: skip

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._GO_NAMES.get(key, key) if isinstance(key, str) else key)

    def __getitem__(self, key: str) -> Any:
        if key in self._GO_NAMES and not super().__contains__(key):
            return super().get(self._GO_NAMES[key], "")
        return super().__getitem__(key)


class _GoMap(dict[str, str]):
    """Attributes as a Go ``map[string]string`` reads in a template: a missing key is ``<no value>``."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return "<no value>"


def event_view(ev: dict[str, Any]) -> EventView:
    """An event as ``--format`` templates see it."""
    view = EventView(ev)
    actor = ev["Actor"]
    view["Actor"] = {"ID": actor["ID"], "Attributes": _GoMap(actor["Attributes"])}
    return view


def parse_bound(value: str | None, now: float) -> float | None:
    """A ``--since``/``--until`` value (Unix seconds, RFC 3339, a date, or a duration before ``now``)."""
    from dockyard.errors import InvalidArgument
    from dockyard.timeutil import parse_timestamp

    if not value:
        return None
    try:
        return parse_timestamp(value, now)
    except ValueError:
        raise InvalidArgument(f'failed to parse value as time or duration: "{value}"') from None


@click.command("events")
@click.option(
    "-f", "--filter", "filters", multiple=True, metavar="filter", help="Filter output based on conditions provided"
)
@click.option("--format", "fmt", metavar="string", help="Format output using a custom template")
@click.option("--since", metavar="string", help="Show all events created since timestamp")
@click.option("--until", metavar="string", help="Stream events until this timestamp")
def events_cmd(filters: tuple[str, ...], fmt: str | None, since: str | None, until: str | None) -> None:  # fmt: skip
    """Get real time events from the server."""
    from dockyard.cli.output import Template
    from dockyard.engine.events import EventFilter, EventLog, format_line

    now = time.time()
    since_ts = parse_bound(since, now)
    until_ts = parse_bound(until, now)
    match = EventFilter(filters)
    template = Template("{{json .}}" if fmt == "json" else fmt) if fmt else None
    log = EventLog(click.get_current_context().obj.engine.database)

    def show(batch: list[tuple[int, dict[str, Any]]]) -> int:
        last = 0
        lines = []
        for seq, ev in batch:
            last = seq
            if match.matches(ev):
                lines.append(template.render(event_view(ev)) if template else format_line(ev))
        if lines:  # at once, also into a pipe (``dockyard events | grep die``)
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()
        return last

    try:
        last = log.last_seq()
        if since_ts is not None or until_ts is not None:
            last = max(last, show(log.since(since=since_ts, until=until_ts)))
        while until_ts is None or time.time() <= until_ts:
            time.sleep(POLL_INTERVAL)
            last = max(last, show(log.since(after_seq=last, until=until_ts)))
    except KeyboardInterrupt:
        return
