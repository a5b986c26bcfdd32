"""v2 lineage: a field's, a dataset's (every field), a database's (every dataset), and impact analysis.

Answers are cached (query.http.cached) under a key holding every parameter and the node cap.
"""

from __future__ import annotations

from aiohttp import web

from query import params
from query.catalog import FieldRef, field_ref, find_dataset
from query.config import QueryConfig
from query.errors import NotFound, not_found
from query.http import cached
from query.lineage import FieldNode, Way, column_lineage
from query.lineage import table_lineage as walk_tables
from query.shapes import JSON
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v2.shapes import GraphShaper, dataset, node_id
from schemas.store import DatasetInfo, Store


def _shaper(store: Store, nodes: list[FieldNode]) -> GraphShaper:
    fields = {f.field_id: f for f in store.fields_by_ids([n.field_id for n in nodes])}
    datasets = {d.dataset_id: d for d in store.datasets_by_ids(list(dict.fromkeys(n.dataset_id for n in nodes)))}
    return GraphShaper(fields, datasets)


def _start_node(ref: FieldRef) -> FieldNode:
    d = ref.dataset
    return FieldNode(ref.field_id, d.dataset_id, d.namespace_uri, d.name, ref.name, 0)


def fields_lineage(store: Store, config: QueryConfig, starts: list[FieldNode], way: Way, depth: int) -> JSON:
    """`{"graph", "truncated"}` for the lineage of the start fields."""
    graph = column_lineage(store, [s.field_id for s in starts], way, depth, config.max_nodes)
    shaper = _shaper(store, [*starts, *graph.nodes])
    return {"graph": shaper.graph(graph, starts), "truncated": graph.truncated}


def _dataset_starts(store: Store, datasets: list[DatasetInfo]) -> list[FieldNode]:
    by_id = {d.dataset_id: d for d in datasets}
    return [
        FieldNode(f.field_id, f.dataset_id, by_id[f.dataset_id].namespace_uri, by_id[f.dataset_id].name, f.name, 0)
        for f in store.fields(list(by_id))
    ]


async def field_lineage(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    way, depth = params.way(request.query), params.depth(request.query, config)
    dataset_id, field_name = request.match_info["datasetId"], request.match_info["fieldName"]

    def compute() -> JSON:
        ref = field_ref(store, find_dataset(store, dataset_id), field_name)
        body = fields_lineage(store, config, [_start_node(ref)], way, depth)
        if ref.info is None and not body["graph"]["edges"]:
            raise not_found("field", f"{dataset_id}.{field_name}")
        return {"datasetId": dataset_id, "fieldName": field_name, "direction": way.value, "maxDepth": depth, **body}

    key = {"dataset": dataset_id, "field": field_name, "way": way.value, "depth": depth, "cap": config.max_nodes}
    return await cached(request, "v2.field", key, compute)


async def table_lineage(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    way, depth = params.way(request.query), params.depth(request.query, config)
    dataset_id = request.match_info["datasetId"]

    def compute() -> JSON:
        found = find_dataset(store, dataset_id)
        starts = _dataset_starts(store, [found])
        if not starts:  # as the application answered: a graph of no field is not a table's lineage
            raise NotFound(f"No fields found for dataset: {dataset_id}", [("datasetId", "the dataset has no fields")])
        body = fields_lineage(store, config, starts, way, depth)
        return {"datasetId": dataset_id, "direction": way.value, "maxDepth": depth, **body}

    key = {"dataset": dataset_id, "way": way.value, "depth": depth, "cap": config.max_nodes}
    return await cached(request, "v2.table", key, compute)


async def database_lineage(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    way = params.way(request.query)
    depth = params.depth(request.query, config, default=config.database_default_depth)
    name = request.match_info["databaseName"]

    def compute() -> JSON:
        datasets = store.datasets_in_database(name, config.max_database_datasets)
        if not datasets:
            raise not_found("database", name)
        body = fields_lineage(store, config, _dataset_starts(store, datasets), way, depth)
        if len(datasets) >= config.max_database_datasets:
            body["truncated"] = True
        return {"databaseName": name, "direction": way.value, "maxDepth": depth, **body}

    key = {"database": name, "way": way.value, "depth": depth, "cap": config.max_nodes}
    return await cached(request, "v2.database", key, compute)


def _impact(store: Store, config: QueryConfig, found: DatasetInfo, field_name: str | None, depth: int) -> JSON:
    if field_name:
        starts = [_start_node(field_ref(store, found, field_name))]
    else:
        starts = _dataset_starts(store, [found])
    graph = column_lineage(store, [s.field_id for s in starts], Way.DOWNSTREAM, depth, config.max_nodes)
    fields = sorted((n for n in graph.nodes if n.depth > 0), key=lambda n: (n.depth, n.dataset, n.field))
    if field_name:
        # A field reaches the datasets of the fields it reaches, at the depth of the nearest one.
        reached: dict[str, int] = {}
        for n in fields:
            reached.setdefault(n.dataset_id, n.depth)
        truncated = graph.truncated
    else:
        tables = walk_tables(store, [found.dataset_id], Way.DOWNSTREAM, depth, config.max_nodes)
        reached = {k: d for k, d in tables.depths.items() if d > 0}
        truncated = graph.truncated or tables.truncated
    infos = {d.dataset_id: d for d in store.datasets_by_ids(list(reached))}
    datasets = sorted((k for k in reached if k in infos), key=lambda k: (reached[k], infos[k].name))
    return {
        "datasets": [{**dataset(infos[k]), "depth": reached[k]} for k in datasets],
        "fields": [
            {
                "id": node_id(n.dataset, n.field),
                "fieldId": n.field_id,
                "name": n.field,
                "dataset": n.dataset,
                "namespace": n.namespace,
                "depth": n.depth,
            }
            for n in fields
        ],
        "byDepth": [
            {
                "depth": level,
                "datasetCount": sum(1 for k in datasets if reached[k] == level),
                "fieldCount": sum(1 for n in fields if n.depth == level),
            }
            for level in range(1, depth + 1)
        ],
        "truncated": truncated,
    }


async def impact(request: web.Request) -> web.Response:
    """Impact analysis: what is downstream of a dataset (or one of its fields), datasets and fields by depth."""
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    depth = params.depth(request.query, config)
    field_name = request.query.get("fieldName", "").strip() or None
    dataset_id = request.match_info["datasetId"]

    def compute() -> JSON:
        found = find_dataset(store, dataset_id)
        body = _impact(store, config, found, field_name, depth)
        return {"datasetId": dataset_id, "fieldName": field_name, "maxDepth": depth, **body}

    key = {"dataset": dataset_id, "field": field_name, "depth": depth, "cap": config.max_nodes}
    return await cached(request, "v2.impact", key, compute)
