"""The catalog and DBQL populations against a real Teradata: `pytest -m teradata`, run when TERADATA_HOST is set
(TERADATA_USER, TERADATA_PASSWORD, TERADATA_PORT, and TERADATA_DATABASE as a scratch database, as the store's live
suite uses them). The events go to a SQLite store under tmp_path; on Teradata the tests create two objects of
their own (LINEAGE_LIVE_T, LINEAGE_LIVE_V) and drop them at the end."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.populate.teradata import dbql_run
from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.commands import CatalogReport, catalog_rows_live, live_rows, populate_catalog
from ingest.populate.teradata.sinks import DrySink
from ingest.populate.teradata.source import SourceError, TeradataSource
from ingest.writing.batches import BatchWriter
from schemas.sqlite.store import SqliteStore
from schemas.teradata import store as teradata
from schemas.times import format_store_time
from tests.schemas.teradata.test_live import Admin, live_dsn

pytestmark = [
    pytest.mark.teradata,
    pytest.mark.skipif(not os.environ.get("TERADATA_HOST"), reason="TERADATA_HOST is not set: no Teradata server"),
]


@pytest.fixture(scope="module")
def objects() -> Iterator[str]:
    admin = Admin(live_dsn())
    db = admin.database
    for name in ("LINEAGE_LIVE_V", "LINEAGE_LIVE_T"):
        try:
            admin.run(f"DROP {'VIEW' if name.endswith('V') else 'TABLE'} {db}.{name}")
        except teradata.driver_errors():
            pass
    admin.run(f"CREATE MULTISET TABLE {db}.LINEAGE_LIVE_T (id INTEGER NOT NULL, amount DECIMAL(18,2), "
              f"note VARCHAR(40) CHARACTER SET UNICODE) PRIMARY INDEX (id)")  # fmt: skip
    admin.run(f"COMMENT ON TABLE {db}.LINEAGE_LIVE_T AS 'lineage-server live test'")
    admin.run(f"REPLACE VIEW {db}.LINEAGE_LIVE_V AS SELECT id, amount * 2 AS doubled FROM {db}.LINEAGE_LIVE_T")
    yield db
    admin.run(f"DROP VIEW {db}.LINEAGE_LIVE_V")
    admin.run(f"DROP TABLE {db}.LINEAGE_LIVE_T")
    admin.connection.close()


def test_the_catalog_reads_tables_views_and_view_lineage(objects: str) -> None:
    source = TeradataSource(live_dsn())
    try:
        report = CatalogReport()
        rows = [
            r for r in catalog_rows_live(source, [objects], report) if (r["TableName"] or "").startswith("LINEAGE_LIVE")
        ]
    finally:
        source.close()
    catalog = Catalog.from_rows(rows)
    table = catalog.table(objects, "LINEAGE_LIVE_T")
    assert table is not None and table.comment == "lineage-server live test"
    assert [(c.name, c.type_name) for c in table.columns] == [("id", "INTEGER"), ("amount", "DECIMAL(18,2)"),
                                                             ("note", "VARCHAR(40)")]  # fmt: skip
    view = catalog.table(objects, "LINEAGE_LIVE_V")
    assert view is not None and [c.name for c in view.columns] == ["id", "doubled"]
    assert all(c.type_name for c in view.columns)  # ColumnsJQV, or HELP COLUMN when QVCI is off
    sink = DrySink(strict=True)
    done, _ = populate_catalog(rows, sink, namespace="teradata://live:1025", default_time="2024-01-01T00:00:00Z")
    assert done.tables == 1 and done.views == 1 and done.view_events == 1 and not sink.report.rejected


def test_dbql_reads_a_window_and_moves_the_mark_after_commit(objects: str, tmp_path: Path) -> None:
    admin = Admin(live_dsn())
    admin.run(f"INSERT INTO {objects}.LINEAGE_LIVE_T (id, amount, note) SELECT 1, 2.50, 'x'")
    admin.connection.close()
    time.sleep(1)
    store = SqliteStore(tmp_path / "lineage.db")
    store.create_schema()
    source = TeradataSource(live_dsn())
    try:
        rows, text_rows = live_rows(source, pdcr=False)
        mark = store.source_mark(dbql_run.source_name("teradata://live:1025"))
        now = datetime.now(UTC)
        win = dbql_run.Window(format_store_time(now - timedelta(hours=1)), format_store_time(now))
        writer = BatchWriter(store, strict=False)
        try:
            report, _ = dbql_run.run_dbql(
                store,
                mark,
                writer,
                Catalog(),
                namespace="teradata://live:1025",
                rows=rows,
                win=win,
                text_rows=text_rows,
            )
        except SourceError as error:
            pytest.skip(f"this user may not read the query log: {error}")
    finally:
        source.close()
    assert report.mark == win.high  # the window's end, committed in the store
    assert store.source_mark(dbql_run.source_name("teradata://live:1025")).mark == win.high
    store.close()
