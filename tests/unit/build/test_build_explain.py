"""Why a step missed the cache, in words."""

from __future__ import annotations

from dockyard.build.cache import CacheEntry, CacheInputs, SourceFile
from dockyard.build.explain import diff_manifests, explain_miss
from dockyard.build.options import CacheMiss

P1 = "sha256:" + "1" * 64
P2 = "sha256:" + "2" * 64


def f(
    path: str, content: str = "c", mode: int = 0o100644, uid: int = 0, gid: int = 0, kind: str = "file"
) -> SourceFile:
    return SourceFile(path, kind, mode, uid, gid, content)


def entry(inputs: CacheInputs, image: str = P2) -> CacheEntry:
    return CacheEntry(inputs.key, inputs.parent, image, inputs, "o", 1.0, 1.0)


def test_diff_manifests_names_each_change() -> None:
    old = [
        f("app.py", "a"),
        f("run.sh", mode=0o100644),
        f("gone.txt"),
        f("owned", uid=0),
        f("link", "x", kind="symlink"),
    ]
    new = [
        f("app.py", "b"),
        f("run.sh", mode=0o100755),
        f("new.txt"),
        f("owned", uid=1000, gid=1000),
        f("link", "y", kind="symlink"),
    ]
    assert diff_manifests(old, new) == [
        "app.py changed (content)",
        "gone.txt removed",
        "link changed (link target)",
        "new.txt added",
        "owned changed (owner 0:0 -> 1000:1000)",
        "and 1 more",
    ]
    assert diff_manifests(old, new, limit=0)[-1] == "run.sh changed (mode 644 -> 755)"
    assert diff_manifests([f("a")], [f("a", "x", mode=0o100600)]) == ["a changed (content, mode 644 -> 600)"]
    assert diff_manifests([f("a")], [f("a", kind="dir", mode=0o40755)]) == [
        "a changed (type file -> dir, mode 644 -> 755)"
    ]


def test_diff_manifests_ignores_nothing_but_times_it_never_sees() -> None:
    assert diff_manifests([f("a")], [f("a")]) == []


def test_diff_manifests_limits_long_lists() -> None:
    old = [f(f"f{i}") for i in range(8)]
    new = [f(f"f{i}", "new") for i in range(8)]
    out = diff_manifests(old, new, limit=5)
    assert len(out) == 6 and out[-1] == "and 3 more"


def test_file_change_is_explained_from_stored_manifests() -> None:
    old = CacheInputs(P1, "COPY . /app", sources="s-old", manifest="s-old", display="COPY . /app")
    new = CacheInputs(P1, "COPY . /app", sources="s-new", manifest="s-new", display="COPY . /app")
    manifests = {
        "s-old": [f("app.py", "v1"), f("requirements.txt")],
        "s-new": [f("app.py", "v2"), f("requirements.txt")],
    }
    reasons = explain_miss(new, entry(old), manifest_of=manifests.get)
    assert reasons == ["app.py changed (content)"]
    text = CacheMiss(4, 7, "COPY . /app", tuple(reasons)).text
    assert text == "cache miss at step 4/7 (COPY . /app): app.py changed (content)"


def test_instruction_args_and_parent_changes() -> None:
    old = CacheInputs(
        P1, "/bin/sh -c pip install flask", args=(("V", "1"), ("GONE", "x")), display="RUN pip install flask"
    )
    new = CacheInputs(P2, "/bin/sh -c pip install flask redis", args=(("V", "2"), ("NEW", "y")))
    reasons = explain_miss(new, entry(old), manifest_of=lambda _: None, base_name="python:3.11-slim")
    assert reasons == [
        "the base image python:3.11-slim changed (111111111111 -> 222222222222)",
        "the instruction changed (was: RUN pip install flask)",
        "build arg GONE removed",
        "build arg NEW added (NEW=y)",
        "build arg V changed (1 -> 2)",
    ]
    later = explain_miss(new, entry(old), manifest_of=lambda _: None)
    assert later[0] == "the step before produced a different image (111111111111 -> 222222222222)"


def test_first_build_and_removed_image() -> None:
    i = CacheInputs(P1, "x")
    assert explain_miss(i, None, manifest_of=lambda _: None) == ["no earlier build of this step"]
    gone = explain_miss(i, entry(i, P2), manifest_of=lambda _: None, image_exists=lambda _: False)
    assert gone == ["its cached image 222222222222 was removed"]


def test_config_only_change_is_named() -> None:
    old = CacheInputs(P1, "#(nop) ENV A=1 B=2", extra=(("config", "h1"),))
    new = CacheInputs(P1, "#(nop) ENV A=1 B=2", extra=(("config", "h2"),))
    assert explain_miss(new, entry(old), manifest_of=lambda _: None) == ["the image config it makes changed"]


def test_the_same_line_expanding_differently_names_the_build_arg() -> None:
    old = CacheInputs(P1, "/bin/sh -c #(nop)  ENV E=given", display="ENV E=$LOCAL", scope=(("LOCAL", "given"),))
    new = CacheInputs(P1, "/bin/sh -c #(nop)  ENV E=other", display="ENV E=$LOCAL", scope=(("LOCAL", "other"),))
    assert explain_miss(new, entry(old), manifest_of=lambda _: None) == ["build arg LOCAL changed (given -> other)"]
    same_scope = CacheInputs(P1, "/bin/sh -c #(nop)  ENV E=other", display="ENV E=$LOCAL", scope=(("LOCAL", "given"),))
    assert explain_miss(same_scope, entry(old), manifest_of=lambda _: None) == [
        "it expands differently (was: ENV E=given; now: ENV E=other)"
    ]
