"""Marquez's JSON shapes (MarquezProject/marquez spec/openapi.yml) for the v1 read API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from query.shapes import JSON, duration_ms, field_order
from schemas.store import DatasetInfo, FieldInfo, JobInfo, JobLink, NamespaceInfo, RunInfo
from schemas.times import store_to_iso

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
NAMESPACE_OWNER = "anonymous"  # what Marquez records as the owner of a namespace an OpenLineage event created


@dataclass(frozen=True, slots=True)
class DatasetExtras:
    facets: Mapping[str, Any]  # the latest stored facet of each name
    column_lineage: list[JSON] | None  # Marquez's `columnLineage`; None (null) when the dataset has none
    current_version: str | None


@dataclass(frozen=True, slots=True)
class JobExtras:
    facets: Mapping[str, Any]
    latest_runs: list[JSON] = field(default_factory=list)  # newest first, already shaped
    current_version: str | None = None  # the version of the latest run
    parent_name: str | None = None  # the job a ParentRunFacet named as this job's parent


def facet_text(facets: Mapping[str, Any], name: str, key: str) -> str | None:
    facet = facets.get(name)
    value = facet.get(key) if isinstance(facet, dict) else None
    return value if isinstance(value, str) else None


def tag_names(facets: Mapping[str, Any]) -> list[str]:
    """The names a TagsDatasetFacet or TagsJobFacet gives (`{"tags": [{"key", "value", "source"}]}`): the key, or
    `key:value` when the value says more than that the tag is set."""
    return [tag.name for tag in tags_of(facets)]


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    description: str | None


def tags_of(facets: Mapping[str, Any]) -> list[Tag]:
    facet = facets.get("tags")
    items = facet.get("tags") if isinstance(facet, dict) else None
    found: dict[str, Tag] = {}
    for item in items if isinstance(items, list) else []:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key:
            continue
        value = item.get("value")
        plain = value in (None, "", True) or (isinstance(value, str) and value.lower() == "true")
        name = key if plain else f"{key}:{value}"
        source = item.get("source")
        found.setdefault(name, Tag(name, f"source: {source}" if isinstance(source, str) and source else None))
    return list(found.values())


def namespace(n: NamespaceInfo) -> JSON:
    return {
        "name": n.uri,
        "createdAt": store_to_iso(n.created_at),
        "updatedAt": store_to_iso(n.created_at),
        "ownerName": NAMESPACE_OWNER,
        "description": n.description,
        "isHidden": False,
    }


def source_name(d: DatasetInfo, facets: Mapping[str, Any]) -> str:
    """The dataSource facet's name, else the dataset's namespace."""
    return facet_text(facets, "dataSource", "name") or d.namespace_uri


def dataset(d: DatasetInfo, fields: Iterable[FieldInfo], extras: DatasetExtras) -> JSON:
    facets = extras.facets
    return {
        "id": {"namespace": d.namespace_uri, "name": d.name},
        "type": "DB_TABLE",
        "name": d.name,
        "physicalName": d.name,
        "createdAt": store_to_iso(d.created_at),
        "updatedAt": store_to_iso(d.updated_at),
        "namespace": d.namespace_uri,
        "sourceName": source_name(d, facets),
        "fields": [
            {"name": f.name, "type": f.type, "tags": [], "description": f.description}
            for f in sorted(fields, key=field_order)
        ],
        "tags": tag_names(facets),
        "lastModifiedAt": store_to_iso(d.updated_at),
        "lastLifecycleState": facet_text(facets, "lifecycleStateChange", "lifecycleStateChange")
        or ("DROP" if d.is_active == "N" else None),
        "description": d.description,
        "facets": dict(facets),
        "currentVersion": extras.current_version,
        "columnLineage": extras.column_lineage,
        "deleted": d.is_active == "N",
    }


def run(r: RunInfo, facets: Mapping[str, Any], job_version: str) -> JSON:
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
        "durationMs": duration_ms(r.started_at, r.ended_at),
        "args": {},
        "jobVersion": {"namespace": r.namespace_uri, "name": r.job_name, "version": job_version},
        "inputDatasetVersions": [],
        "outputDatasetVersions": [],
        "context": {},
        "facets": dict(facets),
    }


def simple_name(name: str, parent: str | None) -> str:
    """A child job's own name: Marquez names a child `<parent>.<child>`; without that prefix the name is whole."""
    if parent and name.startswith(parent + "."):
        return name[len(parent) + 1 :]
    return name


def job(j: JobInfo, links: Iterable[JobLink], datasets: dict[str, DatasetInfo], extras: JobExtras) -> JSON:
    def ids(role: str) -> list[JSON]:
        return [
            {"namespace": datasets[link.dataset_id].namespace_uri, "name": datasets[link.dataset_id].name}
            for link in links
            if link.role == role and link.dataset_id in datasets
        ]

    facets = extras.facets
    return {
        "id": {"namespace": j.namespace_uri, "name": j.name},
        "type": "BATCH" if (j.job_type or "").upper() not in ("STREAMING", "STREAM") else "STREAM",
        "name": j.name,
        "simpleName": simple_name(j.name, extras.parent_name),
        "parentJobName": extras.parent_name,
        "createdAt": store_to_iso(j.created_at),
        "updatedAt": store_to_iso(j.updated_at),
        "namespace": j.namespace_uri,
        "inputs": ids("input"),
        "outputs": ids("output"),
        "location": facet_text(facets, "sourceCodeLocation", "url"),
        "description": j.description,
        "latestRun": extras.latest_runs[0] if extras.latest_runs else None,
        "latestRuns": extras.latest_runs,
        "facets": dict(facets),
        "currentVersion": extras.current_version,
        "tags": tag_names(facets),
        "labels": [],
    }
