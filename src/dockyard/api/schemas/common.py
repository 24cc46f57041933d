"""Helpers for JSON written the way Docker's Go encoder writes it."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["go_json"]


def go_json(value: Any, *, indent: int | None = None) -> str:
    """``encoding/json`` output: ``<``, ``>``, ``&`` escaped as ``\\u003c`` etc., no spaces unless indented."""
    if indent is None:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(value, indent=indent, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
