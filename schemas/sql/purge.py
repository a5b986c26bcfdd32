"""The purge's SQL (retention): the rows older than a cut-off, found a bounded batch at a time, and what goes with
them, as data. schemas.sqlstore.SqlStore.purge runs it on every backend.

What goes: runs whose last event is older than the cut-off, with their inputs, outputs and facets (run facets,
and the input and output facets of their datasets), and raw events (OL_EVENT) older than it; with `edges`, the
column lineage edges (column-level and dataset-level) not seen since. What stays: namespaces, datasets, fields,
jobs, symlinks, and every edge unless asked. A run with no time at all (a parent named only by its children) has
no age and stays.

Statements use `:name` parameters and bare OL_* names, as schemas.sql.reads does, so that each backend binds
them its own way (Teradata qualifies the tables and casts `:before` to a timestamp). The cut-off is `:before`,
store time text; keys come in keyset order (`key > :last`; not `:after`, which Teradata binds as a timestamp),
so each batch is one short index range read and the walk ends even where a row cannot be removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.dsn import Dialect
from schemas.rows import FacetOwner

PURGE_BATCH = 500  # keys per batch at most, so one IN list each (schemas.sql.reads.IN_LIST_VALUES)
PURGE_MIN_BATCH = 10
PURGE_STEP_SECONDS = 0.02  # the work one step aims at: a writer queued behind it waits about this long

# How each dialect takes the first n rows, and locks the rows a transaction re-checks before it deletes them:
# PostgreSQL reads committed rows without a lock, so a run could take a new event between the check and the
# DELETE; SQLite (BEGIN IMMEDIATE) and Teradata (a READ lock until the end of the transaction) hold it already.
_FIRST = {
    Dialect.SQLITE: ("", " LIMIT {n}"),
    Dialect.POSTGRESQL: ("", " LIMIT {n}"),
    Dialect.TERADATA: ("TOP {n} ", ""),
}
_LOCK = {Dialect.SQLITE: "", Dialect.POSTGRESQL: " FOR UPDATE", Dialect.TERADATA: ""}


def next_batch(size: int, seconds: float) -> int:
    """The next batch's size after one of `size` keys took `seconds`: scaled toward PURGE_STEP_SECONDS, growing
    at most twofold a step, within PURGE_MIN_BATCH and PURGE_BATCH."""
    wanted = size * PURGE_STEP_SECONDS / max(seconds, 1e-6)
    return max(PURGE_MIN_BATCH, min(PURGE_BATCH, 2 * size, int(wanted)))


@dataclass(frozen=True, slots=True)
class Dependent:
    """Rows that go with a purged key: `DELETE FROM table WHERE where`, `{ids}` being the batch's keys."""

    label: str  # as the report names them
    table: str
    where: str

    def delete(self) -> str:
        return f"DELETE FROM {self.table} WHERE {self.where}"  # noqa: S608 - names from this module only

    def count(self) -> str:
        return f"SELECT COUNT(*) FROM {self.table} WHERE {self.where}"  # noqa: S608


@dataclass(frozen=True, slots=True)
class Purge:
    """One kind of row a purge removes, by key, with its dependents (deleted first, in the same transaction)."""

    label: str
    table: str
    key: str
    old: str  # the condition that makes a row old, with :before
    dependents: tuple[Dependent, ...] = ()

    def keys(self, dialect: Dialect, limit: int = PURGE_BATCH) -> str:
        """Up to `limit` keys of old rows after `:last`, in key order: a read, outside any write transaction."""
        top, tail = (part.format(n=int(limit)) for part in _FIRST[dialect])
        return (
            f"SELECT {top}{self.key} FROM {self.table} "  # noqa: S608 - names from this module only
            f"WHERE {self.old} AND {self.key} > :last ORDER BY {self.key}{tail}"
        )

    def still_old(self, dialect: Dialect) -> str:
        """Which of the batch's keys are old still, inside the transaction that deletes them (and locked there)."""
        return f"SELECT {self.key} FROM {self.table} WHERE {self.key} IN ({{ids}}) AND {self.old}{_LOCK[dialect]}"  # noqa: S608

    @property
    def itself(self) -> Dependent:
        return Dependent(self.label, self.table, f"{self.key} IN ({{ids}})")


# A run's age is that of its newest event; older schemas' rows may have only event_time.
RUNS = Purge(
    "runs",
    "OL_RUN",
    "run_id",
    "COALESCE(last_event_time, event_time) < :before",
    (
        Dependent("run inputs", "OL_RUN_INPUT", "run_id IN ({ids})"),
        Dependent("run outputs", "OL_RUN_OUTPUT", "run_id IN ({ids})"),
        Dependent("run facets", "OL_FACET", f"owner = '{FacetOwner.RUN}' AND entity_id IN ({{ids}})"),
    ),
)
# The input and output facets of a run's datasets are keyed by make_key(run_id, dataset_id): the store reads the
# batch's pairs (RUN_DATASETS) and deletes by those keys (`{ids}` here).
RUN_DATASETS = (
    "SELECT run_id, dataset_id FROM OL_RUN_INPUT WHERE run_id IN ({ids}) "
    "UNION ALL SELECT run_id, dataset_id FROM OL_RUN_OUTPUT WHERE run_id IN ({ids})"
)
RUN_DATASET_FACETS = Dependent(
    "run dataset facets",
    "OL_FACET",
    f"owner IN ('{FacetOwner.INPUT}', '{FacetOwner.OUTPUT}') AND entity_id IN ({{ids}})",
)
EVENTS = Purge("raw events", "OL_EVENT", "event_id", "event_time < :before")
COLUMN_EDGES = Purge(
    "column lineage edges", "OL_COLUMN_LINEAGE", "lineage_id", "COALESCE(last_seen_at, discovered_at) < :before"
)
DATASET_EDGES = Purge(
    "dataset lineage edges",
    "OL_COLUMN_LINEAGE_DATASET",
    "lineage_id",
    "COALESCE(last_seen_at, discovered_at) < :before",
)


def purges(*, edges: bool) -> tuple[Purge, ...]:
    """What a purge removes, in order: runs (with their inputs, outputs and facets), raw events, then edges."""
    return (RUNS, EVENTS, *((COLUMN_EDGES, DATASET_EDGES) if edges else ()))


# Every count a purge reports, in the order it reports them.
LABELS = (
    "runs",
    "run inputs",
    "run outputs",
    "run facets",
    RUN_DATASET_FACETS.label,
    "raw events",
    "column lineage edges",
    "dataset lineage edges",
)
