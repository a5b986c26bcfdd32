"""The BatchWriter against a real SQLite store: batches, duplicates, a poison event alone, a store that fails."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.writing.batches import BatchWriter, WriteReport
from schemas.rows import EventRows
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreError, StoreUnavailable, WriteOutcome

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


class FlakyStore(SqliteStore):
    """A real SQLite store that refuses any batch holding a job named *poison*, and raises `failure` from
    write number `fail_from` (counting from 1) on. `sizes` records every write's size."""

    failure: Exception | None = None
    fail_from = 0

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sizes: list[int] = []

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        self.sizes.append(len(batch))
        if self.failure is not None and len(self.sizes) >= self.fail_from:
            raise self.failure
        if any("poison" in job.name for rows in batch for job in rows.jobs):
            raise StoreError("CHECK constraint failed (as a database might refuse it)")
        return super().write_batch(batch)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FlakyStore]:
    store = FlakyStore(tmp_path / "lineage.db")
    store.create_schema()
    yield store
    store.close()


def run_event(job: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": SCHEMA_URL,
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, job))},
        "job": {"namespace": "tests", "name": job},
    }


def write(store: FlakyStore, jobs: Sequence[str], batch_events: int) -> WriteReport:
    writer = BatchWriter(store, strict=False, batch_events=batch_events)
    for job in jobs:
        event = run_event(job)
        writer.add(job, event, orjson.dumps(event).decode())
    return writer.finish()


def stored_jobs(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for (name,) in db.execute("SELECT name FROM OL_JOB")}


def test_events_are_written_in_batches_and_a_rerun_is_all_duplicate(store: FlakyStore, tmp_path: Path) -> None:
    jobs = [f"job-{i}" for i in range(7)]
    first = write(store, jobs, batch_events=3)
    assert (first.committed, first.duplicate, first.rejected, first.failed, first.stopped) == (7, 0, [], [], None)
    assert store.sizes == [3, 3, 1]
    again = write(store, jobs, batch_events=3)
    assert (again.committed, again.duplicate) == (0, 7)
    assert stored_jobs(tmp_path / "lineage.db") == set(jobs)


def test_invalid_and_unreadable_events_are_rejected_never_written(store: FlakyStore) -> None:
    writer = BatchWriter(store, strict=False)
    writer.add("no-run-id", {**run_event("x"), "run": {}}, "{}")
    writer.reject("broken.json", "not valid JSON")
    report = writer.finish()
    assert [origin for origin, _ in report.rejected] == ["no-run-id", "broken.json"]
    assert report.rejected[0][1].startswith("run.runId")
    assert report.committed == 0 and store.sizes == []


def test_a_poison_event_fails_alone(store: FlakyStore, tmp_path: Path) -> None:
    report = write(store, ["good-1", "poison", "good-2", "good-3"], batch_events=4)
    assert (report.committed, report.stopped) == (3, None)
    assert len(report.failed) == 1 and report.failed[0][0] == "poison"
    assert "the store refused it" in report.failed[0][1]
    assert store.sizes == [4, 1, 1, 1, 1]  # the chunk, then each event alone
    assert stored_jobs(tmp_path / "lineage.db") == {"good-1", "good-2", "good-3"}


@pytest.mark.parametrize(
    "failure", [StoreUnavailable("database is locked"), RuntimeError("a driver error nobody translated")]
)
def test_a_failing_store_stops_the_writing_and_keeps_what_was_committed(
    store: FlakyStore, tmp_path: Path, failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    store.failure, store.fail_from = failure, 3
    jobs = [f"job-{i}" for i in range(8)]
    report = write(store, jobs, batch_events=2)
    assert report.committed == 4 and report.duplicate == 0
    assert [origin for origin, _ in report.failed] == jobs[4:]  # the failed chunk, and what came after it
    assert report.stopped is not None and str(failure) in report.stopped
    assert all(reason == f"not written: {report.stopped}" for _, reason in report.failed)
    assert store.sizes == [2, 2, 2]  # nothing is written after the store failed, not even one by one
    assert stored_jobs(tmp_path / "lineage.db") == set(jobs[:4])
    unexpected = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert bool(unexpected) == (not isinstance(failure, StoreError))  # a traceback for the unexpected only

    store.failure = None
    rerun = write(store, jobs, batch_events=2)
    assert (rerun.committed, rerun.duplicate, rerun.failed) == (4, 4, [])


def test_the_store_failing_while_a_chunk_is_isolated_stops_there(store: FlakyStore, tmp_path: Path) -> None:
    store.failure, store.fail_from = StoreUnavailable("disk I/O error"), 3  # the chunk, one alone, then down
    report = write(store, ["good-1", "poison", "good-2"], batch_events=3)
    assert report.committed == 1 and report.stopped is not None
    assert [origin for origin, _ in report.failed] == ["poison", "good-2"]
    assert stored_jobs(tmp_path / "lineage.db") == {"good-1"}
