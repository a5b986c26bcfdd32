"""The catalog and DBQL populations as the CLI runs them: a live Teradata source (DBC, DBQL, PDCR) or an export,
through ingest.populate.teradata.dbql_run / datasets, into a Sink (the BatchWriter, or a dry run's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from ingest.populate.teradata import dbc_sql
from ingest.populate.teradata.catalog import Catalog, TableKind
from ingest.populate.teradata.datasets import dataset_event, is_system, normalised, view_events
from ingest.populate.teradata.dbql import OUR_QUERY_BAND_LIKE, store_time
from ingest.populate.teradata.dbql_run import Rows, TextRows
from ingest.populate.teradata.exports import read_rows
from ingest.populate.teradata.extract import Counts, Extractor
from ingest.populate.teradata.sinks import Sink
from ingest.populate.teradata.source import SourceError, TeradataSource
from schemas.teradata.qvci import QVCI_DISABLED, QVCI_SQL

NO_LOGGING_RULE = (
    "no query found in the query log for this window. Usually no logging rule asks DBQL for these users' SQL: "
    "a DBA checks `SELECT * FROM DBC.DBQLRulesV` and adds one, for example "
    "`BEGIN QUERY LOGGING WITH SQL, OBJECTS LIMIT SQLTEXT=0 ON <users>;`. Queries appear once DBQL's cache "
    "flushes (DBQLFlushRate, 600 s by default), so also try a wider window (--since, or a shorter --lag)."
)
NO_SQL_TEXT = (
    "{count} queries and none with SQL text rows, only QryLogV's first 200 characters: the logging rule lacks "
    "`WITH SQL` (`BEGIN QUERY LOGGING WITH SQL, OBJECTS LIMIT SQLTEXT=0 ON <users>;`); they stay pending for a day "
    "in case their text rows are still to come."
)


# --- DBQL ---------------------------------------------------------------------------------------------------


def export_rows(path: Path) -> Rows:
    """An exported DBQL as a window source: every row (the run filters them to the window)."""

    def rows(_low: str | None, _high: str | None) -> Iterable[Mapping[str, Any]]:
        return read_rows(path, ("QueryID", "CollectTimeStamp", "SqlRowNo", "SqlTextInfo"))

    return rows


def live_rows(source: TeradataSource, *, pdcr: bool) -> tuple[Rows, TextRows]:
    """The window and the pending queries' text, read from DBC's views (or PDCR's history tables)."""

    def rows(low: str | None, high: str | None) -> Iterable[Mapping[str, Any]]:
        low_value, high_value = low or "1900-01-01 00:00:00.000000", high or "9999-12-31 23:59:59.999999"
        params: list[object] = [low_value, high_value, OUR_QUERY_BAND_LIKE]
        if pdcr:
            params = [low_value[:10], high_value[:10], *params]
        return source.rows(dbc_sql.dbql_sql(pdcr=pdcr), params, doing="reading the query log")

    def text_rows(query_ids: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        for start in range(0, len(query_ids), 100):
            chunk = list(query_ids[start : start + 100])
            sql = dbc_sql.pending_text_sql(len(chunk), pdcr=pdcr)
            yield from source.rows(sql, chunk, doing="reading the SQL text of pending queries")

    return rows, text_rows


def check_rules(source: TeradataSource) -> str:
    """After a live run found nothing: the hint, with whether any logging rule exists at all."""
    try:
        count = next(iter(source.rows(dbc_sql.RULES_SQL, doing="reading DBC.DBQLRulesV")), {})
    except SourceError:
        return NO_LOGGING_RULE
    values = list(count.values())
    if values and int(values[0] or 0) == 0:
        return "DBC.DBQLRulesV holds no logging rule at all: " + NO_LOGGING_RULE
    return NO_LOGGING_RULE


# --- the catalog --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class CatalogReport:
    tables: int = 0
    views: int = 0
    view_events: int = 0
    skipped_system: int = 0
    typed_by_help: int = 0  # views typed by HELP COLUMN (QVCI off)
    columns_view: str = ""
    notes: list[str] = field(default_factory=list)


def catalog_rows_from_csv(path: Path) -> Iterator[dict[str, str | None]]:
    for row in read_rows(path, ("DatabaseName", "TableName", "TableKind", "ColumnName", "ColumnId")):
        yield normalised(row)


def catalog_rows_live(
    source: TeradataSource, databases: Sequence[str], report: CatalogReport
) -> Iterator[dict[str, str | None]]:
    """DBC.TablesV with DBC.ColumnsJQV when QVCI is on, else DBC.ColumnsV; view columns then get their types
    from HELP COLUMN, one view at a time."""
    qvci_off = source.error_code_of(QVCI_SQL, "checking QVCI") == QVCI_DISABLED
    report.columns_view = "DBC.ColumnsV" if qvci_off else "DBC.ColumnsJQV"
    sql = dbc_sql.catalog_sql(report.columns_view, len(databases))
    helped: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for row in source.rows(sql, list(databases), doing=f"reading DBC.TablesV and {report.columns_view}"):
        fixed = normalised(row)
        if qvci_off and (fixed["TableKind"] or "").upper() == "V" and not fixed["ColumnType"]:
            fixed = help_typed(source, fixed, report, helped)
        yield fixed


def help_typed(
    source: TeradataSource,
    row: dict[str, str | None],
    report: CatalogReport,
    helped: dict[tuple[str, str], dict[str, Mapping[str, Any]]],
) -> dict[str, str | None]:
    """A view column's type from `HELP COLUMN db.view.*` (QVCI off), run once per view (the rows of one view come
    together: only the current view's answer is kept)."""
    key = (row["DatabaseName"] or "", row["TableName"] or "")
    if key not in helped:
        helped.clear()
        sql = dbc_sql.help_column_sql(*key)
        help_rows = source.rows(sql, doing=f"HELP COLUMN on {key[0]}.{key[1]}")
        helped[key] = {str(r.get("Column Name", "")).strip().casefold(): r for r in help_rows}
        report.typed_by_help += 1
    found = helped[key].get((row["ColumnName"] or "").casefold())
    return help_row_types(row, found) if found is not None else row


def help_row_types(row: dict[str, str | None], help_row: Mapping[str, Any]) -> dict[str, str | None]:
    """A catalog row with the type HELP COLUMN reported: its `Type`, `Max Length`, `Decimal Total Digits`,
    `Decimal Fractional Digits`, `Nullable` and `Char Type` columns (HELP's own headings)."""

    def value(name: str) -> str | None:
        found = help_row.get(name)
        text = None if found is None else str(found).strip()
        return text or None

    typed = {
        **row,
        "ColumnType": value("Type"),
        "ColumnLength": value("Max Length"),
        "DecimalTotalDigits": value("Decimal Total Digits"),
        "DecimalFractionalDigits": value("Decimal Fractional Digits"),
        "Nullable": value("Nullable") or row["Nullable"],
        "CharType": value("Char Type") or row["CharType"],
    }
    return normalised(typed)  # Max Length counts bytes, as ColumnsV's ColumnLength does


def populate_catalog(
    rows: Iterable[dict[str, str | None]],
    sink: Sink,
    *,
    namespace: str,
    default_time: str,
    databases: Sequence[str] = (),
    output: IO[bytes] | None = None,
    report: CatalogReport | None = None,
) -> tuple[CatalogReport, Counts]:
    """Every table and view of the rows as a DatasetEvent, then every view's text through the extractor (with the
    whole catalog, so the view's sources resolve). System databases and databases not asked for are left out."""
    report = report or CatalogReport()
    wanted = {db.casefold() for db in databases}
    kept: list[dict[str, str | None]] = []
    for row in rows:
        database = row.get("DatabaseName") or ""
        if is_system(database):
            report.skipped_system += 1
            continue
        if wanted and database.casefold() not in wanted:
            continue
        kept.append(row)
    catalog = Catalog.from_rows(kept)
    extras = {(r["DatabaseName"] or "").casefold() + "." + (r["TableName"] or "").casefold(): r for r in kept}
    extractor = Extractor(catalog, namespace)
    for table in catalog:
        row = extras[table.qualified.casefold()]
        event_time = _event_time(row.get("LastAlterTimeStamp"), default_time)
        _deliver(dataset_event(table, namespace, event_time), f"dataset {table.qualified}", sink, output)
        if table.kind is TableKind.VIEW:
            report.views += 1
            for index, event in enumerate(view_events(extractor, table, row.get("RequestText") or "", event_time)):
                report.view_events += 1
                _deliver(event, f"view {table.qualified}[{index}]", sink, output)
        else:
            report.tables += 1
    return report, extractor.counts


def _event_time(value: str | None, default: str) -> str:
    if not value:
        return default
    text = store_time(value)
    return default if text is None else text.replace(" ", "T", 1) + "Z"


def _deliver(event: dict[str, Any], origin: str, sink: Sink, output: IO[bytes] | None) -> None:
    payload = orjson.dumps(event)
    if output is not None:
        output.write(payload + b"\n")
    sink.add(origin, event, payload.decode())


def file_time(path: Path) -> str:
    moment = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
