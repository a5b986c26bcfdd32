"""The v2 read API (the Teradata lineage application's): shapes field by field, errors, search."""

from __future__ import annotations

from typing import Any

from ingest.populate.demo import NAMESPACE
from query.config import QueryConfig
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, client_for, q

V2 = "/api/v2/openlineage"
DATASET_KEYS = {"id", "name", "namespace", "description", "sourceType", "createdAt", "updatedAt"}


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
    assert set(body) == {"error", "message", "code", "details", "request_id"}
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
