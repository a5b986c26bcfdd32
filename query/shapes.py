"""JSON helpers both read APIs share: the JSON object type, store times as ISO 8601, field order, names."""

from __future__ import annotations

from typing import Any

from schemas.store import FieldInfo

JSON = dict[str, Any]


def iso(value: str | None) -> str | None:
    """Store time (`2024-05-01 10:00:01.000000`, UTC) -> ISO 8601 (`2024-05-01T10:00:01.000000Z`)."""
    if value is None:
        return None
    text = str(value).replace(" ", "T", 1)
    return text if text.endswith("Z") or "+" in text else text + "Z"


def field_order(f: FieldInfo) -> tuple[int, str]:
    return (f.ordinal_position if f.ordinal_position is not None else 2**31, f.name)


def split_name(name: str) -> tuple[str | None, str]:
    """(database, table) of a Teradata-style `database.table` name; (None, name) without a dot."""
    database, dot, table = name.partition(".")
    return (database, table) if dot else (None, name)
