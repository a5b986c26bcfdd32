"""The explorer's JSON on the real query routes: the same graphs as the v2 API, laid out; dataset, runs, events."""

from __future__ import annotations

from typing import Any

from query.explorer.layout import HEADER, ROW
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, client_for, q

DEMO = "teradata://demo-td:1025"
V2 = "/api/v2/openlineage"


async def test_column_lineage_is_the_v2_graph_with_a_layout(aiohttp_client: Any, make_app: AppFactory,
                                                            store: SqliteStore) -> None:  # fmt: skip
    client = await client_for(aiohttp_client, make_app, store)
    explorer = await client.get(
        f"/api/explorer/column-lineage?namespace={q(DEMO)}&dataset=FACT.SALES_DAILY&field=order_count&maxDepth=5"
    )
    assert explorer.status == 200
    body = await explorer.json()
    dataset_id = body["dataset"]["id"]
    v2 = await (await client.get(f"{V2}/lineage/{q(dataset_id)}/order_count?maxDepth=5")).json()
    assert body["graph"] == v2["graph"]
    assert body["truncated"] == v2["truncated"]
    layout = body["layout"]
    field_ids = {n["fieldId"] for n in body["graph"]["nodes"]}
    assert set(layout["nodes"]) == field_ids
    assert layout["nodes"][body["fieldId"]]["layer"] == 0
    for edge in body["graph"]["edges"]:  # upstream to the left: every edge runs left to right here
        source, target = layout["nodes"][edge["sourceFieldId"]], layout["nodes"][edge["targetFieldId"]]
        assert source["layer"] < target["layer"]
    for box in layout["boxes"]:
        assert box["height"] == HEADER + ROW * len(box["nodes"])
        names = {n["dataset"]["name"] for n in body["graph"]["nodes"] if n["fieldId"] in box["nodes"]}
        assert names == {box["label"]}


async def test_a_unique_name_or_an_id_names_the_dataset(aiohttp_client: Any, make_app: AppFactory,
                                                        store: SqliteStore) -> None:  # fmt: skip
    client = await client_for(aiohttp_client, make_app, store)
    by_name = await client.get("/api/explorer/column-lineage?dataset=FACT.SALES_DAILY&field=order_count")
    assert by_name.status == 200
    dataset_id = (await by_name.json())["dataset"]["id"]
    by_id = await client.get(f"/api/explorer/column-lineage?dataset={q(dataset_id)}&field=order_count")
    assert (await by_id.json())["graph"] == (await by_name.json())["graph"]


async def test_unknown_names_and_bad_parameters_are_4xx(aiohttp_client: Any, make_app: AppFactory,
                                                        store: SqliteStore) -> None:  # fmt: skip
    client = await client_for(aiohttp_client, make_app, store)
    cases = {
        f"/api/explorer/column-lineage?namespace={q(DEMO)}&dataset=NO.SUCH&field=x": 404,
        f"/api/explorer/column-lineage?namespace={q(DEMO)}&dataset=FACT.SALES_DAILY&field=nope": 404,
        f"/api/explorer/column-lineage?namespace={q(DEMO)}&dataset=FACT.SALES_DAILY": 400,
        "/api/explorer/column-lineage?dataset=FACT.SALES_DAILY&field=order_count&maxDepth=99": 400,
        f"/api/explorer/table-lineage?namespace={q(DEMO)}&dataset=FACT.SALES_DAILY&direction=sideways": 400,
        f"/api/explorer/dataset?namespace={q(DEMO)}&dataset=NO.SUCH": 404,
        "/api/explorer/runs?limit=0": 400,
        "/api/explorer/runs/no-such-run/events": 404,
    }
    for path, status in cases.items():
        response = await client.get(path)
        assert response.status == status, path
        body = await response.json()
        assert {"error", "code"} <= set(body), body


async def test_table_lineage_lays_out_datasets(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    response = await client.get(f"/api/explorer/table-lineage?namespace={q(DEMO)}&dataset=STG_SALES.ORDERS_CLEAN")
    body = await response.json()
    names = {n["name"] for n in body["graph"]["nodes"]}
    assert {"SRC_SALES.ORDERS", "STG_SALES.ORDERS_CLEAN", "FACT.SALES_DAILY"} <= names
    ids = {n["id"] for n in body["graph"]["nodes"]}
    assert set(body["layout"]["nodes"]) == ids
    start = body["dataset"]["id"]
    assert body["layout"]["nodes"][start]["layer"] == 0
    by_name = {n["name"]: n["id"] for n in body["graph"]["nodes"]}
    assert body["layout"]["nodes"][by_name["SRC_SALES.ORDERS"]]["layer"] < 0
    assert body["layout"]["nodes"][by_name["FACT.SALES_DAILY"]]["layer"] > 0
    assert all(e["kinds"] for e in body["graph"]["edges"])


async def test_dataset_overview_runs_and_events(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    overview = await (await client.get(f"/api/explorer/dataset?namespace={q(DEMO)}&dataset=FACT.SALES_DAILY")).json()
    assert overview["dataset"]["name"] == "FACT.SALES_DAILY"
    assert [f["name"] for f in overview["dataset"]["fields"]]
    assert overview["writers"]
    assert overview["runs"] and overview["runs"][0]["jobName"] in {j["name"] for j in overview["writers"]}

    runs = (await (await client.get("/api/explorer/runs?limit=3")).json())["runs"]
    assert 0 < len(runs) <= 3
    times = [r["eventTime"] for r in runs]
    assert times == sorted(times, reverse=True)

    events = await (await client.get(f"/api/explorer/runs/{q(runs[0]['id'])}/events")).json()
    assert events["totalCount"] == len(events["events"]) >= 1
    assert all(runs[0]["id"] in e["payload"] for e in events["events"])


async def test_every_view_path_serves_the_shell(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    for path in ("/", "/explorer", "/explorer/lineage?dataset=x", "/explorer/runs/abc"):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "text/html"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert '<script type="module" src="/explorer/static/app.js">' in await response.text()
    script = await client.get("/explorer/static/app.js")
    assert script.status == 200 and "javascript" in script.content_type
    assert (await client.get("/explorer/static/nothing.js")).status == 404
