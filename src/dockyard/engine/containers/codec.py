"""Frozen dataclasses <-> JSON text, for the container records' option columns (nothing else crosses this way).

The shapes are the dataclasses' own: field names as keys, enums by value, tuples as lists, mappings as objects,
``None`` as null. Decoding is guided by the type hints, so a record written by this version reads back equal;
unknown keys (written by a newer version) are ignored and missing ones take the field's default.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

__all__ = ["decode", "dumps", "encode", "loads"]

T = TypeVar("T")


def encode(value: object) -> object:
    """A JSON-able value for a dataclass, enum, tuple, mapping or plain value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def dumps(value: object) -> str:
    return json.dumps(encode(value), separators=(",", ":"), sort_keys=True)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: object) -> Any:
    """The value of type ``kind`` that :func:`encode` turned into ``data``."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(kind) if a is not type(None)]
        if data is None:
            return None
        return decode(members[0], data) if len(members) == 1 else data
    if origin is tuple:
        args = typing.get_args(kind)
        items: list[Any] = list(data) if isinstance(data, list | tuple) else []
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple([decode(args[0], v) for v in items])
        return tuple([decode(a, v) for a, v in zip(args, items, strict=False)])
    if origin in (Mapping, dict, typing.Mapping) or kind in (dict, Mapping):
        args = typing.get_args(kind) or (str, str)
        if not isinstance(data, dict):
            return {}
        return {str(k): decode(args[1], v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(data, dict):
            return kind()
        hints = _hints(kind)
        values = {f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind) if f.name in data}
        return kind(**values)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if kind is float and isinstance(data, int):
        return float(data)
    return data


def loads(kind: type[T], text: str) -> T:
    value: T = decode(kind, json.loads(text))
    return value
