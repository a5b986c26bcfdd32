"""DBQL rows -> whole queries. Pure: no I/O, so the live reader and an exported DBQL share every rule here.

A row is what `DBC.QryLogV LEFT JOIN DBC.QryLogSQLV ON QueryID` gives (ingest.populate.teradata.dbc_sql), one
per SQL text row, as a mapping keyed by the column names of `COLUMNS`; an export holds the same columns (CSV with
that header, or JSON lines). Rows of one query are adjacent, in SqlRowNo order (the statement orders them so);
DBQL cuts text longer than one row (about 31,000 characters) over SqlRowNo 1..n, joined here with no separator.

DBQL writes the SQL rows of a query before or after its log row (each cache flushes on its own), so a query whose
log row has come but whose text has not (no text row, or row numbers with a gap) is PENDING: kept for a later run,
with its log row, so that the text alone finishes it then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson

from schemas.times import format_store_time, parse_iso

# The log columns, then the text columns, as the statement selects them and an export holds them.
LOG_COLUMNS = (
    "QueryID",
    "CollectTimeStamp",
    "SessionID",
    "UserName",
    "DefaultDatabase",
    "AppID",
    "QueryBand",
    "StatementType",
    "ErrorCode",
    "StartTime",
    "FirstRespTime",
    "QueryText",
)
TEXT_COLUMNS = ("SqlRowNo", "SqlTextInfo")
COLUMNS = (*LOG_COLUMNS, *TEXT_COLUMNS)

# Statement types that move no data (DBQL's StatementType spelling). An exclusion list rather than an inclusion
# list: a type we have not heard of is read and parsed, and at worst gives no lineage.
NO_DATA_STATEMENTS = (
    "Select",
    "Help",
    "Show",
    "Grant",
    "Revoke",
    "Database",
    "Commit Work",
    "Rollback Work",
    "Begin Transaction",
    "End Transaction",
    "Begin Query Logging",
    "End Query Logging",
    "Replace Query Logging",
    "Flush Query Logging",
    "Set Query_Band",
    "Set Session",
    "Collect Statistics",
    "Drop Statistics",
    "Explain",
    "Echo",
    "Logon",
    "Logoff",
    "Checkpoint",
    "Begin Loading",
    "End Loading",
)
# The query band our own sessions carry (ingest.populate.teradata.source), and the LIKE that leaves them out.
QUERY_BAND_KEY = "LineageServer"
OUR_QUERY_BAND = f"{QUERY_BAND_KEY}=populate;"
OUR_QUERY_BAND_LIKE = f"%{QUERY_BAND_KEY}=%"


@dataclass(frozen=True, slots=True)
class LogRow:
    """What DBQL's main log says of one query (QryLogV), its SQL text aside. Times are store text (UTC)."""

    query_id: str
    collect_time: str
    session_id: str | None
    user_name: str | None
    default_database: str | None  # per query, never inherited from the previous one
    app_id: str | None
    query_band: str | None
    statement_type: str | None
    error_code: int | None
    start_time: str | None
    end_time: str | None  # FirstRespTime: when the query answered
    query_text: str | None  # QryLogV.QueryText: the first 200 characters only

    def payload(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_payload(cls, payload: str) -> LogRow:
        return cls(**orjson.loads(payload))


@dataclass(frozen=True, slots=True)
class Query:
    """A query with its whole SQL text."""

    log: LogRow
    text: str


@dataclass(frozen=True, slots=True)
class Pending:
    """A query whose log row has come but not (all) its text rows."""

    log: LogRow


def keep(log: LogRow) -> bool:
    """The filter the live statement applies, applied again to every row (an export may hold anything):
    successful queries of a type that may move data, not from our own sessions."""
    if log.error_code not in (0, None):
        return False
    if (log.statement_type or "").strip().lower() in _NO_DATA:
        return False
    return QUERY_BAND_KEY + "=" not in (log.query_band or "")


_NO_DATA = frozenset(kind.lower() for kind in NO_DATA_STATEMENTS)


def assemble(rows: Iterable[Mapping[str, Any]], known: Mapping[str, LogRow]) -> Iterator[Query | Pending]:
    """Group adjacent rows by QueryID into Query (text complete) or Pending. `known` holds the log rows of queries
    pending from earlier runs: a row with no log columns of its own (an export of text rows alone) takes its log
    row from there, and rows of a query neither logged nor known are skipped (their log row comes later)."""
    current: str | None = None
    log: LogRow | None = None
    parts: list[tuple[int, str]] = []
    for row in rows:
        query_id = _id(row.get("QueryID"))
        if query_id is None:
            continue
        if query_id != current:
            if current is not None and log is not None:
                yield _finish(log, parts)
            current, log, parts = query_id, None, []
        if log is None:
            log = log_row(row) or known.get(query_id)
        number = _int(row.get("SqlRowNo"))
        text = row.get("SqlTextInfo")
        if number is not None and isinstance(text, str):
            parts.append((number, text))
    if current is not None and log is not None:
        yield _finish(log, parts)


def _finish(log: LogRow, parts: list[tuple[int, str]]) -> Query | Pending:
    numbers = sorted({number for number, _ in parts})
    if not numbers or numbers != list(range(1, len(numbers) + 1)):
        return Pending(log)
    text = dict(parts)  # a row repeated (an export read twice over) counts once
    return Query(log, "".join(text[number] for number in numbers))


def log_row(row: Mapping[str, Any]) -> LogRow | None:
    """The log columns of a row; None when it has none (no CollectTimeStamp: a text row exported alone)."""
    query_id = _id(row.get("QueryID"))
    collected = store_time(row.get("CollectTimeStamp"))
    if query_id is None or collected is None:
        return None
    return LogRow(
        query_id=query_id,
        collect_time=collected,
        session_id=_id(row.get("SessionID")),
        user_name=_text(row.get("UserName")),
        default_database=_text(row.get("DefaultDatabase")),
        app_id=_text(row.get("AppID")),
        query_band=_text(row.get("QueryBand")),
        statement_type=_text(row.get("StatementType")),
        error_code=_int(row.get("ErrorCode")),
        start_time=store_time(row.get("StartTime")),
        end_time=store_time(row.get("FirstRespTime")),
        query_text=_text(row.get("QueryText")),
    )


def store_time(value: object) -> str | None:
    """A DBQL time (a driver datetime, or export text `2024-06-01 10:00:00.123456`) as store text. DBQL's
    CollectTimeStamp is the system's time: read as UTC, as Teradata systems normally run."""
    if isinstance(value, datetime):
        return format_store_time(value)
    if isinstance(value, str) and value.strip():
        return format_store_time(parse_iso(value.strip())[0])
    return None


def _text(value: object) -> str | None:
    """Text as DBQL gives it, CHAR padding removed; empty is NULL (as an export writes NULL)."""
    if value is None:
        return None
    text = str(value).rstrip(" ")
    return text or None


def _id(value: object) -> str | None:
    """QueryID and SessionID: DECIMAL(18,0) and INTEGER in DBQL, text here (`307188741412345678`, never `...0.0`)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    return text.removesuffix(".0") or None


def _int(value: object) -> int | None:
    if value is None or value == "":
        return None
    return int(str(value).strip().removesuffix(".0"))
