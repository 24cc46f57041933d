"""Word expansion: BuildKit's ``shell/envVarTest`` and ``wordsTest`` tables, ported, plus the newer operators."""

from __future__ import annotations

import pytest

from dockyard.build.dockerfile import ExpansionError, ShellLexer, expand, expand_with_matches, expand_words

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}

# (source, expected) — "error" means the expansion must fail. Ported from BuildKit's envVarTest (A and U rows).
ENV_VAR_TEST = [
    ("hello", "hello"),
    ("he'll'o", "hello"),
    ("he'llo", "error"),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo", "error"),
    ("abc\\tdef", "abctdef"),
    ('"abc\\tdef"', "abc\\tdef"),
    ('"abc\\\\tdef"', "abc\\tdef"),
    ("'abc\\tdef'", "abc\\tdef"),
    ("hello\\", "hello"),
    ("hello\\\\", "hello\\"),
    ('"hello', "error"),
    ('"hello\\"', "error"),
    ('"hel\'lo"', "hel'lo"),
    ("'hello", "error"),
    ("'hello\\'", "hello\\"),
    ("'hello\\there'", "hello\\there"),
    ("'hello\\\\there'", "hello\\\\there"),
    ("\"''\"", "''"),
    ("$.", "$."),
    ("he$1x", "hex"),
    ("he$.x", "he$.x"),
    ("he$pwd.", "he."),
    ("he$PWD", "he/home"),
    ("he\\$PWD", "he$PWD"),
    ("he\\\\$PWD", "he\\/home"),
    ('"he\\$PWD"', "he$PWD"),
    ('"he\\\\$PWD"', "he\\/home"),
    ("\\${}", "${}"),
    ("\\${}aaa", "${}aaa"),
    ("he\\${}", "he${}"),
    ("he\\${}xx", "he${}xx"),
    ("${}", "error"),
    ("${}aaa", "error"),
    ("he${}", "error"),
    ("he${}xx", "error"),
    ("he${hi}", "he"),
    ("he${hi}xx", "hexx"),
    ("he${PWD}", "he/home"),
    ("he${.}", "error"),
    ("he${XXX:-000}xx", "he000xx"),
    ("he${PWD:-000}xx", "he/homexx"),
    ("he${XXX:-$PWD}xx", "he/homexx"),
    ("he${XXX:-${PWD:-yyy}}xx", "he/homexx"),
    ("he${XXX:-${YYY:-yyy}}xx", "heyyyxx"),
    ("he${XXX:YYY}", "error"),
    ("he${XXX?}", "error"),
    ("he${XXX:?}", "error"),
    ("he${PWD?}", "he/home"),
    ("he${PWD:?}", "he/home"),
    ("he${NULL?}", "he"),
    ("he${NULL:?}", "error"),
    ("he${XXX:+${PWD}}xx", "hexx"),
    ("he${PWD:+${XXX}}xx", "hexx"),
    ("he${PWD:+${SHELL}}xx", "hebashxx"),
    ("he${XXX:+000}xx", "hexx"),
    ("he${PWD:+000}xx", "he000xx"),
    ("'he${XX}'", "he${XX}"),
    ('"he${PWD}"', "he/home"),
    ("\"he'$PWD'\"", "he'/home'"),
    ('"$PWD"', "/home"),
    ("'$PWD'", "$PWD"),
    ("'\\$PWD'", "\\$PWD"),
    ("'\"hello\"'", '"hello"'),
    ("he\\$PWD", "he$PWD"),
    ('"he\\$PWD"', "he$PWD"),
    ("'he\\$PWD'", "he\\$PWD"),
    ("he${PWD", "error"),
    ("he${PWD:=000}xx", "error"),
    ("he${PWD:+${PWD}:}xx", "he/home:xx"),
    ("he${XXX:-\\$PWD:}xx", "he$PWD:xx"),
    ("he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"),
    ("안녕하세요", "안녕하세요"),
    ("안'녕'하세요", "안녕하세요"),
    ("안'녕하세요", "error"),
    ("안녕\\'하세요", "안녕'하세요"),
    ("안\\\\'녕하세요", "error"),
    ("안녕\\t하세요", "안녕t하세요"),
    ('"안녕\\t하세요"', "안녕\\t하세요"),
    ("'안녕\\t하세요", "error"),
    ("안녕하세요\\", "안녕하세요"),
    ("안녕하세요\\\\", "안녕하세요\\"),
    ('"안녕하세요', "error"),
    ('"안녕하세요\\"', "error"),
    ('"안녕\'하세요"', "안녕'하세요"),
    ("'안녕하세요'", "안녕하세요"),
    ("'안녕하세요\\'", "안녕하세요\\"),
    ("안녕$1x", "안녕x"),
    ("안녕$.x", "안녕$.x"),
    ("안녕$pwd.", "안녕."),
    ("안녕$PWD", "안녕/home"),
    ("안녕\\$PWD", "안녕$PWD"),
    ("안녕\\\\$PWD", "안녕\\/home"),
    ("안녕\\${}", "안녕${}"),
    ("안녕\\${}xx", "안녕${}xx"),
    ("안녕${}", "error"),
    ("안녕${}xx", "error"),
    ("안녕${hi}", "안녕"),
    ("안녕${hi}xx", "안녕xx"),
    ("안녕${PWD}", "안녕/home"),
    ("안녕${.}", "error"),
    ("안녕${XXX:-000}xx", "안녕000xx"),
    ("안녕${PWD:-000}xx", "안녕/homexx"),
    ("안녕${XXX:-$PWD}xx", "안녕/homexx"),
    ("안녕${XXX:-${PWD:-yyy}}xx", "안녕/homexx"),
    ("안녕${XXX:-${YYY:-yyy}}xx", "안녕yyyxx"),
    ("안녕${XXX:YYY}", "error"),
    ("안녕${XXX:+${PWD}}xx", "안녕xx"),
    ("안녕${PWD:+${XXX}}xx", "안녕xx"),
    ("안녕${PWD:+${SHELL}}xx", "안녕bashxx"),
    ("안녕${XXX:+000}xx", "안녕xx"),
    ("안녕${PWD:+000}xx", "안녕000xx"),
    ("'안녕${XX}'", "안녕${XX}"),
    ('"안녕${PWD}"', "안녕/home"),
    ("\"안녕'$PWD'\"", "안녕'/home'"),
    ("'\"안녕\"'", '"안녕"'),
    ("안녕\\$PWD", "안녕$PWD"),
    ('"안녕\\$PWD"', "안녕$PWD"),
    ("'안녕\\$PWD'", "안녕\\$PWD"),
    ("안녕${PWD", "error"),
    ("안녕${PWD:=000}xx", "error"),
    ("안녕${PWD:+${PWD}:}xx", "안녕/home:xx"),
    ("안녕${XXX:-\\$PWD:}xx", "안녕$PWD:xx"),
    ("안녕${XXX:-\\${PWD}z}xx", "안녕${PWDz}xx"),
    ("$KOREAN", "한국어"),
    ("안녕$KOREAN", "안녕한국어"),
    # unset vs empty for the non-colon forms
    ("${XXX-default}", "default"),
    ("${NULL-default}", ""),
    ("${NULL:-default}", "default"),
    ("${XXX+alt}", ""),
    ("${NULL+alt}", "alt"),
    ("${NULL:+alt}", ""),
    # pattern removal and substitution
    ("${PWD#/}", "home"),
    ("${PWD#*/}", "home"),
    ("${SHELL#b*}", "ash"),
    ("${SHELL##b*}", ""),
    ("${SHELL%s*}", "ba"),
    ("${SHELL%%a*}", "b"),
    ("${SHELL%?}", "bas"),
    ("${SHELL/a/A}", "bAsh"),
    ("${PWD//o/0}", "/h0me"),
    ("${SHELL/b*/x}", "x"),
    ("${SHELL:#b}", "error"),
    ("${SHELL:%b}", "error"),
    ("${SHELL/a}", "error"),
    ("${XXX/a/b}", ""),
]


