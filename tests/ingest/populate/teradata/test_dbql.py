"""`lineage populate dbql --from-export` as a user runs it (issue 11, acceptance 3): an exported DBQL whose long
statements span several SqlRowNo rows and whose text rows arrive in a later export than their log rows. After the
second run the lineage is complete, the watermark is in the store, and nothing read twice became new rows."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from ingest.cli import main
from ingest.populate.teradata.dbql import COLUMNS, Pending, Query, assemble, keep, log_row
from schemas.sqlite.store import SqliteStore

NAMESPACE = "teradata://tdprod:1025"
SOURCE = f"dbql {NAMESPACE}"
CATALOG = """\
DatabaseName,TableName,TableKind,ColumnName,ColumnId,ColumnType,ColumnLength,DecimalTotalDigits,DecimalFractionalDigits,Nullable,CommentString
STG,Orders,T,order_id,1025,I,4,,,N,
STG,Orders,T,amount,1026,D,8,18,2,Y,
STG,Orders,T,status,1027,CV,10,,,Y,
EDW,Order_Fact,T,order_id,1025,I,4,,,N,
EDW,Order_Fact,T,amount,1026,D,8,18,2,Y,
EDW,Order_Hist,T,order_id,1025,I,4,,,N,
EDW,Order_Hist,T,amount,1026,D,8,18,2,Y,
"""
ROW_TEXT = 31_000  # DBQL's SqlTextInfo holds at most this many characters per row


def long_insert(target: str, ids: int) -> str:
    """An INSERT ... SELECT well over one DBQL text row: a long IN list in its WHERE."""
    in_list = ", ".join(str(n) for n in range(ids))
    return (
        f"INSERT INTO EDW.{target} (order_id, amount)\n"
        f"SELECT o.order_id, o.amount * 1.1\nFROM STG.Orders AS o\nWHERE o.order_id IN ({in_list});"
    )


def log(query_id: str, collected: str, **extra: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(QueryID=query_id, CollectTimeStamp=collected, SessionID="4711", UserName="ETL_USER",
               DefaultDatabase="EDW", StatementType="Insert", ErrorCode="0", StartTime=collected,
               FirstRespTime=collected, QueryText="INSERT INTO ...")  # fmt: skip
    row.update(extra)
    return row


def text_rows(base: dict[str, str], text: str, *, with_log: bool = True) -> list[dict[str, str]]:
    """The query's rows: its text cut every ROW_TEXT characters (mid-token, as DBQL cuts), SqlRowNo 1..n."""
    pieces = [text[i : i + ROW_TEXT] for i in range(0, len(text), ROW_TEXT)]
    head = base if with_log else {"QueryID": base["QueryID"]}
    return [{**dict.fromkeys(COLUMNS, ""), **head, "SqlRowNo": str(n), "SqlTextInfo": p}
            for n, p in enumerate(pieces, start=1)]  # fmt: skip


