"""The Store contract every SQL backend keeps: idempotency, atomicity and the merge rules of schemas.sql.upserts.

Every test runs on each backend of `BACKENDS` (the `backend` fixture): SQLite in tmp_path, PostgreSQL in a fresh
schema of the real server (tests/postgres.py), each once with the writer's memory (schemas.sql.memory: rows the
store holds are left out, newer sightings of unchanged rows held until a flush) and once without it ("-every-row"):
the rows read, after the held sightings are flushed, must be the same. A new backend joins by adding one entry
there: a function that opens an empty, current store and a way to read what it committed. The SQL tests read with
is written without parameters, so it runs unchanged on every backend.

Teradata has no server here: the last tests check that its MERGE statements are the same rule table rendered
with t/s aliases (compared, clause by clause, with the SQLite rendering through sqlglot), and that they parse.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
import sqlglot
from sqlglot import exp

from schemas.dsn import parse_dsn
from schemas.migrations import schema_catalog
from schemas.postgresql.store import PostgresStore
from schemas.rows import (
    ColumnEdgeRow,
    DatasetRow,
    DatasetVersionRow,
    EventKind,
    EventRow,
    EventRows,
    FacetOwner,
    FacetRow,
    FieldRow,
    JobRow,
    NamespaceRow,
    RunRow,
    RunState,
    SymlinkRow,
    dataset_key,
    field_key,
    job_key,
    make_key,
    namespace_key,
)
from schemas.sql import reads
from schemas.sql.memory import DEFAULT_REFRESH_SECONDS
from schemas.sql.rules import Policy, Write, waves
from schemas.sql.upserts import UPSERTS, WRITES
from schemas.sqlite.store import SqliteStore
from schemas.sqlstore import SqlStore
from schemas.store import Page, SearchKind, Store, StoreError, StoreUnavailable, WriteOutcome
from schemas.teradata import sql as teradata_sql

T1, T2, T3, T4 = (f"2024-05-01 10:00:0{i}.000000" for i in (1, 2, 3, 4))
STORED, DUPLICATE = WriteOutcome.STORED, WriteOutcome.DUPLICATE
NS = "teradata://td.example:1025"
Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Backend:
    store: Store
    query: Query  # plain SQL on a connection of its own: what the store committed


def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "lineage.db"
    store = SqliteStore(path)
    store.create_schema()

    def query(sql: str) -> list[tuple[Any, ...]]:
        store.flush_sightings()
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute(sql).fetchall()

    yield Backend(store, query)
    store.close()


def postgresql_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh schema of the session's PostgreSQL database (tests/postgres.py); values read as the store reads."""
    dsn = request.getfixturevalue("postgres_dsn")
    store = PostgresStore(parse_dsn(dsn))
    store.create_schema()

    def query(sql: str) -> list[tuple[Any, ...]]:
        store.flush_sightings()
        with psycopg.connect(dsn) as conn:
            return [tuple(map(reads.read_value, row)) for row in conn.execute(sql)]

    yield Backend(store, query)
    store.close()


BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Iterator[Backend]]] = {
    "sqlite": lambda request: sqlite_backend(request.getfixturevalue("tmp_path")),
    "postgresql": postgresql_backend,
}


@pytest.fixture(params=[f"{name}{memory}" for name in sorted(BACKENDS) for memory in ("", "-every-row")])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    name, every_row, _ = request.param.partition("-every-row")
    for opened in BACKENDS[name](request):
        if every_row:
            cast(SqlStore[Any], opened.store).remember(limit=0, refresh=DEFAULT_REFRESH_SECONDS)
        yield opened


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store


@pytest.fixture
def query(backend: Backend) -> Query:
    return backend.query


# --- rows -------------------------------------------------------------------------------------------------


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


# --- idempotency and atomicity ----------------------------------------------------------------------------


def test_same_event_twice_is_stored_once(store: Store, query: Query) -> None:
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


def test_more_events_than_one_in_list_holds(store: Store, query: Query) -> None:
    batch = [event(str(i)) for i in range(1200)]
    assert store.write_batch(batch) == [STORED] * 1200
    assert store.write_batch(batch[::-1]) == [DUPLICATE] * 1200
    assert query("SELECT count(*) FROM OL_EVENT") == [(1200,)]
    assert store.write_batch([]) == []


