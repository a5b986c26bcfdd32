"""The seed-compatible v2 API under /api/v2/openlineage (API_V2.md): its routes, and the catalog handlers.

Each handler checks its parameters on the loop, then runs one synchronous function in a worker thread.
Lineage (v2_lineage), search (v2_search) and dataset details (v2_details) live beside.
"""

from __future__ import annotations

from aiohttp import web

from query import params
from query.catalog import find_dataset, find_namespace
from query.http import in_thread, json_response
from query.shapes import JSON
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v2 import details as v2_details
from query.v2 import lineage as v2_lineage
from query.v2 import search as v2_search
from query.v2.shapes import dataset, dataset_with_fields, namespace
from schemas.rows import namespace_key
from schemas.store import Page, Paged

PREFIX = "/api/v2/openlineage"


async def list_namespaces(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    config = request.app[QUERY_CONFIG]
    found = await in_thread(store.namespaces, Page(config.max_page_size))
    return json_response({"namespaces": [namespace(n) for n in found.items]})


async def get_namespace(request: web.Request) -> web.Response:
    found = await in_thread(find_namespace, request.app[QUERY_STORE], request.match_info["id"])
    return json_response(namespace(found))


async def namespace_datasets(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)

    def compute() -> JSON:
        # An unknown namespace has no datasets: an empty list, as the application answered (its query simply
        # matched no row), where `namespaces/{id}` is a 404.
        segment = request.match_info["id"]
        known = store.namespaces_by_ids([segment, namespace_key(segment)])
        found = store.datasets(known[0].namespace_id, page) if known else Paged([], 0)
        return {
            "datasets": [dataset(d) for d in found.items],
            "total": found.total,
            "pagination": {
                "total_count": found.total,
                "total": found.total,
                "limit": page.limit,
                "offset": page.offset,
                "has_next": page.offset + len(found.items) < found.total,
            },
        }

    return json_response(await in_thread(compute))


async def get_dataset(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]

    def compute() -> JSON:
        found = find_dataset(store, request.match_info["datasetId"])
        return dataset_with_fields(found, store.fields([found.dataset_id]))

    return json_response(await in_thread(compute))


def routes(prefix: str = PREFIX) -> list[web.RouteDef]:
    return [
        web.get(f"{prefix}/namespaces", list_namespaces),
        web.get(f"{prefix}/namespaces/{{id}}", get_namespace),
        web.get(f"{prefix}/namespaces/{{id}}/datasets", namespace_datasets),
        web.get(f"{prefix}/datasets/search", v2_search.search_datasets),
        web.get(f"{prefix}/datasets/{{datasetId}}", get_dataset),
        web.get(f"{prefix}/datasets/{{datasetId}}/statistics", v2_details.statistics),
        web.get(f"{prefix}/datasets/{{datasetId}}/ddl", v2_details.ddl),
        web.get(f"{prefix}/search", v2_search.search_all),
        web.get(f"{prefix}/lineage/table/{{datasetId}}", v2_lineage.table_lineage),
        web.get(f"{prefix}/lineage/database/{{databaseName}}", v2_lineage.database_lineage),
        web.get(f"{prefix}/lineage/{{datasetId}}/{{fieldName}}", v2_lineage.field_lineage),
        web.get(f"{prefix}/impact/{{datasetId}}", v2_lineage.impact),
    ]
