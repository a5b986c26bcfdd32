"""Marquez v1 lineage, column lineage, raw events and search.

/lineage walks datasets and jobs (runs' inputs and outputs) both ways; its edges point from input to output (an
edge is in its destination's inEdges and its origin's outEdges). /column-lineage walks fields upstream, and
downstream too with withDownstream=true; its edges are built as Marquez builds them: a node's inEdges run from it
to its upstream fields. Node ids are Marquez's (query.nodeid).
"""

from __future__ import annotations

from collections import defaultdict

import orjson
from aiohttp import web

from query import params
from query.catalog import find_job, find_named_dataset
from query.config import QueryConfig
from query.errors import bad_parameter, not_found
from query.http import cached, in_thread, json_response
from query.lineage import DATASET_NODE, JOB_NODE, FieldGraph, FieldNode, FieldPair, Way, column_lineage, job_graph
from query.nodeid import NodeId, NodeKind, dataset_node, field_node, job_node, parse_node_id
from query.shapes import JSON
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v1.enrich import current_versions, datasets_json, jobs_json
from query.v1.routes import MARQUEZ_DEPTH, v1_page
from schemas.rows import dataset_key, field_key
from schemas.store import Direction, SearchHit, SearchKind, SearchScope, Store, TimeWindow
from schemas.times import store_to_iso

EARLIEST = "0001-01-01 00:00:00.000000"
LATEST = "9999-12-31 23:59:59.999999"
FILTERS = {"dataset": [SearchKind.DATASET], "job": [SearchKind.JOB], "field": [SearchKind.FIELD]}
RESULT_TYPES = {"dataset": "DATASET", "job": "JOB", "field": "DATASET_FIELD"}


def _v1_depth(request: web.Request, config: QueryConfig) -> int:
    """Marquez's depth: 20 by default (clamped to the configured bounds), and 0 accepted (the start alone)."""
    default = max(config.min_depth, min(MARQUEZ_DEPTH, config.max_depth))
    return params.integer(request.query, "depth", default, 0, config.max_depth)


def _edge(origin: str, destination: str) -> JSON:
    return {"origin": origin, "destination": destination}


def _lineage(store: Store, config: QueryConfig, node: NodeId, depth: int) -> JSON:
    if node.kind is NodeKind.DATASET:
        start = DATASET_NODE + find_named_dataset(store, node.namespace, node.name).dataset_id
    elif node.kind is NodeKind.JOB:
        start = JOB_NODE + find_job(store, node.namespace, node.name).job_id
    else:
        raise bad_parameter("nodeId", "lineage starts at a dataset: or job: node")
    found = job_graph(store, start, depth, config.max_nodes)
    keys = list(found.depths)
    datasets = store.datasets_by_ids([k.removeprefix(DATASET_NODE) for k in keys if k.startswith(DATASET_NODE)])
    jobs = store.jobs_by_ids([k.removeprefix(JOB_NODE) for k in keys if k.startswith(JOB_NODE)])
    ids = {DATASET_NODE + d.dataset_id: dataset_node(d.namespace_uri, d.name) for d in datasets}
    ids.update({JOB_NODE + j.job_id: job_node(j.namespace_uri, j.name) for j in jobs})
    ins: dict[str, list[JSON]] = defaultdict(list)
    outs: dict[str, list[JSON]] = defaultdict(list)
    for step in found.edges.values():
        dnode, jnode = ids.get(DATASET_NODE + step.link.dataset_id), ids.get(JOB_NODE + step.link.job_id)
        if dnode is None or jnode is None:
            continue
        origin, destination = (dnode, jnode) if step.link.role == "input" else (jnode, dnode)
        outs[origin].append(_edge(origin, destination))
        ins[destination].append(_edge(origin, destination))
    graph = []
    for dataset, data in zip(datasets, datasets_json(store, datasets), strict=True):
        nid = ids[DATASET_NODE + dataset.dataset_id]
        graph.append({"id": nid, "type": "DATASET", "data": data, "inEdges": ins[nid], "outEdges": outs[nid]})
    for job, data in zip(jobs, jobs_json(store, jobs), strict=True):
        nid = ids[JOB_NODE + job.job_id]
        graph.append({"id": nid, "type": "JOB", "data": data, "inEdges": ins[nid], "outEdges": outs[nid]})
    return {"graph": graph, "truncated": found.truncated}


