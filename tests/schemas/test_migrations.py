"""Migrations on real SQLite files: create, idempotence, and the upgrade of a database the seed application built."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from schemas import migrations
from schemas.rows import EventKind, EventRow, EventRows
from schemas.sqlite import catalog as sqlite_catalog
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreError, WriteOutcome
from tests.schemas.sql.test_ddl import SEED_DDL, SEED_KEYS, seed_columns

# The seed's secondary indexes as DESIGN.md lists them, text columns included.
SEED_INDEXES = {
    "idx_ol_namespace_uri": ("OL_NAMESPACE", "namespace_uri"),
    "idx_ol_dataset_ns": ("OL_DATASET", "namespace_id"),
    "idx_ol_dataset_name": ("OL_DATASET", "name"),
    "idx_ol_field_dataset": ("OL_DATASET_FIELD", "dataset_id"),
    "idx_ol_field_name": ("OL_DATASET_FIELD", "field_name"),
    "idx_ol_job_ns": ("OL_JOB", "namespace_id"),
    "idx_ol_job_name": ("OL_JOB", "name"),
    "idx_ol_run_job": ("OL_RUN", "job_id"),
    "idx_ol_run_time": ("OL_RUN", "event_time"),
    "idx_ol_run_type": ("OL_RUN", "event_type"),
    "idx_ol_run_input_ds": ("OL_RUN_INPUT", "dataset_id"),
    "idx_ol_run_output_ds": ("OL_RUN_OUTPUT", "dataset_id"),
    "idx_ol_lineage_src_ds": ("OL_COLUMN_LINEAGE", "source_dataset"),
    "idx_ol_lineage_src_field": ("OL_COLUMN_LINEAGE", "source_field"),
    "idx_ol_lineage_tgt_ds": ("OL_COLUMN_LINEAGE", "target_dataset"),
    "idx_ol_lineage_tgt_field": ("OL_COLUMN_LINEAGE", "target_field"),
    "idx_ol_lineage_run": ("OL_COLUMN_LINEAGE", "run_id"),
    "idx_ol_lineage_type": ("OL_COLUMN_LINEAGE", "transformation_type"),
}

# Rows as the seed application wrote them: ids `database.table`, uris teradata://host:port, md5-24 lineage ids.
SEED_ROWS: dict[str, tuple[object, ...]] = {
    "OL_SCHEMA_VERSION": (1, "2-0-2", "1.0.0", "2024-03-01 10:00:00", "Initial OpenLineage schema"),
    "OL_NAMESPACE": ("teradata://td.example:1025", "teradata://td.example:1025", None, "2-0-2", "2024-03-01 10:00:00"),
    "OL_DATASET": ("sales.orders", "teradata://td.example:1025", "sales.orders", "orders", "TABLE",
                   "2024-03-01 10:00:00", "2024-03-02 10:00:00", "Y"),
    "OL_DATASET_FIELD": ("sales.orders.amount", "sales.orders", "amount", "DECIMAL(18,2)", None, 3, "Y",
                         "2024-03-01 10:00:00"),
    "OL_JOB": ("etl.load_orders", "teradata://td.example:1025", "load_orders", None, "QUERY",
               "2024-03-01 10:00:00", "2024-03-01 10:00:00"),
    "OL_RUN": ("q-12345", "etl.load_orders", "COMPLETE", "2024-03-01 10:00:00.123456", None, None, "dbql",
               None, "2024-03-01 10:00:00"),
    "OL_RUN_INPUT": ("q-12345", "sales.orders"),
    "OL_COLUMN_LINEAGE": ("0123456789abcdef01234567", "q-12345", "teradata://td.example:1025", "staging.orders",
                          "amt", "teradata://td.example:1025", "sales.orders", "amount", "DIRECT",
                          "TRANSFORMATION", "CAST(amt AS DECIMAL(18,2))", "N", 0.85, "2024-03-01 10:00:00", "Y"),
}  # fmt: skip


def build_seed_database(path: Path) -> None:
    """The seed application's schema (its nine tables, its columns, its 18 indexes) with rows in it."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for table, columns in SEED_DDL.items():
            conn.execute(f"CREATE TABLE {table} ({columns}, PRIMARY KEY ({', '.join(SEED_KEYS[table])}))")
        for name, (table, column) in SEED_INDEXES.items():
            conn.execute(f"CREATE INDEX {name} ON {table} ({column})")
        for table, row in SEED_ROWS.items():
            conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)


