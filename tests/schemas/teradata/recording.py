"""A recording DB-API connection for the Teradata store: every (sql, params) it is sent is kept, and queries are
answered from scripted data (a catalog, stored event ids), so the store can be driven without a Teradata server.

`Script` is the database it pretends to be; `RecordingConnection` implements the methods the store uses
(cursor().execute/executemany/fetchall/fetchone/close, commit, rollback, autocommit, close). Errors are raised
as teradatasql.OperationalError with Teradata's message shape, so the store's real error handling runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import teradatasql

from schemas.migrations import Catalog
from schemas.sql import ddl
from schemas.tables import TABLES
from schemas.teradata.catalog import COLUMNS_SQL, INDEXES_SQL

Row = tuple[Any, ...]
_TYPE_BYTES = {"UNICODE": 2, "LATIN": 1}


def teradata_error(code: int, text: str) -> teradatasql.OperationalError:
    """An error shaped as teradatasql reports one from the database."""
    return teradatasql.OperationalError(
        f"[Version 20.0.0.72] [Session 1234] [Teradata Database] [Error {code}] {text}\n at gosqldriver/teradatasql"
    )


@dataclass
class Call:
    sql: str
    params: list[Row]  # one row for execute, every row for executemany
    many: bool
    autocommit: bool


@dataclass
class Script:
    """The database as the store sees it. `catalog` answers the DBC queries; `stored_events` the duplicate check;
    `fail` may raise for a call (return None to let it pass). Shared by every connection it opens."""

    database: str = "lineage_db"
    catalog: Catalog | None = None
    versions: list[int] = field(default_factory=list)
    stored_events: set[str] = field(default_factory=set)
    fail: Callable[[Call], BaseException | None] | None = None
    extra_indexes: dict[str, tuple[str, str]] = field(default_factory=dict)  # seed index name -> (table, column)
    calls: list[Call] = field(default_factory=list)
    pending_events: set[str] = field(default_factory=set)  # inserted, not yet committed
    commits: int = 0
    rollbacks: int = 0
    opened: int = 0
    closed: int = 0

    def connect(self) -> RecordingConnection:
        self.opened += 1
        return RecordingConnection(self)

    def statements(self) -> list[str]:
        return [call.sql for call in self.calls]

    # --- answers ------------------------------------------------------------------------------------------

    def answer(self, call: Call) -> list[Row]:
        if call.sql == COLUMNS_SQL:
            return self._columns()
        if call.sql == INDEXES_SQL:
            return self._indexes()
        if re.fullmatch(r"SELECT version_id FROM \w+\.OL_SCHEMA_VERSION", call.sql):
            return [(v,) for v in self.versions]
        if "FROM" in call.sql and ".OL_EVENT WHERE event_id IN (" in call.sql:
            return [(i,) for i in dict.fromkeys(call.params[0]) if i in self.stored_events]
        if "SELECT COUNT(*) FROM (" in call.sql:
            return [(0,)]
        return [(1,)] if call.sql == "SELECT 1" else []

    def _columns(self) -> list[Row]:
        if self.catalog is None:
            return []
        rows = []
        for table, columns in self.catalog.types.items():
            for name, info in columns.items():
                charset = info.charset
                length = info.length * _TYPE_BYTES.get(charset or "", 1) if info.type in ("CV", "CF", "CO") else 0
                char_type = {v: k for k, v in ddl.TERADATA_CHARSETS.items()}.get(charset or "", 0)
                fraction = info.length if info.type == "TS" else 0
                rows.append((table, name, info.type, length, fraction, char_type, "Y" if info.nullable else "N"))
        return rows

    def _indexes(self) -> list[Row]:
        if self.catalog is None:
            return []
        rows: list[Row] = []
        for table, columns in self.catalog.primary_indexes.items():
            rows += [(table, None, "P", c, 1, i + 1) for i, c in enumerate(columns)]
        for number, name in enumerate(sorted(self.catalog.indexes), start=4):
            table, column = self.index_columns[name]
            rows.append((table, name, "S", column, number, 1))
        return rows

    @property
    def index_columns(self) -> dict[str, tuple[str, str]]:
        """Secondary index name -> (table, column): ours from schemas.tables, plus any set in `extra_indexes`."""
        known = {i.name.lower(): (t.name, i.columns[0]) for t in TABLES for i in t.indexes}
        return {**known, **self.extra_indexes}

    def after(self, call: Call) -> None:
        """Keep the scripted database in step with what the store changed."""
        if call.sql.startswith("INSERT INTO") and ".OL_SCHEMA_VERSION " in call.sql:
            self.versions.append(int(call.params[0][0]))
        if call.sql.startswith("INSERT INTO") and ".OL_EVENT " in call.sql:
            self.pending_events.update(str(row[0]) for row in call.params)


class RecordingCursor:
    def __init__(self, connection: RecordingConnection) -> None:
        self.connection = connection
        self._rows: list[Row] = []
        self.rowcount = -1  # as DB-API before a statement; then the rows the script answered

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> RecordingCursor:
        self._run(sql, [tuple(params or ())], many=False)
        return self

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> RecordingCursor:
        assert isinstance(params, list | tuple) and params, "teradatasql wants a non-empty list or tuple of rows"
        assert all(isinstance(row, list | tuple) for row in params)
        self._run(sql, [tuple(row) for row in params], many=True)
        return self

    def _run(self, sql: str, rows: list[Row], *, many: bool) -> None:
        script = self.connection.script
        if self.connection.is_closed:
            raise teradatasql.OperationalError("[Version 20.0.0.72] [Teradata SQL Driver] connection is closed")
        call = Call(sql, rows, many, self.connection.autocommit)
        script.calls.append(call)
        failure = script.fail(call) if script.fail else None
        if failure is not None:
            raise failure
        self._rows = script.answer(call)
        self.rowcount = len(self._rows)
        script.after(call)

    def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    def close(self) -> None:
        self._rows = []


class RecordingConnection:
    """A DB-API connection whose database is a `Script`."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.autocommit = True  # teradatasql starts with auto-commit on
        self.is_closed = False

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self)

    def commit(self) -> None:
        self.script.commits += 1
        self.script.stored_events |= self.script.pending_events
        self.script.pending_events.clear()

    def rollback(self) -> None:
        self.script.rollbacks += 1
        self.script.pending_events.clear()

    def close(self) -> None:
        self.is_closed = True
        self.script.closed += 1