@pytest.mark.parametrize(("source", "expected"), ENV_VAR_TEST)
def test_env_var_table(source: str, expected: str) -> None:
    if expected == "error":
        with pytest.raises(ExpansionError):
            expand(source, ENV)
    else:
        assert expand(source, ENV) == expected


# Ported from BuildKit's wordsTest: ENV lines set variables, then "input | word,word".
WORDS_TEST = """
hello | hello
hello${hi}bye | hellobye
ENV hi=hi
hello${hi}bye | hellohibye
ENV space=abc  def
hello${space}bye | helloabc,defbye
hello"${space}"bye | helloabc  defbye
hello "${space}"bye | hello,abc  defbye
ENV leading= ab c
hello${leading}def | hello,ab,cdef
hello"${leading}" def | hello ab c,def
hello"${leading}" | hello ab c
hello${leading} | hello,ab,c
ENV trailing=ab c   |
hello${trailing} | helloab,c
hello${trailing}d | helloab,c,d
hello"${trailing}"d | helloab c   d
hello'tab\ttab' | hellotab\ttab
hello"tab\ttab" | hellotab\ttab
hello tab\ttab | hello,tab,tab
hello\\ world | hello world
"" a | a
a  b   c | a,b,c
"a b" 'c d' | a b,c d
"""