def snapshot(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
        versions = conn.execute("SELECT * FROM OL_SCHEMA_VERSION ORDER BY version_id").fetchall()
    return master, versions


def columns_by_table(path: Path) -> dict[str, frozenset[str]]:
    with closing(sqlite3.connect(path)) as conn:
        return sqlite_catalog.read_catalog(conn).columns


@pytest.fixture
def store_at(tmp_path: Path) -> Iterator[type[SqliteStore]]:
    """SqliteStore, with every store built through it closed after the test."""
    opened: list[SqliteStore] = []

    class Tracked(SqliteStore):
        def __init__(self, path: Path) -> None:
            super().__init__(path)
            opened.append(self)

    yield Tracked
    for store in opened:
        store.close()


def test_create_on_empty_records_every_migration(tmp_path: Path, store_at: type[SqliteStore]) -> None:
    store = store_at(tmp_path / "new.db")
    assert not store.schema_status().current
    store.create_schema()
    status = store.schema_status()
    assert status.current and [m.name for m in status.applied] == [
        "initial_openlineage_schema",
        "event_ingestion",
        "population_watermarks",
        "folded_names",
        "dataset_versions",
        "event_time_index",
    ]
    _, versions = snapshot(tmp_path / "new.db")
    assert [(v[0], v[1], v[2], v[4], v[5]) for v in versions] == [
        (1, "2-0-2", "1.0.0", "Initial OpenLineage schema", "initial_openlineage_schema"),
        (2, "2-0-2", "2.0.0", migrations.MIGRATIONS[1].description, "event_ingestion"),
        (3, "2-0-2", "3.0.0", migrations.MIGRATIONS[2].description, "population_watermarks"),
        (4, "2-0-2", "3.1.0", migrations.MIGRATIONS[3].description, "folded_names"),
        (5, "2-0-2", "3.2.0", migrations.MIGRATIONS[4].description, "dataset_versions"),
        (6, "2-0-2", "3.3.0", migrations.MIGRATIONS[5].description, "event_time_index"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", str(v[3])) for v in versions)


def test_create_and_upgrade_twice_change_nothing(tmp_path: Path, store_at: type[SqliteStore]) -> None:
    path = tmp_path / "twice.db"
    store = store_at(path)
    assert store.create_schema()
    before = snapshot(path)
    assert store.create_schema() == []
    assert store.upgrade_schema() == []
    assert store.upgrade_schema() == []
    assert snapshot(path) == before


def test_upgrade_on_empty_equals_create(tmp_path: Path, store_at: type[SqliteStore]) -> None:
    store_at(tmp_path / "a.db").create_schema()
    store_at(tmp_path / "b.db").upgrade_schema()
    assert snapshot(tmp_path / "a.db")[0] == snapshot(tmp_path / "b.db")[0]


ALLOWED = re.compile(
    r"(BEGIN IMMEDIATE|COMMIT|SELECT (name|version_id) FROM .*|-- PRAGMA table_info=.*|CREATE TABLE OL_\w+ \(.*|"
    r"ALTER TABLE OL_\w+ ADD COLUMN \w+ .*|CREATE INDEX idx_\w+ ON OL_\w+ \(.*\)|INSERT INTO OL_SCHEMA_VERSION .*)",
    re.DOTALL,
)


def test_upgrade_of_the_seed_database(tmp_path: Path, store_at: type[SqliteStore]) -> None:
    path = tmp_path / "seed.db"
    build_seed_database(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        traced: list[str] = []
        conn.set_trace_callback(traced.append)
        conn.execute("BEGIN IMMEDIATE")
        statements = migrations.upgrade(sqlite_catalog.target(conn))
        conn.execute("COMMIT")
    assert statements
    assert [s for s in traced if not ALLOWED.fullmatch(s)] == []
    assert not any(re.search(r"\b(DROP|DELETE|UPDATE|RENAME)\b", s) for s in traced)

    with closing(sqlite3.connect(path)) as conn:
        for table, row in SEED_ROWS.items():
            names = [c for c, _ in seed_columns(table)]
            stored = conn.execute(f"SELECT {', '.join(names)} FROM {table}").fetchall()
            assert row in stored, table
        versions = conn.execute("SELECT version_id, migration_name FROM OL_SCHEMA_VERSION ORDER BY 1").fetchall()
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    # the seed's row is kept as it was
    assert versions == [
        (1, None),
        (2, "event_ingestion"),
        (3, "population_watermarks"),
        (4, "folded_names"),
        (5, "dataset_versions"),
        (6, "event_time_index"),
    ]
    assert set(SEED_INDEXES) <= indexes  # the seed's indexes on text stay: never dropped

    store_at(tmp_path / "fresh.db").create_schema()
    assert columns_by_table(path) == columns_by_table(tmp_path / "fresh.db")

    store = store_at(path)
    assert store.schema_status().current
    assert store.upgrade_schema() == []
    event = EventRow("e" * 64, EventKind.RUN, "START", "2024-04-01 00:00:00.000000", "p", None, None, None, None,
                     "{}", "2024-04-01 00:00:01.000000")  # fmt: skip
    assert store.write_batch([EventRows(event=event)]) == [WriteOutcome.STORED]


def test_create_refuses_an_older_schema(tmp_path: Path, store_at: type[SqliteStore]) -> None:
    path = tmp_path / "seed.db"
    build_seed_database(path)
    before = snapshot(path)
    with pytest.raises(StoreError, match="lineage schema upgrade"):
        store_at(path).create_schema()
    assert snapshot(path) == before


def test_missing_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SqliteStore(tmp_path / "no" / "such" / "lineage.db")
    assert not (tmp_path / "no").exists()


def test_upgrade_adds_the_event_time_index_and_records_it(tmp_path: Path) -> None:
    """A database of migration 5 (no index on OL_EVENT's time) gets the index and the record of migration 6."""
    path = tmp_path / "v2.db"
    store = SqliteStore(path)
    store.create_schema()
    store.close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP INDEX idx_ol_event_time")
        conn.execute("DELETE FROM OL_SCHEMA_VERSION WHERE version_id = 6")
    store = SqliteStore(path)
    try:
        assert [m.name for m in store.schema_status().pending] == ["event_time_index"]
        statements = store.upgrade_schema()
        assert "CREATE INDEX idx_ol_event_time ON OL_EVENT (event_kind, event_time, event_id)" in statements
        assert store.schema_status().current and store.upgrade_schema() == []
    finally:
        store.close()
