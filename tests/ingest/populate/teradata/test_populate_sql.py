"""`lineage populate sql` as a user runs it: acceptance 1 (dry run with --output, every visible case) and
acceptance 2 (stored, answered by the v2 and v1 column-lineage endpoints, a second run stores nothing new)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from ingest.cli import main
from ingest.http.errors import error_middleware
from query.cache import LineageCache
from query.config import CacheConfig, QueryConfig
from query.routes import setup_query
from schemas.sqlite.store import SqliteStore
from tests.ingest.populate.teradata.scoring import Case, differences, event_edges, expected_edges
from tests.ingest.populate.teradata.test_corpus import SHARED, case_folders

NAMESPACE = "teradata://tdprod:1025"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("LINEAGE_STORE", "TERADATA_HOST", "TD_HOST", "LINEAGE_VALIDATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def populate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["populate", "sql", *argv])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("folder", case_folders(SHARED), ids=lambda p: p.name)
def test_dry_run_output_gives_the_expected_edges(
    folder: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case.load(folder)
    argv = ["--catalog", str(folder / "catalog.csv"), "--dry-run", "--output", "out.jsonl", str(folder / "case.sql")]
    if case.expected.get("default_database"):
        argv[:0] = ["--default-database", case.expected["default_database"]]
    code, out = populate(capsys, *argv)
    assert code == 0, out
    assert "dry run: nothing committed" in out and not (workdir / "lineage.db").exists()
    events = [orjson.loads(line) for line in (workdir / "out.jsonl").read_bytes().splitlines()]
    assert not differences(expected_edges(case), event_edges(events))


def test_counts_and_failures_are_printed(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = SHARED / "13_syntax_error_and_noop"
    if not folder.is_dir():
        pytest.skip(f"the visible tdsql corpus is missing: {SHARED}")
    code, out = populate(capsys, "--catalog", str(folder / "catalog.csv"), "--dry-run", str(folder / "case.sql"))
    assert code == 0
    assert f"{(folder / 'case.sql').resolve()}:7: statement 3 syntax error:" in out
    assert "statements 5: with lineage 2, into volatile tables 0, table-level only 1, no data moved 2" in out
    assert "failed: syntax error 1" in out
    assert "events 3; edges 12: DIRECT/IDENTITY 4, DIRECT/TRANSFORMATION 2, INDIRECT/JOIN 6" in out


SCRIPT = """\
.LOGON tdprod/etl_user,secret
DATABASE EDW;
CREATE VOLATILE TABLE vt_orders AS (
  SELECT order_id, amount * ${RATE} AS amount_eur FROM STG.Orders WHERE status = 'OK'
) WITH DATA ON COMMIT PRESERVE ROWS;
INSERT INTO Order_Fact (order_id, amount_eur)
SELECT order_id, SUM(amount_eur) FROM vt_orders GROUP BY order_id;
.QUIT 0
"""

CATALOG = """\
DatabaseName,TableName,TableKind,ColumnName,ColumnId,ColumnType,ColumnLength,DecimalTotalDigits,DecimalFractionalDigits,Nullable,CommentString
STG,Orders,T,order_id,1025,I,4,,,N,
STG,Orders,T,amount,1026,D,8,18,2,Y,
STG,Orders,T,status,1027,CV,10,,,Y,
EDW,Order_Fact,T,order_id,1025,I,4,,,N,
EDW,Order_Fact,T,amount_eur,1026,D,8,18,2,Y,"converted, ""EUR"" "
"""


def app_for(store: SqliteStore) -> web.Application:
    app = web.Application(middlewares=[error_middleware(retry_after_seconds=1)])
    setup_query(app, store, QueryConfig(), LineageCache(CacheConfig(addr="")))
    return app


async def test_stored_answered_and_idempotent(
    workdir: Path, capsys: pytest.CaptureFixture[str], aiohttp_client: Any
) -> None:
    (workdir / "load.btq").write_text(SCRIPT)
    (workdir / "catalog.csv").write_text(CATALOG)
    argv = ("--catalog", "catalog.csv", "--namespace", NAMESPACE, "--var", "RATE=0.92", "load.btq")
    code, out = populate(capsys, *argv)
    assert code == 0, out
    assert "sql: committed 1, duplicate 0, rejected 0, failed 0" in out
    with sqlite3.connect(workdir / "lineage.db") as db:
        edges = set(
            db.execute(
                "SELECT source_dataset, source_field, target_field, transformation_type, transformation_subtype, "
                "confidence_score FROM OL_COLUMN_LINEAGE"
            )
        )
        row_level = set(db.execute("SELECT source_field, transformation_subtype FROM OL_COLUMN_LINEAGE_DATASET"))
        rows_before = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _tables(db)}
    assert edges == {
        ("STG.Orders", "order_id", "order_id", "DIRECT", "IDENTITY", 0.95),
        ("STG.Orders", "amount", "amount_eur", "DIRECT", "AGGREGATION", 0.85),
    }
    assert row_level == {("status", "FILTER"), ("order_id", "GROUP_BY")}  # the volatile table's WHERE reaches through
    code, out = populate(capsys, *argv)
    assert code == 0 and "sql: committed 0, duplicate 1, rejected 0, failed 0" in out
    with sqlite3.connect(workdir / "lineage.db") as db:
        assert {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _tables(db)} == rows_before

    store = SqliteStore(workdir / "lineage.db")
    try:
        client = await aiohttp_client(app_for(store))
        v2 = await (await client.get("/api/v2/openlineage/lineage/EDW.Order_Fact/amount_eur?direction=upstream")).json()
        ids = {e["id"]: e for e in v2["graph"]["edges"]}
        assert ids["STG.Orders.amount->EDW.Order_Fact.amount_eur"]["transformationSubtype"] == "AGGREGATION"
        assert ids["STG.Orders.amount->EDW.Order_Fact.amount_eur"]["confidenceScore"] == 0.85
        node = f"datasetField:{NAMESPACE}:EDW.Order_Fact:amount_eur"
        v1 = await (await client.get("/api/v1/column-lineage", params={"nodeId": node, "depth": "1"})).json()
        nodes = {n["id"]: n for n in v1["graph"]}
        inputs = {(i["dataset"], i["field"]) for i in nodes[node]["data"]["inputFields"]}
        assert ("STG.Orders", "amount") in inputs
    finally:
        store.close()


def _tables(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'OL_%'")]