def _words_cases() -> list[tuple[dict[str, str], str, list[str]]]:
    env: dict[str, str] = {}
    cases = []
    for line in WORDS_TEST.strip().splitlines():
        if line.startswith("ENV "):
            key, _, value = line[4:].partition("=")
            env[key] = value.removesuffix("|")
            continue
        text, _, expected = line.rpartition(" | ")
        cases.append((dict(env), text.replace("\\t", "\t"), expected.replace("\\t", "\t").split(",")))
    return cases


@pytest.mark.parametrize(("env", "text", "expected"), _words_cases())
def test_words_table(env: dict[str, str], text: str, expected: list[str]) -> None:
    assert expand_words(text, env) == expected


def test_unquoted_variable_value_is_split_but_quoted_is_not() -> None:
    env = {"X": "a b"}
    assert expand_words("$X", env) == ["a", "b"]
    assert expand_words('"$X"', env) == ["a b"]
    assert expand("$X", env) == "a b"


def test_matches_report_set_and_unset_names() -> None:
    result = expand_with_matches("${A}-$B-${C:-x}", {"A": "1"})
    assert result.result == "1--x"
    assert result.matched == {"A"}
    assert result.unmatched == {"B", "C"}


def test_backtick_escape_token() -> None:
    env = {"X": "v"}
    assert expand("a`$X", env, "`") == "a$X"
    assert expand("c:\\dir\\$X", env, "`") == "c:\\dir\\v"
    assert expand('"q`"uote"', env, "`") == 'q"uote'


def test_error_message_wording() -> None:
    with pytest.raises(ExpansionError) as info:
        expand("he${}", ENV)
    assert str(info.value) == 'failed to process "he${}": syntax error: bad substitution'
    with pytest.raises(ExpansionError) as info:
        expand("${X:?must be set}", {})
    assert str(info.value) == 'failed to process "${X:?must be set}": X: must be set'
    with pytest.raises(ExpansionError) as info:
        expand("${X:=1}", {})
    assert "unsupported modifier (:=) in substitution" in str(info.value)


def test_lexer_options_used_for_heredoc_detection() -> None:
    raw = ShellLexer("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    assert raw.process_words("RUN <<'EOF' $X ${Y:-z}", {}) == ["RUN", "<<'EOF'", "$X", "${Y:-z}"]
    skip_quotes = ShellLexer("\\", skip_process_quotes=True)
    assert skip_quotes.process_word("echo '$A' \"$A\"", {"A": "1"}) == "echo '1' \"1\""


def test_expand_is_fast_for_plain_words() -> None:
    lex = ShellLexer()
    assert lex.process_word("/usr/local/bin", {}) == "/usr/local/bin"
