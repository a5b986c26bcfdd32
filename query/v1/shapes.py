"""Marquez's JSON shapes (MarquezProject/marquez spec/openapi.yml) for the v1 read API."""

from __future__ import annotations

from collections.abc import Iterable

from query.shapes import JSON, field_order
from schemas.store import DatasetInfo, FieldInfo, JobInfo, JobLink, NamespaceInfo, RunInfo
from schemas.times import parse_store_time, store_to_iso

# OpenLineage run states -> Marquez's RunState (NEW, RUNNING, COMPLETED, ABORTED, FAILED).
RUN_STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
# Marquez's RunState -> the OL_RUN states it stands for (NEW: a run known without a state, a parent stub).
OL_STATES = {
    "NEW": ("NEW",),
    "RUNNING": ("START", "RUNNING"),
    "COMPLETED": ("COMPLETE",),
    "ABORTED": ("ABORT",),
    "FAILED": ("FAIL",),
}


def namespace(n: NamespaceInfo) -> JSON:
    return {
        "name": n.uri,
        "createdAt": store_to_iso(n.created_at),
        "updatedAt": store_to_iso(n.created_at),
        "ownerName": None,
        "description": n.description,
        "isHidden": False,
    }


def dataset(d: DatasetInfo, fields: Iterable[FieldInfo]) -> JSON:
    return {
        "id": {"namespace": d.namespace_uri, "name": d.name},
        "type": "DB_TABLE",
        "name": d.name,
        "physicalName": d.name,
        "createdAt": store_to_iso(d.created_at),
        "updatedAt": store_to_iso(d.updated_at),
        "namespace": d.namespace_uri,
        "sourceName": d.namespace_uri,
        "fields": [
            {"name": f.name, "type": f.type, "tags": [], "description": f.description}
            for f in sorted(fields, key=field_order)
        ],
        "tags": [],
        "lastModifiedAt": store_to_iso(d.updated_at),
        "lastLifecycleState": "DROP" if d.is_active == "N" else None,
        "description": d.description,
        "facets": {},
        "currentVersion": None,
        "deleted": d.is_active == "N",
    }


def run(r: RunInfo) -> JSON:
    started, ended = store_to_iso(r.started_at), store_to_iso(r.ended_at)
    return {
        "id": r.run_id,
        "createdAt": store_to_iso(r.created_at),
        "updatedAt": store_to_iso(r.last_event_time),
        "nominalStartTime": store_to_iso(r.nominal_start_time),
        "nominalEndTime": store_to_iso(r.nominal_end_time),
        "state": RUN_STATES.get(r.state or "", "NEW"),
        "startedAt": started,
        "endedAt": ended,
        "durationMs": _duration_ms(r.started_at, r.ended_at),
        "args": {},
        "jobVersion": {"namespace": r.namespace_uri, "name": r.job_name, "version": None},
        "inputDatasetVersions": [],
        "outputDatasetVersions": [],
        "context": {},
        "facets": {},
    }


def _duration_ms(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    try:
        delta = parse_store_time(end) - parse_store_time(start)
    except ValueError:
        return None
    return int(delta.total_seconds() * 1000)


def job(j: JobInfo, links: Iterable[JobLink], datasets: dict[str, DatasetInfo], latest: RunInfo | None) -> JSON:
    def ids(role: str) -> list[JSON]:
        return [
            {"namespace": datasets[link.dataset_id].namespace_uri, "name": datasets[link.dataset_id].name}
            for link in links
            if link.role == role and link.dataset_id in datasets
        ]

    parent, _, simple = j.name.rpartition(".")
    return {
        "id": {"namespace": j.namespace_uri, "name": j.name},
        "type": "BATCH" if (j.job_type or "").upper() not in ("STREAMING", "STREAM") else "STREAM",
        "name": j.name,
        "simpleName": simple,
        "parentJobName": parent or None,
        "createdAt": store_to_iso(j.created_at),
        "updatedAt": store_to_iso(j.updated_at),
        "namespace": j.namespace_uri,
        "inputs": ids("input"),
        "outputs": ids("output"),
        "location": None,
        "description": j.description,
        "latestRun": run(latest) if latest is not None else None,
        "latestRuns": [run(latest)] if latest is not None else [],
        "facets": {},
        "currentVersion": None,
        "tags": [],
        "labels": [],
    }
