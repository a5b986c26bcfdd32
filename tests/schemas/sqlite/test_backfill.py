"""`upgrade_schema` fills the id columns of the old Teradata application's OL_COLUMN_LINEAGE rows (on SQLite)."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from schemas.rows import field_key
from schemas.sql import backfill
from schemas.sqlite.store import SqliteStore
from schemas.store import Direction, Page, SearchKind
from tests.schemas.test_migrations import build_seed_database

NS = "teradata://td.example:1025"


def insert_old_rows(path: Path, count: int) -> None:
    """Rows as the old application wrote them: names only, every *_id column NULL."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for i in range(count):
            conn.execute(
                "INSERT INTO OL_COLUMN_LINEAGE (lineage_id, run_id, source_namespace, source_dataset, source_field, "
                "target_namespace, target_dataset, target_field, transformation_type, discovered_at, is_active) "
                "VALUES (?, 'q-1', ?, 'staging.orders', ?, ?, 'sales.orders', ?, 'DIRECT', '2024-03-01 10:00:00', 'Y')",
                (f"old-{i}", NS, f"amt{i}", NS, f"amount{i}"),
            )


def null_id_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        where = " OR ".join(f"{c} IS NULL" for c in backfill.ID_COLUMNS)
        return int(conn.execute(f"SELECT count(*) FROM OL_COLUMN_LINEAGE WHERE {where}").fetchone()[0])


def test_upgrade_fills_old_rows_in_chunks_and_again_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "lineage.db"
    store = SqliteStore(path)
    try:
        store.create_schema()
        insert_old_rows(path, 5)
        target = field_key(NS, "sales.orders", "amount3")
        assert store.column_edges([target], Direction.UPSTREAM) == []  # traversal cannot see them yet
        monkeypatch.setattr(backfill, "BACKFILL_ROWS", 2)  # three chunks, the last one short
        with caplog.at_level(logging.INFO, logger="schemas.sql.backfill"):
            assert store.upgrade_schema() == []  # no DDL: the schema is current
        assert "filled the lineage ids of 5 rows" in caplog.text
        assert null_id_rows(path) == 0
        [edge] = store.column_edges([target], Direction.UPSTREAM)
        assert (edge.lineage_id, edge.source_field, edge.target_field) == ("old-3", "amt3", "amount3")
        assert store.column_edges([edge.source_field_id], Direction.DOWNSTREAM) == [edge]
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="schemas.sql.backfill"):
            store.upgrade_schema()
        assert "filled" not in caplog.text  # idempotent: nothing left to fill
    finally:
        store.close()


def test_the_seed_databases_lineage_is_found_after_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "seed.db"
    build_seed_database(path)
    store = SqliteStore(path)
    try:
        assert store.upgrade_schema()
        [edge] = store.column_edges([field_key(NS, "sales.orders", "amount")], Direction.UPSTREAM)
        assert edge.lineage_id == "0123456789abcdef01234567"
        assert edge.source_field_id == field_key(NS, "staging.orders", "amt")
    finally:
        store.close()


def test_upgrade_folds_the_names_of_rows_written_before_migration_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows from before the folded columns have none: upgrade fills them, so search and database lineage see them."""
    path = tmp_path / "lineage.db"
    store = SqliteStore(path)
    try:
        store.create_schema()
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("INSERT INTO OL_NAMESPACE (namespace_id, namespace_uri) VALUES ('ns', ?)", (NS,))
            for i in range(3):
                conn.execute(
                    "INSERT INTO OL_DATASET (dataset_id, namespace_id, name) VALUES (?, 'ns', ?)",
                    (f"d{i}", f"ÉTÉ.T{i}"),
                )
                conn.execute(
                    "INSERT INTO OL_DATASET_FIELD (field_id, dataset_id, field_name) VALUES (?, ?, 'PRIX')",
                    (f"f{i}", f"d{i}"),
                )
            conn.execute("INSERT INTO OL_JOB (job_id, namespace_id, name) VALUES ('j', 'ns', 'CHARGE_ÉTÉ')")
        assert store.datasets_in_database("été", 10) == []  # not folded yet: invisible
        monkeypatch.setattr(backfill, "BACKFILL_ROWS", 2)
        with caplog.at_level(logging.INFO, logger="schemas.sql.backfill"):
            store.upgrade_schema()
        assert "filled the folded names of 7 rows" in caplog.text
        assert [d.name for d in store.datasets_in_database("été", 10)] == ["ÉTÉ.T0", "ÉTÉ.T1", "ÉTÉ.T2"]
        assert [h.name for h in store.search("charge_été", [SearchKind.JOB], Page(10)).items] == ["CHARGE_ÉTÉ"]
        assert len(store.search("prix", [SearchKind.FIELD], Page(10)).items) == 3
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="schemas.sql.backfill"):
            store.upgrade_schema()
        assert "filled" not in caplog.text
    finally:
        store.close()
