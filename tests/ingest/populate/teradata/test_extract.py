"""The extractor's contract beyond the corpus: catalog reading, statement splitting, the rewrites, DBQL-style
requests (sessions, default database, run ids), failures, and events that the ingestion path accepts."""

from __future__ import annotations

import csv
import io

import orjson

from ingest.events import Accepted, prepare
from ingest.populate.teradata.catalog import Catalog, TableKind, type_name
from ingest.populate.teradata.events import run_id
from ingest.populate.teradata.extract import Extractor, Request
from ingest.populate.teradata.preprocess import rewrite, split_else_insert
from ingest.populate.teradata.script import split_statements, substitute

CATALOG_CSV = """\
DatabaseName,TableName,TableKind,ColumnName,ColumnId,ColumnType,ColumnLength,DecimalTotalDigits,DecimalFractionalDigits,Nullable,CommentString
STG,Orders,T,order_id,1025,I,4,,,N,"the ""key"", unique"
STG,Orders,T,amount,1026,D,8,12,4,Y,
STG,Orders,T,placed_ts,1027,TS,26,,6,Y,
EDW,Orders_Copy,T,order_id,1025,I,4,,,N,
EDW,Orders_Copy,T,amount,1026,D,8,12,4,Y,
MART,V_Orders,V,order_id,1025,,,,,,
"""


def catalog() -> Catalog:
    return Catalog.from_rows(csv.DictReader(io.StringIO(CATALOG_CSV)))


def test_catalog_types_spelling_and_kinds() -> None:
    cat = catalog()
    orders = cat.table("stg", "ORDERS")
    assert orders is not None and orders.qualified == "STG.Orders" and orders.kind is TableKind.TABLE
    assert [c.type_name for c in orders.columns] == ["INTEGER", "DECIMAL(12,4)", "TIMESTAMP(6)"]
    column = orders.column("ORDER_ID")
    assert column is not None and column.comment == 'the "key", unique' and column.nullable is False
    view = cat.table("mart", "v_orders")
    assert view is not None and view.kind.dataset_type == "VIEW" and view.columns[0].type_name is None
    assert [type_name(*args) for args in (("CV", 40), ("CF", 2), ("I8",), ("SZ", 33, None, 6), ("ZZ",))] == [
        "VARCHAR(40)", "CHAR(2)", "BIGINT", "TIMESTAMP(6) WITH TIME ZONE", "ZZ",
    ]  # fmt: skip


def test_splitting_keeps_literals_and_comments_and_drops_dot_commands() -> None:
    text = ".LOGON a/b,c\nSEL 'x;y' FROM t; -- a; comment\n/* ; */ INS INTO t SEL 1\n.QUIT 0\n"
    pieces = split_statements(text)
    assert [p.text for p in pieces] == ["SEL 'x;y' FROM t", "-- a; comment\n/* ; */ INS INTO t SEL 1"]
    assert [p.line for p in pieces] == [2, 2]
    assert pieces[1].words[:2] == ["INS", "INTO"]
    assert substitute("FROM ${DB}.t JOIN $DB.u, $DBX", {"DB": "EDW"}) == "FROM EDW.t JOIN EDW.u, $DBX"


def test_rewrites() -> None:
    assert rewrite("SELECT a (DATE, FORMAT 'YYYY') , b (TITLE 'B') FROM t").split() == [
        "SELECT", "a", "::VARCHAR", ",", "b", "FROM", "t",
    ]  # fmt: skip
    assert "AS x" in rewrite("SELECT a (NAMED x) FROM t")
    assert rewrite("LOCKING ROW FOR ACCESS SELECT 1").strip() == "SELECT 1"
    assert split_else_insert("UPDATE t SET a = 1 ELSE INSERT INTO t VALUES (1)")[1] == "INSERT INTO t VALUES (1)"


