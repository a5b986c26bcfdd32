"""The v1 listings as Marquez answers them: jobs across namespaces and their lastRunStates filter, the job list's
bounded statements, run events only in either order, search's namespace and time window, limit=0 and depth=0,
and `message` on errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ingest.populate.demo import JOB_NAMESPACE, NAMESPACE, populate_demo
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, client_for, ingest, q

RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def run_event(job: str, state: str, time: str, namespace: str = "other-airflow", run_id: str = "") -> dict[str, Any]:
    return {
        "eventType": state, "eventTime": time, "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": job}, "inputs": [], "outputs": [],
        "producer": "https://example.com/test", "schemaURL": RUN_EVENT,
    }  # fmt: skip


def dataset_event(name: str, time: str) -> dict[str, Any]:
    return {
        "eventTime": time, "dataset": {"namespace": "other", "name": name}, "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    }  # fmt: skip


async def test_jobs_across_namespaces_filtered_by_the_state_of_their_latest_run(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    running = run_event("still.running", "START", "2024-06-04T10:00:00Z")
    failed_then_ok = str(uuid.uuid4())
    ingest(
        store,
        [
            running,
            run_event("flaky", "FAIL", "2024-06-04T09:00:00Z", run_id=failed_then_ok),
            run_event("flaky", "COMPLETE", "2024-06-04T11:00:00Z"),  # a later run: the latest is COMPLETED
            run_event("broken", "FAIL", "2024-06-04T12:00:00Z"),
        ],
    )
    client = await client_for(aiohttp_client, make_app, store)
    every = await (await client.get("/api/v1/jobs")).json()
    names = [j["name"] for j in every["jobs"]]
    assert every["totalCount"] == len(names) > 3 and {"still.running", "flaky", "broken"} <= set(names)
    assert {j["namespace"] for j in every["jobs"]} == {JOB_NAMESPACE, "other-airflow"}
    assert names[:3] == ["broken", "flaky", "still.running"]  # most recently updated first, as Marquez orders
    failed = await (await client.get("/api/v1/jobs?lastRunStates=FAILED")).json()
    assert [j["name"] for j in failed["jobs"]] == ["broken"] and failed["jobs"][0]["latestRun"]["state"] == "FAILED"
    assert failed["totalCount"] == every["totalCount"]  # Marquez's totalCount counts every job, whatever the filter
    two = await (await client.get("/api/v1/jobs?lastRunStates=RUNNING&lastRunStates=FAILED")).json()
    assert {j["name"] for j in two["jobs"]} == {"still.running", "broken"}
    commas = await (await client.get("/api/v1/jobs?lastRunStates=RUNNING,FAILED")).json()
    assert {j["name"] for j in commas["jobs"]} == {"still.running", "broken"}
    page = await (await client.get("/api/v1/jobs?limit=2&offset=1")).json()
    assert [j["name"] for j in page["jobs"]] == names[1:3]
    empty = await (await client.get("/api/v1/jobs?limit=0")).json()
    assert empty == {"totalCount": every["totalCount"], "jobs": []}
    bad = await client.get("/api/v1/jobs?lastRunStates=DONE")
    body = await bad.json()
    assert bad.status == 400 and body["code"] == "BAD_REQUEST" and body["message"] == body["error"]


async def test_a_job_that_never_ran_is_listed_whatever_the_filter(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    event = {
        "eventTime": "2024-06-04T10:00:00Z", "job": {"namespace": "jobs-only", "name": "defined"},
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
    }  # fmt: skip
    ingest(store, [event])
    client = await aiohttp_client(make_app(store))
    found = await (await client.get("/api/v1/jobs?lastRunStates=COMPLETED")).json()
    assert [(j["name"], j["latestRun"]) for j in found["jobs"]] == [("defined", None)]


async def test_an_unknown_namespace_has_no_jobs(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    response = await client.get(f"/api/v1/namespaces/{q('nowhere://at-all')}/jobs")
    assert response.status == 200 and await response.json() == {"totalCount": 0, "jobs": []}


@contextmanager
def counted_statements(store: SqliteStore) -> Iterator[list[str]]:
    """Every statement the store's reads run while the block runs."""
    seen: list[str] = []
    rows = store._rows

    def counting(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        seen.append(sql)
        return rows(sql, params)

    store._rows = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del store._rows


async def test_a_page_of_jobs_costs_the_same_statements_for_one_job_or_many(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    ingest(store, [run_event(f"job.{i}", "COMPLETE", f"2024-06-04T10:{i:02d}:00Z") for i in range(30)])
    client = await aiohttp_client(make_app(store))
    costs = []
    for limit in (1, 30):
        with counted_statements(store) as seen:
            body = await (await client.get(f"/api/v1/namespaces/other-airflow/jobs?limit={limit}")).json()
        assert len(body["jobs"]) == limit and all(j["latestRun"]["state"] == "COMPLETED" for j in body["jobs"])
        costs.append(len(seen))
    assert costs[0] == costs[1] <= 12, costs  # the same handful of statements, whatever the page holds


async def test_events_are_run_events_in_either_order(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    times = [f"2024-06-0{d}T12:00:00Z" for d in (1, 2, 3)]
    ingest(store, [run_event("e", "COMPLETE", t) for t in times] + [dataset_event("d", "2024-06-02T13:00:00Z")])
    client = await aiohttp_client(make_app(store))
    newest = await (await client.get("/api/v1/events/lineage")).json()
    assert [e["eventTime"] for e in newest["events"]] == times[::-1] and newest["totalCount"] == 3
    assert all("run" in e for e in newest["events"])  # Marquez's UI reads every event's run
    oldest = await (await client.get("/api/v1/events/lineage?sortDirection=asc&limit=2")).json()
    assert [e["eventTime"] for e in oldest["events"]] == times[:2] and oldest["totalCount"] == 3
    window = "after=2024-06-02T00:00:00%2B02:00&before=2024-06-02T23:00:00Z&sortDirection=ASC&offset=0"
    middle = await (await client.get(f"/api/v1/events/lineage?{window}")).json()
    assert [e["eventTime"] for e in middle["events"]] == [times[1]]
    # What Marquez's UI sends before a date is picked: empty bounds.
    ui = await client.get("/api/v1/events/lineage?limit=100&before=&after=&sortDirection=desc")
    assert ui.status == 200 and (await ui.json())["totalCount"] == 3
    assert (await client.get("/api/v1/events/lineage?sortDirection=sideways")).status == 400


@pytest.mark.parametrize(
    "query",
    [
        "after=0001-01-01T00:00:00%2B01:00",
        "before=9999-12-31T23:59:59-01:00",
        "after=10000-01-01T00:00:00Z",
        "after=2024-13-01",
        "before=not-a-time",
    ],
)
async def test_an_out_of_range_time_is_a_400(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore, query: str
) -> None:
    client = await aiohttp_client(make_app(store))
    for path in ("/api/v1/events/lineage", "/api/v1/search?q=a&"):
        response = await client.get(f"{path}{'' if path.endswith('&') else '?'}{query}")
        body = await response.json()
        assert response.status == 400 and body["code"] == "BAD_REQUEST", body
        assert body["details"][0]["path"] in ("after", "before") and body["message"] == body["error"]


async def test_search_by_namespace_and_time_and_marquez_total(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore
) -> None:
    ingest(store, [run_event("customer.sync", "COMPLETE", "2030-01-01T00:00:00Z")])
    client = await client_for(aiohttp_client, make_app, store)
    every = await (await client.get("/api/v1/search?q=customer&limit=100")).json()
    assert {r["namespace"] for r in every["results"]} == {NAMESPACE, JOB_NAMESPACE, "other-airflow"}
    assert every["totalCount"] == len(every["results"])  # Marquez counts the results it answers
    mine = await (await client.get(f"/api/v1/search?q=customer&namespace={q('other-airflow')}")).json()
    assert [r["name"] for r in mine["results"]] == ["customer.sync"] and mine["totalCount"] == 1
    updated = [r["updatedAt"] for r in every["results"]]
    late = await (await client.get("/api/v1/search?q=customer&after=2029-01-01T00:00:00Z")).json()
    assert [r["name"] for r in late["results"]] == ["customer.sync"]
    early = await (await client.get("/api/v1/search?q=customer&before=2029-01-01T00:00:00Z&limit=100")).json()
    assert len(early["results"]) == len(updated) - 1 and "customer.sync" not in {r["name"] for r in early["results"]}
    newest = await (await client.get("/api/v1/search?q=customer&sort=UPDATE_AT&limit=100")).json()
    assert newest["results"][0]["name"] == "customer.sync"
    ui = await (await client.get("/api/v1/search/?q=customer&sort=NAME&limit=100&filter=DATASET")).json()
    assert ui["results"] and {r["type"] for r in ui["results"]} == {"DATASET"}  # the path and case Marquez's UI sends
    zero = await client.get("/api/v1/search?q=customer&limit=0")
    assert zero.status == 200 and await zero.json() == {"totalCount": 0, "results": []}


async def test_depth_zero_is_the_start_alone(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    client = await client_for(aiohttp_client, make_app, store)
    node = f"dataset:{NAMESPACE}:DIM.PRODUCT"
    response = await client.get(f"/api/v1/lineage?nodeId={q(node)}&depth=0")
    assert response.status == 200
    assert [n["id"] for n in (await response.json())["graph"]] == [node]
    field = f"datasetField:{NAMESPACE}:FACT.SALES_DAILY:total_amount"
    column = await client.get(f"/api/v1/column-lineage?nodeId={q(field)}&depth=0")
    assert column.status == 200 and isinstance((await column.json())["graph"], list)  # accepted, as by Marquez


async def test_every_v1_list_takes_limit_zero(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore) -> None:
    populate_demo(store)
    client = await aiohttp_client(make_app(store))
    for path in (
        "/api/v1/namespaces",
        f"/api/v1/namespaces/{q(NAMESPACE)}/datasets",
        f"/api/v1/namespaces/{JOB_NAMESPACE}/jobs",
        f"/api/v1/namespaces/{JOB_NAMESPACE}/jobs/dim.load_customer/runs",
        "/api/v1/events/lineage",
    ):
        response = await client.get(f"{path}?limit=0")
        body = await response.json()
        assert response.status == 200 and body["totalCount"] > 0, (path, body)
        assert [v for v in body.values() if isinstance(v, list)] == [[]], path
    assert (await client.get("/api/v1/namespaces?limit=-1")).status == 400
