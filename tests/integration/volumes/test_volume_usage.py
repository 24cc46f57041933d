"""Who uses a volume: refusing removal while in use, releasing, ``rm -v`` of anonymous volumes, prune semantics."""

from __future__ import annotations

import pytest

from dockyard.engine import Engine
from dockyard.engine.volumes import ANONYMOUS_LABEL, VolumeFilters
from dockyard.errors import Conflict, InvalidArgument, NotFound
from tests.integration.volumes.conftest import container_id

pytestmark = pytest.mark.integration


def test_create_is_idempotent_and_get_inspect(engine: Engine) -> None:
    vol = engine.volumes.create("web", labels={"team": "a"})
    again = engine.volumes.create("web", labels={"other": "b"})
    assert again == vol  # Docker returns the existing volume unchanged
    assert vol.mountpoint == engine.settings.layout.volumes / "web" / "_data" and vol.mountpoint.is_dir()
    doc = engine.volumes.inspect("web")
    assert doc["Name"] == "web" and doc["Labels"] == {"team": "a"} and doc["Options"] is None
    with pytest.raises(NotFound) as err:
        engine.volumes.get("nope")
    assert err.value.message == "get nope: no such volume"


def test_anonymous_volumes_get_a_generated_name(engine: Engine) -> None:
    vol = engine.volumes.create()
    assert len(vol.name) == 64 and int(vol.name, 16) >= 0
    assert vol.labels == {ANONYMOUS_LABEL: ""} and vol.anonymous
    assert engine.volumes.create().name != vol.name


def test_in_use_volume_is_not_removed(engine: Engine) -> None:
    c1, c2 = container_id(), container_id()
    engine.volumes.create("shared")
    engine.volumes.use("shared", c1)
    engine.volumes.use("shared", c2)
    engine.volumes.use("shared", c1)  # recorded once
    assert engine.volumes.users("shared") == [c1, c2]
    [report] = engine.volumes.delete(["shared"])
    assert isinstance(report.error, Conflict)
    assert report.message == f"remove shared: volume is in use - [{c1}, {c2}]"
    [report] = engine.volumes.delete(["shared"], force=True)  # -f does not override "in use" (Docker neither)
    assert isinstance(report.error, Conflict)
    assert engine.volumes.get("shared")
    engine.volumes.release(c1)
    assert engine.volumes.users("shared") == [c2]
    engine.volumes.release(c2)
    assert engine.volumes.users("shared") == []
    assert engine.volumes.delete(["shared"])[0].error is None
    assert not (engine.settings.layout.volumes / "shared").exists()


def test_delete_missing_and_force(engine: Engine) -> None:
    reports = engine.volumes.delete(["nope", "nope2"])
    assert [r.message for r in reports] == ["get nope: no such volume", "get nope2: no such volume"]
    assert [r.error for r in engine.volumes.delete(["nope"], force=True)] == [None]


def test_use_creates_on_first_use(engine: Engine) -> None:
    cid = container_id()
    vol = engine.volumes.use("made-by-run", cid)
    assert vol.labels is None and engine.volumes.users("made-by-run") == [cid]
    assert [v.name for v in engine.volumes.list()] == ["made-by-run"]


def test_release_with_remove_anonymous_is_rm_v(engine: Engine) -> None:
    cid, other = container_id(), container_id()
    named = engine.volumes.use("named", cid)
    anon = engine.volumes.create()
    engine.volumes.use(anon.name, cid, anonymous=True)
    shared = engine.volumes.create()
    engine.volumes.use(shared.name, cid, anonymous=True)
    engine.volumes.use(shared.name, other)
    removed = engine.volumes.release(cid, remove_anonymous=True)
    assert removed == [anon.name]
    names = {v.name for v in engine.volumes.list()}
    assert names == {named.name, shared.name}  # named stays; the shared one is still used by `other`
    assert engine.volumes.release(other) == []


def test_list_filters(engine: Engine) -> None:
    engine.volumes.create("v10", labels={"env": "prod"})
    engine.volumes.create("v2", labels={"env": "dev"})
    engine.volumes.create("data", options={"type": "tmpfs", "device": "tmpfs"})
    engine.volumes.use("v2", container_id())

    def names(*filters: str) -> list[str]:
        return [v.name for v in engine.volumes.list(VolumeFilters.parse(filters))]

    assert names() == ["data", "v10", "v2"]
    assert names("dangling=true") == ["data", "v10"]
    assert names("dangling=false") == ["v2"]
    assert names("label=env") == ["v10", "v2"]
    assert names("label=env=prod") == ["v10"]
    assert names("name=^v") == ["v10", "v2"]
    assert names("driver=local", "name=1") == ["v10"]
    assert names("driver=other") == []
    with pytest.raises(InvalidArgument, match="invalid filter 'until'"):
        names("until=1h")


def test_prune_removes_unused_anonymous_volumes_only(engine: Engine) -> None:
    keep_named = engine.volumes.create("named")
    used = engine.volumes.create()
    engine.volumes.use(used.name, container_id(), anonymous=True)
    unused = engine.volumes.create()
    (unused.mountpoint / "blob").write_bytes(b"z" * 12000)
    tmpfs = engine.volumes.create(None, options={"type": "tmpfs", "device": "tmpfs"})
    report = engine.volumes.prune()
    assert report.deleted == (unused.name,) and report.space_reclaimed == 12000
    left = {v.name for v in engine.volumes.list()}
    assert left == {keep_named.name, used.name, tmpfs.name}  # volumes with driver options are never pruned


def test_prune_all_and_label_filters(engine: Engine) -> None:
    engine.volumes.create("keep", labels={"keep": "yes"})
    engine.volumes.create("drop1", labels={"team": "a"})
    engine.volumes.create("drop2")
    report = engine.volumes.prune(VolumeFilters.parse(["label=team"]), all=True)
    assert report.deleted == ("drop1",)
    report = engine.volumes.prune(VolumeFilters.parse(["all=true", "label!=keep"]))
    assert report.deleted == ("drop2",)
    assert engine.volumes.prune(all=True).deleted == ("keep",)
    with pytest.raises(InvalidArgument, match="invalid filter 'dangling'"):
        engine.volumes.prune(VolumeFilters.parse(["dangling=true"]))
