"""The data layer: OL_* table definitions, DDL per dialect, migrations, and one store per backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.dsn import Dialect, Dsn
from schemas.sql.memory import DEFAULT_LIMIT, DEFAULT_REFRESH_SECONDS
from schemas.store import Store, StoreError

if TYPE_CHECKING:
    from schemas.postgresql.store import PostgresStore
    from schemas.sqlite.store import SqliteStore
    from schemas.teradata.store import TeradataStore


def open_store(
    dsn: Dsn, *, create: bool = True, memory_keys: int = DEFAULT_LIMIT, refresh: float = DEFAULT_REFRESH_SECONDS
) -> Store:
    """The store a DSN names, opened; the schema is not touched (the caller runs upgrade_schema). A Teradata store
    connects on first use and a PostgreSQL store in the background, so an unreachable server shows up as
    StoreUnavailable from the first call, not here. Raises StoreError for a file that cannot be opened, and with
    `create=False` for a SQLite file that does not exist (instead of creating an empty one). `memory_keys` and
    `refresh` size the writer's memory (schemas.sql.memory)."""
    store = _open(dsn, create)
    store.remember(limit=memory_keys, refresh=refresh)
    return store


def _open(dsn: Dsn, create: bool) -> SqliteStore | TeradataStore | PostgresStore:
    if dsn.dialect is Dialect.SQLITE:
        from schemas.sqlite.store import SqliteStore  # imported here: importing `schemas` stays free of drivers

        return SqliteStore(dsn.path, create=create)
    if dsn.dialect is Dialect.TERADATA:
        from schemas.teradata.store import TeradataStore

        try:
            return TeradataStore(dsn)
        except ValueError as error:  # a database name that is not an identifier
            raise StoreError(str(error)) from error
    from schemas.postgresql.store import PostgresStore

    return PostgresStore(dsn)
