"""The data layer: OL_* table definitions, DDL per dialect, migrations, and one store per backend."""

from __future__ import annotations

from schemas.dsn import Dialect, Dsn
from schemas.store import Store, StoreError


def open_store(dsn: Dsn) -> Store:
    """The store a DSN names, opened. SQLite and Teradata have backends; the schema is not touched (the caller
    runs upgrade_schema). A Teradata store connects on first use, so an unreachable server shows up as
    StoreUnavailable from that call, not here. Raises StoreError for PostgreSQL and for a file that cannot be opened."""
    if dsn.dialect is Dialect.SQLITE:
        from schemas.sqlite.store import SqliteStore  # imported here: importing `schemas` stays free of drivers

        return SqliteStore(dsn.path)
    if dsn.dialect is Dialect.TERADATA:
        from schemas.teradata.store import TeradataStore

        try:
            return TeradataStore(dsn)
        except ValueError as error:  # a database name that is not an identifier
            raise StoreError(str(error)) from error
    raise StoreError(
        f"the {dsn.dialect.value} store arrives in a later version: its DDL can be rendered "
        "(`schemas.sql.ddl.render_schema`) but no driver is wired in yet; use a sqlite:/// DSN for now"
    )
