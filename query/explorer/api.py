"""The explorer's own JSON, under /api/explorer: what the v1 and v2 reads do not give in one answer.

- `column-lineage` and `table-lineage`: the v2 field graph (the same function answers
  /api/v2/openlineage/lineage/...) or the dataset graph, each with its server-side layout (query.explorer.layout);
- `datasets/{id}`: a dataset with its fields, the jobs that write and read it and its recent runs;
- `runs` (the latest across jobs) and `runs/{id}/events` (the raw events received for a run).
Everything else the explorer shows comes from /api/v1 and /api/v2/openlineage as any client reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiohttp import web

from query import params
from query.catalog import field_ref, find_dataset, find_named_dataset
from query.errors import not_found
from query.explorer.layout import BOX_WIDTH, HEADER, ROW, Layout, Node, layout
from query.http import cached, in_thread, json_response
from query.lineage import FieldNode, Way, table_lineage
from query.shapes import JSON, duration_ms
from query.typedefs import QUERY_CONFIG, QUERY_STORE
from query.v2.lineage import fields_lineage
from query.v2.shapes import dataset, dataset_with_fields
from schemas.store import DatasetInfo, JobInfo, Page, RunInfo, Store
from schemas.times import store_to_iso

PREFIX = "/api/explorer"


def dataset_named(store: Store, query: Mapping[str, str]) -> DatasetInfo:
    """The dataset a request names: `namespace` and `dataset` (its name), or `dataset` alone (an id, or a name
    unique across namespaces)."""
    name = params.text(query, "dataset")
    namespace = query.get("namespace", "").strip()
    return find_named_dataset(store, namespace, name) if namespace else find_dataset(store, name)


def dataset_key(query: Mapping[str, str]) -> dict[str, str]:
    """What names the dataset, for a cache key."""
    return {"namespace": query.get("namespace", "").strip(), "dataset": query.get("dataset", "").strip()}


def layout_json(placed: Layout, labels: dict[str, str]) -> JSON:
    """The layout as the browser draws it: boxes with their rows' node ids, and each node's corner."""
    return {
        "width": placed.width,
        "height": placed.height,
        "row": ROW,
        "header": HEADER,
        "boxWidth": BOX_WIDTH,
        "crossings": placed.crossings,
        "boxes": [
            {
                "group": b.group,
                "label": labels.get(b.group, b.group),
                "layer": b.layer,
                "x": b.x,
                "y": b.y,
                "width": b.width,
                "height": b.height,
                "nodes": list(b.nodes),
            }
            for b in placed.boxes
        ],
        "nodes": {node: {"x": x, "y": y, "layer": placed.layers[node]} for node, (x, y) in placed.positions.items()},
    }


def _group(node: JSON) -> str:
    return f"{node['dataset']['namespace']}\n{node['dataset']['name']}"


def field_graph_layout(graph: JSON, start: str) -> JSON:
    """The layout of a v2 field graph (`{"nodes", "edges"}`), nodes by fieldId, boxed by dataset."""
    nodes = [Node(n["fieldId"], _group(n), n["name"]) for n in graph["nodes"]]
    edges = [(e["sourceFieldId"], e["targetFieldId"]) for e in graph["edges"]]
    labels = {_group(n): n["dataset"]["name"] for n in graph["nodes"]}
    return layout_json(layout(nodes, edges, [start]), labels)


async def column_lineage(request: web.Request) -> web.Response:
    """`?namespace=&dataset=&field=&direction=&maxDepth=`: the v2 field lineage and its layout."""
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    field_name = params.text(request.query, "field")
    way, depth = params.way(request.query), params.depth(request.query, config)

    def compute() -> JSON:
        ref = field_ref(store, dataset_named(store, request.query), field_name)
        d = ref.dataset
        start = FieldNode(ref.field_id, d.dataset_id, d.namespace_uri, d.name, ref.name, 0)
        body = fields_lineage(store, config, [start], way, depth)
        if ref.info is None and not body["graph"]["edges"]:
            raise not_found("field", f"{d.name}.{field_name}")
        return {
            "dataset": dataset(d),
            "fieldName": ref.name,
            "fieldId": ref.field_id,
            "direction": way.value,
            "maxDepth": depth,
            **body,
            "layout": field_graph_layout(body["graph"], ref.field_id),
        }

    key = {**dataset_key(request.query), "field": field_name, "way": way.value, "depth": depth,
           "cap": config.max_nodes}  # fmt: skip
    return await cached(request, "explorer.column", key, compute)


def _dataset_graph(store: Store, start: DatasetInfo, way: Way, depth: int, max_nodes: int) -> JSON:
    found = table_lineage(store, [start.dataset_id], way, depth, max_nodes)
    infos = {d.dataset_id: d for d in store.datasets_by_ids(list(found.depths))}
    pairs: dict[tuple[str, str], JSON] = {}
    for link in found.edges.values():
        if link.source_dataset_id not in infos or link.target_dataset_id not in infos:
            continue
        pair = pairs.setdefault(
            (link.source_dataset_id, link.target_dataset_id),
            {"source": link.source_dataset_id, "target": link.target_dataset_id, "kinds": [], "jobIds": []},
        )
        if link.kind not in pair["kinds"]:
            pair["kinds"].append(link.kind)
        if link.job_id and link.job_id not in pair["jobIds"]:
            pair["jobIds"].append(link.job_id)
    nodes = [{**dataset(infos[k]), "depth": level} for k, level in found.depths.items() if k in infos]
    placed = layout([Node(n["id"], n["id"], n["name"]) for n in nodes], list(pairs), [start.dataset_id])
    return {
        "graph": {"nodes": nodes, "edges": list(pairs.values())},
        "truncated": found.truncated,
        "layout": layout_json(placed, {n["id"]: n["namespace"] for n in nodes}),
    }


async def dataset_lineage(request: web.Request) -> web.Response:
    """`?namespace=&dataset=&direction=&maxDepth=`: table-level lineage (column edges, dataset edges, runs'
    inputs to outputs) with its layout."""
    store, config = request.app[QUERY_STORE], request.app[QUERY_CONFIG]
    way, depth = params.way(request.query), params.depth(request.query, config)

    def compute() -> JSON:
        start = dataset_named(store, request.query)
        return {"dataset": dataset(start), "direction": way.value, "maxDepth": depth,
                **_dataset_graph(store, start, way, depth, config.max_nodes)}  # fmt: skip

    key = {**dataset_key(request.query), "way": way.value, "depth": depth, "cap": config.max_nodes}
    return await cached(request, "explorer.table", key, compute)


def job(j: JobInfo) -> JSON:
    return {"id": j.job_id, "name": j.name, "namespace": j.namespace_uri, "type": j.job_type}


def run(r: RunInfo) -> JSON:
    started, ended = store_to_iso(r.started_at), store_to_iso(r.ended_at)
    return {
        "id": r.run_id,
        "jobId": r.job_id,
        "jobName": r.job_name,
        "namespace": r.namespace_uri,
        "state": r.state,
        "eventTime": store_to_iso(r.event_time),
        "startedAt": started,
        "endedAt": ended,
        "durationMs": duration_ms(r.started_at, r.ended_at),
    }


def _jobs(store: Store, ids: Iterable[str]) -> list[JSON]:
    return [job(j) for j in sorted(store.jobs_by_ids(list(dict.fromkeys(ids))), key=lambda j: (j.name, j.job_id))]


async def dataset_overview(request: web.Request) -> web.Response:
    """`/dataset?namespace=&dataset=`: the dataset with its fields, the jobs writing and reading it, its latest
    runs."""
    store = request.app[QUERY_STORE]
    limit = params.integer(request.query, "runs", 10, 1, request.app[QUERY_CONFIG].max_page_size)

    def compute() -> JSON:
        found = dataset_named(store, request.query)
        links = store.job_links([found.dataset_id])
        return {
            "dataset": dataset_with_fields(found, store.fields([found.dataset_id])),
            "writers": _jobs(store, (link.job_id for link in links if link.role == "output")),
            "readers": _jobs(store, (link.job_id for link in links if link.role == "input")),
            "runs": [run(r) for r in store.runs_writing(found.dataset_id, Page(limit))],
        }

    return json_response(await in_thread(compute))


async def recent_runs(request: web.Request) -> web.Response:
    """`/runs?limit=`: the runs that entered their state last, across every job."""
    store = request.app[QUERY_STORE]
    limit = params.integer(request.query, "limit", 20, 1, request.app[QUERY_CONFIG].max_page_size)
    found = await in_thread(store.recent_runs, Page(limit))
    return json_response({"runs": [run(r) for r in found]})


async def run_events(request: web.Request) -> web.Response:
    """`/runs/{id}/events`: the raw events received for the run, as received, in eventTime order."""
    store = request.app[QUERY_STORE]
    page = params.page(request.query, request.app[QUERY_CONFIG], 100)
    run_id = request.match_info["id"]

    def compute() -> JSON:
        if not store.runs_by_ids([run_id]):
            raise not_found("run", run_id)
        found = store.run_events(run_id, page)
        return {
            "runId": run_id,
            "totalCount": found.total,
            "events": [{"eventId": e.event_id, "eventTime": store_to_iso(e.event_time), "payload": e.payload}
                       for e in found.items],
        }  # fmt: skip

    return json_response(await in_thread(compute))


def routes(prefix: str = PREFIX) -> list[web.RouteDef]:
    return [
        web.get(f"{prefix}/column-lineage", column_lineage),
        web.get(f"{prefix}/table-lineage", dataset_lineage),
        web.get(f"{prefix}/dataset", dataset_overview),
        web.get(f"{prefix}/runs", recent_runs),
        web.get(f"{prefix}/runs/{{id}}/events", run_events),
    ]
