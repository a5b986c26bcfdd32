"""Named schema migrations, recorded in OL_SCHEMA_VERSION, applied by diffing the catalog.

There is no list of ALTER statements per migration: the target is the current schema of schemas.tables,
and an upgrade reads what the database holds (tables, columns, indexes, recorded versions), creates the
tables that are missing, adds the columns that are missing, creates the indexes that are missing, then
records every migration not yet recorded. That is idempotent by construction, works on a database built
by the seed application (its nine tables, `since=1` columns and its version-1 row), and never drops or
narrows anything: extra tables, columns and indexes (the seed's indexes on text, say) are left alone.

Reading the catalog is the only dialect-specific step and sits behind `Target.read_catalog`; SQLite's
reader is here. PostgreSQL (information_schema) and Teradata (DBC.ColumnsV, DBC.IndicesV) plug in later.
The caller owns the transaction: a SQLite store runs a whole upgrade inside one BEGIN IMMEDIATE.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas import ddl
from schemas.dsn import Dialect
from schemas.store import Migration, SchemaStatus, StoreError
from schemas.tables import OL_SCHEMA_VERSION, TABLES

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
)


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a database holds, as far as the OL_* schema is concerned. Names are normalised:
    tables upper case, columns and indexes lower case (all three dialects compare them case-insensitively)."""

    columns: dict[str, frozenset[str]]  # table -> its columns, for every table present
    indexes: frozenset[str]
    versions: frozenset[int]  # OL_SCHEMA_VERSION.version_id values; empty without the table

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
        new_indexes = tuple(i for i in ddl.indexes(table, dialect) if i.name.lower() not in catalog.indexes)
        if present is None:
            creates.append(ddl.create_table(table, dialect, database))
            statistics += ddl.collect_statistics(table, dialect, database)
        else:
            adds += [
                ddl.add_column(table, c, dialect, database) for c in table.columns if c.name.lower() not in present
            ]
            if new_indexes:
                statistics += ddl.collect_statistics(table, dialect, database, new_indexes=new_indexes)
        index_ddl += [ddl.create_index(table, index, dialect, database) for index in new_indexes]
    return creates + adds + index_ddl + statistics


def unrecorded(catalog: Catalog) -> tuple[Migration, ...]:
    return tuple(m for m in MIGRATIONS if m.version not in catalog.versions)


def status(catalog: Catalog) -> SchemaStatus:
    """Applied and pending migrations, by what OL_SCHEMA_VERSION records."""
    return SchemaStatus(
        applied=tuple(m for m in MIGRATIONS if m.version in catalog.versions), pending=unrecorded(catalog)
    )


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
        applied_at = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")
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


# --- SQLite -----------------------------------------------------------------------------------------------


def read_sqlite_catalog(connection: sqlite3.Connection) -> Catalog:
    """The catalog of a SQLite database, from sqlite_master and pragma_table_info (bound, never interpolated)."""
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {
        name.upper(): frozenset(
            row[0].lower() for row in connection.execute("SELECT name FROM pragma_table_info(?)", (name,))
        )
        for name in tables
    }
    index_rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    indexes = frozenset(row[0].lower() for row in index_rows)
    return Catalog(columns=columns, indexes=indexes, versions=_recorded_versions(connection, columns))


def _recorded_versions(connection: sqlite3.Connection, columns: dict[str, frozenset[str]]) -> frozenset[int]:
    if OL_SCHEMA_VERSION.name not in columns:
        return frozenset()
    # SQLite compares table names case-insensitively, so this finds the table whatever case created it.
    return frozenset(int(row[0]) for row in connection.execute("SELECT version_id FROM OL_SCHEMA_VERSION"))


def sqlite_target(connection: sqlite3.Connection) -> Target:
    """A migration target over an open sqlite3 connection; the caller wraps the call in a transaction."""
    return Target(
        dialect=Dialect.SQLITE,
        read_catalog=lambda: read_sqlite_catalog(connection),
        execute=lambda sql, params: connection.execute(sql, params),
    )
