"""Real events through the whole path (validate, map, SQLite store), arriving in the order networks deliver."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from ingest.events import Accepted, Rejected, prepare
from schemas.sqlite.store import SqliteStore
from schemas.store import WriteOutcome
from tests.conftest import EVENTS_DIR, load_event

RECEIVED = "2026-01-01 00:00:00.000000"


def accepted(name: str) -> Accepted:
    result = prepare(load_event(name), (EVENTS_DIR / name).read_text(), strict=False, received_at=RECEIVED)
    assert isinstance(result, Accepted), result
    return result


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "lineage.db")
    store.create_schema()
    return store


@pytest.mark.parametrize(
    ("start", "complete", "started", "ended"),
    [
        (
            "spark__cll_insert_start__5.json",
            "spark__cll_insert_complete__8.json",
            "2024-08-06 13:26:53.776000",
            "2024-08-06 13:26:54.340000",
        ),
        (
            "airflow__task_BQ.upload_start__line_02.json",
            "airflow__task_BQ.upload_complete_cll__line_03.json",
            "2024-11-26 13:05:25.547948",
            "2024-11-26 13:05:29.606867",
        ),
    ],
)
def test_start_arriving_after_its_complete_keeps_the_run_complete(
    store: SqliteStore, tmp_path: Path, start: str, complete: str, started: str, ended: str
) -> None:
    complete_rows, start_rows = accepted(complete).rows, accepted(start).rows
    assert store.write_batch([complete_rows]) == [WriteOutcome.STORED]
    assert store.write_batch([start_rows]) == [WriteOutcome.STORED]
    run_id = complete_rows.event.run_id
    db = sqlite3.connect(tmp_path / "lineage.db")
    row = db.execute(
        "SELECT event_type, event_time, started_at, ended_at, last_event_time FROM OL_RUN WHERE run_id = ?", (run_id,)
    ).fetchone()
    assert row == ("COMPLETE", ended, started, ended, ended)
    # Both events are archived verbatim; the inputs and outputs of both accumulate on the run.
    payloads = [
        p for (p,) in db.execute("SELECT payload FROM OL_EVENT WHERE run_id = ? ORDER BY event_time", (run_id,))
    ]
    assert [orjson.loads(p)["eventType"] for p in payloads] == ["START", "COMPLETE"]
    assert payloads[1] == (EVENTS_DIR / complete).read_text()
    outputs = {d for (d,) in db.execute("SELECT dataset_id FROM OL_RUN_OUTPUT WHERE run_id = ?", (run_id,))}
    assert outputs == {o.dataset_id for o in complete_rows.outputs} | {o.dataset_id for o in start_rows.outputs}


def test_the_same_file_twice_is_one_event(store: SqliteStore, tmp_path: Path) -> None:
    name = "spark_dataproc__hive_insert_complete_symlinks_cll__4.json"
    db = sqlite3.connect(tmp_path / "lineage.db")
    assert store.write_batch([accepted(name).rows]) == [WriteOutcome.STORED]
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    before = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    assert store.write_batch([accepted(name).rows, accepted(name).rows]) == [WriteOutcome.DUPLICATE] * 2
    assert {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables} == before


def test_rejection_names_the_path() -> None:
    result = prepare({"eventTime": "2024-01-01T00:00:00Z"}, "{}", strict=False, received_at=RECEIVED)
    assert isinstance(result, Rejected)
    assert "not an OpenLineage event" in result.reason
