"""Marquez's usage statistics: the intervals of DAY and WEEK, run events counted by type, jobs, datasets and
sources counted as they accumulate, and the 400s for a missing period or time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from query.v1.stats import Period, intervals
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, ingest
from tests.query.v1.test_listings import run_event


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat("T", "seconds") + "Z"


def test_day_is_24_utc_hours_ending_with_the_current_one() -> None:
    now = datetime(2024, 6, 3, 14, 25, 7, tzinfo=UTC)
    bounds = intervals(Period.DAY, None, now)
    assert len(bounds) == 25 and bounds[0] == datetime(2024, 6, 2, 15, tzinfo=UTC)
    assert bounds[-2] == datetime(2024, 6, 3, 14, tzinfo=UTC) and bounds[-1] == datetime(2024, 6, 3, 15, tzinfo=UTC)


def test_week_is_7_local_days_ending_today_across_a_dst_change() -> None:
    zone = ZoneInfo("America/New_York")
    now = datetime(2024, 3, 12, 3, 0, tzinfo=UTC)  # 23:00 on March 11 in New York
    bounds = intervals(Period.WEEK, zone, now)
    assert len(bounds) == 8
    assert bounds[0] == datetime(2024, 3, 5, tzinfo=zone) and bounds[-1] == datetime(2024, 3, 12, tzinfo=zone)
    assert bounds[0].astimezone(UTC).hour == 5 and bounds[-1].astimezone(UTC).hour == 4  # EST, then EDT


async def test_lineage_events_are_counted_by_type_per_hour(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stamp = (hour - timedelta(hours=2) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    old = (hour - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    ingest(
        store,
        [run_event("a", "START", stamp), run_event("a", "COMPLETE", stamp), run_event("b", "FAIL", stamp)]
        + [run_event("c", "RUNNING", stamp), run_event("d", "COMPLETE", old)],
    )
    client = await aiohttp_client(make_app(store))
    day = await (await client.get("/api/v1/stats/lineage-events?period=DAY&timezone=Europe/Paris")).json()
    assert len(day) == 24 and set(day[0]) == {"startInterval", "endInterval", "fail", "start", "complete", "abort"}
    assert day[-1]["startInterval"] == iso(hour) and day[-1]["endInterval"] == iso(hour + timedelta(hours=1))
    assert day[-3] == {
        "startInterval": iso(hour - timedelta(hours=2)), "endInterval": iso(hour - timedelta(hours=1)),
        "fail": 1, "start": 1, "complete": 1, "abort": 0,
    }  # fmt: skip
    assert sum(i["complete"] for i in day) == 1  # three days ago is outside the day
    week = await (await client.get("/api/v1/stats/lineage-events?period=WEEK&timezone=UTC")).json()
    assert len(week) == 7 and sum(i["complete"] for i in week) == 2 and sum(i["start"] for i in week) == 1
    assert week[-1]["startInterval"] == iso(hour.replace(hour=0))


async def test_jobs_datasets_and_sources_accumulate(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await aiohttp_client(make_app(store))
    for asset in ("jobs", "datasets", "sources"):
        empty = await (await client.get(f"/api/v1/stats/{asset}?period=DAY")).json()
        assert len(empty) == 24 and {i["count"] for i in empty} == {0}
        assert set(empty[0]) == {"startInterval", "endInterval", "count"}
    event = run_event("loader", "COMPLETE", datetime.now(UTC).isoformat())
    event["outputs"] = [{"namespace": "warehouse", "name": "orders"}]
    ingest(store, [event])
    for asset, count in (("jobs", 1), ("datasets", 1), ("sources", 1)):
        day = await (await client.get(f"/api/v1/stats/{asset}?period=DAY")).json()
        assert day[-1]["count"] == count, asset  # created now: counted from the current hour on
        week = await (await client.get(f"/api/v1/stats/{asset}?period=WEEK&timezone=Asia/Kolkata")).json()
        assert len(week) == 7 and week[-1]["count"] == count, asset


async def test_a_missing_period_or_time_zone_is_a_400(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await aiohttp_client(make_app(store))
    for query in ("", "period=MONTH", "period=WEEK", "period=WEEK&timezone=Mars/Olympus"):
        response = await client.get(f"/api/v1/stats/lineage-events?{query}")
        body = await response.json()
        assert response.status == 400 and body["code"] == "BAD_REQUEST" and body["message"], query
    assert (await client.get("/api/v1/stats/jobs?period=week&timezone=UTC")).status == 200
