"""`lineage populate catalog --from-csv`: tables and views as DatasetEvents, checked exactly; view text through the
extractor; system databases left out; names kept whatever their script; a rerun stores nothing new. The QVCI-off
path (HELP COLUMN) is checked on its pure row function, and the live reader on a scripted driver."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.cli import main
from ingest.populate.teradata.commands import CatalogReport, catalog_rows_live, help_row_types
from ingest.populate.teradata.datasets import is_system, normalised
from ingest.populate.teradata.source import TeradataSource
from schemas.dsn import parse_dsn
from tests.schemas.teradata.recording import teradata_error

NAMESPACE = "teradata://tdprod:1025"
HEADER = (
    "DatabaseName,TableName,TableKind,ColumnName,ColumnId,ColumnType,ColumnLength,DecimalTotalDigits,"
    "DecimalFractionalDigits,Nullable,CommentString,TableCommentString,RequestText,LastAlterTimeStamp,CharType"
)
VIEW_TEXT = "REPLACE VIEW MART.V_Orders AS LOCKING ROW FOR ACCESS SELECT order_id, amount * 2 AS dbl FROM STG.Orders;"
_DOC = '"Orders, as loaded ""raw"""'  # CSV quoting: a comma and quotes inside
CATALOG = "\n".join(
    [
        HEADER,
        f"STG,Orders,T,order_id,1025,I,4,,,N,the order,{_DOC},,2024-05-01 08:00:00,",
        f"STG,Orders,T,amount,1027,D,8,18,2,Y,,{_DOC},,2024-05-01 08:00:00,",
        f"STG,Orders,T,placed,1026,TS,26,,6,Y,,{_DOC},,2024-05-01 08:00:00,",
        f"STG,Orders,T,note,1028,CV,200,,,Y,,{_DOC},,2024-05-01 08:00:00,2",
        f'MART,V_Orders,V,order_id,1025,,,,,,,,"{VIEW_TEXT}",2024-05-02 09:00:00,',
        f'MART,V_Orders,V,dbl,1026,,,,,,,,"{VIEW_TEXT}",2024-05-02 09:00:00,',
        "販売,顧客,O,名前,1025,CF,40,,,Y,,,,2024-05-03 10:00:00,1",
        "DBC,TablesV,V,DatabaseName,1025,CV,256,,,N,,,,2024-05-01 00:00:00,2",
        "TD_SYSFNLIB,Fn,T,x,1025,I,4,,,Y,,,,2024-05-01 00:00:00,",
        "TDX_SALES,Fact,T,x,1025,I,4,,,Y,,,,2024-05-01 00:00:00,",
        "",
    ]
)


def facet(name: str, version: str, **body: Any) -> dict[str, Any]:
    return {
        "_producer": "https://github.com/lineage-server/lineage-server/tree/main/ingest/populate/teradata",
        "_schemaURL": f"https://openlineage.io/spec/facets/{version}/{name}.json#/$defs/{name}",
        **body,
    }


def dataset(name: str, time: str, kind: str, fields: list[dict[str, Any]], doc: str | None = None) -> dict[str, Any]:
    facets = {
        "schema": facet("SchemaDatasetFacet", "1-2-0", fields=fields),
        "datasetType": facet("DatasetTypeDatasetFacet", "1-0-1", datasetType=kind, subType=""),
    }
    if doc is not None:
        facets["documentation"] = facet("DocumentationDatasetFacet", "1-1-0", description=doc)
    return {
        "eventTime": time,
        "producer": "https://github.com/lineage-server/lineage-server/tree/main/ingest/populate/teradata",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": NAMESPACE, "name": name, "facets": facets},
    }


EXPECTED = [
    dataset(
        "STG.Orders",
        "2024-05-01T08:00:00.000000Z",
        "TABLE",
        [
            {"name": "order_id", "type": "INTEGER", "description": "the order", "ordinal_position": 1},
            {"name": "placed", "type": "TIMESTAMP(6)", "ordinal_position": 2},  # ColumnId order, not file order
            {"name": "amount", "type": "DECIMAL(18,2)", "ordinal_position": 3},
            {"name": "note", "type": "VARCHAR(100)", "ordinal_position": 4},  # UNICODE: 200 bytes, 100 characters
        ],
        doc='Orders, as loaded "raw"',
    ),
    dataset(
        "MART.V_Orders",
        "2024-05-02T09:00:00.000000Z",
        "VIEW",
        [{"name": "order_id", "ordinal_position": 1}, {"name": "dbl", "ordinal_position": 2}],  # no QVCI: no types
    ),
    dataset("販売.顧客", "2024-05-03T10:00:00.000000Z", "TABLE",
            [{"name": "名前", "type": "CHAR(40)", "ordinal_position": 1}]),
    dataset("TDX_SALES.Fact", "2024-05-01T00:00:00.000000Z", "TABLE",
            [{"name": "x", "type": "INTEGER", "ordinal_position": 1}]),
]  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("LINEAGE_STORE", "TERADATA_HOST", "TD_HOST", "LINEAGE_VALIDATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    yield tmp_path


def populate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["populate", "catalog", "--namespace", NAMESPACE, "--from-csv", "catalog.csv", *argv])
    return code, capsys.readouterr().out


