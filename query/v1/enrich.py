"""What a page of Marquez datasets, jobs and runs carries beside its rows: the latest facets stored for each
(OL_FACET), tags from their `tags` facets, column lineage, current versions, a job's latest runs and parent.

Every loader reads a whole page with a fixed number of statements, whatever the page's length (a store chunks
long id lists): datasets 4, jobs 7, runs 3. Nothing here is read once per item.

Versions are derived from content, so every reader computes the same one (schemas.rows.content_uuid): a dataset's
version is its stored OL_DATASET_VERSION row (the facets an event carried); a job's version is named by the job
and the inputs and outputs its run read and wrote, as Marquez versions a job by its inputs and outputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from query.shapes import JSON
from query.v1 import shapes as shapes_v1
from schemas.rows import FacetOwner, content_uuid
from schemas.store import (
    ColumnEdge,
    DatasetInfo,
    DatasetVersionInfo,
    FacetInfo,
    JobInfo,
    RunInfo,
    RunIo,
    Store,
)

LATEST_RUNS = 10  # Marquez's job answer lists up to ten latest runs


def parse_json(payload: str | None) -> Any:
    if payload is None:
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def live_facets(found: Iterable[FacetInfo]) -> dict[str, JSON]:
    """entity_id -> {facet name: facet}, tombstones (deleted facets) left out."""
    by_entity: dict[str, JSON] = defaultdict(dict)
    for f in found:
        value = parse_json(f.payload)
        if value is not None:
            by_entity[f.entity_id][f.facet_name] = value
    return by_entity


def without_deleted(facets: Mapping[str, Any]) -> JSON:
    return {name: f for name, f in facets.items() if not (isinstance(f, dict) and f.get("_deleted") is True)}


def job_version(namespace: str, name: str, inputs: Iterable[str], outputs: Iterable[str]) -> str:
    """A job version's UUID: the job and the (sorted) datasets its run read and wrote, as `namespace:name`."""
    return content_uuid("job", namespace, name, "inputs", *sorted(inputs), "outputs", *sorted(outputs))


def _dataset_ref(d: DatasetInfo) -> str:
    return f"{d.namespace_uri}:{d.name}"


# --- datasets ---------------------------------------------------------------------------------------------


def column_lineage(edges: Iterable[ColumnEdge]) -> dict[str, list[JSON]]:
    """dataset_id -> Marquez's `columnLineage`: per output field, its input fields with their transformation."""
    by_field: dict[tuple[str, str], list[ColumnEdge]] = defaultdict(list)
    for e in edges:
        by_field[(e.target_dataset_id, e.target_field)].append(e)
    result: dict[str, list[JSON]] = defaultdict(list)
    for (dataset_id, name), found in sorted(by_field.items()):
        inputs = [
            {
                "namespace": e.source_namespace,
                "dataset": e.source_dataset,
                "field": e.source_field,
                "transformationDescription": e.transformation_description,
                "transformationType": e.transformation_type,
            }
            for e in found
        ]
        first = found[0]
        result[dataset_id].append(
            {
                "name": name,
                "inputFields": inputs,
                "transformationDescription": first.transformation_description,
                "transformationType": first.transformation_type,
            }
        )
    return result


def current_versions(found: Iterable[DatasetVersionInfo]) -> dict[str, str]:
    """dataset_id -> its current version: the one seen last (the greatest id when two tie, so every store agrees)."""
    current: dict[str, str] = {}
    for v in found:
        if v.version_id > current.get(v.dataset_id, ""):
            current[v.dataset_id] = v.version_id
    return current


def datasets_json(store: Store, datasets: Sequence[DatasetInfo]) -> list[JSON]:
    """Marquez datasets: 4 statements for the page (fields, facets, column lineage, current versions)."""
    ids = [d.dataset_id for d in datasets]
    if not ids:
        return []
    fields = defaultdict(list)
    for f in store.fields(ids):
        fields[f.dataset_id].append(f)
    facets = live_facets(store.entity_facets(FacetOwner.DATASET, ids))
    lineage = column_lineage(store.column_edges_into(ids))
    versions = current_versions(store.current_dataset_versions(ids))
    return [
        shapes_v1.dataset(
            d,
            fields[d.dataset_id],
            shapes_v1.DatasetExtras(
                facets.get(d.dataset_id, {}), lineage.get(d.dataset_id), versions.get(d.dataset_id)
            ),
        )
        for d in datasets
    ]


