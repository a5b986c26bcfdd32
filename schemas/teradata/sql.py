"""The statements the Teradata store sends for a batch, and how each row's parameters are bound to them.

The merge rules are the one table schemas.sql.upserts.WRITES, rendered here as Teradata MERGE (schemas.sql.rules
spells each rule with t for the stored row and s for the incoming one):
`MERGE INTO db.T AS t USING VALUES (?, ...) AS s (cols) ON <primary index and key> WHEN MATCHED THEN UPDATE
SET ... WHEN NOT MATCHED THEN INSERT ...`. Teradata requires the ON clause to hold an equality on every
primary-index column (error 5977 otherwise), so it matches the primary index the table really has (read
from DBC.IndicesV: a table the seed application created keeps its own) and the logical key.
The parameters of every row come from the same builders as SQLite's (schemas.sql.params).

Only non-character parameters are cast: CAST(? AS TIMESTAMP(n)) so that comparisons are between timestamps and a
NULL is typed; character parameters arrive as VARCHAR in the session's UTF8 and are assigned to the column.
Values are fitted to the column the database declares: timestamps to its fractional precision (the seed's
TIMESTAMP(0) nominal times get whole seconds), text to its width when an upgrade could not widen it, LATIN
columns lose characters LATIN cannot hold (a '?' instead of error 6706).

CLOBs (OL_FACET.payload) cannot appear in a CASE, so a facet is written in two steps (replace_row_statements).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.dsn import Dialect
from schemas.migrations import Catalog, ColumnInfo
from schemas.sql import ddl, marks
from schemas.sql.params import Params
from schemas.sql.rules import KEY, Rows, Write, aliases, assignment, insert_value, row_guard
from schemas.sql.upserts import WRITES
from schemas.store import StoreError
from schemas.tables import OL_EVENT, TABLES, Table

TABLE_BY_NAME = {table.name: table for table in TABLES}
# Event ids per duplicate-check request; the last chunk is padded so that the request text never varies.
DUPLICATE_CHECK_IDS = 100


# --- statements -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One parameterised statement: `columns` names the row value bound to each `?`, in order (a name may repeat)."""

    sql: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableWrite:
    """How one table's rows (`write`, from schemas.sql.upserts.WRITES) are sent to this database: each statement
    run for every row, values fitted to the declared columns."""

    write: Write
    statements: tuple[Statement, ...]
    fit: dict[str, Callable[[Any], Any]]  # column -> how a value is made to fit the declared column


def _marker(column: str, info: ColumnInfo | None) -> str:
    """The `?` for one column, cast where the parameter's own type would not compare or assign correctly."""
    if info is None:
        return "?"
    if info.type == "TS":
        return f"CAST(? AS TIMESTAMP({info.length}))"
    if info.type == "I":
        return "CAST(? AS INTEGER)"
    if info.type == "D":
        return "CAST(? AS DECIMAL(3,2))" if column == "confidence_score" else "?"
    return "?"


def merge_sql(write: Write, target: str, on: Sequence[str], types: dict[str, ColumnInfo]) -> str:
    """MERGE of one incoming row (USING VALUES ... AS s) onto `target` (AS t), matched on the columns `on`; the
    SET list and the INSERT values are the write's rules spelled with t and s."""
    rows = aliases("t", "s")
    values = ", ".join(_marker(c, types.get(c)) for c in write.columns)
    cols = ", ".join(write.columns)
    sql = (
        f"MERGE INTO {target} AS t USING VALUES ({values}) AS s ({cols}) "
        f"ON {' AND '.join(f't.{c} = s.{c}' for c in on)}"
    )
    if write.updates:
        sql += f" WHEN MATCHED THEN UPDATE SET {', '.join(assignment(c, write.rules[c], rows) for c in write.updates)}"
    exprs = ", ".join(insert_value(rule, rows.new(c)) for c, rule in write.rules.items())
    # Identifiers from schemas.tables and a validated database name only; values are bound parameters.
    return f"{sql} WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({exprs})"  # noqa: S608


