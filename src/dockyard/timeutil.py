"""Timestamps as Docker writes and reads them (RFC 3339 with nanoseconds, Go's time.String())."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

__all__ = ["go_time_string", "parse_duration", "parse_rfc3339", "parse_timestamp", "rfc3339_nano"]

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})?$")


def parse_rfc3339(value: str) -> float:
    """Seconds since the epoch; 0.0 for an empty or unparsable value."""
    m = _RFC3339.match(value.strip()) if value else None
    if not m:
        return 0.0
    y, mo, d, h, mi, s, frac, tz = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    ts = dt.timestamp() + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        ts -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return ts


def rfc3339_nano(ts: float | None = None) -> str:
    """``2026-11-27T23:36:58.689917607Z`` (nanosecond precision as Docker writes it)."""
    ts = time.time() if ts is None else ts
    ns = round(ts * 1e9)
    secs, nanos = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if nanos:
        return f"{base}.{str(nanos).rjust(9, '0').rstrip('0')}Z"
    return f"{base}Z"


def go_time_string(ts: float) -> str:
    """Go's ``time.Time.String()`` in local time: ``2026-11-27 23:36:58 +0000 UTC``."""
    lt = time.localtime(int(ts))
    offset = time.strftime("%z", lt)
    return time.strftime("%Y-%m-%d %H:%M:%S", lt) + f" {offset} {time.strftime('%Z', lt)}"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float:
    """Go ``time.ParseDuration`` (``1h30m``, ``10s``, ``500ms``) in seconds. Raises ValueError."""
    text = value.strip()
    if text in ("0", ""):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            raise ValueError(f"invalid duration {value!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"invalid duration {value!r}")
    return sign * total


def parse_timestamp(value: str, now: float | None = None) -> float:
    """``--since``/``--until`` values: Unix seconds (``1700000000.5``), RFC 3339, or a duration ago (``10m``)."""
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    ts = parse_rfc3339(text)
    if ts:
        return ts
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    now = time.time() if now is None else now
    return now - parse_duration(text)
