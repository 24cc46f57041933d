"""The Dockerfile parser: directives, continuations, comments, heredocs, JSON form, flags, line numbers.

Several tables are ported from BuildKit's parser tests (json_test.go, parser_test.go, parser_heredoc_test.go).
"""

from __future__ import annotations

import pytest

from dockyard.build.dockerfile import DockerfileError, Heredoc, parse
from dockyard.build.dockerfile.lineparse import extract_builder_flags, parse_json_array, parse_words
from dockyard.build.dockerfile.parser import chomp_heredoc, parse_heredoc
from dockyard.errors import InvalidArgument

INVALID_JSON_ARRAYS_OF_STRINGS = [
    '["a",42,"b"]',
    '["a",123.456,"b"]',
    '["a",{},"b"]',
    '["a",{"c": "d"},"b"]',
    '["a",["c"],"b"]',
    '["a",true,"b"]',
    '["a",false,"b"]',
    '["a",null,"b"]',
]

VALID_JSON_ARRAYS_OF_STRINGS = {
    "[]": [],
    '[""]': [""],
    '["a"]': ["a"],
    '["a","b"]': ["a", "b"],
    '[ "a", "b" ]': ["a", "b"],
    '[\t"a",\t"b"\t]': ["a", "b"],
    '\t[\t"a",\t"b"\t]\t': ["a", "b"],
    '["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]': [
        "abc 123",
        "♥",
        "☃",
        '" \\ / \b \f \n \r \t \u0000',
    ],
}


@pytest.mark.parametrize(("text", "expected"), VALID_JSON_ARRAYS_OF_STRINGS.items())
def test_json_arrays_of_strings(text: str, expected: list[str]) -> None:
    assert list(parse_json_array(text)) == expected


@pytest.mark.parametrize("text", INVALID_JSON_ARRAYS_OF_STRINGS)
def test_json_arrays_of_non_strings_are_errors(text: str) -> None:
    with pytest.raises(DockerfileError, match="arrays must be comprised of strings only"):
        parse_json_array(text)
    with pytest.raises(DockerfileError) as info:
        parse(f"FROM a\nCMD {text}\n")
    assert info.value.line == 2


@pytest.mark.parametrize("keyword", ["RUN", "CMD", "ENTRYPOINT"])
@pytest.mark.parametrize(
    "text", ['["a", "b"', "['a']", '["a", "b"] trailing', "[NaN]", '{"a": 1}', "[1, 2", "[ invalid ]"]
)
def test_malformed_json_falls_back_to_shell_form(keyword: str, text: str) -> None:
    node = parse(f"FROM a\n{keyword} {text}\n").nodes[1]
    assert not node.json
    assert node.args == (text,)


def test_json_form_for_copy_volume_and_words_fallback() -> None:
    nodes = parse('FROM a\nCOPY ["a b", "/c d/"]\nVOLUME /x   /y\nADD [broken /z\n').nodes
    assert nodes[1].args == ("a b", "/c d/") and nodes[1].json
    assert nodes[2].args == ("/x", "/y") and not nodes[2].json
    assert nodes[3].args == ("[broken", "/z")


PARSE_WORDS = [
    ("foo", ["foo"]),
    ("foo bar", ["foo", "bar"]),
    ("foo\\ bar", ["foo\\ bar"]),
    ("foo=bar", ["foo=bar"]),
    ("foo bar 'abc xyz'", ["foo", "bar", "'abc xyz'"]),
    ('foo bar "abc xyz"', ["foo", "bar", '"abc xyz"']),
    ("àöû", ["àöû"]),
    ('föo bàr "âbc xÿz"', ["föo", "bàr", '"âbc xÿz"']),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_WORDS)
def test_parse_words(text: str, expected: list[str]) -> None:
    assert parse_words(text, "\\") == expected


@pytest.mark.parametrize(
    ("line", "rest", "flags"),
    [
        ("--from=a /x /y", "/x /y", ["--from=a"]),
        ('--chown="a b" --link src dst', "src dst", ["--chown=a b", "--link"]),
        ("-- --notaflag x", "--notaflag x", []),
        ("--mount=type=cache,target=/c echo hi", "echo hi", ["--mount=type=cache,target=/c"]),
        ("-x y", "-x y", []),
        ("--a\\ b=1 z", "z", ["--a b=1"]),
        ("--only", "", ["--only"]),
    ],
)
def test_extract_builder_flags(line: str, rest: str, flags: list[str]) -> None:
    got_rest, got_flags = extract_builder_flags(line)
    assert (got_rest.strip(), got_flags) == (rest, flags)