def test_a_failing_batch_writes_nothing(store: Store, query: Query) -> None:
    good = event("good", datasets=(dataset(T1),), runs=(run(RunState.START, T1),))
    bad = event("bad", namespaces=(NamespaceRow(namespace_key(NS), None),))  # type: ignore[arg-type]
    with pytest.raises(StoreError) as raised:
        store.write_batch([good, bad])
    assert not isinstance(raised.value, StoreUnavailable)
    for table in ("OL_EVENT", "OL_DATASET", "OL_RUN", "OL_NAMESPACE"):
        assert query(f"SELECT count(*) FROM {table}") == [(0,)], table
    assert store.write_batch([good]) == [STORED]  # the store is usable afterwards


def test_long_names_are_stored_without_loss(store: Store, query: Query) -> None:
    name = ("ü€" + "x" * 98) * 40  # 4000 characters, some outside Latin-1
    assert len(name) == 4000
    store.write_batch([event("long", datasets=(dataset(T1, name=name),), column_edges=(edge("r", T1, name=name),))])
    assert query("SELECT name FROM OL_DATASET") == [(name,)]
    assert query("SELECT target_field FROM OL_COLUMN_LINEAGE") == [(name,)]


# --- merge rules ------------------------------------------------------------------------------------------


def test_one_edge_from_two_runs_keeps_first_and_last_sighting(store: Store, query: Query) -> None:
    store.write_batch([event("later", T3, column_edges=(edge("run-b", T3),))])
    store.write_batch([event("earlier", T1, column_edges=(edge("run-a", T1),))])  # arrives late
    store.write_batch([event("middle", T2, column_edges=(edge("run-c", T2),))])
    rows = query("SELECT run_id, discovered_at, last_seen_at, masking, is_active FROM OL_COLUMN_LINEAGE")
    assert rows == [("run-b", T1, T3, "N", "Y")]


def test_a_namespace_and_a_symlink_keep_their_earliest_sighting(store: Store, query: Query) -> None:
    namespace = NamespaceRow(namespace_key(NS), NS)
    link = SymlinkRow(make_key("link"), "ds-1", "hive://metastore", "db.orders", "TABLE", "ds-2", T1)
    for time in (T2, T1, T3):  # the earliest arrives second: the first arrival's time is not the first sighting
        store.write_batch([event(time, time, namespaces=(namespace,), symlinks=(replace(link, event_time=time),))])
    assert query("SELECT namespace_uri, created_at FROM OL_NAMESPACE") == [(NS, T1)]
    assert query("SELECT symlink_name, created_at FROM OL_DATASET_SYMLINK") == [("db.orders", T1)]


def run_state(query: Query) -> tuple[Any, ...]:
    rows = query("SELECT event_type, event_time, started_at, ended_at, last_event_time, created_at, job_id FROM OL_RUN")
    assert len(rows) == 1
    return rows[0]


def test_terminal_state_survives_a_late_start(store: Store, query: Query) -> None:
    store.write_batch([event("complete", T3, runs=(run(RunState.COMPLETE, T3),))])
    store.write_batch([event("start", T1, runs=(run(RunState.START, T1),))])
    store.write_batch([event("running", T2, runs=(run(RunState.RUNNING, T2),))])
    assert run_state(query) == ("COMPLETE", T3, T1, T3, T3, T1, "job-1")


def test_running_follows_start(store: Store, query: Query) -> None:
    start, running = run(RunState.START, T1), run(RunState.RUNNING, T2)
    store.write_batch([event("start", T1, runs=(start,)), event("run", T2, runs=(running,))])
    assert run_state(query) == ("RUNNING", T2, T1, None, T2, T1, "job-1")


def test_fail_and_complete_are_ordered_by_time(store: Store, query: Query) -> None:
    store.write_batch([event("complete", T3, runs=(run(RunState.COMPLETE, T3),))])
    store.write_batch([event("old-fail", T2, runs=(run(RunState.FAIL, T2),))])
    assert run_state(query)[:4] == ("COMPLETE", T3, None, T3)
    store.write_batch([event("new-fail", T4, runs=(run(RunState.FAIL, T4),))])
    assert run_state(query)[:4] == ("FAIL", T4, None, T4)


