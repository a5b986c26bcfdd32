"""The v2 read API (the Teradata lineage application's): shapes field by field, errors, search."""

from __future__ import annotations

from typing import Any

from ingest.populate.demo import NAMESPACE
from query.config import QueryConfig
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, client_for, ingest, q

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


def run_writing(name: str, fields: list[str] | None = None) -> dict[str, Any]:
    """A COMPLETE RunEvent writing one dataset of the demo's namespace, with a schema facet when fields are given."""
    facets = {}
    if fields is not None:
        schema = [{"name": f} for f in fields]
        facets["schema"] = {"_producer": "https://p", "_schemaURL": "https://s", "fields": schema}
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00Z",
        "run": {"runId": "6f1e3c3a-0000-4000-8000-000000000001"},
        "job": {"namespace": NAMESPACE, "name": "writer"},
        "outputs": [{"namespace": NAMESPACE, "name": name, "facets": facets}],
        "producer": "https://p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


async def test_v2_field_names_match_whatever_their_case(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    """As the application compared UPPER(TRIM(field)): the field the schema spells otherwise is the one meant."""
    client = await client_for(aiohttp_client, make_app, store)
    exact = await (await client.get(f"{V2}/lineage/FACT.SALES_BY_COUNTRY/total_amount?direction=upstream")).json()
    for spelling in ("TOTAL_AMOUNT", "Total_Amount", q(" total_amount ")):
        response = await client.get(f"{V2}/lineage/FACT.SALES_BY_COUNTRY/{spelling}?direction=upstream")
        assert response.status == 200, spelling
        assert (await response.json())["graph"] == exact["graph"]
    ingest(store, [run_writing("ETE.SAISON", ["Été"])])
    accents = await client.get(f"{V2}/lineage/ETE.SAISON/{q('ÉTÉ')}")  # not ASCII: Python's case rules
    assert accents.status == 200
    assert [n["name"] for n in (await accents.json())["graph"]["nodes"]] == ["Été"]
    assert (await client.get(f"{V2}/lineage/FACT.SALES_BY_COUNTRY/no_such_field")).status == 404


async def test_v2_unknown_namespace_lists_no_datasets(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    response = await client.get(f"{V2}/namespaces/{q('nowhere://at-all')}/datasets")
    assert response.status == 200
    assert await response.json() == {
        "datasets": [],
        "total": 0,
        "pagination": {"total_count": 0, "total": 0, "limit": 100, "offset": 0, "has_next": False},
    }
    assert (await client.get(f"{V2}/namespaces/{q('nowhere://at-all')}")).status == 404


async def test_v2_table_lineage_of_a_dataset_without_fields_is_a_404(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    ingest(store, [run_writing("STG.NO_SCHEMA")])
    response = await client.get(f"{V2}/lineage/table/STG.NO_SCHEMA")
    assert response.status == 404
    body = await response.json()
    assert body["code"] == "NOT_FOUND" and body["error"] == "No fields found for dataset: STG.NO_SCHEMA"


async def test_v2_statistics_and_ddl_need_a_database_table_name(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    ingest(store, [run_writing("orders", ["id"])])
    for what in ("statistics", "ddl"):
        assert (await client.get(f"{V2}/datasets/orders/{what}")).status == 404
        assert (await client.get(f"{V2}/datasets/DIM.CUSTOMER/{what}")).status == 200


async def test_v2_edges_always_carry_a_confidence_score(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    body = await (await client.get(f"{V2}/lineage/table/FACT.SALES_BY_COUNTRY?maxDepth=3")).json()
    edges = body["graph"]["edges"]
    assert edges and all("confidenceScore" in e for e in edges)
    assert all(e["confidenceScore"] is None or 0 <= e["confidenceScore"] <= 1 for e in edges)


async def test_v2_search_and_database_lineage_fold_non_ascii_case(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    ingest(store, [run_writing("ÉTÉ.VENTES", ["MONTANT"])])
    found = await (await client.get(f"{V2}/search?q={q('été')}")).json()
    assert [d["name"] for d in found["databases"]] == ["ÉTÉ"] and found["databases"][0]["tableCount"] == 1
    assert [d["name"] for d in found["datasets"]] == ["ÉTÉ.VENTES"]
    assert [d["name"] for d in (await (await client.get(f"{V2}/datasets/search?q={q('Été')}")).json())["datasets"]] == [
        "ÉTÉ.VENTES"
    ]
    database = await client.get(f"{V2}/lineage/database/{q('été')}")
    assert database.status == 200
    assert [n["id"] for n in (await database.json())["graph"]["nodes"]] == ["ÉTÉ.VENTES.MONTANT"]
