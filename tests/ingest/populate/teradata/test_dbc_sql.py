"""Every statement `lineage populate catalog` and `lineage populate dbql` send to Teradata, parsed with sqlglot's
Teradata dialect, its `?` count checked against what the code binds; and the session's behaviour on a scripted
driver: the query band first, fetchmany (never fetchall), a transient error retried, 3523 explained."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from ingest.populate.teradata import dbc_sql
from ingest.populate.teradata import source as source_module
from ingest.populate.teradata.commands import NO_LOGGING_RULE, check_rules, live_rows
from ingest.populate.teradata.source import SourceError, TeradataSource
from schemas.dsn import parse_dsn
from schemas.teradata.qvci import QVCI_SQL
from tests.schemas.teradata.recording import teradata_error

DSN = parse_dsn("teradata://etl_user:pw@td.example:1025/etl_user")
HELP_COLUMN = re.compile(r'HELP COLUMN "(?:[^"]|"")+"\."(?:[^"]|"")+"\.\*')  # Teradata's documented HELP COLUMN form


def every_statement() -> list[tuple[str, int]]:
    """(statement, how many values the code binds to it)."""
    return [
        (dbc_sql.SET_QUERY_BAND, 0),
        (QVCI_SQL, 0),
        (dbc_sql.catalog_sql("DBC.ColumnsJQV", 0), 0),
        (dbc_sql.catalog_sql("DBC.ColumnsV", 3), 3),
        (dbc_sql.dbql_sql(pdcr=False), 3),
        (dbc_sql.dbql_sql(pdcr=True), 5),
        (dbc_sql.pending_text_sql(1, pdcr=False), 1),
        (dbc_sql.pending_text_sql(100, pdcr=True), 100),
        (dbc_sql.RULES_SQL, 0),
    ]


@pytest.mark.parametrize(("statement", "bound"), every_statement(), ids=lambda v: str(v)[:60])
def test_every_statement_parses_as_teradata(statement: str, bound: int) -> None:
    parsed = sqlglot.parse_one(statement, read="teradata")
    assert isinstance(parsed, exp.Select | exp.Set), type(parsed)
    assert statement.count("?") == bound
    assert "'?'" not in statement


def test_help_column_is_the_documented_form_with_names_quoted() -> None:
    text = dbc_sql.help_column_sql('MART"X', "V_Orders")
    assert text == 'HELP COLUMN "MART""X"."V_Orders".*' and HELP_COLUMN.fullmatch(text)


def test_the_catalog_read_escapes_its_like_and_leaves_out_system_databases() -> None:
    sql = dbc_sql.catalog_sql("DBC.ColumnsV", 0)
    parsed = sqlglot.parse_one(sql, read="teradata")
    likes = list(parsed.find_all(exp.Escape))
    assert likes and all(like.expression.this == "\\" for like in likes)
    assert "t.DatabaseName NOT LIKE 'TD\\_%' ESCAPE '\\'" in sql
    assert "'DBC'" in sql and "'Sys_Calendar'" in sql and "'SYSLIB'" in sql
    assert "t.TableKind IN ('T', 'O', 'V', 'Q')" in sql


def test_the_dbql_read_filters_in_sql_what_the_rows_are_filtered_on() -> None:
    sql = dbc_sql.dbql_sql(pdcr=False)
    assert "l.ErrorCode = 0" in sql and "'Select'" in sql and "'Flush Query Logging'" in sql
    assert "LEFT JOIN DBC.QryLogSQLV AS s ON s.QueryID = l.QueryID" in sql
    assert sql.endswith("ORDER BY l.CollectTimeStamp, l.QueryID, s.SqlRowNo")
    pdcr = dbc_sql.dbql_sql(pdcr=True)
    assert "PDCRINFO.DBQLogTbl_Hst" in pdcr and "s.LogDate = l.LogDate" in pdcr
    assert "l.LogDate BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)" in pdcr


# --- the session, on a scripted driver ---------------------------------------------------------------------


class Cursor:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.description: list[tuple[str]] | None = None
        self.rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: Any = ()) -> None:
        self.driver.sent.append((sql, tuple(params)))
        if self.driver.failures:
            failure = self.driver.failures.pop(0)
            if failure is not None:
                raise failure
        self.description, self.rows = [("QueryID",), ("SqlRowNo",)], list(self.driver.rows)

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        self.driver.fetches.append(size)
        batch, self.rows = self.rows[:size], self.rows[size:]
        return batch

    def fetchall(self) -> list[tuple[Any, ...]]:
        raise AssertionError("fetchall is never used: a DBQL window streams")

    def close(self) -> None:
        pass


class Driver:
    def __init__(self, rows: list[tuple[Any, ...]], failures: list[BaseException | None] | None = None) -> None:
        self.rows = rows
        self.failures = failures or []
        self.sent: list[tuple[str, tuple[Any, ...]]] = []
        self.fetches: list[int] = []
        self.autocommit = False
        self.opened = 0

    def connect(self) -> Driver:
        self.opened += 1
        return self

    def cursor(self) -> Cursor:
        return Cursor(self)

    def close(self) -> None:
        pass


def test_rows_stream_by_fetchmany_and_every_marker_gets_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "FETCH_ROWS", 2)
    driver = Driver([(n, 1) for n in range(5)])
    source = TeradataSource(DSN, connect=driver.connect)
    rows, text_rows = live_rows(source, pdcr=True)
    assert [r["QueryID"] for r in rows("2024-06-01 00:00:00.000000", None)] == [0, 1, 2, 3, 4]
    assert list(text_rows([str(n) for n in range(150)]))  # two chunks: 100 and 50 QueryIDs
    assert driver.fetches.count(2) >= 3  # 5 rows, 2 at a time, then the empty fetch
    assert driver.sent[0] == (dbc_sql.SET_QUERY_BAND, ()) and driver.opened == 1
    for sql, params in driver.sent:
        assert sql.count("?") == len(params), sql[:80]
    assert driver.sent[1][1][:2] == ("2024-06-01", "9999-12-31")  # PDCR: the LogDate partitions of the window


def test_a_transient_error_is_retried_and_3523_names_the_grant() -> None:
    driver = Driver([], [None, teradata_error(2631, "Transaction ABORTed due to deadlock."), None])
    source = TeradataSource(DSN, connect=driver.connect, sleep=lambda _s: None)
    assert list(source.rows("SELECT 1", doing="reading")) == []
    assert [sql for sql, _ in driver.sent] == [dbc_sql.SET_QUERY_BAND, "SELECT 1", "SELECT 1"]

    denied = Driver([], [None, teradata_error(3523, "The user does not have SELECT access to DBC.QryLogSQLV.")])
    source = TeradataSource(DSN, connect=denied.connect, sleep=lambda _s: None)
    with pytest.raises(SourceError, match=r"error 3523 .* the user etl_user lacks the SELECT right") as raised:
        list(source.rows("SELECT 1", doing="reading the query log"))
    assert "GRANT SELECT ON DBC.QryLogSQLV TO etl_user;" in str(raised.value)
    assert "DBC.QryLogSQLV." in str(raised.value)  # Teradata's own words, which name the object


def test_zero_queries_points_at_the_logging_rules() -> None:
    source = TeradataSource(DSN, connect=Driver([(0, None)]).connect)
    hint = check_rules(source)
    assert hint.startswith("DBC.DBQLRulesV holds no logging rule at all") and NO_LOGGING_RULE in hint
    assert "BEGIN QUERY LOGGING WITH SQL, OBJECTS LIMIT SQLTEXT=0 ON <users>;" in hint
