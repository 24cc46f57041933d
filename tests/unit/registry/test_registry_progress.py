# ruff: noqa: E501  (golden lines copied verbatim from the capture)
"""Progress events: Docker's JSON messages byte for byte, and the CLI display (terminal and plain)."""

from __future__ import annotations

import io

import pytest

from dockyard.cli.progress import ProgressPrinter
from dockyard.registry.progress import (
    BuildAux,
    BuildOutput,
    LayerProgress,
    LayerStatus,
    ProgressError,
    ProgressThrottle,
    PushAux,
    StatusMessage,
    decode_json_message,
    digest_status,
    downloaded_newer,
    encode_json_line,
    human_size,
    mounted_from,
    pulling_from,
    push_digest,
    push_refers_to,
    render_progress,
    to_json_message,
)

# What dockerd 20.10 sent for `docker push` and `docker pull` (raw traces 08c and 08h of the capture reference).
GOLDEN = r"""
{"status":"The push refers to repository [127.0.0.1:5000/pango/get-started]"}
{"status":"Preparing","progressDetail":{},"id":"2b2747b08658"}
{"status":"Pushing","progressDetail":{"current":512,"total":6},"progress":"[==================================================\u003e]     512B","id":"2b2747b08658"}
{"status":"Pushing","progressDetail":{"current":2048,"total":6},"progress":"[==================================================\u003e]  2.048kB","id":"2b2747b08658"}
{"status":"Pushing","progressDetail":{"current":1536},"progress":" 1.536kB","id":"2bb9dabf83dc"}
{"status":"Pushing","progressDetail":{"current":19968,"total":1984172},"progress":"[\u003e                                                  ]  19.97kB/1.984MB","id":"cec06ca5096c"}
{"status":"Pushed","progressDetail":{},"id":"2bb9dabf83dc"}
{"status":"Pushing","progressDetail":{"current":2129920,"total":1984172},"progress":"[==================================================\u003e]   2.13MB","id":"cec06ca5096c"}
{"status":"part2: digest: sha256:c26de1b832a21fd21def03e7232f73dfb74206891aa3c76155f14c861bcf0fcf size: 1148"}
{"progressDetail":{},"aux":{"Tag":"part2","Digest":"sha256:c26de1b832a21fd21def03e7232f73dfb74206891aa3c76155f14c861bcf0fcf","Size":1148}}
{"status":"Pulling from pango/bigblob","id":"v1"}
{"status":"Already exists","progressDetail":{},"id":"e1938c858b61"}
{"status":"Pulling fs layer","progressDetail":{},"id":"04e1617620fa"}
{"status":"Downloading","progressDetail":{"current":32768,"total":3001135},"progress":"[\u003e                                                  ]  32.77kB/3.001MB","id":"04e1617620fa"}
{"status":"Verifying Checksum","progressDetail":{},"id":"04e1617620fa"}
{"status":"Download complete","progressDetail":{},"id":"04e1617620fa"}
{"status":"Downloading","progressDetail":{"current":36446,"total":800433},"progress":"[==\u003e                                                ]  36.45kB/800.4kB","id":"4585f26807e7"}
{"status":"Extracting","progressDetail":{"current":3001135,"total":3001135},"progress":"[==================================================\u003e]  3.001MB/3.001MB","id":"04e1617620fa"}
{"status":"Pull complete","progressDetail":{},"id":"04e1617620fa"}
{"status":"Digest: sha256:0b36c1bba1fb4010032513dda008020eae7c68863564ccdd4ebe34ca4f011123"}
{"status":"Status: Downloaded newer image for 127.0.0.1:5000/pango/bigblob:v1"}
""".strip().splitlines()


@pytest.mark.parametrize("line", GOLDEN)
def test_golden_messages_round_trip_byte_for_byte(line: str) -> None:
    event = decode_json_message(line)
    assert to_json_message(event) == line
    assert encode_json_line(event) == line.encode() + b"\r\n"


def test_helpers_build_dockers_lines() -> None:
    assert to_json_message(pulling_from("v1", "pango/bigblob")) == GOLDEN[10]
    assert to_json_message(push_refers_to("127.0.0.1:5000/pango/get-started")) == GOLDEN[0]
    digest = "sha256:c26de1b832a21fd21def03e7232f73dfb74206891aa3c76155f14c861bcf0fcf"
    assert to_json_message(push_digest("part2", digest, 1148)) == GOLDEN[8]
    assert to_json_message(PushAux("part2", digest, 1148)) == GOLDEN[9]
    assert to_json_message(downloaded_newer("127.0.0.1:5000/pango/bigblob:v1")) == GOLDEN[-1]
    assert (
        to_json_message(digest_status("sha256:0b36c1bba1fb4010032513dda008020eae7c68863564ccdd4ebe34ca4f011123"))
        == (GOLDEN[-2])
    )
    assert to_json_message(LayerProgress("e1938c858b61", LayerStatus.ALREADY_EXISTS)) == GOLDEN[11]
    assert to_json_message(mounted_from("abc", "library/busybox")) == (
        '{"status":"Mounted from library/busybox","progressDetail":{},"id":"abc"}'
    )


