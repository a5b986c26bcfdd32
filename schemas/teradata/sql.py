"""The statements the Teradata store sends for a batch, and how each row's parameters are bound to them.

The merge rules are schemas.sql.upserts' (run state rank, None never erases, first and last sightings), written as
Teradata MERGE: `MERGE INTO db.T AS t USING VALUES (?, ...) AS s (cols) ON <primary index and key>
WHEN MATCHED THEN UPDATE SET ... WHEN NOT MATCHED THEN INSERT ...`. Teradata requires the ON clause to hold an
equality on every primary-index column (error 5977 otherwise), so it matches the primary index the table really
has (read from DBC.IndicesV: a table the seed application created keeps its own) and the logical key.
The parameters of every row come from the same builders as SQLite's (`schemas.sql.upserts.WRITES`).

Only non-character parameters are cast: CAST(? AS TIMESTAMP(n)) so that comparisons are between timestamps and a
NULL is typed; character parameters arrive as VARCHAR in the session's UTF8 and are assigned to the column.
Values are fitted to the column the database declares: timestamps to its fractional precision (the seed's
TIMESTAMP(0) nominal times get whole seconds), text to its width when an upgrade could not widen it, LATIN
columns lose characters LATIN cannot hold (a '?' instead of error 6706).

CLOBs (OL_FACET.payload) cannot appear in a CASE, so a facet is written in two steps: a MERGE that inserts an
empty row for a key not yet stored, then an UPDATE that sets payload and time unless the stored row is newer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.dsn import Dialect
from schemas.migrations import Catalog, ColumnInfo
from schemas.rows import EventRows
from schemas.sql import ddl
from schemas.sql.upserts import WRITES, Params
from schemas.store import StoreError
from schemas.tables import OL_EVENT, OL_FACET, TABLES, Table
from schemas.times import format_store_time

TABLE_BY_NAME = {table.name: table for table in TABLES}
ID_CHUNK = 100  # event ids per duplicate-check request; the last chunk is padded so the text never varies


# --- merge rules, in Teradata SQL (t: the stored row, s: the incoming one) --------------------------------


def _earliest(c: str) -> str:
    return f"{c} = CASE WHEN t.{c} IS NULL OR s.{c} < t.{c} THEN s.{c} ELSE t.{c} END"


def _latest(c: str) -> str:
    return f"{c} = CASE WHEN t.{c} IS NULL OR s.{c} > t.{c} THEN s.{c} ELSE t.{c} END"


def _newer(c: str, time: str = "updated_at") -> str:
    return (
        f"{c} = CASE WHEN s.{c} IS NOT NULL AND (t.{time} IS NULL OR s.{time} >= t.{time}) THEN s.{c} "
        f"ELSE COALESCE(t.{c}, s.{c}) END"
    )


def _coalesce(c: str) -> str:
    return f"{c} = COALESCE(s.{c}, t.{c})"


def _rank(row: str) -> str:
    return (
        f"CASE {row}.event_type WHEN 'START' THEN 1 WHEN 'RUNNING' THEN 2 WHEN 'COMPLETE' THEN 3 "
        "WHEN 'FAIL' THEN 3 WHEN 'ABORT' THEN 3 ELSE 0 END"
    )


_RUN_WINS = (
    f"(s.event_type IS NOT NULL AND ({_rank('s')} > {_rank('t')} OR ({_rank('s')} = {_rank('t')} "
    "AND (t.event_time IS NULL OR s.event_time >= t.event_time))))"
)
_EDGE = (
    "lineage_id", "run_id", "source_namespace", "source_dataset", "source_field", "source_dataset_id",
    "source_field_id", "target_namespace", "target_dataset", "target_dataset_id", "transformation_type",
    "transformation_subtype", "transformation_description", "masking", "discovered_at", "last_seen_at",
)  # fmt: skip
_EDGE_UPDATES = (
    "run_id = CASE WHEN s.run_id IS NOT NULL AND (t.last_seen_at IS NULL OR s.last_seen_at >= t.last_seen_at) "
    "THEN s.run_id ELSE t.run_id END",
    _earliest("discovered_at"),
    _latest("last_seen_at"),
)


@dataclass(frozen=True, slots=True)
class Rule:
    """How one table merges: its bound columns (one `?` each, in this order), the SET list of WHEN MATCHED (empty:
    insert only), and INSERT expressions that differ from `s.<column>`."""

    columns: tuple[str, ...]
    updates: tuple[str, ...] = ()
    insert: tuple[tuple[str, str], ...] = ()


RULES: dict[str, Rule] = {
    "OL_NAMESPACE": Rule(("namespace_id", "namespace_uri", "created_at")),
    "OL_JOB": Rule(
        ("job_id", "namespace_id", "name", "description", "job_type", "created_at", "updated_at", "name_key",
         "parent_job_id"),
        (*(_newer(c) for c in ("description", "job_type", "name_key", "parent_job_id")), _earliest("created_at"),
         _latest("updated_at")),
    ),
    "OL_DATASET": Rule(
        ("dataset_id", "namespace_id", "name", "description", "source_type", "created_at", "updated_at", "is_active",
         "name_key"),
        (*(_newer(c) for c in ("description", "source_type", "name_key")), _earliest("created_at"),
         _latest("updated_at"),
         # The parameter says whether this event had lifecycle news; a first sighting without news is active.
         "is_active = CASE WHEN s.is_active IS NOT NULL AND (t.updated_at IS NULL OR s.updated_at >= t.updated_at) "
         "THEN s.is_active ELSE t.is_active END"),
        (("is_active", "COALESCE(s.is_active, 'Y')"),),
    ),
    "OL_DATASET_FIELD": Rule(
        ("field_id", "dataset_id", "field_name", "field_type", "field_description", "ordinal_position", "created_at",
         "updated_at"),
        (*(_newer(c) for c in ("field_type", "field_description", "ordinal_position")), _earliest("created_at"),
         _latest("updated_at")),
    ),
    "OL_RUN": Rule(
        ("run_id", "job_id", "event_type", "event_time", "nominal_start_time", "nominal_end_time", "producer",
         "schema_url", "created_at", "started_at", "ended_at", "last_event_time", "parent_run_id", "parent_job_id",
         "root_run_id", "root_job_id"),
        (f"event_type = CASE WHEN {_RUN_WINS} THEN s.event_type ELSE t.event_type END",
         f"event_time = CASE WHEN {_RUN_WINS} THEN s.event_time ELSE t.event_time END",
         f"ended_at = CASE WHEN {_RUN_WINS} AND s.ended_at IS NOT NULL THEN s.ended_at ELSE t.ended_at END",
         _earliest("started_at"), _earliest("created_at"), _latest("last_event_time"),
         *(_coalesce(c) for c in ("nominal_start_time", "nominal_end_time", "producer", "schema_url", "parent_run_id",
                                  "parent_job_id", "root_run_id", "root_job_id"))),
    ),
    "OL_RUN_INPUT": Rule(("run_id", "dataset_id")),
    "OL_RUN_OUTPUT": Rule(("run_id", "dataset_id")),
    "OL_COLUMN_LINEAGE": Rule(
        (*_EDGE, "target_field", "target_field_id", "confidence_score"), (*_EDGE_UPDATES, _coalesce("confidence_score"))
    ),
    "OL_COLUMN_LINEAGE_DATASET": Rule(_EDGE, _EDGE_UPDATES),
    "OL_DATASET_SYMLINK": Rule(
        ("symlink_id", "dataset_id", "symlink_namespace", "symlink_name", "symlink_type", "symlink_dataset_id",
         "created_at")
    ),
}  # fmt: skip
EVENT_COLUMNS = tuple(c.name for c in OL_EVENT.columns)
FACET_KEY = ("owner", "entity_id", "facet_name")


# --- statements -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One parameterised statement: `columns` names the row value bound to each `?`, in order (a name may repeat)."""

    sql: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableWrite:
    """Everything a batch writes into one table: rows from `params`, each statement run for every row."""

    table: Table
    key: tuple[str, ...]  # rows sharing a key go to successive executemany calls, so they merge in batch order
    statements: tuple[Statement, ...]
    params: Callable[[EventRows], Iterable[Params]]
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