def test_dbql_requests_stitch_a_session_and_never_inherit_the_default_database() -> None:
    extractor = Extractor(catalog(), "teradata://tdprod:1025")

    def request(query_id: str, text: str, database: str | None) -> Request:
        return Request(text, f"teradata://tdprod:1025/{query_id}", "2024-06-03T02:00:00.000Z", database, "s1")

    assert extractor.extract(request("1", "CREATE VOLATILE TABLE vt AS (SELECT * FROM Orders) WITH DATA", "STG")) == []
    events = extractor.extract(request("2", "INSERT INTO EDW.Orders_Copy SELECT * FROM vt", None))
    assert len(events) == 1 and events[0]["run"]["runId"] == run_id("teradata://tdprod:1025/2")
    fields = events[0]["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert [i["name"] for i in fields["amount"]["inputFields"]] == ["STG.Orders"]
    score = fields["amount"]["inputFields"][0]["transformations"][0]["x-confidence"]
    assert score == 0.70  # known only through `*`
    # Unqualified again, but this request has no default database: the only Orders table is a guess.
    text = "INSERT INTO EDW.Orders_Copy (order_id) SELECT order_id FROM Orders"
    guessed = extractor.extract(request("3", text, None))
    assert guessed[0]["inputs"] == [{"namespace": "teradata://tdprod:1025", "name": "STG.Orders"}]
    extractor.end_session("s1")
    assert extractor.extract(request("4", "INSERT INTO EDW.Orders_Copy SELECT * FROM vt", None))[0]["inputs"] == [
        {"namespace": "teradata://tdprod:1025", "name": "vt"}
    ]
    for event in events + guessed:
        assert isinstance(prepare(event, orjson.dumps(event).decode(), strict=True, received_at="x"), Accepted)


def test_a_failed_statement_is_listed_and_gives_a_table_level_event() -> None:
    extractor = Extractor(catalog(), "teradata://tdprod:1025")
    text = "INSERT INTO EDW.Orders_Copy SELECT order_id FROM STG.Orders WHERE WHERE 1 = 1;\nSEL 1;"
    events = extractor.extract(Request(text, "f.sql", "2024-06-03T02:00:00.000Z"))
    assert [(f.index, f.line, f.reason) for f in extractor.failures] == [(0, 1, "syntax error")]
    (event,) = events
    assert event["run"]["runId"] == run_id("f.sql#0")
    assert event["inputs"] == [{"namespace": "teradata://tdprod:1025", "name": "STG.Orders"}]
    assert event["outputs"] == [{"namespace": "teradata://tdprod:1025", "name": "EDW.Orders_Copy"}]
    assert event["run"]["facets"]["teradata"]["confidence"] == 0.60
    assert "syntax error" in event["run"]["facets"]["extractionError"]["errors"][0]["errorMessage"]
    assert (extractor.counts.statements, extractor.counts.table_level, extractor.counts.no_data) == (2, 1, 1)
    assert isinstance(prepare(event, orjson.dumps(event).decode(), strict=True, received_at="x"), Accepted)


def test_inputs_include_tables_read_only_in_subqueries_and_unknown_stars_name_no_column() -> None:
    extractor = Extractor(catalog(), "teradata://tdprod:1025")
    text = (
        "INSERT INTO EDW.Orders_Copy (order_id) SELECT order_id FROM STG.Orders "
        "WHERE order_id IN (SELECT order_id FROM MART.V_Orders);\n"
        "INSERT INTO EDW.Orders_Copy SELECT u.* FROM NOPE.Unknown u;"
    )
    first, second = extractor.extract(Request(text, "f.sql", "2024-06-03T02:00:00.000Z"))
    assert [i["name"] for i in first["inputs"]] == ["STG.Orders", "MART.V_Orders"]
    assert [i["name"] for i in second["inputs"]] == ["NOPE.Unknown"]
    lineage = second["outputs"][0]["facets"]["columnLineage"]
    assert lineage["fields"] == {} and lineage["dataset"] == []
