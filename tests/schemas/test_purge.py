"""Retention on every backend: a purge at 30 days of a year of history removes the old runs with their inputs,
outputs and facets and the old raw events, in bounded batches, and leaves the catalog and the lineage of the
current datasets as they were. Teradata's purge statements are parsed in tests/schemas/teradata/test_purge.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from schemas.sql import purge as purge_sql
from schemas.store import Direction, Store
from schemas.times import format_store_time
from tests.schemas.history import CURRENT, RETIRED, RETIRED_AFTER, as_rows, dataset_ids, field_ids, write_history
from tests.schemas.test_contract import BACKENDS, Backend

END = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
BEFORE = format_store_time(END - timedelta(days=30))
DAYS = 365


@pytest.fixture(params=sorted(BACKENDS))
def year(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A store holding the year of history."""
    for backend in BACKENDS[request.param](request):
        write_history(backend.store, END, DAYS)
        yield backend


def total(steps: Iterator[dict[str, int]]) -> tuple[Counter[str], int]:
    """What the purge's steps removed, added up, and the number of steps."""
    removed: Counter[str] = Counter()
    count = 0
    for step in steps:
        removed.update(step)
        count += 1
    return removed, count


def lineage(store: Store, jobs: tuple[str, ...]) -> dict[str, Any]:
    """Every lineage answer the store gives about the jobs' datasets and fields, in a comparable form."""
    datasets, fields = dataset_ids(jobs), field_ids(jobs)
    return {
        "columns": {d: sorted(store.column_edges(fields, d)) for d in Direction},
        "datasets": {d: sorted(map(repr, store.dataset_links(datasets, d))) for d in Direction},
        "jobs": sorted(map(repr, store.job_links(datasets))),
        "catalog": sorted(map(repr, [*store.datasets_by_ids(datasets), *store.fields(datasets)])),
    }


TABLES = ("OL_RUN", "OL_RUN_INPUT", "OL_RUN_OUTPUT", "OL_EVENT", "OL_FACET", "OL_DATASET", "OL_DATASET_FIELD", "OL_JOB")


def counts(backend: Backend) -> dict[str, int]:
    tables = (*TABLES, "OL_COLUMN_LINEAGE", "OL_NAMESPACE")
    return {t: int(backend.query(f"SELECT COUNT(*) FROM {t}")[0][0]) for t in tables}


def test_a_purge_at_30_days_removes_the_old_runs_and_events_and_keeps_current_lineage(year: Backend) -> None:
    store = year.store
    old_runs = int(year.query(f"SELECT COUNT(*) FROM OL_RUN WHERE last_event_time < '{BEFORE}'")[0][0])
    old_events = int(year.query(f"SELECT COUNT(*) FROM OL_EVENT WHERE event_time < '{BEFORE}'")[0][0])
    days_old = DAYS - 30
    assert old_runs == days_old * len(CURRENT) + (DAYS - RETIRED_AFTER)  # one run a job a day
    before = counts(year)
    answers = lineage(store, CURRENT)
    retired = lineage(store, (RETIRED,))

    planned, _ = total(store.purge(BEFORE, dry_run=True))
    assert counts(year) == before, "a dry run removes nothing"
    removed, steps = total(store.purge(BEFORE))
    assert removed == planned
    assert removed["runs"] == old_runs
    assert removed["run inputs"] == removed["run outputs"] == old_runs  # one input and one output each
    assert removed["run dataset facets"] == old_runs  # the outputStatistics of each run's output
    assert removed["raw events"] == old_events == 2 * old_runs
    assert steps >= old_runs // purge_sql.PURGE_BATCH  # bounded batches, each its own transaction

    after = counts(year)
    assert after["OL_RUN"] == before["OL_RUN"] - old_runs == 30 * len(CURRENT)
    assert after["OL_EVENT"] == before["OL_EVENT"] - old_events
    assert int(year.query(f"SELECT COUNT(*) FROM OL_RUN WHERE last_event_time < '{BEFORE}'")[0][0]) == 0
    for kept in ("OL_DATASET", "OL_DATASET_FIELD", "OL_JOB", "OL_NAMESPACE", "OL_COLUMN_LINEAGE"):
        assert after[kept] == before[kept], kept
    assert lineage(store, CURRENT) == answers, "the current datasets' lineage is unchanged"
    # The retired job's tables and their column edges stay; only the links its runs made are gone.
    now_retired = lineage(store, (RETIRED,))
    assert now_retired["columns"] == retired["columns"] and now_retired["catalog"] == retired["catalog"]
    assert not now_retired["jobs"]

    again, _ = total(store.purge(BEFORE))
    assert not +again, "idempotent: nothing is left to remove"


def test_edges_not_seen_since_the_cut_off_go_only_when_asked(year: Backend) -> None:
    store = year.store
    total(store.purge(BEFORE))
    current, retired = lineage(store, CURRENT), lineage(store, (RETIRED,))
    assert retired["columns"][Direction.UPSTREAM]
    removed, _ = total(store.purge(BEFORE, edges=True))
    assert removed["column lineage edges"] == len(retired["columns"][Direction.UPSTREAM])
    assert removed["runs"] == 0
    assert lineage(store, CURRENT) == current
    assert not lineage(store, (RETIRED,))["columns"][Direction.UPSTREAM]
    assert lineage(store, (RETIRED,))["catalog"] == retired["catalog"], "datasets and fields always stay"


def test_a_run_that_is_not_old_any_more_stays_whole(year: Backend) -> None:
    """The transaction re-checks each key: a run that took a late event after its key was read keeps everything."""
    store = year.store
    steps = store.purge(BEFORE)
    first = next(steps)
    assert first["runs"] == purge_sql.PURGE_BATCH
    # Every run still old gets a late event (its COMPLETE again, stamped at the end) before the purge goes on.
    payloads = year.query(
        "SELECT e.payload FROM OL_EVENT e JOIN OL_RUN r ON r.run_id = e.run_id "
        f"WHERE r.last_event_time < '{BEFORE}' AND e.event_type = 'COMPLETE'"
    )
    late = [{**orjson.loads(payload), "eventTime": END.isoformat()} for (payload,) in payloads]
    assert late
    store.write_batch(list(as_rows(iter(late))))
    rest, _ = total(steps)
    assert rest["runs"] == 0 and rest["run inputs"] == 0
    assert int(year.query("SELECT COUNT(*) FROM OL_RUN_INPUT")[0][0]) == len(late) + 30 * len(CURRENT)
