"""Rows to statement parameters: for each table a batch writes, the parameters one event's rows give it.

One dict per row, keyed by column name (the names the merge rules of schemas.sql.upserts bind). Pure: the
same builders feed every backend, so SQLite, PostgreSQL and Teradata store the same values for the same event.
Times are store text (schemas.rows); flags are 'Y'/'N', or None for "this event did not say".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas.rows import TERMINAL_STATES, EventRows, RunState, fold, make_key, name_database_key

Params = dict[str, Any]


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


def namespaces(rows: EventRows) -> Iterable[Params]:
    for n in rows.namespaces:
        yield {"namespace_id": n.namespace_id, "namespace_uri": n.namespace_uri, "created_at": rows.event.event_time}


def datasets(rows: EventRows) -> Iterable[Params]:
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
            "name_fold": fold(d.name),
            "database_key": name_database_key(d.name),
        }


def fields(rows: EventRows) -> Iterable[Params]:
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
            "field_name_fold": fold(f.field_name),
        }


def jobs(rows: EventRows) -> Iterable[Params]:
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
            "name_fold": fold(j.name),
        }


def runs(rows: EventRows) -> Iterable[Params]:
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


def inputs(rows: EventRows) -> Iterable[Params]:
    return ({"run_id": i.run_id, "dataset_id": i.dataset_id} for i in rows.inputs)


def outputs(rows: EventRows) -> Iterable[Params]:
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


def column_edges(rows: EventRows) -> Iterable[Params]:
    for e in rows.column_edges:
        yield {
            **_edge(e),
            "target_field": e.target_field,
            "target_field_id": e.target_field_id,
            "confidence_score": e.confidence_score,
        }


def dataset_edges(rows: EventRows) -> Iterable[Params]:
    return (_edge(e) for e in rows.dataset_edges)


def symlinks(rows: EventRows) -> Iterable[Params]:
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


def facets(rows: EventRows) -> Iterable[Params]:
    for f in rows.facets:
        yield {
            "owner": str(f.owner),
            "entity_id": f.entity_id,
            "facet_name": f.facet_name,
            "payload": f.payload,
            "event_time": f.event_time,
        }


def dataset_versions(rows: EventRows) -> Iterable[Params]:
    for v in rows.dataset_versions:
        yield {
            "version_id": v.version_id,
            "dataset_id": v.dataset_id,
            "run_id": v.run_id,
            "payload": v.payload,
            "created_at": v.event_time,
            "updated_at": v.event_time,
        }


def events(rows: EventRows) -> Iterable[Params]:
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