@pytest.mark.parametrize(
    ("first", "second", "final"),
    [
        (RunState.FAIL, RunState.COMPLETE, RunState.FAIL),  # arrival order decided this one: COMPLETE won
        (RunState.COMPLETE, RunState.FAIL, RunState.FAIL),
        (RunState.COMPLETE, RunState.ABORT, RunState.ABORT),
        (RunState.ABORT, RunState.COMPLETE, RunState.ABORT),
        (RunState.FAIL, RunState.ABORT, RunState.FAIL),
    ],
)
def test_two_terminal_states_at_one_time_end_the_same_whatever_their_order(
    store: Store, query: Query, first: RunState, second: RunState, final: RunState
) -> None:
    """The state of the latest eventTime wins; at one time FAIL beats ABORT beats COMPLETE, in any order."""
    store.write_batch([event("first", T2, runs=(run(first, T2),))])
    store.write_batch([event("second", T2, runs=(run(second, T2),))])
    assert run_state(query)[:4] == (final.value, T2, None, T2)
    store.write_batch([event("later", T3, runs=(run(RunState.COMPLETE, T3),))])
    assert run_state(query)[:4] == ("COMPLETE", T3, None, T3)  # a later terminal state wins over any


def test_search_and_databases_fold_case_by_unicode_rules(store: Store) -> None:
    """`ÉTÉ` is found as `été` and `Été`: names are folded once, in Python, never by SQL's ASCII-only LOWER."""
    name = "VENTES_ÉTÉ.COMMANDES_ÉTÉ"
    ds = dataset(T1, name)
    field = FieldRow(field_key(NS, name, "PRIX_ÉTÉ"), ds.dataset_id, "PRIX_ÉTÉ", "DECIMAL", None, 1, T1)
    job = JobRow(job_key(NS, "CHARGE_ÉTÉ"), namespace_key(NS), "CHARGE_ÉTÉ", None, None, None, T1)
    namespace = NamespaceRow(namespace_key(NS), NS)
    store.write_batch([event("été", namespaces=(namespace,), datasets=(ds,), fields=(field,), jobs=(job,))])
    for text in ("été", "Été", "ÉTÉ"):
        hits = store.search(text, list(SearchKind), Page(10)).items
        assert sorted((h.kind, h.name) for h in hits) == [
            ("dataset", name), ("field", "PRIX_ÉTÉ"), ("job", "CHARGE_ÉTÉ"),
        ], text  # fmt: skip
    assert [d.name for d in store.datasets_in_database("ventes_été", 10)] == [name]
    assert [d.name for d in store.datasets_in_database("VENTES_ÉTÉ", 10)] == [name]
    assert store.datasets_in_database("VENTES", 10) == []
    assert store.search("é_é", list(SearchKind), Page(10)).items == []  # `_` matches itself, not any character


def test_stateless_rows_never_change_the_state(store: Store, query: Query) -> None:
    store.write_batch([event("start", T1, runs=(run(RunState.START, T1, root_run_id="root"),))])
    stub = run(None, T2, job_id="another-job", producer=None)
    store.write_batch([event("child", T2, runs=(stub,))])
    assert run_state(query) == ("START", T1, T1, None, T2, T1, "job-1")
    assert query("SELECT producer, root_run_id FROM OL_RUN") == [("https://producer", "root")]
    store.write_batch([event("stub-first", T1, runs=(run(None, T1, run_id="r2"),))])
    assert query("SELECT event_type, event_time FROM OL_RUN WHERE run_id = 'r2'") == [(None, None)]


def test_facets_latest_wins_tombstone_and_out_of_order(store: Store, query: Query) -> None:
    store.write_batch([event("f1", T1, facets=(facet(T1, '{"v": 1}'),))])
    store.write_batch([event("f3", T3, facets=(facet(T3, '{"v": 3}'),))])
    store.write_batch([event("f2", T2, facets=(facet(T2, '{"v": 2}'),))])  # older: ignored
    assert query("SELECT payload, event_time FROM OL_FACET") == [('{"v": 3}', T3)]
    store.write_batch([event("deleted", T4, facets=(facet(T4, None),))])
    assert query("SELECT owner, payload, event_time FROM OL_FACET") == [("dataset", None, T4)]


