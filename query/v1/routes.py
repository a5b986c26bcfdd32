"""The Marquez-compatible v1 read API: the calls Marquez's clients and UI make, in Marquez's shapes.

A Marquez namespace name is the namespace uri; path segments arrive URL-encoded (the marquez-python client
quotes `teradata://host:1025` whole) and aiohttp decodes them. POST /api/v1/lineage is ingestion and lives
in ingest; only GET is registered here.
"""

from __future__ import annotations

from aiohttp import web

from query import params
from query.catalog import find_job, find_named_dataset, find_namespace
from query.errors import NotFound, bad_parameter, not_found
from query.http import in_thread, json_response
from query.shapes import JSON
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v1 import shapes as shapes_v1
from query.v1.enrich import datasets_json, jobs_json, runs_json
from schemas.rows import run_key
from schemas.store import Page

PREFIX = "/api/v1"
MARQUEZ_DEPTH = 20  # Marquez's default lineage depth


def v1_page(request: web.Request, default_limit: int = 100) -> Page:
    """Marquez's limit (default 100, `limit=0` allowed) and offset."""
    return params.page(request.query, request.app[QUERY_CONFIG], default_limit, min_limit=0)


async def list_namespaces(request: web.Request) -> web.Response:
    page = v1_page(request)
    found = await in_thread(request.app[QUERY_STORE].namespaces, page)
    return json_response({"namespaces": [shapes_v1.namespace(n) for n in found.items], "totalCount": found.total})


async def get_namespace(request: web.Request) -> web.Response:
    found = await in_thread(find_namespace, request.app[QUERY_STORE], request.match_info["namespace"])
    return json_response(shapes_v1.namespace(found))


async def list_datasets(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = v1_page(request)

    def compute() -> JSON:
        ns = find_namespace(store, request.match_info["namespace"])
        found = store.datasets(ns.namespace_id, page)
        return {"totalCount": found.total, "datasets": datasets_json(store, found.items)}

    return json_response(await in_thread(compute))


async def get_dataset(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    namespace, name = request.match_info["namespace"], request.match_info["dataset"]

    def compute() -> JSON:
        return datasets_json(store, [find_named_dataset(store, namespace, name)])[0]

    return json_response(await in_thread(compute))


async def list_jobs(request: web.Request) -> web.Response:
    """A namespace's jobs, most recently updated first. An unknown namespace has no jobs: an empty 200, as Marquez
    answers it."""
    store = request.app[QUERY_STORE]
    page = v1_page(request)

    def compute() -> JSON:
        try:
            ns = find_namespace(store, request.match_info["namespace"])
        except NotFound:
            return {"totalCount": 0, "jobs": []}
        listed = store.jobs_listed(ns.namespace_id, None, page)
        return {"totalCount": listed.total, "jobs": jobs_json(store, listed.items)}

    return json_response(await in_thread(compute))


async def list_all_jobs(request: web.Request) -> web.Response:
    """GET /api/v1/jobs: every namespace's jobs, with Marquez's `lastRunStates` filter (repeated, or one value
    with commas). As in Marquez, jobs that never ran are always listed and totalCount counts every job."""
    store = request.app[QUERY_STORE]
    page = v1_page(request)
    states = last_run_states(request.query.getall("lastRunStates", []))

    def compute() -> JSON:
        listed = store.jobs_listed(None, states, page)
        return {"totalCount": listed.total, "jobs": jobs_json(store, listed.items)}

    return json_response(await in_thread(compute))


def last_run_states(values: list[str]) -> list[str] | None:
    """Marquez run states -> the OL_RUN states they stand for; None (no filter) when none is given."""
    wanted = [v.strip().upper() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in shapes_v1.OL_STATES]
    if unknown:
        raise bad_parameter("lastRunStates", f"{unknown[0]!r} is not one of {', '.join(shapes_v1.OL_STATES)}")
    if not wanted:
        return None
    return list(dict.fromkeys(state for v in wanted for state in shapes_v1.OL_STATES[v]))


async def get_job(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    namespace, name = request.match_info["namespace"], request.match_info["job"]
    return json_response(await in_thread(lambda: jobs_json(store, [find_job(store, namespace, name)])[0]))


async def list_runs(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = v1_page(request)
    namespace, name = request.match_info["namespace"], request.match_info["job"]

    def compute() -> JSON:
        found = store.runs(find_job(store, namespace, name).job_id, page)
        return {"totalCount": found.total, "runs": runs_json(store, found.items)}

    return json_response(await in_thread(compute))


async def get_run(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    run_id = request.match_info["id"]

    def compute() -> JSON:
        found = store.runs_by_ids([run_key(run_id)])
        if not found:
            raise not_found("run", run_id)
        return runs_json(store, found)[0]

    return json_response(await in_thread(compute))
