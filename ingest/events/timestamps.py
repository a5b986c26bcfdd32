"""OpenLineage times (ISO 8601 date-times) to the stores' UTC text form.

The spec requires an offset; producers that omit it (Marquez accepts such events) are read as UTC and
the validator says so in a warning. Digits past microseconds (nanosecond clocks) are dropped: the raw
event keeps them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Python's fromisoformat takes at most 6 fractional digits before 3.11's relaxations; trim longer runs.
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: str) -> tuple[datetime, bool]:
    """The instant in UTC, and whether the text carried an offset. ValueError when it is not a date-time."""
    if "T" not in value and " " not in value:
        raise ValueError("not an ISO 8601 date-time")
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), False
    try:
        return moment.astimezone(UTC), True
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC instant in Python's range
        raise ValueError("out of the representable range") from None


def to_store_time(value: str) -> str:
    """`2024-08-06T13:26:54.34+02:00` -> `2024-08-06 11:26:54.340000`. ValueError when not a date-time."""
    return format_store_time(parse_time(value)[0])


def format_store_time(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS.ffffff` in UTC. isoformat, not strftime: strftime writes the year 1 as `1-01-01`,
    which sorts wrong as text, and costs more (this runs for every time of every event)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def utc_now() -> str:
    return format_store_time(datetime.now(UTC))