def test_a_dataset_version_is_its_content_latest_run_kept_times_widened(store: Store, query: Query) -> None:
    def version(time: str, run_id: str | None) -> DatasetVersionRow:
        return DatasetVersionRow("0f0e-v1", dataset_key(NS, "sales.orders"), run_id, '{"schema": {}}', time)

    store.write_batch([event("v2", T2, dataset_versions=(version(T2, "r2"),))])
    store.write_batch([event("v3", T3, dataset_versions=(version(T3, "r3"),))])
    store.write_batch([event("v1", T1, dataset_versions=(version(T1, "r1"),))])  # older, arriving last
    store.write_batch([event("v4", T4, dataset_versions=(version(T4, None),))])  # no run: erases nothing
    rows = query("SELECT version_id, run_id, payload, created_at, updated_at FROM OL_DATASET_VERSION")
    assert rows == [("0f0e-v1", "r3", '{"schema": {}}', T1, T4)]


def test_none_never_erases(store: Store, query: Query) -> None:
    store.write_batch([event("doc", T2, datasets=(dataset(T2, description="Orders", is_active=False),))])
    store.write_batch([event("bare", T3, datasets=(dataset(T3, source_type=None),))])
    store.write_batch([event("old", T1, datasets=(dataset(T1, description="stale", is_active=True),))])
    rows = query("SELECT description, source_type, is_active, created_at, updated_at, name_key FROM OL_DATASET")
    assert rows == [("Orders", "TABLE", "N", T1, T3, make_key("sales.orders"))]
    store.write_batch([event("new", T4, datasets=(dataset(T4, description="Orders v2", is_active=True),))])
    assert query("SELECT description, is_active FROM OL_DATASET") == [("Orders v2", "Y")]


def test_first_sighting_without_news_is_active(store: Store, query: Query) -> None:
    store.write_batch([event("a", T1, datasets=(dataset(T1),))])
    assert query("SELECT is_active FROM OL_DATASET") == [("Y",)]


def test_a_later_event_of_the_batch_merges_as_if_in_a_later_batch(store: Store, query: Query) -> None:
    batch = [event("start", T1, runs=(run(RunState.START, T1),)), event("done", T2, runs=(run(RunState.COMPLETE, T2),))]
    store.write_batch(batch)
    assert run_state(query) == ("COMPLETE", T2, T1, T2, T2, T1, "job-1")


def test_rows_of_one_key_merge_within_a_batch_as_across_batches(store: Store, query: Query) -> None:
    """Three sightings of one edge, facet and version in one batch, out of time order (a backend that sends a
    table's rows as one statement sends a key's later rows in statements of their own)."""
    sightings = [("b", T3, '{"v": 3}'), ("a", T1, '{"v": 1}'), ("c", T2, '{"v": 2}')]
    store.write_batch([
        event(f"e-{run_id}", time, column_edges=(edge(f"run-{run_id}", time),), facets=(facet(time, payload),),
              dataset_versions=(DatasetVersionRow("0f0e-v1", "ds-1", f"run-{run_id}", "{}", time),))
        for run_id, time, payload in sightings
    ])  # fmt: skip
    assert query("SELECT run_id, discovered_at, last_seen_at FROM OL_COLUMN_LINEAGE") == [("run-b", T1, T3)]
    assert query("SELECT payload, event_time FROM OL_FACET") == [('{"v": 3}', T3)]
    assert query("SELECT run_id, created_at, updated_at FROM OL_DATASET_VERSION") == [("run-b", T1, T3)]


# --- the same rules, rendered for Teradata ----------------------------------------------------------------

TERADATA_PLAN = {tw.write.table.name: tw for tw in teradata_sql.plan("lineage_db", schema_catalog())}


def _as_teradata(table: str, node: exp.Expression) -> exp.Expression:
    """A SQLite upsert expression spelled as Teradata's MERGE spells it: the stored row `t`, the incoming `s`."""

    def spell(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Cast) and isinstance(n.this, exp.Placeholder):  # a value compared as bound
            return exp.column(n.this.name, table="s")
        if isinstance(n, exp.Placeholder):
            return exp.column(n.name, table="s")
        if isinstance(n, exp.Column) and n.table in (table, "excluded"):
            return exp.column(n.name, table="t" if n.table == table else "s")
        return n

    return node.copy().transform(spell)


def _assignments(updates: list[exp.Expression]) -> dict[str, str]:
    return {eq.this.name: eq.expression.sql(dialect="teradata") for eq in updates}


