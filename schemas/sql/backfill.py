"""The data an upgrade fills in old rows: the ids of the old Teradata application's lineage rows, and the folded
names (migration 4) of rows written before them.

That application wrote OL_COLUMN_LINEAGE rows with names only: their `source_dataset_id`, `target_dataset_id`,
`source_field_id` and `target_field_id` are NULL (the columns came with migration 2). Traversal looks edges up
by those ids (schemas.sql.reads.COLUMN_EDGES reads only rows whose four ids are set), so `upgrade_schema` fills
them, after the DDL, with the ids schemas.rows computes for new rows from the same names.

Migration 4 added OL_DATASET.name_fold and database_key, OL_DATASET_FIELD.field_name_fold and OL_JOB.name_fold,
which search and database lineage read: `backfill_folded_names` computes them (schemas.rows) for the rows that
have none, so that no row written before the upgrade drops out of a search.

Bounded and idempotent: rows are read BACKFILL_ROWS at a time in lineage_id order (keyset paging: each chunk
starts after the last id of the one before, so it ends even where a row cannot change), and a column is only
set where it is NULL, so running it again, or after an interruption, fills what is left and nothing else.
Statements use the dialect's positional marker; the caller owns the transaction (SQLite: the upgrade's own;
Teradata: each UPDATE commits on its own, which the idempotency makes safe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.dsn import Dialect
from schemas.rows import dataset_key, field_key, fold, name_database_key
from schemas.sql import ddl
from schemas.tables import OL_COLUMN_LINEAGE, OL_DATASET, OL_DATASET_FIELD, OL_JOB, Table

logger = logging.getLogger(__name__)

BACKFILL_ROWS = 500  # rows read and updated per round trip: bounds memory and the size of one request

Query = Callable[[str, Sequence[object]], Sequence[Sequence[Any]]]
ExecuteMany = Callable[[str, list[tuple[Any, ...]]], object]

ID_COLUMNS = ("source_dataset_id", "target_dataset_id", "source_field_id", "target_field_id")
_NAMES = ("source_namespace", "source_dataset", "source_field", "target_namespace", "target_dataset", "target_field")
_ANY_ID_NULL = " OR ".join(f"{column} IS NULL" for column in ID_COLUMNS)


def legacy_edges_sql(dialect: Dialect, database: str | None = None) -> str:
    """Up to BACKFILL_ROWS rows with a NULL id column after a lineage_id (bound): lineage_id and the six names."""
    table = ddl.qualified(OL_COLUMN_LINEAGE, dialect, database)
    mark = ddl.DIALECT_DDL[dialect].placeholder
    top, limit = (f"TOP {BACKFILL_ROWS} ", "") if dialect is Dialect.TERADATA else ("", f" LIMIT {BACKFILL_ROWS}")
    # Identifiers from schemas.tables and a validated database name only; the lineage_id is bound.
    return (
        f"SELECT {top}lineage_id, {', '.join(_NAMES)} FROM {table} "  # noqa: S608
        f"WHERE ({_ANY_ID_NULL}) AND lineage_id > {mark} ORDER BY lineage_id{limit}"
    )


def fill_sql(dialect: Dialect, database: str | None = None) -> str:
    """Set each id column of one row (by lineage_id) where it is NULL; parameters: the four ids, then lineage_id."""
    table = ddl.qualified(OL_COLUMN_LINEAGE, dialect, database)
    mark = ddl.DIALECT_DDL[dialect].placeholder
    sets = ", ".join(f"{column} = COALESCE({column}, {mark})" for column in ID_COLUMNS)
    return f"UPDATE {table} SET {sets} WHERE lineage_id = {mark}"  # noqa: S608


def legacy_edge_ids(names: Sequence[str]) -> tuple[str, str, str, str]:
    """The ids of ID_COLUMNS, in order, from an edge's six names (source namespace, dataset, field, then target's)."""
    source_ns, source_ds, source_field, target_ns, target_ds, target_field = names
    return (
        dataset_key(source_ns, source_ds),
        dataset_key(target_ns, target_ds),
        field_key(source_ns, source_ds, source_field),
        field_key(target_ns, target_ds, target_field),
    )


def backfill_legacy_edges(
    query: Query, execute_many: ExecuteMany, dialect: Dialect, database: str | None = None
) -> int:
    """Fill the NULL id columns of every legacy OL_COLUMN_LINEAGE row; the number of rows updated."""
    select, fill = legacy_edges_sql(dialect, database), fill_sql(dialect, database)
    filled, after = 0, ""
    while rows := query(select, (after,)):
        execute_many(fill, [(*legacy_edge_ids([str(n) for n in row[1:]]), row[0]) for row in rows])
        filled += len(rows)
        after = str(rows[-1][0])
    if filled:
        logger.info("filled the lineage ids of %d rows the old Teradata application wrote", filled)
    return filled


@dataclass(frozen=True, slots=True)
class Folded:
    """The folded columns of one table and how they derive from its name column. `order` is the unique key the
    rows are paged by; `where` the columns an UPDATE matches (Teradata's primary index first: a single-AMP step)."""

    table: Table
    order: str
    where: tuple[str, ...]
    name: str
    columns: tuple[str, ...]
    values: Callable[[str], tuple[str | None, ...]]


FOLDED: tuple[Folded, ...] = (
    Folded(
        OL_DATASET,
        "dataset_id",
        ("dataset_id",),
        "name",
        ("name_fold", "database_key"),
        lambda name: (fold(name), name_database_key(name)),
    ),
    Folded(
        OL_DATASET_FIELD,
        "field_id",
        ("dataset_id", "field_id"),
        "field_name",
        ("field_name_fold",),
        lambda name: (fold(name),),
    ),
    Folded(OL_JOB, "job_id", ("job_id",), "name", ("name_fold",), lambda name: (fold(name),)),
)


def unfolded_sql(folded: Folded, dialect: Dialect, database: str | None = None) -> str:
    """Up to BACKFILL_ROWS rows without a folded name after an `order` key (bound): the `where` keys and the name."""
    table = ddl.qualified(folded.table, dialect, database)
    mark = ddl.DIALECT_DDL[dialect].placeholder
    top, limit = (f"TOP {BACKFILL_ROWS} ", "") if dialect is Dialect.TERADATA else ("", f" LIMIT {BACKFILL_ROWS}")
    keys = dict.fromkeys((folded.order, *folded.where))
    return (
        f"SELECT {top}{', '.join(keys)}, {folded.name} FROM {table} "  # noqa: S608
        f"WHERE {folded.columns[0]} IS NULL AND {folded.order} > {mark} ORDER BY {folded.order}{limit}"
    )


def fold_sql(folded: Folded, dialect: Dialect, database: str | None = None) -> str:
    """Set the folded columns of one row where they are NULL; parameters: their values, then the `where` keys."""
    table = ddl.qualified(folded.table, dialect, database)
    mark = ddl.DIALECT_DDL[dialect].placeholder
    sets = ", ".join(f"{column} = COALESCE({column}, {mark})" for column in folded.columns)
    where = " AND ".join(f"{column} = {mark}" for column in folded.where)
    return f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608


def backfill_folded_names(
    query: Query, execute_many: ExecuteMany, dialect: Dialect, database: str | None = None
) -> int:
    """Fill the folded names of every row written before migration 4; the number of rows updated."""
    filled = 0
    for folded in FOLDED:
        select, update = unfolded_sql(folded, dialect, database), fold_sql(folded, dialect, database)
        keys = list(dict.fromkeys((folded.order, *folded.where)))
        at_order, at_where = keys.index(folded.order), [keys.index(c) for c in folded.where]
        after = ""
        while rows := query(select, (after,)):
            execute_many(update, [(*folded.values(str(row[-1])), *(row[i] for i in at_where)) for row in rows])
            filled += len(rows)
            after = str(rows[-1][at_order])
    if filled:
        logger.info("filled the folded names of %d rows written before the upgrade", filled)
    return filled
