"""Marquez v1 versions, run facets, tags and sources: the calls its UI makes on dataset, job and run pages.

Dataset versions are OL_DATASET_VERSION rows (one per distinct set of facets an event carried for the dataset).
Job versions are derived from runs: a run's version is named by the job and the datasets it read and wrote
(query.v1.enrich.job_version), so a job's versions are the distinct versions of its runs, read from its latest
`VERSION_RUNS` runs. Every answer is a fixed number of statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from query import params
from query.catalog import find_job, find_named_dataset
from query.errors import bad_parameter, not_found
from query.http import in_thread, json_response
from query.shapes import JSON
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v1 import shapes as shapes_v1
from query.v1.enrich import live_facets, parse_json, run_context, without_deleted
from schemas.rows import FacetOwner, run_key
from schemas.store import DatasetInfo, DatasetVersionInfo, JobInfo, Page, RunInfo, Store
from schemas.times import store_to_iso

VERSION_RUNS = 10_000  # a job's versions are read from this many of its latest runs
FACET_TYPES = ("run", "job")


# --- dataset versions ---------------------------------------------------------------------------------------


def schema_fields(facets: Mapping[str, Any]) -> list[JSON]:
    """The schema facet's fields as Marquez lists them, nested ones as dotted paths (as OL_DATASET_FIELD keeps)."""
    found: list[JSON] = []

    def walk(items: object, prefix: str) -> None:
        for item in items if isinstance(items, list) else []:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            kind, description = item.get("type"), item.get("description")
            found.append({"name": prefix + name, "type": kind if isinstance(kind, str) else None, "tags": [],
                          "description": description if isinstance(description, str) else None})  # fmt: skip
            walk(item.get("fields"), prefix + name + ".")

    schema = facets.get("schema")
    walk(schema.get("fields") if isinstance(schema, dict) else None, "")
    return found


def _versions_json(store: Store, d: DatasetInfo, versions: list[DatasetVersionInfo]) -> list[JSON]:
    """4 statements: the runs that made the versions, and what their answers need (query.v1.enrich)."""
    run_ids = list(dict.fromkeys(v.run_id for v in versions if v.run_id))
    runs = {r.run_id: r for r in store.runs_by_ids(run_ids)} if run_ids else {}
    context = run_context(store, list(runs.values()))
    result = []
    for v in versions:
        payload = parse_json(v.payload)
        facets = without_deleted(payload if isinstance(payload, dict) else {})
        run = runs.get(v.run_id or "")
        result.append(
            {
                "id": {"namespace": d.namespace_uri, "name": d.name, "version": v.version_id},
                "type": "DB_TABLE",
                "name": d.name,
                "physicalName": d.name,
                "createdAt": store_to_iso(v.created_at),
                "version": v.version_id,
                "namespace": d.namespace_uri,
                "sourceName": shapes_v1.source_name(d, facets),
                "fields": schema_fields(facets),
                "tags": shapes_v1.tag_names(facets),
                "lastModifiedAt": store_to_iso(v.updated_at),
                "lifecycleState": shapes_v1.facet_text(facets, "lifecycleStateChange", "lifecycleStateChange"),
                "description": shapes_v1.facet_text(facets, "documentation", "description") or d.description,
                "createdByRun": context.run(run) if run is not None else None,
                "facets": facets,
            }
        )
    return result


async def list_dataset_versions(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)
    namespace, name = request.match_info["namespace"], request.match_info["dataset"]

    def compute() -> JSON:
        d = find_named_dataset(store, namespace, name)
        found = store.dataset_versions(d.dataset_id, page)
        return {"totalCount": found.total, "versions": _versions_json(store, d, found.items)}

    return json_response(await in_thread(compute))


