"""The upsert statements every SQL store runs for a batch, and the parameters each row gives them.

The statements are data (`WRITES`), written in the SQL that SQLite (>= 3.24) and PostgreSQL share:
INSERT ... ON CONFLICT (key) DO UPDATE SET ..., `excluded.` for the incoming row, CASE instead of
min()/max()/LEAST/GREATEST (whose NULL handling differs), named parameters (`:name`, which a PostgreSQL
store rewrites to `%(name)s`). Merge rules: None never erases; first sightings keep the earliest time and
last sightings the latest; a run's state follows the OpenLineage run cycle (ranked START < RUNNING <
terminal) and never goes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.rows import TERMINAL_STATES, EventRows, RunState, make_key

Params = dict[str, Any]

# --- statements -------------------------------------------------------------------------------------------


def _earliest(table: str, column: str) -> str:
    """The earlier of stored and incoming, NULL on either side ignored."""
    return (
        f"{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} < {table}.{column} "
        f"THEN excluded.{column} ELSE {table}.{column} END"
    )


def _latest(table: str, column: str) -> str:
    return (
        f"{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} > {table}.{column} "
        f"THEN excluded.{column} ELSE {table}.{column} END"
    )


def _newer(table: str, column: str, time: str = "updated_at") -> str:
    """An incoming non-NULL value wins when its time is not older than the stored row's; NULL never erases,
    and an older event still fills a column that is NULL."""
    return (
        f"{column} = CASE WHEN excluded.{column} IS NOT NULL AND ({table}.{time} IS NULL "
        f"OR excluded.{time} >= {table}.{time}) THEN excluded.{column} ELSE COALESCE({table}.{column}, "
        f"excluded.{column}) END"
    )


def _coalesce(table: str, column: str) -> str:
    return f"{column} = COALESCE(excluded.{column}, {table}.{column})"


def _insert(
    table: str,
    columns: Sequence[str],
    conflict: Sequence[str],
    updates: Sequence[str] = (),
    values: dict[str, str] | None = None,
) -> str:
    """INSERT of named parameters (one per column, same name, unless `values` gives an expression) with an
    ON CONFLICT clause on the key."""
    exprs = [(values or {}).get(c, ":" + c) for c in columns]
    # Built once at import from the names in this module, never from input; values are bound parameters.
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(exprs)})"  # noqa: S608
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    return f"{head} ON CONFLICT ({', '.join(conflict)}) {action}"


def _rank(row: str) -> str:
    """The run-cycle rank of `row`.event_type: START 1 < RUNNING 2 < terminal 3; NULL or unknown 0."""
    return (
        f"CASE {row}.event_type WHEN 'START' THEN 1 WHEN 'RUNNING' THEN 2 "
        f"WHEN 'COMPLETE' THEN 3 WHEN 'FAIL' THEN 3 WHEN 'ABORT' THEN 3 ELSE 0 END"
    )


# The incoming state replaces the stored one: a state at all, and a higher rank, or the same rank and not older.
_RUN_WINS = (
    f"(excluded.event_type IS NOT NULL AND ({_rank('excluded')} > {_rank('OL_RUN')} OR ({_rank('excluded')} = "
    f"{_rank('OL_RUN')} AND (OL_RUN.event_time IS NULL OR excluded.event_time >= OL_RUN.event_time))))"
)

_IS_ACTIVE = "CAST(:is_active AS CHAR(1))"  # typed, so that PostgreSQL can compare a NULL parameter
DATASET_SQL = _insert(
    "OL_DATASET",
    (
        "dataset_id",
        "namespace_id",
        "name",
        "description",
        "source_type",
        "created_at",
        "updated_at",
        "is_active",
        "name_key",
    ),
    ("dataset_id",),
    (
        *(_newer("OL_DATASET", c) for c in ("description", "source_type", "name_key")),
        _earliest("OL_DATASET", "created_at"),
        _latest("OL_DATASET", "updated_at"),
        # A first sighting without lifecycle news is active ('Y', the seed's default), so `excluded.is_active` is
        # never NULL; the parameter itself says whether this event had news.
        f"is_active = CASE WHEN {_IS_ACTIVE} IS NOT NULL AND (OL_DATASET.updated_at IS NULL OR excluded.updated_at "
        f">= OL_DATASET.updated_at) THEN {_IS_ACTIVE} ELSE OL_DATASET.is_active END",
    ),
    values={"is_active": f"COALESCE({_IS_ACTIVE}, 'Y')"},
)
FIELD_SQL = _insert(
    "OL_DATASET_FIELD",
    (
        "field_id",
        "dataset_id",
        "field_name",
        "field_type",
        "field_description",
        "ordinal_position",
        "created_at",
        "updated_at",
    ),
    ("field_id",),
    (
        *(_newer("OL_DATASET_FIELD", c) for c in ("field_type", "field_description", "ordinal_position")),
        _earliest("OL_DATASET_FIELD", "created_at"),
        _latest("OL_DATASET_FIELD", "updated_at"),
    ),
)
JOB_SQL = _insert(
    "OL_JOB",
    (
        "job_id",
        "namespace_id",
        "name",
        "description",
        "job_type",
        "created_at",
        "updated_at",
        "name_key",
        "parent_job_id",
    ),
    ("job_id",),
    (
        *(_newer("OL_JOB", c) for c in ("description", "job_type", "name_key", "parent_job_id")),
        _earliest("OL_JOB", "created_at"),
        _latest("OL_JOB", "updated_at"),
    ),
)
RUN_SQL = _insert(
    "OL_RUN",
    (
        "run_id",
        "job_id",
        "event_type",
        "event_time",
        "nominal_start_time",
        "nominal_end_time",
        "producer",
        "schema_url",
        "created_at",
        "started_at",
        "ended_at",
        "last_event_time",
        "parent_run_id",
        "parent_job_id",
        "root_run_id",
        "root_job_id",
    ),
    ("run_id",),
    (
        f"event_type = CASE WHEN {_RUN_WINS} THEN excluded.event_type ELSE OL_RUN.event_type END",
        f"event_time = CASE WHEN {_RUN_WINS} THEN excluded.event_time ELSE OL_RUN.event_time END",
        f"ended_at = CASE WHEN {_RUN_WINS} AND excluded.ended_at IS NOT NULL THEN excluded.ended_at "
        "ELSE OL_RUN.ended_at END",
        _earliest("OL_RUN", "started_at"),
        _earliest("OL_RUN", "created_at"),
        _latest("OL_RUN", "last_event_time"),
        *(
            _coalesce("OL_RUN", c)
            for c in (
                "nominal_start_time",
                "nominal_end_time",
                "producer",
                "schema_url",
                "parent_run_id",
                "parent_job_id",
                "root_run_id",
                "root_job_id",
            )
        ),
    ),
)
_EDGE_COMMON = (
    "lineage_id",
    "run_id",
    "source_namespace",
    "source_dataset",
    "source_field",
    "source_dataset_id",
    "source_field_id",
    "target_namespace",
    "target_dataset",
    "target_dataset_id",
    "transformation_type",
    "transformation_subtype",
    "transformation_description",
    "masking",
    "discovered_at",
    "last_seen_at",
)


def _edge_updates(table: str) -> tuple[str, ...]:
    # run_id follows the latest sighting; the edge's identity (lineage_id) fixes everything else.
    return (
        f"run_id = CASE WHEN excluded.run_id IS NOT NULL AND ({table}.last_seen_at IS NULL OR excluded.last_seen_at "
        f">= {table}.last_seen_at) THEN excluded.run_id ELSE {table}.run_id END",
        _earliest(table, "discovered_at"),
        _latest(table, "last_seen_at"),
    )


COLUMN_EDGE_SQL = _insert(
    "OL_COLUMN_LINEAGE",
    (*_EDGE_COMMON, "target_field", "target_field_id", "confidence_score"),
    ("lineage_id",),
    (*_edge_updates("OL_COLUMN_LINEAGE"), _coalesce("OL_COLUMN_LINEAGE", "confidence_score")),
)
DATASET_EDGE_SQL = _insert(
    "OL_COLUMN_LINEAGE_DATASET", _EDGE_COMMON, ("lineage_id",), _edge_updates("OL_COLUMN_LINEAGE_DATASET")
)
FACET_SQL = (
    _insert(
        "OL_FACET",
        ("owner", "entity_id", "facet_name", "payload", "event_time"),
        ("owner", "entity_id", "facet_name"),
        ("payload = excluded.payload", "event_time = excluded.event_time"),
    )
    # Out-of-order events: an older facet never replaces a newer one; a NULL payload (tombstone) is a value.
    + " WHERE OL_FACET.event_time IS NULL OR excluded.event_time >= OL_FACET.event_time"
)


# --- rows to parameters -----------------------------------------------------------------------------------


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


def _namespaces(rows: EventRows) -> Iterable[Params]:
    for n in rows.namespaces:
        yield {"namespace_id": n.namespace_id, "namespace_uri": n.namespace_uri, "created_at": rows.event.event_time}


def _datasets(rows: EventRows) -> Iterable[Params]:
    for d in rows.datasets:
        yield {
            "dataset_id": d.dataset_id,
            "namespace_id": d.namespace_id,
            "name": d.name,
            "description": d.description,
            "source_type": d.source_type,
            "created_at": d.event_time,
            "updated_at": d.event_time,
            "is_active": _flag(d.is_active),
            "name_key": make_key(d.name),
        }


def _fields(rows: EventRows) -> Iterable[Params]:
    for f in rows.fields:
        yield {
            "field_id": f.field_id,
            "dataset_id": f.dataset_id,
            "field_name": f.field_name,
            "field_type": f.field_type,
            "field_description": f.field_description,
            "ordinal_position": f.ordinal_position,
            "created_at": f.event_time,
            "updated_at": f.event_time,
        }


def _jobs(rows: EventRows) -> Iterable[Params]:
    for j in rows.jobs:
        yield {
            "job_id": j.job_id,
            "namespace_id": j.namespace_id,
            "name": j.name,
            "description": j.description,
            "job_type": j.job_type,
            "created_at": j.event_time,
            "updated_at": j.event_time,
            "name_key": make_key(j.name),
            "parent_job_id": j.parent_job_id,
        }


def _runs(rows: EventRows) -> Iterable[Params]:
    for r in rows.runs:
        # event_time is when the run entered its state: unknown for a stateless row (OTHER, parent stub).
        state_time = r.event_time if r.state is not None else None
        yield {
            "run_id": r.run_id,
            "job_id": r.job_id,
            "event_type": None if r.state is None else str(r.state),
            "event_time": state_time,
            "nominal_start_time": r.nominal_start_time,
            "nominal_end_time": r.nominal_end_time,
            "producer": r.producer,
            "schema_url": r.schema_url,
            "created_at": r.event_time,
            "started_at": r.event_time if r.state is RunState.START else None,
            "ended_at": r.event_time if r.state in TERMINAL_STATES else None,
            "last_event_time": r.event_time,
            "parent_run_id": r.parent_run_id,
            "parent_job_id": r.parent_job_id,
            "root_run_id": r.root_run_id,
            "root_job_id": r.root_job_id,
        }


def _inputs(rows: EventRows) -> Iterable[Params]:
    return ({"run_id": i.run_id, "dataset_id": i.dataset_id} for i in rows.inputs)


def _outputs(rows: EventRows) -> Iterable[Params]:
    return ({"run_id": o.run_id, "dataset_id": o.dataset_id} for o in rows.outputs)


def _edge(edge: Any) -> Params:
    """The parameters a column edge and a dataset edge share (both rows carry these attributes)."""
    names = (
        "lineage_id",
        "run_id",
        "source_namespace",
        "source_dataset",
        "source_field",
        "source_dataset_id",
        "source_field_id",
        "target_namespace",
        "target_dataset",
        "target_dataset_id",
        "transformation_type",
        "transformation_subtype",
        "transformation_description",
    )
    params: Params = {name: getattr(edge, name) for name in names}
    params.update(masking=_flag(edge.masking), discovered_at=edge.event_time, last_seen_at=edge.event_time)
    return params


def _column_edges(rows: EventRows) -> Iterable[Params]:
    for e in rows.column_edges:
        yield {
            **_edge(e),
            "target_field": e.target_field,
            "target_field_id": e.target_field_id,
            "confidence_score": e.confidence_score,
        }


def _dataset_edges(rows: EventRows) -> Iterable[Params]:
    return (_edge(e) for e in rows.dataset_edges)


def _symlinks(rows: EventRows) -> Iterable[Params]:
    for s in rows.symlinks:
        yield {
            "symlink_id": s.symlink_id,
            "dataset_id": s.dataset_id,
            "symlink_namespace": s.symlink_namespace,
            "symlink_name": s.symlink_name,
            "symlink_type": s.symlink_type,
            "symlink_dataset_id": s.symlink_dataset_id,
            "created_at": s.event_time,
        }


def _facets(rows: EventRows) -> Iterable[Params]:
    for f in rows.facets:
        yield {
            "owner": str(f.owner),
            "entity_id": f.entity_id,
            "facet_name": f.facet_name,
            "payload": f.payload,
            "event_time": f.event_time,
        }


def _events(rows: EventRows) -> Iterable[Params]:
    e = rows.event
    yield {
        "event_id": e.event_id,
        "event_kind": str(e.event_kind),
        "event_type": e.event_type,
        "event_time": e.event_time,
        "producer": e.producer,
        "schema_url": e.schema_url,
        "run_id": e.run_id,
        "job_id": e.job_id,
        "dataset_id": e.dataset_id,
        "received_at": e.received_at,
        "payload": e.payload,
    }


@dataclass(frozen=True, slots=True)
class Write:
    sql: str
    params: Callable[[EventRows], Iterable[Params]]


# Every table a batch writes, in order, with its statement. Within one statement, rows go in batch order, so a
# later event of the batch merges onto an earlier one exactly as if they had come in two batches.
WRITES: tuple[Write, ...] = (
    Write(_insert("OL_NAMESPACE", ("namespace_id", "namespace_uri", "created_at"), ("namespace_id",)), _namespaces),
    Write(JOB_SQL, _jobs),
    Write(DATASET_SQL, _datasets),
    Write(FIELD_SQL, _fields),
    Write(RUN_SQL, _runs),
    Write(_insert("OL_RUN_INPUT", ("run_id", "dataset_id"), ("run_id", "dataset_id")), _inputs),
    Write(_insert("OL_RUN_OUTPUT", ("run_id", "dataset_id"), ("run_id", "dataset_id")), _outputs),
    Write(COLUMN_EDGE_SQL, _column_edges),
    Write(DATASET_EDGE_SQL, _dataset_edges),
    Write(
        _insert(
            "OL_DATASET_SYMLINK",
            (
                "symlink_id",
                "dataset_id",
                "symlink_namespace",
                "symlink_name",
                "symlink_type",
                "symlink_dataset_id",
                "created_at",
            ),
            ("symlink_id",),
        ),
        _symlinks,
    ),
    Write(FACET_SQL, _facets),
    # New events only (already-stored ids are filtered first), so a plain INSERT: a clash is a bug, not a retry.
    Write(
        "INSERT INTO OL_EVENT (event_id, event_kind, event_type, event_time, producer, schema_url, run_id, job_id, "
        "dataset_id, received_at, payload) VALUES (:event_id, :event_kind, :event_type, :event_time, :producer, "
        ":schema_url, :run_id, :job_id, :dataset_id, :received_at, :payload)",
        _events,
    ),
)
