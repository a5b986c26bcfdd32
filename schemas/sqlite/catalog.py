"""The SQLite catalog reader: what tables, columns, indexes and recorded migrations a SQLite file holds.

The migration engine (schemas.migrations) diffs this against schemas.tables; SQLite reports no declared types
or primary indexes worth knowing (the store never fits values to it), so those fields stay empty.
"""

from __future__ import annotations

import sqlite3

from schemas.dsn import Dialect
from schemas.migrations import Catalog, Target
from schemas.tables import OL_SCHEMA_VERSION


def read_catalog(connection: sqlite3.Connection) -> Catalog:
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


def target(connection: sqlite3.Connection) -> Target:
    """A migration target over an open sqlite3 connection; the caller wraps the call in a transaction."""
    return Target(
        dialect=Dialect.SQLITE,
        read_catalog=lambda: read_catalog(connection),
        execute=lambda sql, params: connection.execute(sql, params),
    )
