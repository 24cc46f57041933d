""".dockerignore and Go path matching, ported from moby/patternmatcher's tests and Go's filepath tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.build.dockerfile import IgnoreMatcher, read_dockerignore
from dockyard.build.dockerfile.gomatch import BadPattern, clean, contains_wildcards, match
from dockyard.errors import InvalidArgument

# Go's filepath.Match table (pattern, name, matched, bad pattern)
MATCH_TESTS = [
    ("abc", "abc", True, False),
    ("*", "abc", True, False),
    ("*c", "abc", True, False),
    ("a*", "a", True, False),
    ("a*", "abc", True, False),
    ("a*", "ab/c", False, False),
    ("a*/b", "abc/b", True, False),
    ("a*/b", "a/c/b", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False, False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True, False),
    ("a*b?c*x", "abxbbxdbxebxczzy", False, False),
    ("ab[c]", "abc", True, False),
    ("ab[b-d]", "abc", True, False),
    ("ab[e-g]", "abc", False, False),
    ("ab[^c]", "abc", False, False),
    ("ab[^b-d]", "abc", False, False),
    ("ab[^e-g]", "abc", True, False),
    ("a\\*b", "a*b", True, False),
    ("a\\*b", "ab", False, False),
    ("a?b", "a☺b", True, False),
    ("a[^a]b", "a☺b", True, False),
    ("a???b", "a☺b", False, False),
    ("a[^a][^a][^a]b", "a☺b", False, False),
    ("[a-ζ]*", "α", True, False),
    ("*[a-ζ]", "A", False, False),
    ("a?b", "a/b", False, False),
    ("a*b", "a/b", False, False),
    ("[\\]a]", "]", True, False),
    ("[\\-]", "-", True, False),
    ("[x\\-]", "x", True, False),
    ("[x\\-]", "-", True, False),
    ("[x\\-]", "z", False, False),
    ("[\\-x]", "x", True, False),
    ("[\\-x]", "-", True, False),
    ("[\\-x]", "a", False, False),
    ("[]a]", "]", False, True),
    ("[-]", "-", False, True),
    ("[x-]", "x", False, True),
    ("[x-]", "-", False, True),
    ("[x-]", "z", False, True),
    ("[-x]", "x", False, True),
    ("[-x]", "-", False, True),
    ("[-x]", "a", False, True),
    ("\\", "a", False, True),
    ("[a-b-c]", "a", False, True),
    ("[", "a", False, True),
    ("[^", "a", False, True),
    ("[^bc", "a", False, True),
    ("a[", "a", False, True),
    ("a[", "ab", False, True),
    ("a[", "x", False, True),
    ("a/b[", "x", False, True),
    ("*x", "xxx", True, False),
]


@pytest.mark.parametrize(("pattern", "name", "matched", "bad"), MATCH_TESTS)
def test_go_filepath_match(pattern: str, name: str, matched: bool, bad: bool) -> None:
    if bad:
        with pytest.raises(BadPattern):
            match(pattern, name)
    else:
        assert match(pattern, name) is matched


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        ("abc", "abc"),
        ("abc/def", "abc/def"),
        ("a/b/c", "a/b/c"),
        (".", "."),
        ("..", ".."),
        ("../..", "../.."),
        ("../../abc", "../../abc"),
        ("/abc", "/abc"),
        ("/", "/"),
        ("abc/", "abc"),
        ("abc/def/", "abc/def"),
        ("//abc", "/abc"),
        ("///abc", "/abc"),
        ("abc//def//ghi", "abc/def/ghi"),
        ("./abc", "abc"),
        ("/./abc", "/abc"),
        ("abc/./def", "abc/def"),
        ("abc/..", "."),
        ("abc/def/..", "abc"),
        ("abc/def/../..", "."),
        ("/abc/def/../..", "/"),
        ("abc/def/../../..", ".."),
        ("/abc/def/../../..", "/"),
        ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
        ("/../abc", "/abc"),
    ],
)
def test_go_filepath_clean(path: str, expected: str) -> None:
    assert clean(path) == expected


def test_contains_wildcards() -> None:
    assert contains_wildcards("*.txt") and contains_wildcards("a?") and contains_wildcards("[ab]")
    assert not contains_wildcards("plain.txt") and not contains_wildcards("a\\*b")


EXACT, INEXACT, FAIL = "exact", "inexact", "fail"
WHL = "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"

# moby/patternmatcher TestMatches: (pattern, text, result); "inexact" matches only through a parent directory.
PATTERN_TESTS = [
    ("**", "file", EXACT),
    ("**", "file/", EXACT),
    ("**/", "file", EXACT),
    ("**/", "file/", EXACT),
    ("**", "/", EXACT),
    ("**/", "/", EXACT),
    ("**", "dir/file", EXACT),
    ("**/", "dir/file", EXACT),
    ("**", "dir/file/", EXACT),
    ("**/", "dir/file/", EXACT),
    ("**/**", "dir/file", EXACT),
    ("**/**", "dir/file/", EXACT),
    ("dir/**", "dir/file", EXACT),
    ("dir/**", "dir/file/", EXACT),
    ("dir/**", "dir/dir2/file", EXACT),
    ("dir/**", "dir/dir2/file/", EXACT),
    ("**/dir", "dir", EXACT),
    ("**/dir", "dir/file", INEXACT),
    ("**/dir2/*", "dir/dir2/file", EXACT),
    ("**/dir2/*", "dir/dir2/file/", INEXACT),
    ("**/dir2/**", "dir/dir2/dir3/file", EXACT),
    ("**/dir2/**", "dir/dir2/dir3/file/", EXACT),
    ("**file", "file", EXACT),
    ("**file", "dir/file", EXACT),
    ("**/file", "dir/file", EXACT),
    ("**file", "dir/dir/file", EXACT),
    ("**/file", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file.txt", EXACT),
    ("**/file*txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt*", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt2", "dir/dir/file.txt", FAIL),
    ("**/*.txt", "file.txt", EXACT),
    ("**/**/*.txt", "file.txt", EXACT),
    ("a**/*.txt", "a/file.txt", EXACT),
    ("a**/*.txt", "a/dir/file.txt", EXACT),
    ("a**/*.txt", "a/dir/dir/file.txt", EXACT),
    ("a/*.txt", "a/dir/file.txt", FAIL),
    ("a/*.txt", "a/file.txt", EXACT),
    ("a/*.txt**", "a/file.txt", EXACT),
    ("a[b-d]e", "ae", FAIL),
    ("a[b-d]e", "ace", EXACT),
    ("a[b-d]e", "aae", FAIL),
    ("a[^b-d]e", "aze", EXACT),
    (".*", ".foo", EXACT),
    (".*", "foo", FAIL),
    ("abc.def", "abcdef", FAIL),
    ("abc.def", "abc.def", EXACT),
    ("abc.def", "abcZdef", FAIL),
    ("abc?def", "abcZdef", EXACT),
    ("abc?def", "abcdef", FAIL),
    ("**/foo/bar", "foo/bar", EXACT),
    ("**/foo/bar", "dir/foo/bar", EXACT),
    ("**/foo/bar", "dir/dir2/foo/bar", EXACT),
    ("abc/**", "abc", FAIL),
    ("abc/**", "abc/def", EXACT),
    ("abc/**", "abc/def/ghi", EXACT),
    ("**/.foo", ".foo", EXACT),
    ("**/.foo", "bar.foo", FAIL),
    ("a(b)c/def", "a(b)c/def", EXACT),
    ("a(b)c/def", "a(b)c/xyz", FAIL),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", EXACT),
    (WHL, WHL, EXACT),
    ("dist/*.whl", WHL, EXACT),
    ("a\\\\", "a\\", EXACT),
    ("a\\*b", "a*b", EXACT),
]

MULTI_PATTERN_TESTS = [
    (["**", "!util/docker/web"], "util/docker/web/foo", FAIL),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", EXACT),
    (["**", "!" + WHL], WHL, FAIL),
    (["**", "!dist/*.whl"], WHL, FAIL),
]


@pytest.mark.parametrize(("pattern", "text", "result"), PATTERN_TESTS)
def test_pattern_matches(pattern: str, text: str, result: str) -> None:
    matcher = IgnoreMatcher([pattern])
    assert matcher.matches(text) is (result != FAIL)
    # exact match only (no parent): moby's MatchesExact
    assert matcher.patterns[0].match(text) is (result == EXACT)
    # the parent-result path gives the same answer
    parts = text.split("/")
    info: tuple[bool, ...] | None = tuple(False for _ in matcher.patterns)
    hit = False
    for i in range(len(parts)):
        hit, info = matcher.matches_using_parent("/".join(parts[: i + 1]), info)
    assert hit is (result != FAIL)


@pytest.mark.parametrize(("patterns", "text", "result"), MULTI_PATTERN_TESTS)
def test_multi_pattern_matches(patterns: list[str], text: str, result: str) -> None:
    assert IgnoreMatcher(patterns).matches(text) is (result != FAIL)


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        (["*"], "fileutils.go", True),
        (["*.go"], "fileutils.go", True),
        (["!fileutils.go", "*.go"], "fileutils.go", True),
        (["docs", "!docs/README.md"], "docs/README.md", False),
        (["docs/", "!docs/README.md"], "docs/README.md", False),
        (["docs/*", "!docs/README.md"], "docs/README.md", False),
        (["*.go", "!fileutils.go"], "fileutils.go", False),
        (["*.go"], ".", False),
        ([], "/any/path/there", False),
    ],
)
def test_simple_matches(patterns: list[str], path: str, expected: bool) -> None:
    assert IgnoreMatcher(patterns).matches(path) is expected


def test_bad_patterns() -> None:
    with pytest.raises(InvalidArgument, match='illegal exclusion pattern: "!"'):
        IgnoreMatcher(["!"])
    with pytest.raises(InvalidArgument, match="syntax error in pattern"):
        IgnoreMatcher(["["])


def test_clean_patterns() -> None:
    matcher = IgnoreMatcher(["docs", "config", "", "  !docs/README.md  ", "/abs/./x/", "!/y"])
    assert [p.text for p in matcher.patterns] == ["docs", "config", "docs/README.md", "abs/x", "y"]
    assert matcher.has_exclusions


def test_read_all() -> None:
    content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! "
    assert read_dockerignore(content) == [
        "test1",
        "test2",
        "a/file/here",
        "lastfile",
        "!inverted/abs/path",
        "!",
        "!",
    ]
    assert read_dockerignore(None) == []
    assert read_dockerignore(b"\xef\xbb\xbf./a/../b\r\n  #not a comment\n") == ["b", "#not a comment"]


def _tree(root: Path, paths: list[str]) -> None:
    for rel in paths:
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rel)


def test_walk_order_and_exclusions(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.txt", "a/x", "a/y/z", "b", "docs/README.md", "docs/other.md", "node_modules/m/index.js"])
    matcher = IgnoreMatcher(read_dockerignore("node_modules\ndocs\n!docs/README.md\n*.txt\n"))
    paths = [e.path for e in matcher.walk(tmp_path)]
    assert paths == ["a", "a/x", "a/y", "a/y/z", "b", "docs/README.md"]
    assert matcher.excluded("docs/other.md") and not matcher.excluded("docs/README.md")
    assert matcher.excluded("node_modules/m/index.js") and not matcher.excluded("a/y/z")


def test_walk_prunes_like_docker(tmp_path: Path) -> None:
    # Docker prunes an excluded directory unless an exception *starts with* its path: "!**/*.md" does not
    # bring back docs/README.md, while matches() (pure pattern logic) says it is not excluded.
    _tree(tmp_path, ["docs/README.md", "docs/x.txt", "top.md"])
    matcher = IgnoreMatcher(["docs", "!**/*.md"])
    assert [e.path for e in matcher.walk(tmp_path)] == ["top.md"]
    assert matcher.excluded("docs/README.md")
    assert not matcher.matches("docs/README.md")


def test_walk_prunes_without_reading_excluded_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, ["keep", "big/a/b/c", "docs/README.md", "docs/skip/x"])
    scanned: list[str] = []
    real_scandir = os.scandir

    def spy(path: str) -> object:
        scanned.append(os.path.relpath(path, tmp_path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", spy)
    assert [e.path for e in IgnoreMatcher(["big", "docs", "!docs/README.md"]).walk(tmp_path)] == [
        "docs/README.md",
        "keep",
    ]
    assert sorted(scanned) == [".", "docs"]  # big/ and docs/skip/ are never listed


def test_walk_from_subdirectory(tmp_path: Path) -> None:
    _tree(tmp_path, ["src/a.py", "src/cache/x.pyc", "src/b.pyc", "other"])
    matcher = IgnoreMatcher(["**/*.pyc", "src/cache"])
    assert [e.path for e in matcher.walk(tmp_path, "src")] == ["src/a.py"]
    assert list(IgnoreMatcher(["src"]).walk(tmp_path, "src")) == []