def test_csv_gives_exactly_these_dataset_events_and_the_view_lineage(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = populate(capsys, "--dry-run", "--output", "events.jsonl")
    assert code == 0, out
    assert "catalog: tables 3, views 1 (1 view lineage events), system database rows skipped 2" in out
    events = [orjson.loads(line) for line in (workdir / "events.jsonl").read_bytes().splitlines()]
    datasets = [e for e in events if "dataset" in e]
    assert datasets == EXPECTED
    (view,) = [e for e in events if "run" in e]
    assert view["job"]["name"] == "view.MART.V_Orders" and view["eventTime"] == "2024-05-02T09:00:00.000000Z"
    lineage = view["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert {(f, i["name"], i["field"]) for f, v in lineage.items() for i in v["inputFields"]} == {
        ("order_id", "STG.Orders", "order_id"),
        ("dbl", "STG.Orders", "amount"),
    }
    assert not (workdir / "lineage.db").exists()


def test_stored_then_a_rerun_stores_nothing_new(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = populate(capsys)
    assert code == 0 and "catalog: committed 5, duplicate 0, rejected 0, failed 0" in out
    with sqlite3.connect(workdir / "lineage.db") as db:
        fields = db.execute(
            "SELECT field_name, field_type, ordinal_position FROM OL_DATASET_FIELD f JOIN OL_DATASET d "
            "ON d.dataset_id = f.dataset_id WHERE d.name = 'STG.Orders' ORDER BY ordinal_position"
        ).fetchall()
        kinds = dict(db.execute("SELECT name, source_type FROM OL_DATASET").fetchall())
        docs = dict(db.execute("SELECT name, description FROM OL_DATASET WHERE description IS NOT NULL").fetchall())
    assert fields == [("order_id", "INTEGER", 1), ("placed", "TIMESTAMP(6)", 2), ("amount", "DECIMAL(18,2)", 3),
                      ("note", "VARCHAR(100)", 4)]  # fmt: skip
    assert kinds["MART.V_Orders"] == "VIEW" and kinds["STG.Orders"] == "TABLE" and "販売.顧客" in kinds
    assert docs == {"STG.Orders": 'Orders, as loaded "raw"'}
    code, out = populate(capsys)
    assert code == 0 and "catalog: committed 0, duplicate 5, rejected 0, failed 0" in out


def test_database_option_and_the_system_list(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = populate(capsys, "--database", "stg", "--dry-run")
    assert code == 0 and "tables 1, views 0" in out and "1 events would be written" in out
    assert is_system("dbc") and is_system("TD_SYSFNLIB") and is_system("td_anything") and is_system("Sys_Calendar")
    assert not is_system("TDX_SALES") and not is_system("SYS_CALENDAR_COPY") and not is_system("STG")


def test_help_column_types_a_view_column_when_qvci_is_off() -> None:
    row = normalised({"DatabaseName": "MART", "TableName": "V_Orders", "TableKind": "V ", "ColumnName": "dbl"})
    typed = help_row_types(row, {"Column Name": "dbl", "Type": "D ", "Max Length": 8, "Decimal Total Digits": 18,
                                 "Decimal Fractional Digits": 2, "Nullable": "Y"})  # fmt: skip
    assert (typed["ColumnType"], typed["DecimalTotalDigits"], typed["DecimalFractionalDigits"]) == ("D", "18", "2")
    unicode = help_row_types(row, {"Type": "CV", "Max Length": 80, "Char Type": 2})
    assert (unicode["ColumnType"], unicode["ColumnLength"]) == ("CV", "40")  # HELP counts bytes too
    assert row["TableKind"] == "V"  # CHAR padding trimmed


class _Cursor:
    def __init__(self, script: _Driver) -> None:
        self.script = script
        self.description: list[tuple[str]] | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: Any = ()) -> None:
        self.script.sent.append((sql, tuple(params)))
        failure = self.script.fail(sql)
        if failure is not None:
            raise failure
        names, self._rows = self.script.answer(sql)
        self.description = [(name,) for name in names]

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        self.script.fetches += 1
        batch, self._rows = self._rows[:size], self._rows[size:]
        return batch

    def close(self) -> None:
        pass


class _Driver:
    """A teradatasql stand-in answering the catalog reader's statements (QVCI off)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []
        self.fetches = 0
        self.autocommit = False

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def close(self) -> None:
        pass

    def fail(self, sql: str) -> BaseException | None:
        return teradata_error(9719, "QVCI feature is disabled.") if "ColumnsJQV" in sql else None

    def answer(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        if sql.startswith("HELP COLUMN"):
            return ["Column Name", "Type", "Max Length", "Decimal Total Digits", "Decimal Fractional Digits"], [
                ("dbl                ", "D ", 8, 18, 2)
            ]
        if "FROM DBC.TablesV" in sql:
            names = ["DatabaseName", "TableName", "TableKind", "ColumnName", "ColumnId", "ColumnType"]
            return names, [("MART", "V_Orders", "V ", "dbl", 1025, None), ("STG", "Orders", "T ", "id", 1025, "I ")]
        return [], []


def test_the_live_reader_falls_back_to_columnsv_and_help_column() -> None:
    driver = _Driver()
    source = TeradataSource(parse_dsn("teradata://etl:pw@td.example:1025/x"), connect=lambda: driver)
    report = CatalogReport()
    rows = list(catalog_rows_live(source, ["MART", "STG"], report))
    assert report.columns_view == "DBC.ColumnsV" and report.typed_by_help == 1
    assert [(r["TableName"], r["ColumnType"]) for r in rows] == [("V_Orders", "D"), ("Orders", "I")]
    sent = [sql for sql, _ in driver.sent]
    assert sent[0].startswith("SET QUERY_BAND = 'LineageServer=populate;'") and driver.autocommit
    assert sent[2].endswith("ORDER BY t.DatabaseName, t.TableName, c.ColumnId") and driver.sent[2][1] == ("MART", "STG")
    assert 'HELP COLUMN "MART"."V_Orders".*' in sent
