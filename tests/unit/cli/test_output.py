import io

import pytest

from dockyard.cli.output import FormatError, Template, human_duration, human_size, render_rows, render_table


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (999, "999B"), (1000, "1kB"), (1984357, "1.98MB"), (145_000_000, "145MB"), (1.5e9, "1.5GB")],
)
def test_human_size_matches_go_units(size: float, text: str) -> None:
    assert human_size(size) == text


def test_virtual_size_uses_four_digits() -> None:
    assert human_size(1984357, 4) == "1.984MB"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "Less than a second"),
        (1, "1 second"),
        (7, "7 seconds"),
        (65, "About a minute"),
        (300, "5 minutes"),
        (3600, "About an hour"),
        (5 * 3600, "5 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration_matches_go_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_table_layout_is_tabwriter_like() -> None:
    out = io.StringIO()
    render_table(["A", "LONGER HEADER", "LAST"], [["x", "y", "z"]], out)
    assert out.getvalue() == "A         LONGER HEADER   LAST\nx         y               z\n"


def test_templates() -> None:
    row = {"Name": "web", "Labels": {"a": "1"}, "List": ["x", "y"], "Html": "<b>"}
    assert Template("{{.Name}}").render(row) == "web"
    assert Template('{{index .Labels "a"}}').render(row) == "1"
    assert Template('{{join .List ","}}').render(row) == "x,y"
    assert Template("{{upper .Name}}").render(row) == "WEB"
    assert Template("{{.Name | upper}}").render(row) == "WEB"
    assert Template("{{json .Html}}").render(row) == '"\\u003cb\\u003e"'
    assert Template("{{json .}}").render({"b": 1}) == '{"b":1}'
    assert Template("{{.Name}}\\t{{.Name}}").render(row) == "web\tweb"
    with pytest.raises(FormatError):
        Template("{{.Missing}}").render(row)
    with pytest.raises(FormatError):
        Template("{{nosuchfunc .Name}}").render(row)


def test_render_rows_quiet_json_and_table_format() -> None:
    rows = [{"ID": "abc", "Name": "n"}]
    out = io.StringIO()
    render_rows(None, rows, [("CONTAINER ID", "ID"), ("NAMES", "Name")], out=out)
    assert out.getvalue().splitlines()[1].split() == ["abc", "n"]
    out = io.StringIO()
    render_rows("json", rows, [], out=out)
    assert out.getvalue() == '{"ID":"abc","Name":"n"}\n'
    out = io.StringIO()
    render_rows(None, rows, [], quiet=True, quiet_field="ID", out=out)
    assert out.getvalue() == "abc\n"