async def get_dataset_version(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    namespace, name, version = (request.match_info[k] for k in ("namespace", "dataset", "version"))

    def compute() -> JSON:
        d = find_named_dataset(store, namespace, name)
        found = [v for v in store.dataset_versions_by_ids([version.lower()]) if v.dataset_id == d.dataset_id]
        if not found:
            raise not_found("dataset version", version)
        return _versions_json(store, d, found)[0]

    return json_response(await in_thread(compute))


# --- job versions -------------------------------------------------------------------------------------------


def _job_versions(store: Store, j: JobInfo) -> list[JSON]:
    """The distinct versions of the job's latest runs, newest first: 5 statements."""
    runs = store.runs(j.job_id, Page(VERSION_RUNS)).items  # newest first
    context = run_context(store, runs)
    job_facets = live_facets(store.entity_facets(FacetOwner.JOB, [j.job_id])).get(j.job_id, {})
    location = shapes_v1.facet_text(job_facets, "sourceCodeLocation", "url")
    grouped: dict[str, list[RunInfo]] = {}
    for r in runs:
        grouped.setdefault(context.version(r), []).append(r)
    result = []
    for index, (version, members) in enumerate(grouped.items()):
        refs = {
            role: [{"namespace": d.namespace_uri, "name": d.name} for d in context.datasets_of(members[0].run_id, role)]
            for role in ("input", "output")
        }
        created = min((r.created_at for r in members if r.created_at), default=None)
        updated = max((r.last_event_time for r in members if r.last_event_time), default=None)
        result.append(
            {
                "id": {"namespace": j.namespace_uri, "name": j.name, "version": version},
                "name": j.name,
                "version": version,
                "createdAt": store_to_iso(created),
                "updatedAt": store_to_iso(updated),
                "namespace": j.namespace_uri,
                "location": location if index == 0 else None,  # the facet stored is the latest run's
                "inputs": refs["input"],
                "outputs": refs["output"],
                "latestRun": context.run(members[0]),
                "facets": {},
            }
        )
    return result


async def list_job_versions(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)
    namespace, name = request.match_info["namespace"], request.match_info["job"]

    def compute() -> JSON:
        versions = _job_versions(store, find_job(store, namespace, name))
        return {"totalCount": len(versions), "versions": versions[page.offset : page.offset + page.limit]}

    return json_response(await in_thread(compute))


async def get_job_version(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    namespace, name, version = (request.match_info[k] for k in ("namespace", "job", "version"))

    def compute() -> JSON:
        found = [v for v in _job_versions(store, find_job(store, namespace, name)) if v["version"] == version.lower()]
        if not found:
            raise not_found("job version", version)
        return found[0]

    return json_response(await in_thread(compute))


# --- run facets -----------------------------------------------------------------------------------------------


RUN_EVENTS_READ = 10_000  # events of one run read for its job facets: far more than a run sends


def _job_facets_of_run(store: Store, run_id: str) -> JSON:
    """The job facets the run's own events carried, later events' values replacing earlier ones."""
    facets: JSON = {}
    for event in store.run_events(run_id, Page(RUN_EVENTS_READ)).items:
        job = parse_json(event.payload)
        given = job.get("job", {}).get("facets") if isinstance(job, dict) else None
        if isinstance(given, dict):
            facets.update(given)
    return without_deleted(facets)


async def run_facets(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    run_id = request.match_info["id"]
    kind = request.query.get("type", "run").strip().lower() or "run"
    if kind not in FACET_TYPES:
        raise bad_parameter("type", f"{kind!r} is not one of run, job")

    def compute() -> JSON:
        key = run_key(run_id)
        if not store.runs_by_ids([key]):
            raise not_found("run", run_id)
        if kind == "job":
            return {"runId": run_id, "facets": _job_facets_of_run(store, key)}
        return {"runId": run_id, "facets": live_facets(store.entity_facets(FacetOwner.RUN, [key])).get(key, {})}

    return json_response(await in_thread(compute))


# --- tags and sources -----------------------------------------------------------------------------------------


async def list_tags(request: web.Request) -> web.Response:
    """Every tag a stored `tags` facet (of a dataset, job or run) names, by name; an empty list when none."""
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)

    def compute() -> JSON:
        tags: dict[str, shapes_v1.Tag] = {}
        for facets in live_facets(store.facets_named(["tags"])).values():
            for tag in shapes_v1.tags_of(facets):
                tags.setdefault(tag.name, tag)
        ordered = [tags[name] for name in sorted(tags)][page.offset : page.offset + page.limit]
        return {"tags": [{"name": t.name, "description": t.description} for t in ordered]}

    return json_response(await in_thread(compute))


def _source(name: str, uri: str, created: str | None, updated: str | None) -> JSON:
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    return {"type": scheme.upper() or "UNKNOWN", "name": name, "createdAt": store_to_iso(created),
            "updatedAt": store_to_iso(updated), "connectionUrl": uri, "description": None}  # fmt: skip


async def list_sources(request: web.Request) -> web.Response:
    """Sources as datasets name them: each dataSource facet's (name, uri); a dataset without one is its namespace's
    (query.v1.shapes.source_name), so every namespace is a source too."""
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)

    def compute() -> JSON:
        sources: dict[str, JSON] = {}
        for f in store.facets_named(["dataSource"]):
            facet = parse_json(f.payload)
            name = facet.get("name") if isinstance(facet, dict) else None
            if isinstance(name, str) and name and name not in sources:
                uri = facet.get("uri")
                sources[name] = _source(name, uri if isinstance(uri, str) else "", None, None)
        for n in store.namespaces(Page(10_000)).items:
            sources.setdefault(n.uri, _source(n.uri, n.uri, n.created_at, n.created_at))
        ordered = [sources[name] for name in sorted(sources)]
        return {"totalCount": len(ordered), "sources": ordered[page.offset : page.offset + page.limit]}

    return json_response(await in_thread(compute))
