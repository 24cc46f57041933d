"""Volume name rules, filters and JSON shapes (Docker's words and semantics)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.api.schemas.volumes import parse_create, volume_list, volume_prune
from dockyard.engine.volumes import ANONYMOUS_LABEL, PruneReport, Volume, VolumeFilters, validate_name, volume_json
from dockyard.engine.volumes.types import LIST_FILTERS, PRUNE_FILTERS, rfc3339_seconds
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize("name", ["ab", "a1", "my-vol", "my_vol.2", "0abc", "A" * 200, "x" * 64])
def test_valid_names(name: str) -> None:
    validate_name(name)


@pytest.mark.parametrize("name", ["x!", "-ab", ".ab", "_ab", "a b", "a/b", "ab:", "/abs/path", "ä1", ""])
def test_invalid_names_use_dockers_words(name: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_name(name)
    assert err.value.message == (
        f'create {name}: "{name}" includes invalid characters for a local volume name, only '
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
    )


def test_the_exact_example_message() -> None:
    with pytest.raises(InvalidArgument, match=r'^create x!: "x!" includes invalid characters'):
        validate_name("x!")


def test_one_character_is_too_short() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_name("a")
    assert err.value.message == (
        "create a: volume name is too short, names should be at least two alphanumeric characters"
    )


def _vol(name: str, driver: str = "local", labels: dict[str, str] | None = None) -> Volume:
    return Volume(name, driver, Path(f"/r/volumes/{name}/_data"), 0.0, labels, None)


def test_filter_parse_needs_key_value() -> None:
    with pytest.raises(InvalidArgument, match=r"bad format of filter \(expected name=value\): dangling"):
        VolumeFilters.parse(["dangling"])
    f = VolumeFilters.parse(["label=a", "label=b=c", "NAME=x"])
    assert f.get("label") == ("a", "b=c") and f.get("name") == ("x",)


def test_unknown_filters_are_refused_per_operation() -> None:
    VolumeFilters.parse(["dangling=true", "name=a", "driver=local", "label=x"]).validate(LIST_FILTERS)
    VolumeFilters.parse(["label=a", "label!=b", "all=true"]).validate(PRUNE_FILTERS)
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'until'$"):
        VolumeFilters.parse(["until=1h"]).validate(LIST_FILTERS)
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'dangling'$"):
        VolumeFilters.parse(["dangling=true"]).validate(PRUNE_FILTERS)


def test_name_filter_is_a_regular_expression_search() -> None:
    f = VolumeFilters.parse(["name=^web"])
    assert f.match(_vol("web-data"), False) and not f.match(_vol("old-web"), False)
    f = VolumeFilters.parse(["name=data"])
    assert f.match(_vol("web-data"), False) and f.match(_vol("data2"), False) and not f.match(_vol("db"), False)
    # an invalid pattern matches only exactly
    f = VolumeFilters.parse(["name=[x"])
    assert f.match(_vol("[x"), False) and not f.match(_vol("ab"), False)


def test_driver_filter_is_exact() -> None:
    f = VolumeFilters.parse(["driver=local"])
    assert f.match(_vol("ab"), False) and not f.match(_vol("ab", driver="loc"), False)


def test_label_filters_all_must_match() -> None:
    vol = _vol("ab", labels={"env": "prod", "team": "a"})
    assert VolumeFilters.parse(["label=env"]).match(vol, False)
    assert VolumeFilters.parse(["label=env=prod", "label=team"]).match(vol, False)
    assert not VolumeFilters.parse(["label=env=dev"]).match(vol, False)
    assert not VolumeFilters.parse(["label=env", "label=other"]).match(vol, False)
    assert not VolumeFilters.parse(["label=env"]).match(_vol("cd"), False)


def test_label_not_filter_excludes_only_when_all_match() -> None:
    vol = _vol("ab", labels={"keep": "yes", "team": "a"})
    assert not VolumeFilters.parse(["label!=keep"]).match(vol, False)
    assert not VolumeFilters.parse(["label!=keep=yes"]).match(vol, False)
    assert VolumeFilters.parse(["label!=keep=no"]).match(vol, False)
    assert VolumeFilters.parse(["label!=keep", "label!=other"]).match(vol, False)
    assert VolumeFilters.parse(["label!=keep"]).match(_vol("cd"), False)


def test_dangling_filter() -> None:
    assert VolumeFilters.parse(["dangling=true"]).match(_vol("ab"), referenced=False)
    assert not VolumeFilters.parse(["dangling=1"]).match(_vol("ab"), referenced=True)
    assert VolumeFilters.parse(["dangling=false"]).match(_vol("ab"), referenced=True)
    assert not VolumeFilters.parse(["dangling=0"]).match(_vol("ab"), referenced=False)
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'dangling=\[maybe\]'$"):
        VolumeFilters.parse(["dangling=maybe"]).dangling()
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'dangling=\[true false\]'$"):
        VolumeFilters.parse(["dangling=true", "dangling=false"]).dangling()


def test_prune_all_filter() -> None:
    assert not VolumeFilters().prune_all()
    assert VolumeFilters.parse(["all=true"]).prune_all() and VolumeFilters.parse(["all=1"]).prune_all()
    assert not VolumeFilters.parse(["all=false"]).prune_all()
    with pytest.raises(InvalidArgument, match="only one value is expected"):
        VolumeFilters.parse(["all=true", "all=false"]).prune_all()
    with pytest.raises(InvalidArgument, match=r"invalid filter 'all': strconv.ParseBool"):
        VolumeFilters.parse(["all=yes"]).prune_all()


def test_anonymous_is_the_docker_label() -> None:
    assert ANONYMOUS_LABEL == "com.docker.volume.anonymous"
    assert _vol("ab", labels={ANONYMOUS_LABEL: ""}).anonymous and not _vol("ab", labels={}).anonymous


def test_volume_json_shape_and_key_order() -> None:
    vol = Volume("data", "local", Path("/r/volumes/data/_data"), 1795824000.5, {"a": "b"}, {"type": "tmpfs"})
    doc = volume_json(vol)
    assert list(doc) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert doc["Mountpoint"] == "/r/volumes/data/_data" and doc["Scope"] == "local"
    assert doc["Labels"] == {"a": "b"} and doc["Options"] == {"type": "tmpfs"}
    # never given -> null, as Docker shows volumes created through the API without labels or options
    doc = volume_json(Volume("data", "local", Path("/x"), 0.0, None, None))
    assert doc["Labels"] is None and doc["Options"] is None
    json.dumps(doc)


def test_created_at_is_rfc3339_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert rfc3339_seconds(1795824000.9) == "2026-11-28T00:00:00Z"
        monkeypatch.setenv("TZ", "Europe/Paris")
        time.tzset()
        assert rfc3339_seconds(1795824000) == "2026-11-28T01:00:00+01:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_api_list_and_prune_bodies() -> None:
    vol = Volume("data", "local", Path("/r/volumes/data/_data"), 0.0, {}, {})
    assert volume_list([vol]) == {"Volumes": [volume_json(vol)], "Warnings": None}
    assert volume_list([]) == {"Volumes": [], "Warnings": None}
    assert volume_prune(PruneReport(("a", "b"), 12000)) == {"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 12000}
    assert volume_prune(PruneReport((), 0)) == {"VolumesDeleted": [], "SpaceReclaimed": 0}


def test_api_create_body() -> None:
    req = parse_create({"Name": "v1", "Driver": "local", "DriverOpts": {"type": "tmpfs"}, "Labels": {"a": "b"}})
    assert (req.name, req.driver, req.options, req.labels) == ("v1", "local", {"type": "tmpfs"}, {"a": "b"})
    req = parse_create({})
    assert (req.name, req.driver, req.options, req.labels) == (None, "local", None, None)
    req = parse_create({"Name": "", "Driver": ""})
    assert req.name is None and req.driver == "local"
    with pytest.raises(InvalidArgument):
        parse_create([])
    with pytest.raises(InvalidArgument):
        parse_create({"Labels": {"a": 1}})
