"""Every id-list read of a traversal looks its rows up through an index on a fresh SQLite schema: a full scan
of a lineage table per level is what turns a millisecond answer into seconds on a large graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.dsn import Dialect
from schemas.sql import reads
from schemas.sqlite.reads import _JSON_IDS
from schemas.sqlite.store import SqliteStore
from schemas.store import Direction

# The statements a walk runs once per level, by name.
LEVEL_READS = {
    **{f"COLUMN_EDGES {d}": reads.COLUMN_EDGES[d] for d in Direction},
    **{f"DATASET_LINKS {d}": reads.DATASET_LINKS[d] for d in Direction},
    "JOB_LINKS_BY_DATASET": reads.JOB_LINKS_BY_DATASET,
    "JOB_LINKS_BY_JOB": reads.JOB_LINKS_BY_JOB,
    "FIELDS_BY_IDS": reads.FIELDS_BY_IDS,
    "FIELDS_OF_DATASETS": reads.FIELDS_OF_DATASETS,
    # Not a traversal level, but a whole database's datasets: by its hashed key, never a scan of every name.
    "DATASETS_IN_DATABASE": reads.DATASETS_IN_DATABASE,
}


@pytest.mark.parametrize("name", LEVEL_READS)
def test_level_reads_use_indexes(tmp_path: Path, name: str) -> None:
    store = SqliteStore(tmp_path / "lineage.db")
    try:
        store.create_schema()
        sql = "EXPLAIN QUERY PLAN " + LEVEL_READS[name].format(ids=_JSON_IDS)
        plan = [row[3] for row in store._connection().execute(sql, {"ids": "[]", "database_key": "k"})]
    finally:
        store.close()
    scans = [step for step in plan if step.startswith("SCAN") and "json_each" not in step]
    assert not scans, (name, plan)


@pytest.mark.parametrize("order", [reads.EVENT_ORDER, reads.EVENT_ORDER_OLDEST_FIRST])
def test_the_event_listing_reads_the_time_index_in_order(tmp_path: Path, order: str) -> None:
    """A page of /events/lineage, and its count, walk idx_ol_event_time: no scan of OL_EVENT, no sort of the window
    (a sort would cost every event in the window for each page, whatever its offset)."""
    store = SqliteStore(tmp_path / "lineage.db")
    try:
        store.create_schema()
        plans = []
        for sql in (reads.paged(Dialect.SQLITE, reads.EVENTS, order), reads.counted(reads.EVENTS)):
            plans.append([row[3] for row in store._connection().execute("EXPLAIN QUERY PLAN " + sql, EVENT_PARAMS)])
    finally:
        store.close()
    for plan in plans:
        assert any(step.startswith("SEARCH OL_EVENT USING") and "idx_ol_event_time" in step for step in plan), plan
        assert not [step for step in plan if step.startswith("SCAN") or "TEMP B-TREE" in step], plan


def test_latest_runs_of_a_page_of_jobs_use_the_job_index(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "lineage.db")
    try:
        store.create_schema()
        sql = "EXPLAIN QUERY PLAN " + reads.LATEST_RUNS.format(ids=_JSON_IDS)
        plan = [row[3] for row in store._connection().execute(sql, {"ids": "[]", "per_job": 1})]
    finally:
        store.close()
    assert any("idx_ol_run_job" in step for step in plan), plan
    assert not [step for step in plan if step.startswith("SCAN r") or step.startswith("SCAN OL_RUN")], plan


EVENT_PARAMS = {
    "event_kind": "RunEvent",
    "after": "2024-01-01 00:00:00.000000",
    "before": "2024-12-31 00:00:00.000000",
    "page_limit": 100,
    "page_offset": 30_000,
}
