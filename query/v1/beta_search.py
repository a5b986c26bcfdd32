"""Marquez's /api/v2beta/search/jobs and /datasets: the search its UI's search bar calls.

Marquez answers these from OpenSearch: `{"hits": [document], "highlights": [{field: [fragment]}]}`, one
highlight map per hit, the documents being what it indexed from the last event of each job or dataset:
- a job: `run_id`, `eventType`, `name`, `type` (BATCH or STREAM), `namespace`, `facets` (the job's),
  `runFacets` (its latest run's);
- a dataset: `run_id`, `eventType` (of the latest run that wrote it), `name`, `namespace`, `facets`,
  `inputFacets` and `outputFacets` (of that run).
Here the same documents are built from the store: the name contains `q`, case-insensitively, as in /search; at
most ten hits (OpenSearch's default size). A fragment is the matched field with the match in `<em>`, as
OpenSearch's plain highlighter marks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson
from aiohttp import web

from query import params
from query.http import in_thread, json_response
from query.shapes import JSON
from query.typedefs import QUERY_STORE
from schemas.rows import FacetOwner, make_key
from schemas.store import FacetInfo, Page, RunInfo, SearchHit, SearchKind, Store

HITS = 10  # OpenSearch answers ten hits unless asked for more, and Marquez does not ask


def job_type(declared: str | None) -> str:
    """Marquez's job type of a document: STREAM for a streaming job (OL jobType processingType), else BATCH."""
    return "STREAM" if (declared or "").upper() in ("STREAMING", "STREAM") else "BATCH"


def facets_by_entity(found: list[FacetInfo]) -> dict[str, JSON]:
    by_entity: dict[str, JSON] = {}
    for facet in found:
        if facet.payload is not None:
            by_entity.setdefault(facet.entity_id, {})[facet.facet_name] = orjson.loads(facet.payload)
    return by_entity


def highlight(hit: SearchHit, text: str) -> dict[str, list[str]]:
    pattern = re.compile(re.escape(text), re.IGNORECASE)
    fields = {"name": hit.name, "namespace": hit.namespace_uri}
    return {
        field: [pattern.sub(lambda m: f"<em>{m.group(0)}</em>", value)]
        for field, value in fields.items()
        if pattern.search(value)
    }


def _state(run: RunInfo | None) -> str | None:
    return run.state if run is not None else None


def job_hits(store: Store, text: str) -> JSON:
    hits = store.search(text, [SearchKind.JOB], Page(HITS)).items
    ids = [h.item_id for h in hits]
    jobs = {j.job_id: j for j in store.jobs_by_ids(ids)}
    latest: dict[str, RunInfo] = {}
    for found in store.latest_runs(ids, 1):
        latest.setdefault(found.job_id, found)
    job_facets = facets_by_entity(store.entity_facets(FacetOwner.JOB, ids))
    run_facets = facets_by_entity(store.entity_facets(FacetOwner.RUN, [r.run_id for r in latest.values()]))
    documents = []
    for hit in hits:
        run = latest.get(hit.item_id)
        job = jobs.get(hit.item_id)
        documents.append(
            {
                "run_id": run.run_id if run else None,
                "eventType": _state(run),
                "name": hit.name,
                "type": job_type(job.job_type if job else None),
                "namespace": hit.namespace_uri,
                "facets": job_facets.get(hit.item_id, {}),
                "runFacets": run_facets.get(run.run_id, {}) if run else {},
            }
        )
    return {"hits": documents, "highlights": [highlight(h, text) for h in hits]}


def dataset_hits(store: Store, text: str) -> JSON:
    hits = store.search(text, [SearchKind.DATASET], Page(HITS)).items
    ids = [h.item_id for h in hits]
    # At most HITS look-ups: the latest run that wrote each dataset.
    writers: Mapping[str, RunInfo | None] = {
        i: next(iter(store.runs_writing(i, Page(1))), None) for i in dict.fromkeys(ids)
    }
    io_keys = {i: make_key(run.run_id, i) for i, run in writers.items() if run is not None}
    facets = facets_by_entity(store.entity_facets(FacetOwner.DATASET, ids))
    inputs = facets_by_entity(store.entity_facets(FacetOwner.INPUT, list(io_keys.values())))
    outputs = facets_by_entity(store.entity_facets(FacetOwner.OUTPUT, list(io_keys.values())))
    documents = []
    for hit in hits:
        run = writers[hit.item_id]
        key = io_keys.get(hit.item_id, "")
        documents.append(
            {
                "run_id": run.run_id if run else None,
                "eventType": _state(run),
                "name": hit.name,
                "inputFacets": inputs.get(key, {}),
                "outputFacets": outputs.get(key, {}),
                "namespace": hit.namespace_uri,
                "facets": facets.get(hit.item_id, {}),
            }
        )
    return {"hits": documents, "highlights": [highlight(h, text) for h in hits]}


async def search_jobs(request: web.Request) -> web.Response:
    text = params.text(request.query, "q")
    return json_response(await in_thread(job_hits, request.app[QUERY_STORE], text))


async def search_datasets(request: web.Request) -> web.Response:
    text = params.text(request.query, "q")
    return json_response(await in_thread(dataset_hits, request.app[QUERY_STORE], text))
