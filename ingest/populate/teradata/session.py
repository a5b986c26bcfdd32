"""What one Teradata session knows between statements: its volatile and global temporary tables, and how a
table reference resolves in it. Pure.

A volatile table is never a dataset: it is the union of everything loaded into it (column flows and
row-level inputs), inlined into every later statement of the session that reads it. A global temporary
table created in the session is treated the same way (its definition is permanent, its contents are
the session's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.lineage import Block, ColumnFlow, Resolved

VOLATILE_DB = "__volatile__"  # the database the qualifier sees session tables in (never a dataset)


@dataclass(slots=True)
class Volatile:
    """A volatile (or global temporary) table: its columns in DDL order and what was loaded into it."""

    name: str
    columns: list[str]
    database: str | None = None  # a global temporary table's database; None for a volatile table
    block: Block = field(default_factory=Block)

    def load(self, columns: list[tuple[str, ColumnFlow]], rows: Block) -> None:
        """Add one load: its column flows by name, and `rows`' row-level inputs for the whole table."""
        for name, flow in columns:
            current = self.block.column(name)
            if current is None:
                self.block.columns.append((name, flow))
            else:
                current.merge(flow)
        self.block.absorb(rows)

    def view(self) -> Block:
        """The contents as a block, columns in DDL order."""
        ordered = [(name, self.block.column(name) or ColumnFlow()) for name in self.columns]
        return Block(ordered, dict(self.block.rows), dict(self.block.reads))


@dataclass(slots=True)
class Session:
    """One session's temporary tables (by name, case-insensitive) and the job its QueryBand names."""

    volatiles: dict[str, Volatile] = field(default_factory=dict)
    job_name: str | None = None  # from SET QUERY_BAND = 'JobName=...;' FOR SESSION

    def find(self, db: str | None, name: str, default_database: str | None) -> Volatile | None:
        """The temporary table `db.name` names: a volatile table by its bare name, a global temporary
        one by its database (given, or the default)."""
        volatile = self.volatiles.get(name.casefold())
        if volatile is None:
            return None
        if db is not None and db.casefold() == VOLATILE_DB:
            return volatile
        if volatile.database is None:
            return volatile if db is None else None
        where = db or default_database
        return volatile if where is not None and where.casefold() == volatile.database.casefold() else None


def resolve(catalog: Catalog, session: Session, default_database: str | None, db: str | None, name: str) -> Resolved:
    """A table reference: a temporary table of the session, a catalog table (in the default database when
    unqualified), the only catalog table of that name in any database (a guess: weak), else a dataset the
    catalog does not know (weak), named as written."""
    volatile = session.find(db, name, default_database)
    if volatile is not None:
        return Resolved(block=volatile.view())
    if db is not None and db.casefold() != VOLATILE_DB:
        table = catalog.table(db, name)
        return Resolved(table.qualified, table) if table is not None else Resolved(f"{db}.{name}", weak=True)
    if default_database is not None:
        table = catalog.table(default_database, name)
        if table is not None:
            return Resolved(table.qualified, table)
    candidates = catalog.named(name)
    if len(candidates) == 1:
        return Resolved(candidates[0].qualified, candidates[0], weak=True)
    return Resolved(f"{default_database}.{name}" if default_database else name, weak=True)
