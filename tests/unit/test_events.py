"""The event log's pure parts: Docker's JSON shape, filters, the default line, ``--since``/``--until`` values, and
the table itself on a private database."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.cli.commands.events import EventView, event_view, parse_bound
from dockyard.cli.output import Template
from dockyard.engine.events import EventFilter, EventLog, format_line, message, record
from dockyard.errors import InvalidArgument
from dockyard.store.db import open_database

CID = "3f4e" + "0" * 60
T0 = 1_795_942_690_711_444_587


def _container(action: str, **extra: str) -> dict[str, object]:
    return message(T0, "container", action, CID, {"image": "busybox:latest", "name": "foo", "app": "web", **extra})


def test_container_message_has_the_deprecated_fields() -> None:
    ev = _container("start")
    assert ev == {
        "status": "start",
        "id": CID,
        "from": "busybox:latest",
        "Type": "container",
        "Action": "start",
        "Actor": {"ID": CID, "Attributes": {"image": "busybox:latest", "name": "foo", "app": "web"}},
        "scope": "local",
        "time": 1_795_942_690,
        "timeNano": T0,
    }


def test_network_message_has_only_the_new_fields() -> None:
    ev = message(T0, "network", "create", "n1", {"name": "net", "type": "bridge"})
    assert "status" not in ev and "id" not in ev and "from" not in ev
    assert ev["Type"] == "network" and ev["Actor"] == {"ID": "n1", "Attributes": {"name": "net", "type": "bridge"}}
    image = message(T0, "image", "tag", "sha256:ab", {"name": "busybox:v1"})
    assert image["status"] == "tag" and image["id"] == "sha256:ab" and "from" not in image


def test_default_line_sorts_attributes_and_shows_nine_digits() -> None:
    line = format_line(_container("die", exitCode="0"))
    assert line == (
        f"2026-11-29T08:58:10.711444587Z container die {CID} (app=web, exitCode=0, image=busybox:latest, name=foo)"
    )
    whole = message(1_795_942_690_000_000_000, "volume", "create", "v", {})
    assert format_line(whole) == "2026-11-29T08:58:10.000000000Z volume create v"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((), True),
        (("type=container",), True),
        (("type=image",), False),
        (("type=image", "type=container"), True),
        (("event=start",), True),
        (("event=stop",), False),
        (("container=foo",), True),
        (("container=3f4e",), True),  # an ID prefix
        (("container=bar",), False),
        (("image=busybox",), True),  # the tag stripped
        (("image=busybox:latest",), True),
        (("image=alpine",), False),
        (("label=app",), True),
        (("label=app=web",), True),
        (("label=app=db",), False),
        (("label=app", "label=tier"), False),  # every label must match
        (("type=container", "event=start", "container=foo"), True),
    ],
)
def test_filters(filters: tuple[str, ...], expected: bool) -> None:
    assert EventFilter(filters).matches(_container("start")) is expected


def test_image_filter_on_image_events_uses_the_name() -> None:
    ev = message(T0, "image", "tag", "sha256:ab", {"name": "busybox:v1"})
    assert EventFilter(["image=busybox"]).matches(ev)
    assert EventFilter(["image=sha256:ab"]).matches(ev)
    assert not EventFilter(["image=alpine"]).matches(ev)


@pytest.mark.parametrize("bad", ["nokey", "colour=red"])
def test_bad_filters_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        EventFilter([bad])


def test_bounds() -> None:
    now = 1_800_000_000.0
    assert parse_bound(None, now) is None
    assert parse_bound("10m", now) == now - 600
    assert parse_bound("0s", now) == now
    assert parse_bound("1700000000", now) == 1_700_000_000.0
    assert parse_bound("2026-11-29T08:58:10Z", now) == 1_795_942_690.0
    with pytest.raises(InvalidArgument):
        parse_bound("yesterday", now)


def test_templates_see_go_field_names() -> None:
    view = EventView(_container("start"))
    assert Template("{{.Status}} {{.ID}} {{.From}} {{.Type}} {{.Actor.Attributes.name}}").render(view) == (
        f"start {CID} busybox:latest container foo"
    )
    assert Template("{{.Scope}} {{.Time}}").render(view) == "local 1795942690"
    assert Template("{{json .}}").render(view).startswith('{"status":"start","id":"3f4e')
    shown = event_view(_container("start"))
    assert Template("{{.Actor.Attributes.signal}}|{{.Actor.Attributes.name}}").render(shown) == "<no value>|foo"
    assert '"Attributes":{"image":"busybox:latest","name":"foo","app":"web"}' in Template("{{json .}}").render(shown)


def test_log_round_trip_and_bounds(tmp_path: Path) -> None:
    db = open_database(tmp_path / "db.sqlite")
    log = EventLog(db)
    assert log.last_seq() == 0
    record(db, "container", "create", CID, {"name": "foo", "image": "busybox"}, when=100.0)
    record(db, "container", "start", CID, {"name": "foo", "image": "busybox"}, when=200.0)
    record(db, "volume", "create", "v1", {"driver": "local"})
    seqs_and_events = log.since()
    assert [ev["Action"] for _, ev in seqs_and_events] == ["create", "start", "create"]
    assert [ev["Action"] for _, ev in log.since(since=150.0, until=250.0)] == ["start"]
    assert log.since(after_seq=log.last_seq()) == []
    assert seqs_and_events[0][1]["timeNano"] == 100_000_000_000
    db.close()


def test_log_is_trimmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dockyard.engine.events as events

    monkeypatch.setattr(events, "MAX_EVENTS", 150)
    db = open_database(tmp_path / "db.sqlite")
    for i in range(400):
        record(db, "volume", "create", f"v{i}", {})
    rows = EventLog(db).since()
    assert len(rows) <= 250 and rows[-1][1]["Actor"]["ID"] == "v399"
    db.close()


def test_recording_never_raises(tmp_path: Path) -> None:
    db = open_database(tmp_path / "db.sqlite")
    db.close()
    record(db, "container", "create", CID, {})  # a closed connection: logged, not raised


def test_exec_events_match_event_filters_by_prefix() -> None:
    ev = _container("exec_start: sh -c true", execID="e1")
    assert EventFilter(["event=exec_start"]).matches(ev)
    assert not EventFilter(["event=exec_create"]).matches(ev)
    assert not EventFilter(["event=start"]).matches(ev)  # the others stay exact
