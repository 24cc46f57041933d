"""Progress of pulls, pushes and builds as typed events, and Docker's JSON progress messages for them.

Engine code emits events to a :data:`ProgressSink` without knowing who listens: the CLI draws them
(``dockyard.cli.progress``), the API server streams them to Docker clients with :func:`encode_json_line`,
which writes exactly what dockerd writes (``pkg/jsonmessage``): one compact JSON object per line, ``\\r\\n``
terminated, keys in Go's order, ``<>&`` escaped the way Go's encoder does::

    {"status":"Pulling from pango/get-started","id":"part2"}
    {"status":"Downloading","progressDetail":{"current":32768,"total":3001135},
     "progress":"[>   ]  32.77kB/3.001MB","id":"04e1617620fa"}   (one line on the wire)
    {"status":"Pull complete","progressDetail":{},"id":"04e1617620fa"}
    {"status":"Digest: sha256:0b36..."}
    {"progressDetail":{},"aux":{"Tag":"part2","Digest":"sha256:c26d...","Size":1148}}

* :class:`LayerProgress` — a line per layer (``id`` = 12-hex short digest): ``Waiting``, ``Downloading`` with
  bytes, ``Pull complete``, ``Mounted from library/busybox`` ... (``progressDetail`` always present).
* :class:`StatusMessage` — a plain line, optionally with an id (``part2: Pulling from pango/get-started``).
* :class:`BuildOutput` — build output text (``stream``). :class:`PushAux` / :class:`BuildAux` — the ``aux``
  records. :class:`ProgressError` — a failure after streaming started (``errorDetail``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from dockyard.errors import InvalidArgument

__all__ = [
    "BuildAux",
    "BuildOutput",
    "LayerProgress",
    "LayerStatus",
    "ProgressError",
    "ProgressEvent",
    "ProgressSink",
    "ProgressThrottle",
    "PushAux",
    "StatusMessage",
    "decode_json_message",
    "digest_status",
    "downloaded_newer",
    "encode_json_line",
    "human_size",
    "image_up_to_date",
    "mounted_from",
    "pulling_from",
    "push_digest",
    "push_refers_to",
    "render_progress",
    "retrying_in",
    "to_json_message",
]


class LayerStatus(StrEnum):
    """Docker's per-layer statuses (``distribution/xfer`` and ``distribution/pull_v2.go``, ``push_v2.go``)."""

    WAITING = "Waiting"
    PULLING_FS_LAYER = "Pulling fs layer"
    ALREADY_EXISTS = "Already exists"
    DOWNLOADING = "Downloading"
    VERIFYING_CHECKSUM = "Verifying Checksum"
    DOWNLOAD_COMPLETE = "Download complete"
    EXTRACTING = "Extracting"
    PULL_COMPLETE = "Pull complete"
    PREPARING = "Preparing"
    PUSHING = "Pushing"
    PUSHED = "Pushed"
    LAYER_ALREADY_EXISTS = "Layer already exists"


@dataclass(frozen=True)
class LayerProgress:
    """One layer's state. ``status`` is a :class:`LayerStatus` or a composed text (``Mounted from x``)."""

    id: str
    status: str
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class StatusMessage:
    """A line without progress detail: ``Digest: ...``, or ``<id>: <text>`` when ``id`` is set."""

    text: str
    id: str = ""


@dataclass(frozen=True)
class BuildOutput:
    text: str


@dataclass(frozen=True)
class PushAux:
    tag: str
    digest: str
    size: int


@dataclass(frozen=True)
class BuildAux:
    image_id: str


@dataclass(frozen=True)
class ProgressError:
    message: str
    code: int | None = None


ProgressEvent = LayerProgress | StatusMessage | BuildOutput | PushAux | BuildAux | ProgressError
ProgressSink = Callable[[ProgressEvent], None]


# -- Docker's standard lines -----------------------------------------------------------------------------------


def pulling_from(tag: str, repository_path: str) -> StatusMessage:
    """``part2: Pulling from pango/get-started`` (the path without the registry host)."""
    return StatusMessage(f"Pulling from {repository_path}", tag)


def digest_status(digest: str) -> StatusMessage:
    return StatusMessage(f"Digest: {digest}")


def downloaded_newer(reference: str) -> StatusMessage:
    return StatusMessage(f"Status: Downloaded newer image for {reference}")


def image_up_to_date(reference: str) -> StatusMessage:
    return StatusMessage(f"Status: Image is up to date for {reference}")


def push_refers_to(repository: str) -> StatusMessage:
    return StatusMessage(f"The push refers to repository [{repository}]")


def push_digest(tag: str, digest: str, size: int) -> StatusMessage:
    return StatusMessage(f"{tag}: digest: {digest} size: {size}")


def mounted_from(layer_id: str, repository: str) -> LayerProgress:
    return LayerProgress(layer_id, f"Mounted from {repository}")