# --- runs ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RunContext:
    """What run answers need beside the runs: their inputs and outputs (for job versions) and their facets."""

    io: dict[str, list[RunIo]] = field(default_factory=dict)
    datasets: dict[str, DatasetInfo] = field(default_factory=dict)
    facets: dict[str, JSON] = field(default_factory=dict)

    def datasets_of(self, run_id: str, role: str) -> list[DatasetInfo]:
        """The datasets the run read (`input`) or wrote (`output`)."""
        links = self.io.get(run_id, [])
        return [self.datasets[i.dataset_id] for i in links if i.role == role and i.dataset_id in self.datasets]

    def version(self, r: RunInfo) -> str:
        inputs, outputs = (map(_dataset_ref, self.datasets_of(r.run_id, role)) for role in ("input", "output"))
        return job_version(r.namespace_uri, r.job_name, inputs, outputs)

    def run(self, r: RunInfo) -> JSON:
        return shapes_v1.run(r, self.facets.get(r.run_id, {}), self.version(r))


def run_context(store: Store, runs: Sequence[RunInfo], more_datasets: Iterable[str] = ()) -> RunContext:
    """3 statements: the runs' inputs and outputs, the datasets they (and `more_datasets`) name, the run facets."""
    ids = [r.run_id for r in runs]
    io: dict[str, list[RunIo]] = defaultdict(list)
    for link in store.run_io(ids) if ids else []:
        io[link.run_id].append(link)
    wanted = list(dict.fromkeys([*more_datasets, *(i.dataset_id for links in io.values() for i in links)]))
    datasets = {d.dataset_id: d for d in store.datasets_by_ids(wanted)} if wanted else {}
    facets = live_facets(store.entity_facets(FacetOwner.RUN, ids)) if ids else {}
    return RunContext(io, datasets, facets)


def runs_json(store: Store, runs: Sequence[RunInfo]) -> list[JSON]:
    context = run_context(store, runs)
    return [context.run(r) for r in runs]


# --- jobs ---------------------------------------------------------------------------------------------------


def jobs_json(store: Store, jobs: Sequence[JobInfo]) -> list[JSON]:
    """Marquez jobs: 7 statements for the page (links, latest runs, their io, datasets, job facets, run facets,
    parent jobs)."""
    ids = [j.job_id for j in jobs]
    if not ids:
        return []
    links = store.job_links(ids, of_jobs=True)
    latest: dict[str, list[RunInfo]] = defaultdict(list)
    newest_first = sorted(store.latest_runs(ids, LATEST_RUNS), key=lambda r: (r.last_event_time or "", r.run_id))
    for r in reversed(newest_first):
        latest[r.job_id].append(r)
    context = run_context(store, [r for runs in latest.values() for r in runs], (link.dataset_id for link in links))
    facets = live_facets(store.entity_facets(FacetOwner.JOB, ids))
    parent_ids = list(dict.fromkeys(j.parent_job_id for j in jobs if j.parent_job_id))
    parents = {p.job_id: p for p in store.jobs_by_ids(parent_ids)} if parent_ids else {}
    by_job = defaultdict(list)
    for link in links:
        by_job[link.job_id].append(link)
    result = []
    for j in jobs:
        runs = latest[j.job_id]
        parent = parents.get(j.parent_job_id or "")
        extras = shapes_v1.JobExtras(
            facets=facets.get(j.job_id, {}),
            latest_runs=[context.run(r) for r in runs],
            current_version=context.version(runs[0]) if runs else None,
            parent_name=parent.name if parent else None,
        )
        result.append(shapes_v1.job(j, by_job[j.job_id], context.datasets, extras))
    return result