async def lineage(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    node = parse_node_id(params.text(request.query, "nodeId"))
    depth = _v1_depth(request, config)
    key = {"node": str(node), "depth": depth, "cap": config.max_nodes}
    return await cached(request, "v1.lineage", key, lambda: _lineage(store, config, node, depth))


def _column_starts(store: Store, node: NodeId) -> list[FieldNode]:
    """The fields a column-lineage request starts from, as Marquez chooses them; 404 when there are none (an
    unknown field, or a dataset or job without fields), never a node made up for the request."""
    if node.kind is NodeKind.FIELD and node.field is not None:
        d = find_named_dataset(store, node.namespace, node.name)
        field_id = field_key(d.namespace_uri, d.name, node.field)
        known = store.fields_by_ids([field_id]) or any(store.column_edges([field_id], w) for w in Direction)
        if not known:
            raise not_found("field", f"{node.namespace}:{node.name}:{node.field}")
        return [FieldNode(field_id, d.dataset_id, d.namespace_uri, d.name, node.field, 0)]
    if node.kind is NodeKind.DATASET:
        datasets = [find_named_dataset(store, node.namespace, node.name)]
    elif node.kind is NodeKind.JOB:
        links = store.job_links([find_job(store, node.namespace, node.name).job_id], of_jobs=True)
        datasets = store.datasets_by_ids([link.dataset_id for link in links if link.role == "output"])
    else:
        raise bad_parameter("nodeId", "column lineage starts at a datasetField:, dataset: or job: node")
    by_id = {d.dataset_id: d for d in datasets}
    starts = [
        FieldNode(f.field_id, f.dataset_id, by_id[f.dataset_id].namespace_uri, by_id[f.dataset_id].name, f.name, 0)
        for f in store.fields(list(by_id))
    ]
    if not starts:
        raise not_found("fields of", str(node))
    return starts


def _start_version(store: Store, node: NodeId) -> str | None:
    """A dataset version suffix (`dataset:ns:name#<version>`, `datasetField:...#<version>`) must name a version of
    that dataset (404 otherwise); the answer's node ids then carry versions, as Marquez's do."""
    if node.version is None or node.kind is NodeKind.JOB:
        return node.version
    d = find_named_dataset(store, node.namespace, node.name)
    if not any(v.dataset_id == d.dataset_id for v in store.dataset_versions_by_ids([node.version])):
        raise not_found("dataset version", node.version)
    return node.version


def _input_field(pair: FieldPair) -> JSON:
    e = pair.first
    return {
        "namespace": e.source_namespace,
        "dataset": e.source_dataset,
        "datasetVersion": None,
        "field": e.source_field,
        "transformationDescription": e.transformation_description,
        "transformationType": e.transformation_type,
        "transformations": [
            {"type": t.type, "subtype": t.subtype, "description": t.description, "masking": t.masking}
            for t in pair.transformations
        ],
    }


def _versions(store: Store, graph: FieldGraph, start: NodeId, version: str | None) -> dict[str, str]:
    """dataset_id -> the version a node id carries: the requested one for the start's dataset, each other dataset's
    current version (one statement); empty when the request named no version."""
    if version is None:
        return {}
    datasets = list(dict.fromkeys(n.dataset_id for n in graph.nodes))
    current = current_versions(store.current_dataset_versions(datasets))
    if start.kind is not NodeKind.JOB:
        current[dataset_key(start.namespace, start.name)] = version
    return current


def _column_graph(store: Store, graph: FieldGraph, versions: dict[str, str]) -> list[JSON]:
    """Marquez's column-lineage graph (marquez.service.ColumnLineageService.toLineage): a node per field an edge
    touches; a node's inEdges go from it to the fields it is computed from (origin = this node, destination = the
    upstream field), its outEdges from it to the fields computed from it."""
    nodes = graph.nodes
    types = {f.field_id: f.type for f in store.fields_by_ids([n.field_id for n in nodes])}

    def node_id(n: FieldNode) -> str:
        plain = field_node(n.namespace, n.dataset, n.field)
        version = versions.get(n.dataset_id)
        return plain if version is None else f"{plain}#{version}"

    ids = {n.field_id: node_id(n) for n in nodes}
    inputs: dict[str, list[FieldPair]] = defaultdict(list)
    outputs: dict[str, list[FieldPair]] = defaultdict(list)
    for pair in graph.pairs:
        inputs[pair.target_field_id].append(pair)
        outputs[pair.source_field_id].append(pair)
    result = []
    for n in nodes:
        mine = inputs[n.field_id]
        first = mine[0].first if mine else None
        data = {
            "namespace": n.namespace,
            "dataset": n.dataset,
            "datasetVersion": versions.get(n.dataset_id),
            "field": n.field,
            "fieldType": types.get(n.field_id) or "",
            "transformationDescription": first.transformation_description if first else None,
            "transformationType": first.transformation_type if first else None,
            "inputFields": [_input_field(p) for p in mine],
        }
        result.append(
            {
                "id": ids[n.field_id],
                "type": "DATASET_FIELD",
                "data": data,
                "inEdges": [_edge(ids[n.field_id], ids[p.source_field_id]) for p in mine],
                "outEdges": [_edge(ids[n.field_id], ids[p.target_field_id]) for p in outputs[n.field_id]],
            }
        )
    return result


async def column_lineage_handler(request: web.Request) -> web.Response:
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    node = parse_node_id(params.text(request.query, "nodeId"))
    depth = _v1_depth(request, config)
    downstream = params.boolean(request.query, "withDownstream", False)
    if node.version is not None and downstream:
        raise bad_parameter("withDownstream", "a node version cannot be given when withDownstream is true")
    way = Way.BOTH if downstream else Way.UPSTREAM

    def compute() -> JSON:
        version = _start_version(store, node)
        starts = _column_starts(store, node)
        graph = column_lineage(store, [s.field_id for s in starts], way, depth, config.max_nodes)
        versions = _versions(store, graph, node, version)
        return {"graph": _column_graph(store, graph, versions), "truncated": graph.truncated}

    key = {"node": str(node), "depth": depth, "way": way.value, "cap": config.max_nodes}
    return await cached(request, "v1.column", key, compute)


SORT_DIRECTIONS = {"desc": False, "asc": True}  # Marquez's sortDirection -> oldest first
SEARCH_SORTS = {"name": False, "updated_at": True, "update_at": True}  # Marquez's SearchSort -> newest first


async def events(request: web.Request) -> web.Response:
    """Run events only, as Marquez lists them (its UI reads every event's `run`); newest first unless
    sortDirection=asc."""
    store = request.app[QUERY_STORE]
    page = v1_page(request)
    window = TimeWindow(
        params.timestamp(request.query, "after", EARLIEST), params.timestamp(request.query, "before", LATEST)
    )
    oldest_first = params.choice(request.query, "sortDirection", SORT_DIRECTIONS, False)
    found = await in_thread(store.events, window, page, oldest_first=oldest_first)
    return json_response({"events": [orjson.loads(e.payload) for e in found.items], "totalCount": found.total})


def _search_scope(request: web.Request) -> SearchScope:
    namespace = request.query.get("namespace", "").strip() or None
    timed = "after" in request.query or "before" in request.query
    window = TimeWindow(
        params.timestamp(request.query, "after", EARLIEST), params.timestamp(request.query, "before", LATEST)
    )
    newest_first = params.choice(request.query, "sort", SEARCH_SORTS, False)
    return SearchScope(namespace, window if timed else None, newest_first)


async def search(request: web.Request) -> web.Response:
    """Marquez's /search: `q`, `filter`, `sort` (name, updated_at), `limit` (0 allowed), `namespace`, `after`,
    `before` (on the time of the last update). totalCount is the number of results answered, as Marquez counts."""
    store = request.app[QUERY_STORE]
    text = params.text(request.query, "q")
    kind = request.query.get("filter", "").strip().lower()
    if kind and kind not in FILTERS:
        raise bad_parameter("filter", f"{kind!r} is not one of dataset, job, field")
    kinds = FILTERS[kind] if kind else [SearchKind.DATASET, SearchKind.JOB]
    page = params.page(request.query, request.app[QUERY_CONFIG], 10, min_limit=0)
    found = await in_thread(store.search, text, kinds, page, _search_scope(request))
    results = [_search_result(hit) for hit in found.items]
    return json_response({"totalCount": len(results), "results": results})


def _search_result(hit: SearchHit) -> JSON:
    if hit.kind == "field":
        node = field_node(hit.namespace_uri, hit.dataset_name or "", hit.name)
    elif hit.kind == "job":
        node = job_node(hit.namespace_uri, hit.name)
    else:
        node = dataset_node(hit.namespace_uri, hit.name)
    return {
        "type": RESULT_TYPES[hit.kind],
        "name": hit.name,
        "updatedAt": store_to_iso(hit.updated_at),
        "namespace": hit.namespace_uri,
        "nodeId": node,
    }
