"""The table of merge rules (`WRITES`): every table a batch writes, in order, with a rule for each column, and
its rendering as the upsert SQLite (>= 3.24) and PostgreSQL share.

The rules (schemas.sql.rules) in words: None never erases; first sightings keep the earliest time and last
sightings the latest; a run's state follows the OpenLineage run cycle (ranked START < RUNNING < terminal) and
never goes back; an edge's run_id follows its latest sighting; a facet is replaced whole by a newer one, a
tombstone (NULL payload) included. Teradata renders the same table as MERGE (schemas.teradata.sql).

The rendering here is INSERT ... ON CONFLICT (key) DO UPDATE SET ..., `excluded.` for the incoming row, named
parameters (`:name`, which a PostgreSQL store rewrites to `%(name)s`).
"""

from __future__ import annotations

from schemas.dsn import Dialect
from schemas.sql import ddl, params
from schemas.sql.rules import (
    COALESCE,
    EARLIEST,
    INSERT_ONLY,
    KEY,
    LATEST,
    NEWER,
    RUN_ENDED,
    RUN_STATE,
    Merge,
    Policy,
    Rows,
    Sighting,
    Write,
    aliases,
    assignment,
    insert_value,
    row_guard,
)
from schemas.tables import (
    OL_COLUMN_LINEAGE,
    OL_COLUMN_LINEAGE_DATASET,
    OL_DATASET,
    OL_DATASET_FIELD,
    OL_DATASET_SYMLINK,
    OL_DATASET_VERSION,
    OL_EVENT,
    OL_FACET,
    OL_JOB,
    OL_NAMESPACE,
    OL_RUN,
    OL_RUN_INPUT,
    OL_RUN_OUTPUT,
    Table,
)

# --- the rules, one per column ----------------------------------------------------------------------------

# A first sighting without lifecycle news is active ('Y', the seed's default); the parameter as bound says whether
# this event had news, and news follows the dataset's latest sighting.
_IS_ACTIVE = Merge(Policy.FOLLOWS_LATEST, time="updated_at", default="'Y'")
_EDGE = {
    "lineage_id": KEY,
    # run_id follows the latest sighting; the edge's identity (lineage_id) fixes everything else.
    "run_id": Merge(Policy.FOLLOWS_LATEST, time="last_seen_at"),
    **dict.fromkeys(
        ("source_namespace", "source_dataset", "source_field", "source_dataset_id", "source_field_id",
         "target_namespace", "target_dataset", "target_dataset_id", "transformation_type", "transformation_subtype",
         "transformation_description", "masking"),
        INSERT_ONLY,
    ),
    "discovered_at": EARLIEST,
    "last_seen_at": LATEST,
}  # fmt: skip
_FACET_ROW = Merge(Policy.NEWER_ROW, time="event_time")  # an older facet never replaces a newer one
# How remembered rows are dated (schemas.sql.memory): first and last sightings, and what follows the last.
_CREATED = Sighting(("created_at",))
_SEEN = Sighting(("created_at", "updated_at"))
_EDGE_SEEN = Sighting(("discovered_at", "last_seen_at"), follows=("run_id",))


def _insert_only(table: Table, columns: tuple[str, ...] = ()) -> dict[str, Merge]:
    """A table's key, then the given columns as first seen (never changed once stored)."""
    return {**dict.fromkeys(table.primary_key, KEY), **dict.fromkeys(columns, INSERT_ONLY)}


