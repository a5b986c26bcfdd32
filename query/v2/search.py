"""v2 search: datasets by name, and the combined search of databases, datasets and fields."""

from __future__ import annotations

from aiohttp import web

from query import params
from query.config import QueryConfig
from query.http import in_thread, json_response
from query.shapes import JSON, split_name
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v2.shapes import dataset, node_id
from schemas.rows import fold
from schemas.store import DatasetInfo, Page, SearchKind, Store

MIN_QUERY = 2  # the seed answered 400 below two characters


def _datasets(store: Store, text: str, limit: int) -> list[DatasetInfo]:
    hits = store.search(text, [SearchKind.DATASET], Page(limit)).items
    by_id = {d.dataset_id: d for d in store.datasets_by_ids([h.item_id for h in hits])}
    return [by_id[h.item_id] for h in hits if h.item_id in by_id]


async def search_datasets(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    text = params.text(request.query, "q", MIN_QUERY)
    limit = params.page(request.query, config, 50).limit
    found = await in_thread(_datasets, store, text, limit)
    return json_response({"datasets": [dataset(d) for d in found], "query": text, "count": len(found)})


def _databases(store: Store, config: QueryConfig, text: str, datasets: list[DatasetInfo]) -> list[JSON]:
    """Databases (first dotted part of a name) matching the query, with their number of tables."""
    seen: dict[tuple[str, str], None] = {}
    for d in datasets:
        database = split_name(d.name)[0]
        if database is not None and fold(text) in fold(database):
            seen.setdefault((database, d.namespace_uri), None)
    result = []
    for database, namespace in seen:
        tables = store.datasets_in_database(database, config.max_database_datasets)
        count = sum(1 for t in tables if t.namespace_uri == namespace)
        result.append({"name": database, "namespace": namespace, "tableCount": count})
    return result


def _search_all(store: Store, config: QueryConfig, text: str, limit: int) -> JSON:
    datasets = _datasets(store, text, limit)
    databases = _databases(store, config, text, datasets)
    fields = store.search(text, [SearchKind.FIELD], Page(limit)).items
    return {
        "databases": databases,
        "datasets": [dataset(d) for d in datasets],
        "fields": [
            {
                "id": node_id(f.dataset_name or "", f.name),
                "fieldId": f.item_id,
                "name": f.name,
                "dataset": f.dataset_name,
                "namespace": f.namespace_uri,
            }
            for f in fields
        ],
        "query": text,
        "totalCount": len(databases) + len(datasets) + len(fields),
        "databaseCount": len(databases),
        "datasetCount": len(datasets),
        "fieldCount": len(fields),
    }


async def search_all(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    text = params.text(request.query, "q", MIN_QUERY)
    limit = params.page(request.query, config, 50).limit
    return json_response(await in_thread(_search_all, store, config, text, limit))
