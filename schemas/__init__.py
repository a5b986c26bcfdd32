"""The data layer: OL_* table definitions, DDL per dialect, migrations, and one store per backend."""

from __future__ import annotations

from schemas.dsn import Dialect, Dsn
from schemas.store import Store, StoreError


def open_store(dsn: Dsn) -> Store:
    """The store a DSN names, opened. Only SQLite has a backend in this version; its schema is not touched
    (the caller runs upgrade_schema). Raises StoreError for the others and for a file that cannot be opened."""
    if dsn.dialect is Dialect.SQLITE:
        from schemas.sqlite import SqliteStore  # imported here: importing `schemas` stays free of drivers

        return SqliteStore(dsn.path)
    raise StoreError(
        f"the {dsn.dialect.value} store arrives in a later version: its DDL can be rendered "
        "(`schemas.ddl.render_schema`) but no driver is wired in yet; use a sqlite:/// DSN for now"
    )