def retrying_in(layer_id: str, seconds: int) -> LayerProgress:
    return LayerProgress(layer_id, f"Retrying in {seconds} second{'s' if seconds != 1 else ''}")


# -- rendering ------------------------------------------------------------------------------------------------

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float) -> str:
    """go-units ``HumanSize``: decimal units, four significant digits (``32.77kB``, ``3.001MB``, ``512B``)."""
    value = float(size)
    i = 0
    while value >= 1000 and i < len(_UNITS) - 1:
        value /= 1000
        i += 1
    return f"{value:.4g}{_UNITS[i]}"


def render_progress(current: int | None, total: int | None, width: int = 200) -> str:
    """``JSONProgress.String()``: ``[=====>     ]  12.3MB/45MB`` (the bar only when ``width`` > 110)."""
    cur = current or 0
    tot = total or 0
    if cur <= 0 and tot <= 0:
        return ""
    if tot <= 0:
        return f"{human_size(cur):>8}"
    percentage = min(50, int(cur / tot * 100) // 2)
    bar = ""
    if width > 110:
        bar = "[" + "=" * percentage + ">" + " " * (50 - percentage) + "] "
    numbers = f"{human_size(cur):>8}/{human_size(tot)}"
    if cur > tot:
        numbers = f"{human_size(cur):>8}"
    return bar + numbers


def _go_json(obj: object) -> str:
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_json_message(event: ProgressEvent) -> str:
    """The event as dockerd's JSON message (keys in ``JSONMessage`` field order)."""
    msg: dict[str, object] = {}
    if isinstance(event, LayerProgress):
        msg["status"] = event.status
        detail: dict[str, int] = {}
        if event.current:
            detail["current"] = event.current
        if event.total:
            detail["total"] = event.total
        msg["progressDetail"] = detail
        bar = render_progress(event.current, event.total)
        if bar:
            msg["progress"] = bar
        msg["id"] = event.id
    elif isinstance(event, StatusMessage):
        msg["status"] = event.text
        if event.id:
            msg["id"] = event.id
    elif isinstance(event, BuildOutput):
        msg["stream"] = event.text
    elif isinstance(event, PushAux):
        msg["progressDetail"] = {}
        msg["aux"] = {"Tag": event.tag, "Digest": event.digest, "Size": event.size}
    elif isinstance(event, BuildAux):
        msg["aux"] = {"ID": event.image_id}
    else:
        error: dict[str, object] = {}
        if event.code:
            error["code"] = event.code
        error["message"] = event.message
        msg["errorDetail"] = error
        msg["error"] = event.message
    return _go_json(msg)


def encode_json_line(event: ProgressEvent) -> bytes:
    """One message as dockerd writes it to a progress stream: JSON then ``\\r\\n``."""
    return to_json_message(event).encode("utf-8") + b"\r\n"


def decode_json_message(line: str | bytes) -> ProgressEvent:
    """Parse one message of a Docker progress stream back into an event."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise InvalidArgument(f"invalid progress message: {exc}") from exc
    if not isinstance(obj, dict):
        raise InvalidArgument("invalid progress message: not a JSON object")
    if obj.get("errorDetail") is not None or obj.get("error"):
        detail = obj.get("errorDetail") or {}
        code = detail.get("code") if isinstance(detail, dict) else None
        message = detail.get("message") if isinstance(detail, dict) else None
        return ProgressError(str(message or obj.get("error") or ""), int(code) if isinstance(code, int) else None)
    aux = obj.get("aux")
    if isinstance(aux, dict):
        if "ID" in aux:
            return BuildAux(str(aux["ID"]))
        return PushAux(str(aux.get("Tag", "")), str(aux.get("Digest", "")), int(aux.get("Size") or 0))
    if "stream" in obj:
        return BuildOutput(str(obj["stream"]))
    status = str(obj.get("status") or "")
    ident = str(obj.get("id") or "")
    detail = obj.get("progressDetail")
    if isinstance(detail, dict) and ident:
        current = detail.get("current")
        total = detail.get("total")
        return LayerProgress(
            ident,
            status,
            int(current) if isinstance(current, int) else None,
            int(total) if isinstance(total, int) else None,
        )
    return StatusMessage(status, ident)


class ProgressThrottle:
    """Passes events on to ``sink``, dropping byte-count updates of a layer that come faster than ``interval``.

    Status changes and the final count of a transfer (``current == total``) always go through.
    """

    def __init__(self, sink: ProgressSink, interval: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self.sink = sink
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, LayerProgress) and event.current is not None and event.current != event.total:
            now = self.clock()
            key = (event.id, event.status)
            with self._lock:
                last = self._last.get(key)
                if last is not None and now - last < self.interval:
                    return
                self._last[key] = now
        self.sink(event)