def test_other_message_kinds() -> None:
    assert to_json_message(BuildOutput("Step 1/2 : FROM busybox\n")) == '{"stream":"Step 1/2 : FROM busybox\\n"}'
    assert to_json_message(BuildAux("sha256:abc")) == '{"aux":{"ID":"sha256:abc"}}'
    assert to_json_message(ProgressError("boom")) == '{"errorDetail":{"message":"boom"},"error":"boom"}'
    assert to_json_message(ProgressError("no", 401)) == '{"errorDetail":{"code":401,"message":"no"},"error":"no"}'
    for event in (BuildOutput("x\n"), BuildAux("sha256:abc"), ProgressError("no", 401), StatusMessage("a", "b")):
        assert decode_json_message(to_json_message(event)) == event


def test_human_size_and_bar() -> None:
    assert [human_size(n) for n in (0, 512, 1536, 32768, 800433, 3001135, 2129920, 10**12)] == [
        "0B",
        "512B",
        "1.536kB",
        "32.77kB",
        "800.4kB",
        "3.001MB",
        "2.13MB",
        "1TB",
    ]
    assert render_progress(None, None) == ""
    assert render_progress(0, 0) == ""
    assert render_progress(500, 1000, width=80) == "    500B/1kB"
    assert render_progress(500, 1000) == "[=========================>                         ]     500B/1kB"


def _render(events: list, terminal: bool, width: int = 200) -> str:
    out = io.StringIO()
    printer = ProgressPrinter(out, terminal=terminal, width=width)
    for e in events:
        printer(e)
    printer.close()
    return out.getvalue()


PULL = [decode_json_message(line) for line in GOLDEN[10:]]


def test_plain_output_is_what_docker_pull_prints_into_a_pipe() -> None:
    assert _render(PULL, terminal=False) == (
        "v1: Pulling from pango/bigblob\n"
        "e1938c858b61: Already exists\n"
        "04e1617620fa: Pulling fs layer\n"
        "04e1617620fa: Verifying Checksum\n"
        "04e1617620fa: Download complete\n"
        "04e1617620fa: Pull complete\n"
        "Digest: sha256:0b36c1bba1fb4010032513dda008020eae7c68863564ccdd4ebe34ca4f011123\n"
        "Status: Downloaded newer image for 127.0.0.1:5000/pango/bigblob:v1\n"
    )


def test_plain_push_output() -> None:
    push = [decode_json_message(line) for line in GOLDEN[:10]]
    assert _render(push, terminal=False) == (
        "The push refers to repository [127.0.0.1:5000/pango/get-started]\n"
        "2b2747b08658: Preparing\n"
        "2bb9dabf83dc: Pushed\n"
        "part2: digest: sha256:c26de1b832a21fd21def03e7232f73dfb74206891aa3c76155f14c861bcf0fcf size: 1148\n"
    )


def test_terminal_redraws_lines_in_place() -> None:
    events = [
        StatusMessage("Pulling from library/busybox", "latest"),
        LayerProgress("aaaaaaaaaaaa", LayerStatus.PULLING_FS_LAYER),
        LayerProgress("bbbbbbbbbbbb", LayerStatus.PULLING_FS_LAYER),
        LayerProgress("aaaaaaaaaaaa", LayerStatus.DOWNLOADING, 500, 1000),
        LayerProgress("bbbbbbbbbbbb", LayerStatus.PULL_COMPLETE),
        digest_status("sha256:1234"),
    ]
    got = _render(events, terminal=True, width=80)
    assert got == (
        "latest: Pulling from library/busybox\n"
        # a new id adds a line, moves up to it (1 line), draws it, comes back down
        "\n\x1b[1A\x1b[2K\raaaaaaaaaaaa: Pulling fs layer \r\x1b[1B"
        "\n\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Pulling fs layer \r\x1b[1B"
        # an update of the first layer: up two lines, redraw, down two
        "\x1b[2A\x1b[2K\raaaaaaaaaaaa: Downloading     500B/1kB\r\x1b[2B"
        "\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Pull complete \r\x1b[1B"
        "Digest: sha256:1234\n"
    )
    wide = _render([LayerProgress("a", "Downloading", 500, 1000)], terminal=True, width=200)
    assert "Downloading [=========================>                         ]     500B/1kB\r" in wide


def test_aux_and_errors_are_not_printed() -> None:
    seen: list[object] = []
    out = io.StringIO()
    printer = ProgressPrinter(out, terminal=False, on_aux=seen.append)
    printer(PushAux("t", "sha256:x", 1))
    printer(ProgressError("bad"))
    assert out.getvalue() == ""
    assert seen == [PushAux("t", "sha256:x", 1)]
    assert printer.errors == [ProgressError("bad")]


def test_throttle_drops_fast_byte_updates_only() -> None:
    now = [0.0]
    got: list[object] = []
    throttle = ProgressThrottle(got.append, interval=0.1, clock=lambda: now[0])
    throttle(LayerProgress("a", "Downloading", 1, 10))
    throttle(LayerProgress("a", "Downloading", 2, 10))  # dropped: too soon
    throttle(LayerProgress("b", "Downloading", 2, 10))  # another layer: kept
    throttle(LayerProgress("a", "Verifying Checksum"))  # status change: kept
    throttle(LayerProgress("a", "Downloading", 10, 10))  # final count: kept
    now[0] = 0.2
    throttle(LayerProgress("a", "Downloading", 3, 10))
    assert [(e.id, e.status, e.current) for e in got] == [  # type: ignore[attr-defined]
        ("a", "Downloading", 1),
        ("b", "Downloading", 2),
        ("a", "Verifying Checksum", None),
        ("a", "Downloading", 10),
        ("a", "Downloading", 3),
    ]