LINE_INFO = """# ESCAPE=\\



FROM brimstone:3.6

# TORCH=\\
# WITH=\\

RUN "foo"   \\
  "bar"

# comment \\
# more comment

ENV ORANGE=1 \\
  PEAR=2 \\
  # inner comment
  APPLE=3 \\

  GRAPE=4 \\
  BANANA=5 \\
  CHERRY=6 \\
  \\
  LIME=7 \\
  KIWI=8 \\
  MELON=9 \\
  LEMON=10 \\
  MANGO=11 \\
  PEACH=12
"""


def test_line_numbers() -> None:
    result = parse(LINE_INFO)
    assert [(n.start_line, n.end_line) for n in result.nodes] == [(5, 5), (10, 11), (16, 30)]
    assert len(result.warnings) == 1
    assert "Empty continuation line found in: ENV ORANGE=1" in result.warnings[0].short


def test_empty_continuation_warnings() -> None:
    text = (
        "\nFROM alpine:3.6\n\nRUN valid \\\n    continuation\n\nRUN something \\\n\n    following \\\n\n"
        "    more\n\nRUN another \\\n\n    thing\n\nRUN non-indented \\\n# this is a comment\n   after-comment\n\n"
        "RUN indented \\\n    # this is an indented comment\n    comment\n\t"
    )
    warnings = parse(text).warnings
    assert len(warnings) == 2
    assert "RUN something     following     more" in warnings[0].short
    assert "RUN another     thing" in warnings[1].short
    assert "will become errors in a future release" in warnings[0].detail


def test_line_too_long() -> None:
    with pytest.raises(DockerfileError, match="dockerfile line greater than max allowed size of 65535"):
        parse("FROM image\nLABEL test=" + "a" * 65536 + "\n")


def test_keywords_are_case_insensitive_and_original_case_is_kept() -> None:
    node = parse("fRoM busybox\n").nodes[0]
    assert node.keyword == "from" and node.value == "fRoM"


def test_escaped_escape_at_end_is_not_a_continuation() -> None:
    nodes = parse("FROM a\nRUN echo \\\\\nRUN next\n").nodes
    assert [n.args for n in nodes[1:]] == [("echo \\\\",), ("next",)]


def test_continuation_with_trailing_whitespace_and_lone_escape_line() -> None:
    nodes = parse("FROM a\nRUN a \\  \t\n\\\n  b\n").nodes
    assert nodes[1].args == ("a   b",)


def test_crlf_and_bom() -> None:
    nodes = parse(b"\xef\xbb\xbfFROM a\r\nRUN x \\\r\n  y\r\n").nodes
    assert nodes[0].args == ("a",)
    assert nodes[1].args == ("x   y",)


@pytest.mark.parametrize(
    ("text", "escape"),
    [
        ("# escape=`\nFROM a\n", "`"),
        ("#escape=`\nFROM a\n", "`"),
        ("# ESCAPE = `\nFROM a\n", "`"),
        ("# syntax=x\n# escape=`\nFROM a\n", "`"),
        ("\n# escape=`\nFROM a\n", "\\"),
        ("# comment\n# escape=`\nFROM a\n", "\\"),
        ("FROM a\n# escape=`\n", "\\"),
        ("# unknown=1\n# escape=`\nFROM a\n", "\\"),
    ],
)
def test_escape_directive_only_at_the_top(text: str, escape: str) -> None:
    assert parse(text).escape_token == escape


def test_directive_errors() -> None:
    with pytest.raises(DockerfileError) as info:
        parse("# escape=`\n# escape=\\\nFROM a\n")
    assert info.value.message == "Dockerfile:2: only one escape parser directive can be used"
    with pytest.raises(DockerfileError) as info:
        parse("# escape=x\nFROM a\n", filename="sub/Dockerfile.dev")
    assert info.value.message == "sub/Dockerfile.dev:1: invalid escape token 'x' does not match ` or \\"
    assert isinstance(info.value, InvalidArgument)


def test_backtick_continuation() -> None:
    nodes = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo done\n").nodes
    assert nodes[1].args == ("dir c:\\   && echo done",)


HEREDOC_DOCKERFILE = """
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN "<<NOHEREDOC"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<X <<Y /dest
Y
X
X
Y
\t"""

