"""OpenLineage's rules for its times (ISO 8601 date-times), on top of schemas.times.

The spec requires a date-time with an offset; a date alone is not one. Producers that omit the offset
(Marquez accepts such events) are read as UTC and the validator says so in a warning. Digits past
microseconds (nanosecond clocks) are dropped: the raw event keeps them.
"""

from __future__ import annotations

from datetime import datetime

from schemas.times import format_store_time, parse_iso


def parse_time(value: str) -> tuple[datetime, bool]:
    """The instant in UTC, and whether the text carried an offset. ValueError when it is not a date-time."""
    if "T" not in value and " " not in value:
        raise ValueError("not an ISO 8601 date-time")
    return parse_iso(value)


def to_store_time(value: str) -> str:
    """`2024-08-06T13:26:54.34+02:00` -> `2024-08-06 11:26:54.340000`. ValueError when not a date-time."""
    return format_store_time(parse_time(value)[0])
