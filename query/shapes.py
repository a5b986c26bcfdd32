"""JSON helpers both read APIs share: the JSON object type, field order, names (times: schemas.times)."""

from __future__ import annotations

from typing import Any

from schemas.store import FieldInfo

JSON = dict[str, Any]


def field_order(f: FieldInfo) -> tuple[int, str]:
    return (f.ordinal_position if f.ordinal_position is not None else 2**31, f.name)


def split_name(name: str) -> tuple[str | None, str]:
    """(database, table) of a Teradata-style `database.table` name; (None, name) without a dot."""
    database, dot, table = name.partition(".")
    return (database, table) if dot else (None, name)