# Every table a batch writes, in order. Within one statement, rows go in batch order, so a later event of the
# batch merges onto an earlier one exactly as if they had come in two batches.
WRITES: tuple[Write, ...] = (
    Write(OL_NAMESPACE, {**_insert_only(OL_NAMESPACE, ("namespace_uri",)), "created_at": EARLIEST},
          params.namespaces, sighting=_CREATED),
    Write(OL_JOB, {"job_id": KEY, "namespace_id": INSERT_ONLY, "name": INSERT_ONLY, "description": NEWER,
                   "job_type": NEWER, "created_at": EARLIEST, "updated_at": LATEST, "name_key": NEWER,
                   "parent_job_id": NEWER, "name_fold": NEWER}, params.jobs, sighting=_SEEN),
    Write(OL_DATASET, {"dataset_id": KEY, "namespace_id": INSERT_ONLY, "name": INSERT_ONLY, "description": NEWER,
                       "source_type": NEWER, "created_at": EARLIEST, "updated_at": LATEST, "is_active": _IS_ACTIVE,
                       "name_key": NEWER, "name_fold": NEWER, "database_key": NEWER}, params.datasets,
          sighting=_SEEN),
    Write(OL_DATASET_FIELD, {"field_id": KEY, "dataset_id": INSERT_ONLY, "field_name": INSERT_ONLY,
                             "field_type": NEWER, "field_description": NEWER, "ordinal_position": NEWER,
                             "created_at": EARLIEST, "updated_at": LATEST, "field_name_fold": NEWER}, params.fields,
          sighting=_SEEN),
    Write(OL_RUN, {"run_id": KEY, "job_id": INSERT_ONLY, "event_type": RUN_STATE, "event_time": RUN_STATE,
                   "nominal_start_time": COALESCE, "nominal_end_time": COALESCE, "producer": COALESCE,
                   "schema_url": COALESCE, "created_at": EARLIEST, "started_at": EARLIEST, "ended_at": RUN_ENDED,
                   "last_event_time": LATEST, "parent_run_id": COALESCE, "parent_job_id": COALESCE,
                   "root_run_id": COALESCE, "root_job_id": COALESCE}, params.runs,
          sighting=Sighting(("created_at", "last_event_time"))),
    Write(OL_RUN_INPUT, _insert_only(OL_RUN_INPUT), params.inputs, sighting=Sighting()),
    Write(OL_RUN_OUTPUT, _insert_only(OL_RUN_OUTPUT), params.outputs, sighting=Sighting()),
    Write(OL_COLUMN_LINEAGE, {**_EDGE, "target_field": INSERT_ONLY, "target_field_id": INSERT_ONLY,
                              "confidence_score": COALESCE}, params.column_edges, sighting=_EDGE_SEEN),
    Write(OL_COLUMN_LINEAGE_DATASET, _EDGE, params.dataset_edges, sighting=_EDGE_SEEN),
    Write(OL_DATASET_SYMLINK, {**_insert_only(OL_DATASET_SYMLINK, (
        "dataset_id", "symlink_namespace", "symlink_name", "symlink_type", "symlink_dataset_id")),
        "created_at": EARLIEST}, params.symlinks, sighting=_CREATED),
    Write(OL_FACET, {"owner": KEY, "entity_id": KEY, "facet_name": KEY, "payload": _FACET_ROW,
                     "event_time": _FACET_ROW}, params.facets, sighting=Sighting(("event_time",))),
    # A version is its content; its run is the latest run that carried it (NEWER settles any arrival order,
    # where "the first run" would depend on which writer came first), and the times widen.
    Write(OL_DATASET_VERSION, {**_insert_only(OL_DATASET_VERSION, ("dataset_id", "payload")),
                               "run_id": Merge(Policy.NEWER, time="updated_at"), "created_at": EARLIEST,
                               "updated_at": LATEST}, params.dataset_versions,
          sighting=Sighting(("created_at", "updated_at"), follows=("run_id",))),
    Write(OL_EVENT, _insert_only(OL_EVENT, tuple(c.name for c in OL_EVENT.columns[1:])),
          params.events, new_only=True),
)  # fmt: skip


# --- rendered as INSERT ... ON CONFLICT (SQLite, PostgreSQL) ------------------------------------------------


def _bound(write: Write) -> Rows:
    """The stored row is the table, the incoming one `excluded`; a column with an insert default is compared as
    bound (its `excluded.` value already holds the default), typed so that PostgreSQL can compare a NULL."""

    def bound(column: str) -> str:
        if write.rules[column].default is None:
            return f"excluded.{column}"
        return f"CAST(:{column} AS {ddl.column_type(write.table.column(column), Dialect.POSTGRESQL)})"

    return aliases(write.table.name, "excluded", bound)


def on_conflict(write: Write) -> str:
    """What follows a table's INSERT: the ON CONFLICT clause its rules give ('' for rows new by construction)."""
    if write.new_only:
        return ""
    if not write.updates:
        return f" ON CONFLICT ({', '.join(write.key)}) DO NOTHING"
    rows = _bound(write)
    sets = ", ".join(assignment(c, write.rules[c], rows) for c in write.updates)
    guard = row_guard(write, rows)
    return f" ON CONFLICT ({', '.join(write.key)}) DO UPDATE SET {sets}" + (f" WHERE {guard}" if guard else "")


def upsert_sql(write: Write) -> str:
    """The INSERT of one row (named parameters, one per column) with the ON CONFLICT clause its rules give."""
    rows = _bound(write)
    values = [insert_value(rule, rows.bound(c) if rule.default else f":{c}") for c, rule in write.rules.items()]
    # Built once at import from schemas.tables' names, never from input; values are bound parameters.
    head = f"INSERT INTO {write.table.name} ({', '.join(write.columns)}) VALUES ({', '.join(values)})"  # noqa: S608
    return head + on_conflict(write)


UPSERTS: dict[str, str] = {write.table.name: upsert_sql(write) for write in WRITES}