def merge_sql(rule: Rule, target: str, on: Sequence[str], types: dict[str, ColumnInfo]) -> str:
    """MERGE of one incoming row (USING VALUES) onto `target`, matched on the columns `on`."""
    values = ", ".join(_marker(c, types.get(c)) for c in rule.columns)
    cols = ", ".join(rule.columns)
    inserts = dict(rule.insert)
    sql = (
        f"MERGE INTO {target} AS t USING VALUES ({values}) AS s ({cols}) "
        f"ON {' AND '.join(f't.{c} = s.{c}' for c in on)}"
    )
    if rule.updates:
        sql += f" WHEN MATCHED THEN UPDATE SET {', '.join(rule.updates)}"
    exprs = ", ".join(inserts.get(c, f"s.{c}") for c in rule.columns)
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


_INSERT_TARGET = re.compile(r"INSERT INTO (\w+) \(")


def _builders() -> dict[str, Callable[[EventRows], Iterable[Params]]]:
    """The parameter builders of schemas.sql.upserts, by the table each one writes."""
    found = {}
    for write in WRITES:
        match = _INSERT_TARGET.match(write.sql)
        if match is None:
            raise StoreError(f"cannot tell which table this upsert writes: {write.sql[:60]}")
        found[match[1]] = write.params
    return found


def plan(database: str, catalog: Catalog) -> tuple[TableWrite, ...]:
    """Every table write of a batch, in schemas.sql.upserts' order, for the database `catalog` describes."""
    builders = _builders()
    writes = []
    for name, params in builders.items():
        table = TABLE_BY_NAME[name]
        types = catalog.types.get(name, {})
        target = ddl.qualified(table, Dialect.TERADATA, database)
        if name == OL_EVENT.name:
            statements: tuple[Statement, ...] = (event_insert(target, types),)
        elif name == OL_FACET.name:
            statements = facet_statements(table, target, catalog, types)
        else:
            rule = RULES[name]
            on = match_columns(table, catalog, rule.columns)
            statements = (Statement(merge_sql(rule, target, on, types), rule.columns),)
        writes.append(TableWrite(table, table.primary_key, statements, params, fitters(table, types)))
    return tuple(writes)


