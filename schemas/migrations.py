"""Named schema migrations, recorded in OL_SCHEMA_VERSION, applied by diffing the catalog.

There is no list of ALTER statements per migration: the target is the current schema of schemas.tables,
and an upgrade reads what the database holds (tables, columns, indexes, recorded versions), creates the
tables that are missing, adds the columns that are missing, creates the indexes that are missing, then
records every migration not yet recorded. That is idempotent by construction, works on a database built
by the seed application (its nine tables, `since=1` columns and its version-1 row), and never drops or
narrows anything: extra tables, columns and indexes (the seed's indexes on text, say) are left alone.

Reading the catalog is the only dialect-specific step and sits behind `Target.read_catalog`; each backend
package has its reader (schemas.sqlite.catalog, schemas.teradata.catalog). Teradata's also reports each column's
declared type and each table's primary index, so an upgrade can widen the seed's too-narrow VARCHARs in place.
Teradata cannot change everything in place:
- a column covered by any index (the seed indexed its name columns as text) keeps its width: widening it would
  mean dropping the seed's index, and an upgrade never drops. `blocked_widenings` names them; the store cuts
  values to the width the column has. A DBA who drops those indexes and runs the upgrade again gets the width.
- the seed's TIMESTAMP(0) columns (OL_RUN.nominal_start_time, nominal_end_time) cannot become TIMESTAMP(6):
  the store writes such columns truncated to whole seconds.
The caller owns the transaction: a SQLite store runs a whole upgrade inside one BEGIN IMMEDIATE; on Teradata
every DDL statement commits on its own (ANSI mode allows DDL only as a transaction's last statement), so an
interrupted upgrade leaves a prefix of the work done and the next run, diffing again, finishes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.dsn import Dialect
from schemas.sql import ddl
from schemas.store import Migration, SchemaStatus, StoreError
from schemas.tables import TABLES, ColType, Column, Index, Table
from schemas.times import format_store_time

logger = logging.getLogger(__name__)

SPEC_VERSION = "2-0-2"  # OpenLineage spec version recorded with every migration, as the seed did

MIGRATIONS: tuple[Migration, ...] = (
    # Exactly the seed application's row, so a seed database counts as having applied it.
    Migration(1, "initial_openlineage_schema", "1.0.0", "Initial OpenLineage schema"),
    Migration(
        2,
        "event_ingestion",
        "2.0.0",
        "OpenLineage event ingestion: raw event archive, run state and times, facets, symlinks, "
        "dataset-level column lineage, hashed keys",
    ),
    Migration(
        3,
        "population_watermarks",
        "3.0.0",
        "Population progress: a watermark per source and the items a source has yet to finish",
    ),
    Migration(
        4,
        "folded_names",
        "3.1.0",
        "Unicode case-folded names for search and a hashed database key for database lineage, filled for old rows",
    ),
    Migration(5, "dataset_versions", "3.2.0", "Dataset versions: each distinct set of facets an event carried"),
    Migration(
        6, "event_time_index", "3.3.0", "Index on OL_EVENT (event_kind, event_time, event_id) for event listings"
    ),
)


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column as the database declares it (Teradata's reader fills these; SQLite's has nothing to say)."""

    type: str  # DBC.ColumnsV.ColumnType, trimmed: CV VARCHAR, CF CHAR, TS TIMESTAMP, I INTEGER, D DECIMAL, CO CLOB
    length: int  # characters for CV/CF/CO, fractional-second digits for TS, 0 otherwise
    charset: str | None  # LATIN, UNICODE, ... for character columns
    nullable: bool


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a database holds, as far as the OL_* schema is concerned. Names are normalised:
    tables upper case, columns and indexes lower case (all three dialects compare them case-insensitively)."""

    columns: dict[str, frozenset[str]]  # table -> its columns, for every table present
    indexes: frozenset[str]
    versions: frozenset[int]  # OL_SCHEMA_VERSION.version_id values; empty without the table
    # Below: only where the reader knows them (Teradata). Empty means "not known", never "none".
    types: dict[str, dict[str, ColumnInfo]] = field(default_factory=dict)  # table -> column -> declaration
    primary_indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> PI columns, in order
    indexed: dict[str, frozenset[str]] = field(default_factory=dict)  # table -> columns any index covers

    @property
    def empty(self) -> bool:
        """True when no OL_* table exists at all."""
        return not any(table.name in self.columns for table in TABLES)


@dataclass(frozen=True, slots=True)
class Target:
    """One database to migrate: how to read its catalog and how to run a statement (with parameters)."""

    dialect: Dialect
    read_catalog: Callable[[], Catalog]
    execute: Callable[[str, Sequence[object]], object]
    database: str | None = None  # Teradata: the database holding the OL_* tables


def missing_ddl(catalog: Catalog, dialect: Dialect, database: str | None = None) -> list[str]:
    """The DDL that brings `catalog` to the current schema: CREATE TABLE, ALTER TABLE ... ADD, CREATE INDEX,
    then (Teradata) statistics for what was created. On an empty catalog it equals `ddl.render_schema`."""
    creates: list[str] = []
    adds: list[str] = []
    index_ddl: list[str] = []
    statistics: list[str] = []
    for table in TABLES:
        present = catalog.columns.get(table.name)
        new_indexes = tuple(i for i in _indexes(catalog, table, dialect) if i.name.lower() not in catalog.indexes)
        if present is None:
            creates.append(ddl.create_table(table, dialect, database))
            statistics += ddl.collect_statistics(table, dialect, database)
        else:
            adds += [
                ddl.add_column(table, c, dialect, database) for c in table.columns if c.name.lower() not in present
            ]
            adds += [ddl.widen_column(table, c, dialect, database, charset=info.charset or "", nullable=info.nullable)
                     for c, info in _widenable(catalog, table, dialect)]  # fmt: skip
            if new_indexes:
                statistics += ddl.collect_statistics(table, dialect, database, new_indexes=new_indexes)
        index_ddl += [ddl.create_index(table, index, dialect, database) for index in new_indexes]
    return creates + adds + index_ddl + statistics


def _indexes(catalog: Catalog, table: Table, dialect: Dialect) -> tuple[Index, ...]:
    """The secondary indexes `table` should have here. Where a NUSI repeating the primary index is left out, the PI
    that counts is the one the table has: a seed table keeps its own, and then the NUSI our PI made redundant (on
    OL_COLUMN_LINEAGE.target_field_id, which upstream traversal reads by) is needed after all."""
    actual = catalog.primary_indexes.get(table.name)
    if actual is None or ddl.DIALECT_DDL[dialect].index_on_pi:
        return ddl.indexes(table, dialect)
    return tuple(index for index in table.indexes if index.columns != actual)


def _narrow(catalog: Catalog, table: Table) -> list[tuple[Column, ColumnInfo]]:
    """VARCHAR columns the database declares shorter than schemas.tables does (never the other way round)."""
    declared = catalog.types.get(table.name, {})
    narrow = []
    for column in table.columns:
        info = declared.get(column.name.lower())
        if column.type is ColType.VARCHAR and info is not None and info.type in ("CV", "CF") and info.length:
            if info.length < column.length:
                narrow.append((column, info))
    return narrow


def _widenable(catalog: Catalog, table: Table, dialect: Dialect) -> list[tuple[Column, ColumnInfo]]:
    if ddl.DIALECT_DDL[dialect].widen_column is None:
        return []
    indexed = catalog.indexed.get(table.name, frozenset())
    return [(c, info) for c, info in _narrow(catalog, table) if info.type == "CV" and c.name.lower() not in indexed]


def blocked_widenings(catalog: Catalog, dialect: Dialect) -> list[str]:
    """Columns narrower than the schema wants that an upgrade cannot widen in place, each with the reason.

    Values longer than such a column are cut to its width when written (see schemas.teradata.sql)."""
    blocked = []
    for table in TABLES:
        widenable = {c.name for c, _ in _widenable(catalog, table, dialect)}
        indexed = catalog.indexed.get(table.name, frozenset())
        for column, info in _narrow(catalog, table):
            if column.name in widenable:
                continue
            why = "an index covers it" if column.name.lower() in indexed else f"it is {info.type}, not VARCHAR"
            blocked.append(f"{table.name}.{column.name} stays at {info.length} characters ({why})")
    return blocked


def unrecorded(catalog: Catalog) -> tuple[Migration, ...]:
    return tuple(m for m in MIGRATIONS if m.version not in catalog.versions)


def status(catalog: Catalog) -> SchemaStatus:
    """Applied and pending migrations, by what OL_SCHEMA_VERSION records, and the tables and columns that a
    recorded migration made yet the database lacks (a table dropped by hand): every write would fail on them."""
    return SchemaStatus(
        applied=tuple(m for m in MIGRATIONS if m.version in catalog.versions),
        pending=unrecorded(catalog),
        missing=missing_objects(catalog),
    )


def missing_objects(catalog: Catalog) -> tuple[str, ...]:
    """`table OL_X` and `column OL_X.y` for each table or column of a recorded migration that the catalog lacks.
    What a pending migration adds is not listed: that is the migration's news. Indexes are not checked: a missing
    one slows reads but fails no write."""
    missing: list[str] = []
    for table in TABLES:
        present = catalog.columns.get(table.name)
        if present is None:
            if table.since in catalog.versions:
                missing.append(f"table {table.name}")
            continue
        missing += [
            f"column {table.name}.{c.name}"
            for c in table.columns
            if c.since in catalog.versions and c.name.lower() not in present
        ]
    return tuple(missing)


def upgrade(target: Target, *, now: datetime | None = None) -> list[str]:
    """Bring the database to the current schema and record pending migrations. Never drops anything.

    Returns the statements run (the INSERTs with their parameter markers); empty when already current.
    Running it again right after changes nothing.
    """
    catalog = target.read_catalog()
    statements = missing_ddl(catalog, target.dialect, target.database)
    for statement in statements:
        target.execute(statement, ())
    pending = unrecorded(catalog)
    if pending:
        insert = ddl.insert_schema_version(target.dialect, target.database)
        applied_at = format_store_time(now or datetime.now(UTC), "seconds")  # the column is TIMESTAMP(0)
        for migration in pending:
            params = (migration.version, SPEC_VERSION, migration.schema_version, applied_at, migration.description,
                      migration.name)  # fmt: skip
            target.execute(insert, params)
            statements.append(insert)
            logger.info("recorded schema migration %s (%s)", migration.version, migration.name)
    return statements


def create(target: Target, *, now: datetime | None = None) -> list[str]:
    """Create the schema on an empty database (exactly `ddl.render_schema`, then every migration recorded).

    A no-op returning [] on a current database. A database holding an older or partial OL_* schema is
    refused with a StoreError that points at `lineage schema upgrade`, so `create` never alters existing tables.
    """
    catalog = target.read_catalog()
    if catalog.empty:
        return upgrade(target, now=now)
    if not missing_ddl(catalog, target.dialect, target.database) and not unrecorded(catalog):
        return []
    raise StoreError("the database already holds an older OL_* schema; run `lineage schema upgrade` to bring it up")


def schema_catalog(*, only: tuple[Table, ...] = TABLES) -> Catalog:
    """The catalog a database created by `render_schema(TERADATA)` reports: every table, column and index, with the
    declared types and primary indexes of schemas.tables, and every migration recorded. Used to plan statements
    before a catalog has been read, and by tests."""
    types = {t.name: {c.name.lower(): _declared(c) for c in t.columns} for t in only}
    return Catalog(
        columns={t.name: frozenset(c.name.lower() for c in t.columns) for t in only},
        indexes=frozenset(i.name.lower() for t in only for i in ddl.indexes(t, Dialect.TERADATA)),
        versions=frozenset(m.version for m in MIGRATIONS),
        types=types,
        primary_indexes={t.name: t.primary_index for t in only},
        indexed={t.name: frozenset({*t.primary_index, *(c for i in t.indexes for c in i.columns)}) for t in only},
    )


_TYPE_CODES = {ColType.VARCHAR: "CV", ColType.CHAR: "CF", ColType.TIMESTAMP: "TS", ColType.INTEGER: "I",
               ColType.DECIMAL: "D", ColType.CLOB: "CO"}  # fmt: skip


def _declared(column: Column) -> ColumnInfo:
    text = column.type in (ColType.VARCHAR, ColType.CHAR, ColType.CLOB)
    length = column.length if column.type in (ColType.VARCHAR, ColType.CHAR, ColType.TIMESTAMP) else 0
    return ColumnInfo(_TYPE_CODES[column.type], length, "UNICODE" if text else None, column.nullable)
