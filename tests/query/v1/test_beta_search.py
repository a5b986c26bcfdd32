"""Marquez's /api/v2beta/search/jobs and /datasets: OpenSearch's hits and highlights, built from the store."""

from __future__ import annotations

from typing import Any

from ingest.populate.demo import JOB_NAMESPACE, NAMESPACE
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, client_for


async def test_job_hits_carry_the_latest_run_and_facets(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    body = await (await client.get("/api/v2beta/search/jobs?q=CUSTOMER")).json()
    assert set(body) == {"hits", "highlights"} and len(body["hits"]) == len(body["highlights"]) > 0
    hit = next(h for h in body["hits"] if h["name"] == "dim.load_customer")
    assert set(hit) == {"run_id", "eventType", "name", "type", "namespace", "facets", "runFacets"}
    assert hit["namespace"] == JOB_NAMESPACE and hit["type"] == "BATCH" and hit["eventType"] == "COMPLETE"
    assert hit["run_id"] and "sql" in hit["facets"]
    runs = await (await client.get(f"/api/v1/namespaces/{JOB_NAMESPACE}/jobs/dim.load_customer/runs")).json()
    assert hit["run_id"] == runs["runs"][0]["id"]
    marks = body["highlights"][body["hits"].index(hit)]
    assert marks == {"name": ["dim.load_<em>customer</em>"]}


async def test_dataset_hits_carry_their_facets(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    body = await (await client.get("/api/v2beta/search/datasets?q=dim.cust")).json()
    [hit] = body["hits"]
    assert set(hit) == {"run_id", "eventType", "name", "inputFacets", "outputFacets", "namespace", "facets"}
    assert (hit["name"], hit["namespace"], hit["eventType"]) == ("DIM.CUSTOMER", NAMESPACE, "COMPLETE")
    assert "lifetime_value" in {f["name"] for f in hit["facets"]["schema"]["fields"]}
    assert body["highlights"] == [{"name": ["<em>DIM.CUST</em>OMER"]}]
    assert (await (await client.get("/api/v2beta/search/datasets?q=nothing-like-it")).json()) == {
        "hits": [],
        "highlights": [],
    }
    missing = await client.get("/api/v2beta/search/jobs?q=")
    assert missing.status == 400 and (await missing.json())["code"] == "BAD_REQUEST"