def event_insert(target: str, types: dict[str, ColumnInfo]) -> Statement:
    # New events only (stored ids are filtered first): a plain INSERT, a clash is a race to retry, not a merge.
    marks = ", ".join(_marker(c, types.get(c)) for c in EVENT_COLUMNS)
    return Statement(f"INSERT INTO {target} ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})", EVENT_COLUMNS)  # noqa: S608


def facet_statements(
    table: Table, target: str, catalog: Catalog, types: dict[str, ColumnInfo]
) -> tuple[Statement, ...]:
    """Insert an empty row for a new key, then set payload and time unless the stored row is newer (the upserts'
    `WHERE OL_FACET.event_time IS NULL OR excluded.event_time >= OL_FACET.event_time`)."""
    on = match_columns(table, catalog, FACET_KEY)
    placeholder = merge_sql(Rule(FACET_KEY), target, on, types)
    time = _marker("event_time", types.get("event_time") or ColumnInfo("TS", 6, None, True))
    where = " AND ".join(f"{c} = ?" for c in on)
    update = (
        f"UPDATE {target} SET payload = ?, event_time = {time} WHERE {where} "  # noqa: S608
        f"AND (event_time IS NULL OR event_time <= {time})"
    )
    return Statement(placeholder, FACET_KEY), Statement(update, ("payload", "event_time", *on, "event_time"))


def stored_events_sql(database: str) -> str:
    """The duplicate check: which of ID_CHUNK event ids are stored. Run inside the write transaction without an
    ACCESS lock, so that a concurrent writer of the same event conflicts (deadlock, retried) instead of both
    writers inserting it."""
    marks = ", ".join("?" * ID_CHUNK)
    target = ddl.qualified(OL_EVENT, Dialect.TERADATA, database)
    return f"SELECT event_id FROM {target} WHERE event_id IN ({marks})"  # noqa: S608


def id_chunks(event_ids: Sequence[str]) -> list[tuple[str, ...]]:
    """The ids in chunks of exactly ID_CHUNK, the last padded with its own last id (one request text, cached)."""
    chunks = []
    for start in range(0, len(event_ids), ID_CHUNK):
        chunk = list(event_ids[start : start + ID_CHUNK])
        chunks.append(tuple(chunk + [chunk[-1]] * (ID_CHUNK - len(chunk))))
    return chunks


def waves(rows: Sequence[Params], key: Sequence[str]) -> list[list[Params]]:
    """Split rows so no key repeats within a wave; a key's rows keep their batch order across waves. Each wave is
    one executemany, so a later row of the batch merges onto an earlier one exactly as in two batches, whatever
    order Teradata applies the rows of one iterated request in."""
    seen: dict[tuple[Any, ...], int] = {}
    result: list[list[Params]] = []
    for row in rows:
        identity = tuple(row[c] for c in key)
        wave = seen.get(identity, 0)
        seen[identity] = wave + 1
        if wave == len(result):
            result.append([])
        result[wave].append(row)
    return result


def bind(statement: Statement, rows: Sequence[Params], fit: dict[str, Callable[[Any], Any]]) -> list[tuple[Any, ...]]:
    """Each row's values in the statement's parameter order, fitted to the declared columns."""
    identity: Callable[[Any], Any] = _same
    return [tuple(fit.get(c, identity)(row[c]) for c in statement.columns) for row in rows]


def _same(value: Any) -> Any:
    return value


# --- reads ------------------------------------------------------------------------------------------------

_READ_TOKENS = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|(?<![.\w])(OL_[A-Z_]+)\b")
TIMESTAMP_PARAMS = frozenset({"after", "before"})  # compared with TIMESTAMP columns: bound as timestamps


def read_sql(sql: str, params: dict[str, Any], database: str) -> tuple[str, tuple[Any, ...]]:
    """A schemas.sql.reads statement for Teradata: `:name` parameters become `?` (values in order of appearance),
    OL_* tables are qualified with the database, and the request reads under an ACCESS lock, so that a lineage
    query never waits for (nor blocks) the writer; it may see a batch that is being written."""
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

    return "LOCKING ROW FOR ACCESS " + _READ_TOKENS.sub(replace, sql), tuple(values)


def read_value(value: Any) -> Any:
    """A result value as schemas.sql.reads' types hold it: timestamps as store text, decimals as float, and the
    trailing blanks of CHAR(1) flags (Teradata pads CHAR results in a UTF8 session) removed."""
    if isinstance(value, datetime):
        return format_store_time(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.endswith(" ") and len(value.rstrip(" ")) <= 1:
        return value.rstrip(" ")
    return value