def match_columns(table: Table, catalog: Catalog, bound: Sequence[str]) -> tuple[str, ...]:
    """The primary index the table has, then the rest of the logical key: the ON clause's columns."""
    primary = catalog.primary_indexes.get(table.name)
    if not primary:
        raise StoreError(f"{table.name} has no primary index in the catalog; a Teradata MERGE matches on one")
    missing = [c for c in primary if c not in bound]
    if missing:
        raise StoreError(f"{table.name}'s primary index ({', '.join(primary)}) has columns the store does not write")
    return tuple(dict.fromkeys((*primary, *table.primary_key)))


# --- fitting values to the declared columns ---------------------------------------------------------------


def _timestamp(precision: int) -> Callable[[Any], Any]:
    # Values are `YYYY-MM-DD HH:MM:SS.ffffff` (schemas.rows); CAST(? AS TIMESTAMP(n)) wants exactly n digits.
    width = 19 + (precision + 1 if precision else 0)
    return lambda value: value[:width] if isinstance(value, str) else value


def _text(width: int, latin: bool) -> Callable[[Any], Any]:
    def fit(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if latin:
            value = value.encode("latin-1", "replace").decode("latin-1")
        return value[:width] if width and len(value) > width else value

    return fit


def fitters(table: Table, types: dict[str, ColumnInfo]) -> dict[str, Callable[[Any], Any]]:
    """Per column, the conversion that makes a value fit what the database declares; key columns are never cut
    (a cut key would merge distinct things), so an over-long key still fails the batch loudly."""
    fit: dict[str, Callable[[Any], Any]] = {}
    keys = {*table.primary_key, *table.primary_index}
    for name, info in types.items():
        if info.type == "TS" and info.length < 6:
            fit[name] = _timestamp(info.length)
        elif info.type in ("CV", "CF") and name not in keys:
            declared = table.column(name).length if name in {c.name for c in table.columns} else 0
            if info.charset == "LATIN" or (info.length and info.length < declared):
                fit[name] = _text(info.length, info.charset == "LATIN")
    return fit


# --- the plan ---------------------------------------------------------------------------------------------


def plan(database: str, catalog: Catalog) -> tuple[TableWrite, ...]:
    """How every table write of schemas.sql.upserts.WRITES is sent to the database `catalog` describes."""
    return tuple(_table_write(write, database, catalog) for write in WRITES)


def _table_write(write: Write, database: str, catalog: Catalog) -> TableWrite:
    types = catalog.types.get(write.table.name, {})
    target = ddl.qualified(write.table, Dialect.TERADATA, database)
    if write.new_only:
        statements: tuple[Statement, ...] = (plain_insert(write, target, types),)
    elif (time := write.row_time) is not None:
        statements = replace_row_statements(write, time, target, catalog, types)
    else:
        on = match_columns(write.table, catalog, write.columns)
        statements = (Statement(merge_sql(write, target, on, types), write.columns),)
    return TableWrite(write, statements, fitters(write.table, types))


def plain_insert(write: Write, target: str, types: dict[str, ColumnInfo]) -> Statement:
    """New rows only (OL_EVENT: stored ids are filtered first): a clash is a race to retry, not a merge."""
    marks = ", ".join(_marker(c, types.get(c)) for c in write.columns)
    return Statement(f"INSERT INTO {target} ({', '.join(write.columns)}) VALUES ({marks})", write.columns)  # noqa: S608


def replace_row_statements(
    write: Write, time: str, target: str, catalog: Catalog, types: dict[str, ColumnInfo]
) -> tuple[Statement, ...]:
    """A row replaced whole by a newer one (OL_FACET). Its payload is a CLOB, which cannot appear in a CASE, so:
    a MERGE that inserts the bare key when it is not stored yet, then an UPDATE that sets the other columns unless
    the stored row is newer by `time` (the rule's row guard, spelled with the stored columns and the markers)."""
    on = match_columns(write.table, catalog, write.key)
    key_only = dataclasses.replace(write, rules=dict.fromkeys(write.key, KEY))
    placeholder = Statement(merge_sql(key_only, target, on, types), write.key)

    def marker(column: str) -> str:
        # The time is compared, so it is cast even where the catalog did not say its type.
        return _marker(column, types.get(column) or (ColumnInfo("TS", 6, None, True) if column == time else None))

    rows = Rows(old=lambda c: c, new=marker, bound=marker)
    sets = ", ".join(assignment(c, write.rules[c], rows) for c in write.updates)
    where = " AND ".join(f"{c} = ?" for c in on)
    update = f"UPDATE {target} SET {sets} WHERE {where} AND {row_guard(write, rows)}"  # noqa: S608
    return placeholder, Statement(update, (*write.updates, *on, time))


def stored_events_sql(database: str) -> str:
    """The duplicate check: which of DUPLICATE_CHECK_IDS event ids are stored. Run inside the write transaction
    without an ACCESS lock, so that a concurrent writer of the same event conflicts (deadlock, retried) instead of both
    writers inserting it."""
    marks = ", ".join("?" * DUPLICATE_CHECK_IDS)
    target = ddl.qualified(OL_EVENT, Dialect.TERADATA, database)
    return f"SELECT event_id FROM {target} WHERE event_id IN ({marks})"  # noqa: S608


def id_chunks(event_ids: Sequence[str]) -> list[tuple[str, ...]]:
    """The ids in chunks of exactly DUPLICATE_CHECK_IDS, the last padded with its own last id (one request text,
    cached by the database)."""
    chunks = []
    for start in range(0, len(event_ids), DUPLICATE_CHECK_IDS):
        chunk = list(event_ids[start : start + DUPLICATE_CHECK_IDS])
        chunks.append(tuple(chunk + [chunk[-1]] * (DUPLICATE_CHECK_IDS - len(chunk))))
    return chunks


def bind(statement: Statement, rows: Sequence[Params], fit: dict[str, Callable[[Any], Any]]) -> list[tuple[Any, ...]]:
    """Each row's values in the statement's parameter order, fitted to the declared columns."""
    identity: Callable[[Any], Any] = _same
    return [tuple(fit.get(c, identity)(row[c]) for c in statement.columns) for row in rows]


def _same(value: Any) -> Any:
    return value


# --- reads ------------------------------------------------------------------------------------------------

_READ_TOKENS = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|(?<![.\w])(OL_[A-Z_]+)\b")
# Compared with or assigned to TIMESTAMP columns: bound as timestamps.
TIMESTAMP_PARAMS = frozenset({"after", "before"}) | marks.TIME_PARAMS


def read_sql(sql: str, params: dict[str, Any], database: str) -> tuple[str, tuple[Any, ...]]:
    """A schemas.sql.reads statement for Teradata: `:name` parameters become `?` (values in order of appearance),
    OL_* tables are qualified with the database, and the request reads under an ACCESS lock, so that a lineage
    query never waits for (nor blocks) the writer; it may see a batch that is being written."""
    text, values = bind_sql(sql, params, database)
    return "LOCKING ROW FOR ACCESS " + text, values


def bind_sql(sql: str, params: dict[str, Any], database: str) -> tuple[str, tuple[Any, ...]]:
    """A shared `:name` statement (schemas.sql.reads, schemas.sql.purge, schemas.sql.marks) as Teradata takes it: `?`
    markers with the values in order of appearance (time parameters cast to TIMESTAMP(6)), OL_* tables qualified."""
    values: list[Any] = []
    names = {table.name for table in TABLES}

    def replace(match: re.Match[str]) -> str:
        param, table = match[1], match[2]
        if param is not None:
            values.append(params[param])
            return "CAST(? AS TIMESTAMP(6))" if param in TIMESTAMP_PARAMS else "?"
        if table is not None and table in names:
            return ddl.qualified(TABLE_BY_NAME[table], Dialect.TERADATA, database)
        return match[0]

    return _READ_TOKENS.sub(replace, sql), tuple(values)