HEREDOC_EXPECTED: list[tuple[Heredoc, ...]] = [
    (),  # ENV
    (),  # RUN ls
    (),  # USER <<INVALID
    (),  # INVALID (an unknown instruction at parse level)
    (Heredoc("EMPTY", ""),),
    (Heredoc("EMPTY2", "", fd=3),),
    (),
    (Heredoc("INDENT", "\tfoo\n\tbar\n"),),
    (Heredoc("UNINDENT", "\tbaz\n\tquux\n", chomp=True),),
    (Heredoc("UNINDENT2", "\tbaz\n\tquux\n", chomp=True),),
    (Heredoc("EXPAND", "\texpand $NAME\n", chomp=True),),
    (Heredoc("NOEXPAND", "\tdon't expand $NAME\n", expand=False, chomp=True),),
    (Heredoc("COPY", "echo hello world\necho foo bar\n"),),
    (Heredoc("COMMENT", "# internal comment\necho hello world\necho foo bar # trailing comment\n"),),
    (Heredoc("MOUNT", "echo hello\n"),),
    (Heredoc("FILE1", "content 1\n"), Heredoc("FILE2", "content 2\n")),
    (Heredoc("X", "Y\n"), Heredoc("Y", "X\n")),
]


def test_heredocs_extracted() -> None:
    nodes = parse(HEREDOC_DOCKERFILE).nodes
    assert [n.heredocs for n in nodes[1:]] == HEREDOC_EXPECTED


def test_heredoc_not_in_json_form() -> None:
    nodes = parse('FROM a\nRUN ["whoami"]\nRUN ["<<EOF"]\nRUN ["<<\'EOF\'"]\n').nodes
    assert all(n.heredocs == () for n in nodes)


def test_heredoc_chomp() -> None:
    assert chomp_heredoc("\thello\n\tworld\n") == "hello\nworld\n"
    assert Heredoc("E", "\t\ta\n\tb\n", chomp=True).text == "a\nb\n"


@pytest.mark.parametrize("word", ["<<EOF", "<<'EOF'", '<<"EOF"', "<<-EOF", "<<-'EOF'", '<<-"EOF"'])
def test_parse_heredoc_valid(word: str) -> None:
    doc = parse_heredoc(word)
    assert doc is not None and doc.name == "EOF"
    assert doc.expand == ("'" not in word and '"' not in word)


@pytest.mark.parametrize("word", ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"'])
def test_parse_heredoc_invalid(word: str) -> None:
    with pytest.raises(DockerfileError):
        parse_heredoc(word)


@pytest.mark.parametrize("word", ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF"])
def test_parse_heredoc_not(word: str) -> None:
    assert parse_heredoc(word) is None


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("RUN <<EOF", ["EOF"]),
        ("RUN <<-EOF", ["EOF"]),
        ("RUN <<'EOF'", ["EOF"]),
        ("RUN 4<<EOF", ["EOF"]),
        ("RUN <<EOF <<EOF2", ["EOF", "EOF2"]),
        ("RUN '<<EOF'", []),
        ('RUN "<<EOF"', []),
    ],
)
def test_heredocs_from_line(line: str, names: list[str]) -> None:
    text = "FROM a\n" + line + "\n" + "".join(f"x\n{n}\n" for n in names)
    assert [d.name for d in parse(text).nodes[1].heredocs] == names


def test_unterminated_heredoc_location() -> None:
    with pytest.raises(DockerfileError) as info:
        parse("FROM a\nRUN <<EOF\none\ntwo\n")
    assert (info.value.line, info.value.end_line) == (2, 4)
    assert info.value.message == "Dockerfile:2: unterminated heredoc"


def test_onbuild_child_and_heredoc() -> None:
    node = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n").nodes[1]
    assert node.child is not None and node.child.keyword == "run"
    assert node.args == ("RUN", "<<EOF")
    assert node.heredocs == (Heredoc("EOF", "echo hi\n"),)
    assert node.dump() == 'onbuild (run "<<EOF")'


def test_env_and_label_triples() -> None:
    nodes = parse('FROM a\nENV a=1 b="2 3"\nENV c d e\nLABEL "k"=v\n').nodes
    assert nodes[1].args == ("a", "1", "=", "b", '"2 3"', "=")
    assert nodes[2].args == ("c", "d e", "")
    assert nodes[3].args == ('"k"', "v", "=")


def test_no_instructions() -> None:
    with pytest.raises(DockerfileError, match="file with no instructions"):
        parse("# only\n\n")


def test_comments_attached_to_nodes() -> None:
    # Like BuildKit: directives are not comments, blank lines keep collecting, an empty "#" resets.
    nodes = parse("# syntax=x\n# first\n\n# desc for stage\nFROM a AS b\n#\n# run it\nRUN x\n").nodes
    assert nodes[0].comments == ("first", "desc for stage")
    assert nodes[1].comments == ("run it",)


def test_invalid_utf8_passes_through() -> None:
    node = parse(b"FROM a\nRUN echo \xff\n").nodes[1]
    assert node.args[0].encode("utf-8", "surrogateescape") == b"echo \xff"
