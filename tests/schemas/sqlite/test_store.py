"""SqliteStore.write_batch on real files: idempotency, merge rules, atomicity, durability settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from schemas import open_store
from schemas.dsn import parse_dsn
from schemas.rows import (
    ColumnEdgeRow,
    DatasetRow,
    EventKind,
    EventRow,
    EventRows,
    FacetOwner,
    FacetRow,
    NamespaceRow,
    RunRow,
    RunState,
    dataset_key,
    make_key,
    namespace_key,
)
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreError, StoreUnavailable, WriteOutcome

T1, T2, T3, T4 = (f"2024-05-01 10:00:0{i}.000000" for i in (1, 2, 3, 4))
STORED, DUPLICATE = WriteOutcome.STORED, WriteOutcome.DUPLICATE
NS = "teradata://td.example:1025"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "lineage.db"
    store = SqliteStore(path)
    store.create_schema()
    store.close()
    yield path


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(db)
    yield store
    store.close()


Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def query(db: Path) -> Iterator[Query]:
    """Read what a store committed, through a connection of its own."""
    conn = sqlite3.connect(db)

    def run(sql: str, *params: object) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    yield run
    conn.close()


def event(name: str, time: str = T1, **rows: Any) -> EventRows:
    """An event whose identity is `name`, carrying `rows` (EventRows fields)."""
    row = EventRow(make_key("event", name) * 2, EventKind.RUN, None, time, "https://producer", None, None, None,
                   None, f'{{"name": "{name}"}}', time)  # fmt: skip
    return EventRows(event=row, **rows)


def run(state: RunState | None, time: str, run_id: str = "r1", **changes: Any) -> RunRow:
    row = RunRow(run_id, "job-1", state, time, None, None, "https://producer", None, None, None, None, None)
    return replace(row, **changes)


def dataset(time: str, name: str = "sales.orders", **changes: Any) -> DatasetRow:
    row = DatasetRow(dataset_key(NS, name), namespace_key(NS), name, "TABLE", None, None, time)
    return replace(row, **changes)


def edge(run_id: str, time: str, name: str = "amount") -> ColumnEdgeRow:
    return ColumnEdgeRow(
        make_key("edge", name), run_id, NS, "staging.orders", "amt", "sds", "sf", NS, "sales.orders", name,
        "tds", "tf", "DIRECT", "IDENTITY", None, False, None, time,
    )  # fmt: skip


def facet(time: str, payload: str | None) -> FacetRow:
    return FacetRow(FacetOwner.DATASET, "ds-1", "schema", payload, time)


def test_wal_mode_and_schema(db: Path, store: SqliteStore, query: Query) -> None:
    assert query("PRAGMA journal_mode") == [("wal",)]
    assert store.schema_status().current
    store.ping()


def test_same_event_twice_is_stored_once(store: SqliteStore, query: Query) -> None:
    namespace = NamespaceRow(namespace_key(NS), NS)
    first = event("a", namespaces=(namespace,), datasets=(dataset(T1),), runs=(run(RunState.START, T1),))
    assert store.write_batch([first]) == [STORED]
    tables = ("OL_EVENT", "OL_NAMESPACE", "OL_DATASET", "OL_RUN")
    before = {t: query(f"SELECT * FROM {t}") for t in tables}
    assert store.write_batch([first]) == [DUPLICATE]
    assert {t: query(f"SELECT * FROM {t}") for t in tables} == before
    second = event("b", runs=(run(RunState.COMPLETE, T2),))
    assert store.write_batch([second, first, second]) == [STORED, DUPLICATE, DUPLICATE]
    assert query("SELECT count(*) FROM OL_EVENT") == [(2,)]


def test_more_events_than_one_in_list_holds(store: SqliteStore, query: Query) -> None:
    batch = [event(str(i)) for i in range(1200)]
    assert store.write_batch(batch) == [STORED] * 1200
    assert store.write_batch(batch[::-1]) == [DUPLICATE] * 1200
    assert query("SELECT count(*) FROM OL_EVENT") == [(1200,)]
    assert store.write_batch([]) == []


def test_one_edge_from_two_runs_keeps_first_and_last_sighting(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("later", T3, column_edges=(edge("run-b", T3),))])
    store.write_batch([event("earlier", T1, column_edges=(edge("run-a", T1),))])  # arrives late
    store.write_batch([event("middle", T2, column_edges=(edge("run-c", T2),))])
    rows = query("SELECT run_id, discovered_at, last_seen_at, masking, is_active FROM OL_COLUMN_LINEAGE")
    assert rows == [("run-b", T1, T3, "N", "Y")]


def run_state(query: Query) -> tuple[Any, ...]:
    rows = query("SELECT event_type, event_time, started_at, ended_at, last_event_time, created_at, job_id FROM OL_RUN")
    assert len(rows) == 1
    return rows[0]


def test_terminal_state_survives_a_late_start(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("complete", T3, runs=(run(RunState.COMPLETE, T3),))])
    store.write_batch([event("start", T1, runs=(run(RunState.START, T1),))])
    store.write_batch([event("running", T2, runs=(run(RunState.RUNNING, T2),))])
    assert run_state(query) == ("COMPLETE", T3, T1, T3, T3, T1, "job-1")


def test_running_follows_start(store: SqliteStore, query: Query) -> None:
    start, running = run(RunState.START, T1), run(RunState.RUNNING, T2)
    store.write_batch([event("start", T1, runs=(start,)), event("run", T2, runs=(running,))])
    assert run_state(query) == ("RUNNING", T2, T1, None, T2, T1, "job-1")


def test_fail_and_complete_are_ordered_by_time(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("complete", T3, runs=(run(RunState.COMPLETE, T3),))])
    store.write_batch([event("old-fail", T2, runs=(run(RunState.FAIL, T2),))])
    assert run_state(query)[:4] == ("COMPLETE", T3, None, T3)
    store.write_batch([event("new-fail", T4, runs=(run(RunState.FAIL, T4),))])
    assert run_state(query)[:4] == ("FAIL", T4, None, T4)


def test_stateless_rows_never_change_the_state(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("start", T1, runs=(run(RunState.START, T1, root_run_id="root"),))])
    stub = run(None, T2, job_id="another-job", producer=None)
    store.write_batch([event("child", T2, runs=(stub,))])
    assert run_state(query) == ("START", T1, T1, None, T2, T1, "job-1")
    assert query("SELECT producer, root_run_id FROM OL_RUN") == [("https://producer", "root")]
    store.write_batch([event("stub-first", T1, runs=(run(None, T1, run_id="r2"),))])
    assert query("SELECT event_type, event_time FROM OL_RUN WHERE run_id = 'r2'") == [(None, None)]


def test_facets_latest_wins_tombstone_and_out_of_order(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("f1", T1, facets=(facet(T1, '{"v": 1}'),))])
    store.write_batch([event("f3", T3, facets=(facet(T3, '{"v": 3}'),))])
    store.write_batch([event("f2", T2, facets=(facet(T2, '{"v": 2}'),))])  # older: ignored
    assert query("SELECT payload, event_time FROM OL_FACET") == [('{"v": 3}', T3)]
    store.write_batch([event("deleted", T4, facets=(facet(T4, None),))])
    assert query("SELECT owner, payload, event_time FROM OL_FACET") == [("dataset", None, T4)]


def test_none_never_erases(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("doc", T2, datasets=(dataset(T2, description="Orders", is_active=False),))])
    store.write_batch([event("bare", T3, datasets=(dataset(T3, source_type=None),))])
    store.write_batch([event("old", T1, datasets=(dataset(T1, description="stale", is_active=True),))])
    rows = query("SELECT description, source_type, is_active, created_at, updated_at, name_key FROM OL_DATASET")
    assert rows == [("Orders", "TABLE", "N", T1, T3, make_key("sales.orders"))]
    store.write_batch([event("new", T4, datasets=(dataset(T4, description="Orders v2", is_active=True),))])
    assert query("SELECT description, is_active FROM OL_DATASET") == [("Orders v2", "Y")]


def test_first_sighting_without_news_is_active(store: SqliteStore, query: Query) -> None:
    store.write_batch([event("a", T1, datasets=(dataset(T1),))])
    assert query("SELECT is_active FROM OL_DATASET") == [("Y",)]


def test_a_failing_batch_writes_nothing(store: SqliteStore, query: Query) -> None:
    good = event("good", datasets=(dataset(T1),), runs=(run(RunState.START, T1),))
    bad = event("bad", namespaces=(NamespaceRow(namespace_key(NS), None),))  # type: ignore[arg-type]
    with pytest.raises(StoreError) as raised:
        store.write_batch([good, bad])
    assert not isinstance(raised.value, StoreUnavailable)
    for table in ("OL_EVENT", "OL_DATASET", "OL_RUN", "OL_NAMESPACE"):
        assert query(f"SELECT count(*) FROM {table}") == [(0,)], table
    assert store.write_batch([good]) == [STORED]  # the store is usable afterwards


def test_long_names_are_stored_without_loss(store: SqliteStore, query: Query) -> None:
    name = ("ü€" + "x" * 98) * 40  # 4000 characters, some outside Latin-1
    assert len(name) == 4000
    store.write_batch([event("long", datasets=(dataset(T1, name=name),), column_edges=(edge("r", T1, name=name),))])
    assert query("SELECT name FROM OL_DATASET") == [(name,)]
    assert query("SELECT target_field FROM OL_COLUMN_LINEAGE") == [(name,)]


def test_a_locked_database_is_unavailable_then_recovers(db: Path) -> None:
    store = SqliteStore(db, busy_timeout_ms=50)
    try:
        with closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable):
                store.write_batch([event("a")])
            other.execute("ROLLBACK")
        assert store.write_batch([event("a")]) == [STORED]
    finally:
        store.close()


def test_closed_store(db: Path) -> None:
    store = SqliteStore(db)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.write_batch([event("a")])
    with pytest.raises(StoreUnavailable):
        store.ping()


def test_open_store(db: Path) -> None:
    store = open_store(parse_dsn(f"sqlite:///{db}"))
    try:
        assert store.schema_status().current
    finally:
        store.close()
    with pytest.raises(StoreError, match="later version"):
        open_store(parse_dsn("postgresql://u@localhost/lineage"))


def test_stores_on_one_file_take_turns_through_the_writer_lock(db: Path) -> None:
    """Two stores stand for two worker processes: an flock excludes open file descriptions, not processes."""
    holder, waiter = SqliteStore(db), SqliteStore(db, busy_timeout_ms=50)
    try:
        assert Path(str(db) + "-writer").exists()
        with holder._transaction():
            with pytest.raises(StoreUnavailable, match="write lock"):
                waiter.write_batch([event("a")])
        assert waiter.write_batch([event("a")]) == [STORED]
        assert holder.write_batch([event("a")]) == [DUPLICATE]
    finally:
        holder.close()
        waiter.close()
