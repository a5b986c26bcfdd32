"""The v1 read API (Marquez's): lineage, column lineage, events, search, and the marquez-python client."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp.test_utils import TestServer

from ingest.populate.demo import JOB_NAMESPACE, NAMESPACE, populate_demo
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, client_for, ingest, q


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


async def test_v1_search_is_paged(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    found = await (await client.get("/api/v1/search?q=CUSTOMER&filter=dataset&limit=2")).json()
    assert found["totalCount"] == 2 and len(found["results"]) == 2  # Marquez counts the results answered
    assert set(found["results"][0]) == {"type", "name", "updatedAt", "namespace", "nodeId"}
    assert (await client.get("/api/v1/search?q=x&limit=100000")).status == 400


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
