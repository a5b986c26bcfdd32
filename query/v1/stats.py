"""Marquez's usage statistics (GET /api/v1/stats/lineage-events|jobs|datasets|sources), the dashboard of its UI.

`period=DAY`: the last 24 UTC hours, one interval per hour, the current hour last. `period=WEEK` with a
`timezone` (an IANA name, as the UI sends its own): the last 7 days of that time zone, today last. lineage-events
counts the run events of each interval by type (`start`, `complete`, `fail`, `abort`, as Marquez; RUNNING and
OTHER are not counted); jobs, datasets and sources count, at the end of each interval, how many exist (created
before it ends). A source is a namespace that holds a dataset (Marquez keeps one source per such namespace).

Times are instants in UTC (`2024-06-03T02:00:00Z`). For WEEK, Marquez answers a local midnight written as if it
were UTC; here each interval starts at the true instant of that local midnight (so a UI far from UTC labels the
right day).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from query import params
from query.errors import bad_parameter
from query.http import in_thread, json_response
from query.shapes import JSON
from query.typedefs import QUERY_STORE
from schemas.store import CountKind, Store
from schemas.times import format_store_time


class Period(StrEnum):
    """Marquez's Period."""

    DAY = "DAY"  # 24 hourly intervals, UTC
    WEEK = "WEEK"  # 7 daily intervals in the given time zone


PERIODS = {p.value.lower(): p for p in Period}
# Marquez's LineageMetric counts these event types, under these names.
EVENT_COUNTS = {"FAIL": "fail", "START": "start", "COMPLETE": "complete", "ABORT": "abort"}


def intervals(period: Period, zone: ZoneInfo | None, now: datetime) -> list[datetime]:
    """The bounds of the period's intervals, in UTC, ascending: one more than there are intervals."""
    if period is Period.DAY:
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return [hour + timedelta(hours=h) for h in range(-23, 2)]
    local = now.astimezone(zone).date()
    days = [local + timedelta(days=d) for d in range(-6, 2)]
    return [datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC) for d in days]


def instant(moment: datetime) -> str:
    """An instant as Marquez's JSON writes one (java.time.Instant: seconds, `Z`)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat("T", "seconds") + "Z"


def lineage_metrics(store: Store, bounds: Sequence[datetime]) -> list[JSON]:
    counts = store.counts_in_buckets(CountKind.RUN_EVENTS, [format_store_time(b, "seconds") for b in bounds])
    result: list[JSON] = [
        {"startInterval": instant(start), "endInterval": instant(end), **dict.fromkeys(EVENT_COUNTS.values(), 0)}
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]
    for c in counts:
        if 0 <= c.bucket < len(result) and c.event_type in EVENT_COUNTS:
            result[c.bucket][EVENT_COUNTS[c.event_type]] += c.count
    return result


def interval_metrics(store: Store, kind: CountKind, bounds: Sequence[datetime]) -> list[JSON]:
    """How many exist at the end of each interval: those created before it, and during it."""
    per_bucket = dict.fromkeys(range(-1, len(bounds) - 1), 0)
    for c in store.counts_in_buckets(kind, [format_store_time(b, "seconds") for b in bounds]):
        per_bucket[c.bucket] = per_bucket.get(c.bucket, 0) + c.count
    total = per_bucket[-1]
    result = []
    for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        total += per_bucket[i]
        result.append({"startInterval": instant(start), "endInterval": instant(end), "count": total})
    return result


def _bounds(request: web.Request) -> list[datetime]:
    if not request.query.get("period", "").strip():
        raise bad_parameter("period", "required: DAY or WEEK")
    period = params.choice(request.query, "period", PERIODS, Period.DAY)
    raw_zone = request.query.get("timezone", "").strip()
    zone = None
    if period is Period.WEEK:
        if not raw_zone:
            raise bad_parameter("timezone", "required for period WEEK (an IANA time zone, such as Europe/Paris)")
        try:
            zone = ZoneInfo(raw_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad_parameter("timezone", f"{raw_zone!r} is not an IANA time zone") from None
    return intervals(period, zone, datetime.now(UTC))


async def lineage_events(request: web.Request) -> web.Response:
    bounds = _bounds(request)
    return json_response(await in_thread(lineage_metrics, request.app[QUERY_STORE], bounds))


def _counting(kind: CountKind) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        bounds = _bounds(request)
        return json_response(await in_thread(interval_metrics, request.app[QUERY_STORE], kind, bounds))

    return handler


jobs = _counting(CountKind.JOBS)
datasets = _counting(CountKind.DATASETS)
sources = _counting(CountKind.SOURCES)