@pytest.mark.parametrize(
    "write", [w for w in WRITES if not w.new_only and w.row_time is None], ids=lambda w: w.table.name
)
def test_teradata_merge_holds_every_rule_of_the_table(write: Write) -> None:
    name = write.table.name
    upsert = sqlglot.parse_one(UPSERTS[name], read="sqlite")
    [statement] = TERADATA_PLAN[name].statements
    merge = sqlglot.parse_one(statement.sql, read="teradata")
    assert isinstance(merge, exp.Merge)
    whens = {bool(w.args.get("matched")): w.args["then"] for w in merge.find_all(exp.When)}
    conflict = upsert.args["conflict"]
    expected = {eq.this.name: _as_teradata(name, eq.expression).sql(dialect="teradata")
                for eq in conflict.args.get("expressions") or []}  # fmt: skip
    assert set(expected) == set(write.updates)  # every policy that updates is rendered, and only those
    assert _assignments(whens[True].expressions if True in whens else []) == expected
    inserted = whens[False]
    assert [c.name for c in inserted.this.expressions] == list(write.columns)
    sqlite_values = upsert.expression.expressions[0].expressions
    teradata_values = [v.sql(dialect="teradata") for v in inserted.expression.expressions]
    assert [_as_teradata(name, v).sql(dialect="teradata") for v in sqlite_values] == teradata_values
    assert statement.columns == write.columns and statement.sql.count("?") == len(write.columns)


def test_teradata_replaces_a_facet_row_by_the_same_rule() -> None:
    [write] = [w for w in WRITES if w.row_time is not None]
    placeholder, update = TERADATA_PLAN[write.table.name].statements
    parsed = sqlglot.parse_one(update.sql, read="teradata")
    assert isinstance(parsed, exp.Update) and isinstance(sqlglot.parse_one(placeholder.sql, read="teradata"), exp.Merge)
    assert [eq.this.name for eq in parsed.expressions] == list(write.updates)
    assert all(write.rules[c].policy is Policy.NEWER_ROW for c in write.updates)
    assert f"({write.row_time} IS NULL OR CAST(? AS TIMESTAMP(6)) >= {write.row_time})" in update.sql
    assert UPSERTS[write.table.name].endswith(
        f"WHERE (OL_FACET.{write.row_time} IS NULL OR excluded.{write.row_time} >= OL_FACET.{write.row_time})"
    )


def test_rows_of_one_key_split_into_waves_in_batch_order() -> None:
    rows = [{"k": "a", "v": 1}, {"k": "a", "v": 2}, {"k": "b", "v": 3}, {"k": "a", "v": 4}, {"k": "b", "v": 5}]
    assert waves(rows, ("k",)) == [[rows[0], rows[2]], [rows[1], rows[4]], [rows[3]]]
    assert waves([], ("k",)) == []


def test_every_rule_table_keys_on_the_tables_primary_key() -> None:
    for write in WRITES:
        assert write.key == write.table.primary_key, write.table.name
        assert set(write.columns) <= {c.name for c in write.table.columns}, write.table.name


# --- population progress (schemas.sql.marks) ---------------------------------------------------------------


def test_a_source_mark_moves_forward_only_and_keeps_its_pending_items(backend: Backend) -> None:
    from schemas.store import PendingItem

    store, source = backend.store, f"dbql {NS}"
    assert store.source_mark(source).mark is None and store.source_mark(source).pending == ()
    first = PendingItem("307188741412345678", T1, '{"QueryID": "307188741412345678"}')
    store.advance_mark(source, T3, pending=[first])
    store.advance_mark(source, T2)  # an older mark (a rerun of an older window) never moves it back
    again = PendingItem(first.item_id, T4, "{}")  # still pending on the next run: the first record stays
    store.advance_mark(source, None, pending=[again, PendingItem("2", T2, "{}")])
    mark = store.source_mark(source)
    assert mark.mark == T3 and [p.item_id for p in mark.pending] == ["2", first.item_id]
    assert mark.pending[1] == first
    store.advance_mark(source, T4, finished=[first.item_id, "never pending"])
    assert store.source_mark(source).mark == T4 and [p.item_id for p in store.source_mark(source).pending] == ["2"]
    assert store.source_mark("dbql teradata://other:1025").mark is None  # one mark per source
    store.reset_mark(source)
    assert store.source_mark(source).mark is None and store.source_mark(source).pending == ()
    assert backend.query("SELECT COUNT(*) FROM OL_POPULATE_MARK")[0][0] == 0
