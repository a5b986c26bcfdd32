"""v2 shapes field by field, v1 (Marquez) shapes, errors, and the marquez-python client on a real server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

from aiohttp.test_utils import TestClient, TestServer

from ingest.populate.demo import JOB_NAMESPACE, NAMESPACE, populate_demo
from query.config import QueryConfig
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, ingest

V2 = "/api/v2/openlineage"
DATASET_KEYS = {"id", "name", "namespace", "description", "sourceType", "createdAt", "updatedAt"}


def q(text: str) -> str:
    return quote(text, safe="")


async def client_for(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore, **kw: Any) -> TestClient[Any, Any]:
    populate_demo(store)
    client: TestClient[Any, Any] = await aiohttp_client(make_app(store, **kw))
    return client


async def test_v2_catalog_shapes(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    body = await (await client.get(f"{V2}/namespaces")).json()
    uris = [n["uri"] for n in body["namespaces"]]
    assert uris == sorted(uris) and NAMESPACE in uris
    ns = next(n for n in body["namespaces"] if n["uri"] == NAMESPACE)
    assert set(ns) == {"id", "uri", "description", "specVersion", "createdAt"} and ns["specVersion"] == "2-0-2"
    assert (await (await client.get(f"{V2}/namespaces/{q(NAMESPACE)}")).json())["id"] == ns["id"]
    page = await (await client.get(f"{V2}/namespaces/{ns['id']}/datasets?limit=3&offset=2")).json()
    assert set(page) == {"datasets", "total", "pagination"} and page["total"] == 10
    assert page["pagination"] == {"total_count": 10, "total": 10, "limit": 3, "offset": 2, "has_next": True}
    assert [set(d) for d in page["datasets"]] == [DATASET_KEYS] * 3
    names = [d["name"] for d in page["datasets"]]
    assert names == sorted(names)
    by_name = await (await client.get(f"{V2}/datasets/DIM.CUSTOMER")).json()
    assert set(by_name) == DATASET_KEYS | {"fields"} and by_name["sourceType"] == "TABLE"
    assert by_name["createdAt"].endswith("Z") and "T" in by_name["createdAt"]
    assert [f["name"] for f in by_name["fields"]][:2] == ["customer_key", "customer_name"]
    first = by_name["fields"][0]
    assert first == {
        "id": first["id"], "name": "customer_key", "type": "INTEGER", "description": None,
        "ordinalPosition": 1, "nullable": True,
    }  # fmt: skip
    assert (await (await client.get(f"{V2}/datasets/{by_name['id']}")).json())["name"] == "DIM.CUSTOMER"


async def test_v2_field_lineage_shape(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    resp = await client.get(f"{V2}/lineage/FACT.SALES_BY_COUNTRY/total_amount?direction=upstream&maxDepth=2")
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"datasetId", "fieldName", "direction", "maxDepth", "graph", "truncated"}
    assert (body["direction"], body["maxDepth"], body["truncated"]) == ("upstream", 2, False)
    nodes = {n["id"]: n for n in body["graph"]["nodes"]}
    assert set(nodes) == {
        "FACT.SALES_BY_COUNTRY.total_amount", "FACT.SALES_DAILY.total_amount", "DIM.CUSTOMER.customer_key",
        "STG_SALES.ORDERS_CLEAN.amount", "STG_SALES.CUSTOMERS_CLEAN.customer_id",
    }  # fmt: skip
    start = nodes["FACT.SALES_BY_COUNTRY.total_amount"]
    assert start["type"] == "field" and start["name"] == "total_amount"
    assert start["dataset"] == {"name": "FACT.SALES_BY_COUNTRY", "namespace": NAMESPACE, "sourceType": "TABLE"}
    assert start["metadata"] == {"columnType": "DECIMAL(18,2)", "nullable": True}
    edges = {e["id"]: e for e in body["graph"]["edges"]}
    join = edges["DIM.CUSTOMER.customer_key->FACT.SALES_BY_COUNTRY.total_amount"]
    assert (join["source"], join["target"]) == ("DIM.CUSTOMER.customer_key", "FACT.SALES_BY_COUNTRY.total_amount")
    assert join["transformationType"] == "INDIRECT" and join["transformationSubtype"] == "JOIN"
    assert join["transformations"] == [{"type": "INDIRECT", "subtype": "JOIN", "description": None, "masking": False}]
    assert len(edges) == len(body["graph"]["edges"]) == 4


async def test_v2_table_database_impact(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    table = await (await client.get(f"{V2}/lineage/table/DIM.CUSTOMER?direction=both&maxDepth=1")).json()
    assert set(table) == {"datasetId", "direction", "maxDepth", "graph", "truncated"}
    assert len([n for n in table["graph"]["nodes"] if n["dataset"]["name"] == "DIM.CUSTOMER"]) == 5
    database = await (await client.get(f"{V2}/lineage/database/fact")).json()
    assert set(database) == {"databaseName", "direction", "maxDepth", "graph", "truncated"}
    assert database["maxDepth"] == 3
    assert (await client.get(f"{V2}/lineage/database/NOPE")).status == 404
    impact = await (await client.get(f"{V2}/impact/STG_SALES.ORDERS_CLEAN?maxDepth=3")).json()
    depths = {d["name"]: d["depth"] for d in impact["datasets"]}
    assert depths["FACT.SALES_DAILY"] == 1 and depths["FACT.SALES_BY_COUNTRY"] == 2 and depths["DIM.CUSTOMER"] == 2
    assert impact["byDepth"][0]["depth"] == 1 and impact["byDepth"][0]["fieldCount"] > 0


async def test_v2_errors_have_one_shape(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store, config=QueryConfig(max_depth=7))
    resp = await client.get(f"{V2}/lineage/DIM.CUSTOMER/country?maxDepth=8")
    body = await resp.json()
    assert resp.status == 400 and "1..7" in body["error"] and body["details"][0]["path"] == "maxDepth"
    assert set(body) == {"error", "code", "details", "request_id"}
    assert (await client.get(f"{V2}/lineage/DIM.CUSTOMER/country?direction=sideways")).status == 400
    assert (await client.get(f"{V2}/lineage/DIM.CUSTOMER/nope")).status == 404
    assert (await client.get(f"{V2}/datasets/NOPE.NOPE")).status == 404
    assert (await client.get(f"{V2}/datasets/search?q=a")).status == 400
    assert (await client.get(f"{V2}/namespaces/x/datasets?limit=0")).status == 400
    assert (await client.get(f"{V2}/namespaces/x/datasets?offset=-1")).status == 400


async def test_search_is_literal_and_paged(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    found = await (await client.get(f"{V2}/datasets/search?q=sales_")).json()
    # "_" is literal: as a wildcard it would also match "SALES." in SRC_SALES.ORDERS and the others.
    assert {d["name"] for d in found["datasets"]} == {"FACT.SALES_DAILY", "FACT.SALES_BY_COUNTRY"}
    assert found["query"] == "sales_" and found["count"] == 2
    assert (await (await client.get(f"{V2}/datasets/search?q=%25ORDERS")).json())["count"] == 0
    both = await (await client.get(f"{V2}/search?q=stg")).json()
    assert both["databases"] == [{"name": "STG_SALES", "namespace": NAMESPACE, "tableCount": 2}]
    assert both["datasetCount"] == 2 and both["databaseCount"] == 1
    v1 = await (await client.get("/api/v1/search?q=CUSTOMER&filter=dataset&limit=2")).json()
    assert v1["totalCount"] == 4 and len(v1["results"]) == 2
    assert set(v1["results"][0]) == {"type", "name", "updatedAt", "namespace", "nodeId"}
    assert (await client.get("/api/v1/search?q=x&limit=100000")).status == 400


async def test_v1_lineage_and_column_lineage(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    node = f"dataset:{NAMESPACE}:DIM.PRODUCT"
    body = await (await client.get(f"/api/v1/lineage?nodeId={q(node)}&depth=1")).json()
    ids = {n["id"]: n for n in body["graph"]}
    assert node in ids and f"job:{JOB_NAMESPACE}:dim.load_product" in ids
    assert ids[node]["type"] == "DATASET" and ids[node]["data"]["id"] == {"namespace": NAMESPACE, "name": "DIM.PRODUCT"}
    assert {"origin": f"job:{JOB_NAMESPACE}:dim.load_product", "destination": node} in ids[node]["inEdges"]
    field = f"datasetField:{NAMESPACE}:FACT.SALES_DAILY:total_amount"
    col = await (await client.get(f"/api/v1/column-lineage?nodeId={q(field)}&depth=1&withDownstream=false")).json()
    nodes = {n["id"]: n for n in col["graph"]}
    assert nodes[field]["type"] == "DATASET_FIELD"
    inputs = nodes[field]["data"]["inputFields"]
    assert [(i["dataset"], i["field"], i["transformationType"]) for i in inputs] == [
        ("STG_SALES.ORDERS_CLEAN", "amount", "DIRECT")
    ]
    events = await (await client.get("/api/v1/events/lineage?limit=3&after=2024-06-03T02:00:00Z")).json()
    assert events["totalCount"] == 14 and len(events["events"]) == 3
    assert events["events"][0]["eventTime"] >= events["events"][1]["eventTime"]
    assert (await client.get("/api/v1/lineage?nodeId=table:x")).status == 400


async def test_v1_events_window_in_the_year_500(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    """`after`/`before` become the same text as stored times, also for years below 1000."""
    ingest(store, [_event("0500-06-01T12:00:00Z"), _event("2024-06-01T12:00:00Z")])
    client = await aiohttp_client(make_app(store))
    window = "after=0500-01-01T00:00:00Z&before=0500-12-31T00:00:00Z"
    body = await (await client.get(f"/api/v1/events/lineage?{window}")).json()
    assert [e["eventTime"] for e in body["events"]] == ["0500-06-01T12:00:00Z"]
    later = await (await client.get("/api/v1/events/lineage?after=0500-07-01T00:00:00Z")).json()
    assert [e["eventTime"] for e in later["events"]] == ["2024-06-01T12:00:00Z"]


def _event(time: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE", "eventTime": time, "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "times", "name": "job"}, "inputs": [], "outputs": [],
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }  # fmt: skip


async def test_marquez_client_lists_everything(aiohttp_server: Any, make_app: AppFactory, store: SqliteStore) -> None:
    from marquez_client import MarquezClient

    populate_demo(store)
    server: TestServer = await aiohttp_server(make_app(store))
    client = MarquezClient(f"http://127.0.0.1:{server.port}")
    namespaces = await asyncio.to_thread(client.list_namespaces)
    assert NAMESPACE in {n["name"] for n in namespaces["namespaces"]}
    datasets = await asyncio.to_thread(client.list_datasets, NAMESPACE)
    assert datasets["totalCount"] == 10 and "DIM.CUSTOMER" in {d["name"] for d in datasets["datasets"]}
    dataset = await asyncio.to_thread(client.get_dataset, NAMESPACE, "DIM.CUSTOMER")
    assert dataset["id"] == {"namespace": NAMESPACE, "name": "DIM.CUSTOMER"}
    jobs = await asyncio.to_thread(client.list_jobs, JOB_NAMESPACE)
    job = next(j for j in jobs["jobs"] if j["name"] == "dim.load_customer")
    assert {"namespace": NAMESPACE, "name": "FACT.CUSTOMER_LTV"} in job["inputs"]
    runs = await asyncio.to_thread(client.list_job_runs, JOB_NAMESPACE, "dim.load_customer")
    run = runs["runs"][0]
    assert run["state"] == "COMPLETED" and run["startedAt"] and run["endedAt"] and run["durationMs"] == 180_000
    again = await asyncio.to_thread(client.get_job_run, run["id"])
    assert again["id"] == run["id"] and again["state"] == "COMPLETED"
    lineage = await asyncio.to_thread(
        client.get_column_lineage_by_dataset_field, NAMESPACE, "DIM.CUSTOMER", "lifetime_value"
    )
    assert any(n["id"].endswith("FACT.CUSTOMER_LTV:ltv") for n in lineage["graph"])
