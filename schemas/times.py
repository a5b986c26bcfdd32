"""Store times: the one place that parses and formats them. Pure: no I/O.

Every store keeps a time as UTC text, `YYYY-MM-DD HH:MM:SS.ffffff`, so that comparing the text compares the
instants (on SQLite the columns are TEXT). The text is written with isoformat, never strftime: strftime drops
the leading zeros of years below 1000 (`500-01-01 ...`), and such text neither sorts nor equals what is stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

# fromisoformat takes at most 6 fractional digits; nanosecond clocks write 9. The extra digits are dropped.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_iso(value: str) -> tuple[datetime, bool]:
    """ISO 8601 text (a date, or a date-time with or without an offset; `Z` is UTC) -> the instant in UTC, and
    whether the text carried an offset. Without one the time is read as UTC. ValueError when the text is not
    a date-time or its instant lies outside the years 1 to 9999."""
    text = _LONG_FRACTION.sub(r"\1", value.strip())
    if text.endswith("z"):  # ISO 8601 allows it; fromisoformat reads only `Z`
        text = text[:-1] + "Z"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), False
    try:
        return moment.astimezone(UTC), True
    except OverflowError:  # 0001-01-01T00:00+01:00 is in the year 0
        raise ValueError("out of the representable range") from None


def format_store_time(moment: datetime, timespec: Literal["seconds", "microseconds"] = "microseconds") -> str:
    """The store's text of an instant. A naive datetime is taken as UTC (database drivers return store times
    naive); an aware one is converted. `seconds` is for TIMESTAMP(0) columns."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", timespec)


def parse_store_time(text: str) -> datetime:
    """The store's text (fraction optional) -> an aware UTC datetime. ValueError when it is not store text."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        raise ValueError(f"{text!r} has an offset; store times are UTC without one")
    return moment.replace(tzinfo=UTC)


def utc_now() -> str:
    """The current instant as store text."""
    return format_store_time(datetime.now(UTC))


def store_to_iso(text: str | None) -> str | None:
    """Store text -> ISO 8601 in UTC as the read APIs answer it: `2024-05-01 10:00:01.000000` ->
    `2024-05-01T10:00:01.000000Z`. Text, not a datetime round trip: it runs for every time of every answer."""
    if text is None:
        return None
    return text.replace(" ", "T", 1) + "Z"
