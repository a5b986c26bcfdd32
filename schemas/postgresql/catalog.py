"""The PostgreSQL catalog reader: the OL_* tables, their columns and indexes in the connection's current schema
(the first schema of its search_path that exists, `public` unless the DSN's `options` say otherwise).

The DDL names tables without quotes, so PostgreSQL keeps them lower case; the catalog reports them upper case, as
the migration engine (schemas.migrations) compares them. Declared types are not read: PostgreSQL's DDL has never
had widths too narrow to widen, so there is nothing for an upgrade to change in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from schemas.dsn import Dialect
from schemas.migrations import Catalog, Target
from schemas.tables import OL_SCHEMA_VERSION, TABLES

Query = Callable[[str, Sequence[object]], Sequence[Sequence[Any]]]

_OL_NAMES = [table.name.lower() for table in TABLES]
COLUMNS_SQL = (
    "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = ANY(%s)"
)
INDEXES_SQL = "SELECT indexname FROM pg_catalog.pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s)"
VERSIONS_SQL = f"SELECT version_id FROM {OL_SCHEMA_VERSION.name}"  # noqa: S608 - a name from schemas.tables


def read_catalog(query: Query) -> Catalog:
    """The catalog of the current schema, from information_schema.columns and pg_indexes (names bound)."""
    columns: dict[str, set[str]] = {}
    for table, column in query(COLUMNS_SQL, (_OL_NAMES,)):
        columns.setdefault(str(table).upper(), set()).add(str(column).lower())
    indexes = frozenset(str(row[0]).lower() for row in query(INDEXES_SQL, (_OL_NAMES,)))
    versions: frozenset[int] = frozenset()
    if OL_SCHEMA_VERSION.name in columns:
        versions = frozenset(int(row[0]) for row in query(VERSIONS_SQL, ()))
    return Catalog(columns={t: frozenset(c) for t, c in columns.items()}, indexes=indexes, versions=versions)


def target(query: Query, execute: Callable[[str, Sequence[object]], object]) -> Target:
    """A migration target over one connection; the caller runs the whole migration in one transaction
    (PostgreSQL's DDL is transactional, so an interrupted upgrade leaves nothing half-done)."""
    return Target(dialect=Dialect.POSTGRESQL, read_catalog=lambda: read_catalog(query), execute=execute)