def write_csv(path: Path, rows: Sequence[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("LINEAGE_STORE", "TERADATA_HOST", "TD_HOST", "LINEAGE_VALIDATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "catalog.csv").write_text(CATALOG)
    yield tmp_path


def populate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["populate", "dbql", "--namespace", NAMESPACE, "--catalog", "catalog.csv", *argv])
    return code, capsys.readouterr().out


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'OL_%'")
        ]
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def edges(db: Path) -> set[tuple[str, ...]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT source_dataset, source_field, target_dataset, target_field FROM OL_COLUMN_LINEAGE")
        return {tuple(r) for r in rows}


def test_long_statements_whose_text_comes_in_a_later_export(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fact, hist = long_insert("Order_Fact", 12000), long_insert("Order_Hist", 7000)
    assert len(fact) > 2 * ROW_TEXT and len(hist) > ROW_TEXT  # three and two SqlRowNo rows
    q1, q2 = log("307188741412345001", "2024-06-01 10:00:00.100000"), log("307188741412345002", "2024-06-01 10:05:00")
    first = [
        *text_rows(q1, fact),
        q2,  # its log row only: the SQL rows were not flushed yet
        log("307188741412345003", "2024-06-01 10:06:00", StatementType="Select"),  # moves no data
        *text_rows(log("307188741412345004", "2024-06-01 10:07:00", ErrorCode="3807"), fact),  # failed
        *text_rows(log("307188741412345005", "2024-06-01 10:08:00", QueryBand="LineageServer=populate;"), fact),
    ]
    write_csv(workdir / "dbql-1.csv", first)
    code, out = populate(capsys, "--from-export", "dbql-1.csv")
    assert code == 0, out
    assert "queries 2: read 1, text not come yet 1 new and 0 still pending" in out
    assert "dbql: committed 1, duplicate 0, rejected 0, failed 0" in out
    assert edges(workdir / "lineage.db") == {("STG.Orders", c, "EDW.Order_Fact", c) for c in ("order_id", "amount")}
    store = SqliteStore(workdir / "lineage.db")
    try:
        mark = store.source_mark(SOURCE)
        assert mark.mark == "2024-06-01 10:05:00.000000"  # the newest CollectTimeStamp read
        assert [p.item_id for p in mark.pending] == [q2["QueryID"]]
    finally:
        store.close()

    # The second export: the pending query's text rows alone (no log columns), older than the mark; the first
    # query again (the overlap re-reads it); a new query in JSON lines.
    later = log("307188741412345006", "2024-06-01 10:30:00")
    second = [
        *text_rows(q2, hist, with_log=False),
        *text_rows(q1, fact),
        *text_rows(later, "DELETE FROM EDW.Order_Fact;"),
    ]
    (workdir / "dbql-2.jsonl").write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in second))
    code, out = populate(capsys, "--from-export", "dbql-2.jsonl")
    assert code == 0, out
    assert "finished from earlier runs 1" in out and "0 still pending" in out
    assert "dbql: committed 1, duplicate 1, rejected 0, failed 0" in out  # q1 re-read: the same event, no new rows
    assert edges(workdir / "lineage.db") == {
        ("STG.Orders", c, f"EDW.{t}", c) for c in ("order_id", "amount") for t in ("Order_Fact", "Order_Hist")
    }
    store = SqliteStore(workdir / "lineage.db")
    try:
        mark = store.source_mark(SOURCE)
        assert mark.mark == "2024-06-01 10:30:00.000000" and mark.pending == ()
    finally:
        store.close()

    before = counts(workdir / "lineage.db")
    for export in ("dbql-1.csv", "dbql-2.jsonl"):  # everything again, from the beginning: duplicates only
        code, out = populate(capsys, "--from-export", export, "--full")
        assert code == 0, out
        assert "committed 0," in out
    assert counts(workdir / "lineage.db") == before


def test_dry_run_counts_and_writes_the_events_but_commits_and_moves_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = text_rows(log("1", "2024-06-01 10:00:00"), long_insert("Order_Fact", 100))
    write_csv(workdir / "dbql.csv", rows)
    code, out = populate(capsys, "--from-export", "dbql.csv", "--dry-run", "--output", "events.jsonl")
    assert code == 0, out
    assert "dry run: 1 events would be written, rejected 0; nothing committed" in out
    assert "watermark of dbql teradata://tdprod:1025 unchanged (dry run): none" in out
    events = [orjson.loads(line) for line in (workdir / "events.jsonl").read_bytes().splitlines()]
    assert [e["outputs"][0]["name"] for e in events] == ["EDW.Order_Fact"]
    assert events[0]["run"]["facets"]["teradata"]["QueryID"] == "1"
    assert not (workdir / "lineage.db").exists()


def test_reset_watermark_forgets_the_mark_and_reads_from_the_beginning(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(workdir / "dbql.csv", [*text_rows(log("1", "2024-06-01 10:00:00"), long_insert("Order_Fact", 10)),
                                     log("2", "2024-06-01 11:00:00")])  # fmt: skip
    assert populate(capsys, "--from-export", "dbql.csv")[0] == 0
    code, out = populate(capsys, "--from-export", "dbql.csv", "--reset-watermark")
    assert code == 0 and "forgotten" in out and "window [the beginning," in out
    assert "dbql: committed 0, duplicate 1" in out and "text not come yet 1 new" in out


def test_database_filter_keeps_only_lineage_touching_it(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_csv(workdir / "dbql.csv", text_rows(log("1", "2024-06-01 10:00:00"), long_insert("Order_Fact", 10)))
    code, out = populate(capsys, "--from-export", "dbql.csv", "--database", "MART", "--dry-run")
    assert code == 0 and "events left out by --database 1" in out and "0 events would be written" in out


def test_a_bad_export_is_one_clear_message(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "bad.csv").write_text("QueryID,SqlRowNo\n1,1\n")
    code = main(["populate", "dbql", "--from-export", "bad.csv", "--dry-run"])
    assert code == 2 and "bad.csv: the header lacks CollectTimeStamp, SqlTextInfo" in capsys.readouterr().err


# --- the pure rules --------------------------------------------------------------------------------------------


def test_text_rows_join_in_sqlrowno_order_without_separator_and_gaps_stay_pending() -> None:
    head = log("9", "2024-06-01 10:00:00")
    rows = [{**head, "SqlRowNo": "2", "SqlTextInfo": "LECT 1"}, {**head, "SqlRowNo": "1", "SqlTextInfo": "SE"}]
    (query,) = assemble(rows, {})
    assert isinstance(query, Query) and query.text == "SELECT 1"
    gap = [{**head, "SqlRowNo": "1", "SqlTextInfo": "SE"}, {**head, "SqlRowNo": "3", "SqlTextInfo": "x"}]
    assert [type(item) for item in assemble(gap, {})] == [Pending]
    orphan = [{"QueryID": "10", "SqlRowNo": "1", "SqlTextInfo": "SELECT 1"}]  # text before its log row: skipped
    assert list(assemble(orphan, {})) == []


def test_the_filter_and_the_per_query_default_database() -> None:
    made = log_row(log("1", "2024-06-01 10:00:00", DefaultDatabase="  ", StatementType="Insert      "))
    assert made is not None and made.default_database is None and made.statement_type == "Insert"  # CHAR padding
    assert keep(made)
    for extra in ({"ErrorCode": "2801"}, {"StatementType": "Collect Statistics"}, {"QueryBand": "LineageServer=x;"}):
        row = log_row(log("1", "2024-06-01 10:00:00", **extra))
        assert row is not None and not keep(row), extra


def test_the_job_is_named_by_the_query_band(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    banded = log("1", "2024-06-01 10:00:00", QueryBand="=S> JobName=load_sales;Step=2;")
    write_csv(workdir / "dbql.csv", text_rows(banded, long_insert("Order_Fact", 10)))
    assert populate(capsys, "--from-export", "dbql.csv", "--dry-run", "--output", "events.jsonl")[0] == 0
    (event,) = [orjson.loads(line) for line in (workdir / "events.jsonl").read_bytes().splitlines()]
    assert event["job"]["name"] == "load_sales"


def test_a_query_whose_text_never_comes_is_given_up_a_day_later(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(workdir / "dbql-1.csv", [log("1", "2024-06-01 10:00:00")])
    code, out = populate(capsys, "--from-export", "dbql-1.csv")
    assert code == 0 and "text not come yet 1 new" in out
    later = text_rows(log("2", "2024-06-02 10:00:01"), long_insert("Order_Fact", 10))
    write_csv(workdir / "dbql-2.csv", later)
    code, out = populate(capsys, "--from-export", "dbql-2.csv", "--dry-run")  # a dry run gives up nothing for real
    assert code == 0 and "given up 1" in out and "unchanged (dry run): 2024-06-01 10:00:00.000000" in out
    code, out = populate(capsys, "--from-export", "dbql-2.csv")
    assert code == 0 and "query 1: given up: its SQL text rows never came" in out
    store = SqliteStore(workdir / "lineage.db")
    try:
        mark = store.source_mark(SOURCE)
        assert mark.mark == "2024-06-02 10:00:01.000000" and mark.pending == ()
    finally:
        store.close()


def test_no_sql_text_for_any_query_points_at_with_sql(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_csv(workdir / "dbql.csv", [log("1", "2024-06-01 10:00:00"), log("2", "2024-06-01 10:00:01")])
    code, out = populate(capsys, "--from-export", "dbql.csv", "--dry-run")
    assert code == 0 and "dbql: 2 queries and none with SQL text rows" in out and "`WITH SQL`" in out
