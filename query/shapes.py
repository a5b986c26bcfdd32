"""JSON helpers both read APIs share: the JSON object type, field order, names (times: schemas.times)."""

from __future__ import annotations

from typing import Any

from schemas.store import FieldInfo
from schemas.times import parse_store_time

JSON = dict[str, Any]


def field_order(f: FieldInfo) -> tuple[int, str]:
    return (f.ordinal_position if f.ordinal_position is not None else 2**31, f.name)


def duration_ms(start: str | None, end: str | None) -> int | None:
    """Milliseconds between two store-format times; None when either is missing or unreadable."""
    if start is None or end is None:
        return None
    try:
        delta = parse_store_time(end) - parse_store_time(start)
    except ValueError:
        return None
    return int(delta.total_seconds() * 1000)


def split_name(name: str) -> tuple[str | None, str]:
    """(database, table) of a Teradata-style `database.table` name; (None, name) without a dot."""
    database, dot, table = name.partition(".")
    return (database, table) if dot else (None, name)
