"""The Marquez-compatible v1 read API: the calls Marquez's clients and UI make, in Marquez's shapes.

A Marquez namespace name is the namespace uri; path segments arrive URL-encoded (the marquez-python client
quotes `teradata://host:1025` whole) and aiohttp decodes them. POST /api/v1/lineage is ingestion and lives
in ingest; only GET is registered here.
"""

from __future__ import annotations

from aiohttp import web

from query import params
from query.catalog import find_job, find_named_dataset, find_namespace
from query.errors import not_found
from query.http import in_thread, json_response
from query.shapes import JSON
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v1 import shapes as shapes_v1
from query.v1.enrich import datasets_json, jobs_json, runs_json
from schemas.rows import run_key

PREFIX = "/api/v1"
MARQUEZ_DEPTH = 20  # Marquez's default lineage depth


async def list_namespaces(request: web.Request) -> web.Response:
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)
    found = await in_thread(request.app[QUERY_STORE].namespaces, page)
    return json_response({"namespaces": [shapes_v1.namespace(n) for n in found.items], "totalCount": found.total})


async def get_namespace(request: web.Request) -> web.Response:
    found = await in_thread(find_namespace, request.app[QUERY_STORE], request.match_info["namespace"])
    return json_response(shapes_v1.namespace(found))


async def list_datasets(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)

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
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)

    def compute() -> JSON:
        ns = find_namespace(store, request.match_info["namespace"])
        found = store.jobs(ns.namespace_id, page)
        return {"totalCount": found.total, "jobs": jobs_json(store, found.items)}

    return json_response(await in_thread(compute))


async def get_job(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    namespace, name = request.match_info["namespace"], request.match_info["job"]
    return json_response(await in_thread(lambda: jobs_json(store, [find_job(store, namespace, name)])[0]))


async def list_runs(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)
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
