"""OpenLineage's rules for its times (RFC 3339 date-times), on top of schemas.times.

The spec's `date-time` is RFC 3339's (section 5.6): `2024-08-06T13:26:54.34+02:00`, `T` or `t` (or a blank,
which the RFC allows for readability) between date and time, `Z` or an offset. Nothing else of ISO 8601 is
read: no week or ordinal dates, no basic format (`20240806T132654Z`), no trailing characters (a NUL, say),
which Python's fromisoformat would accept or ignore. Producers that omit the offset (Marquez accepts such
events) are read as UTC and the validator says so in a warning. Digits past microseconds (nanosecond
clocks) are dropped: the raw event keeps them.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from schemas.times import parse_iso

# ASCII digits only: `\d` alone would match other scripts' digits.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?", re.ASCII)


@lru_cache(maxsize=256)  # validation reads an event's times, then its mapping reads them again
def parse_time(value: str) -> tuple[datetime, bool]:
    """The instant in UTC, and whether the text carried an offset. ValueError when it is not an RFC 3339
    date-time (the offset aside) or names no real instant."""
    if _RFC3339.fullmatch(value) is None:
        raise ValueError("not an RFC 3339 date-time")
    return parse_iso(value)


def to_store_time(value: str) -> str:
    """`2024-08-06T13:26:54.34+02:00` -> `2024-08-06 11:26:54.340000`. ValueError when not a date-time."""
    moment = parse_time(value)[0]
    # schemas.times.format_store_time's text, without its conversions: the instant is in UTC already, and an
    # aware isoformat is the store text followed by `+00:00`.
    return moment.isoformat(" ", "microseconds")[:-6]
