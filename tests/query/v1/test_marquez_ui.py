"""What Marquez's web UI reads, on the real app over SQLite and PostgreSQL: column-lineage edge direction (Marquez's
own ColumnLineageServiceTest case), facets, tags, versions, run facets and sources."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from schemas.dsn import parse_dsn
from schemas.postgresql.store import PostgresStore
from schemas.sqlite.store import SqliteStore
from schemas.store import Store
from tests.query.conftest import AppFactory, ingest, q

NS = "namespace"
PRODUCER = "https://example.com/test"
RUN_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    store: Store
    if request.param == "sqlite":
        store = SqliteStore(request.getfixturevalue("tmp_path") / "lineage.db")
    else:
        store = PostgresStore(parse_dsn(request.getfixturevalue("postgres_dsn")))
    store.create_schema()
    yield store
    store.close()


def _facet(**values: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json", **values}


def _dataset(name: str, fields: list[str], lineage: dict[str, Any] | None = None, **facets: Any) -> dict[str, Any]:
    given = {"schema": _facet(fields=[{"name": f, "type": "STRING"} for f in fields]), **facets}
    if lineage:
        given["columnLineage"] = _facet(fields=lineage)
    return {"namespace": NS, "name": name, "facets": given}


def _lineage(inputs: list[tuple[str, str]], n: int) -> dict[str, Any]:
    return {
        "inputFields": [{"namespace": NS, "name": d, "field": f} for d, f in inputs],
        "transformationDescription": f"description{n}",
        "transformationType": ("DIRECT", "INDIRECT")[n - 1],  # Marquez's test says type1, type2: not OL types
    }


def _run(job: str, inputs: list[Any], outputs: list[Any], time: str, **extra: Any) -> dict[str, Any]:
    run_id = extra.pop("run_id", str(uuid.uuid4()))
    return {
        "eventType": extra.pop("state", "COMPLETE"), "eventTime": time,
        "run": {"runId": run_id, "facets": extra.pop("run_facets", {})},
        "job": {"namespace": NS, "name": job, "facets": extra.pop("job_facets", {})},
        "inputs": inputs, "outputs": outputs, "producer": PRODUCER, "schemaURL": RUN_URL,
    }  # fmt: skip


# Marquez's ColumnLineageTestUtils: dataset_a (col_a, col_b) -> dataset_b.col_c -> dataset_c.col_d
A = _dataset("dataset_a", ["col_a", "col_b"])
B = _dataset("dataset_b", ["col_c"], {"col_c": _lineage([("dataset_a", "col_a"), ("dataset_a", "col_b")], 1)})
C = _dataset("dataset_c", ["col_d"], {"col_d": _lineage([("dataset_b", "col_c")], 2)})


async def _client(aiohttp_client: Any, make_app: AppFactory, store: Store) -> TestClient[Any, Any]:
    ingest(store, [_run("job1", [A], [B], "2024-05-01T10:00:00Z"), _run("job2", [B], [C], "2024-05-01T11:00:00Z")])
    client: TestClient[Any, Any] = await aiohttp_client(make_app(store))
    return client


async def _column(client: TestClient[Any, Any], node: str, *, downstream: bool = False) -> Any:
    response = await client.get(f"/api/v1/column-lineage?nodeId={q(node)}&depth=20&withDownstream={downstream}")
    return response.status, await response.json()


def _field(dataset: str, name: str) -> str:
    return f"datasetField:{NS}:{dataset}:{name}"


async def test_column_lineage_edges_as_marquez_builds_them(
    aiohttp_client: Any, make_app: AppFactory, any_store: Store
) -> None:
    client = await _client(aiohttp_client, make_app, any_store)
    status, body = await _column(client, _field("dataset_b", "col_c"))
    nodes = {n["id"]: n for n in body["graph"]}
    assert status == 200 and len(nodes) == 3 and _field("dataset_c", "col_d") not in nodes
    col_c, col_a, col_b = (nodes[_field(*f)] for f in (("dataset_b", "col_c"), ("dataset_a", "col_a"),
                                                        ("dataset_a", "col_b")))  # fmt: skip
    inputs = col_c["data"]["inputFields"]
    assert len(inputs) == 2 and {i["dataset"] for i in inputs} == {"dataset_a"}
    assert (inputs[0]["transformationDescription"], inputs[0]["transformationType"]) == ("description1", "DIRECT")
    assert col_c["data"]["fieldType"] == "STRING"
    assert col_b["data"]["inputFields"] == [] and col_b["data"]["dataset"] == "dataset_a"
    # Marquez: a node's inEdges go from it (origin) to the field it is computed from (destination)
    assert col_c["outEdges"] == []
    assert {"origin": col_c["id"], "destination": col_a["id"]} in col_c["inEdges"]
    assert col_a["inEdges"] == [] and col_a["outEdges"] == [{"origin": col_a["id"], "destination": col_c["id"]}]
    assert not any("#" in n for n in nodes)  # no version asked, none given

    _, by_dataset = await _column(client, f"dataset:{NS}:dataset_b")
    assert by_dataset == body  # the dataset's lineage is its fields'


async def test_column_lineage_unknown_empty_and_downstream(
    aiohttp_client: Any, make_app: AppFactory, any_store: Store
) -> None:
    client = await _client(aiohttp_client, make_app, any_store)
    assert (await _column(client, _field("dataset_b", "col_d")))[0] == 404  # never an invented node
    assert (await _column(client, f"dataset:{NS}:dataset_d"))[0] == 404
    status, empty = await _column(client, _field("dataset_a", "col_a"))
    assert status == 200 and empty["graph"] == []  # no lineage: no bare field node
    _, both = await _column(client, _field("dataset_b", "col_c"), downstream=True)
    nodes = {n["id"]: n for n in both["graph"]}
    assert _field("dataset_a", "col_a") in nodes and _field("dataset_c", "col_d") in nodes
    assert len(nodes[_field("dataset_b", "col_c")]["data"]["inputFields"]) == 2


async def test_column_lineage_at_a_dataset_version(aiohttp_client: Any, make_app: AppFactory, any_store: Store) -> None:
    client = await _client(aiohttp_client, make_app, any_store)
    versions = await (await client.get(f"/api/v1/namespaces/{NS}/datasets/dataset_b/versions")).json()
    version = versions["versions"][0]["version"]
    status, body = await _column(client, f"dataset:{NS}:dataset_b#{version}")
    ids = {n["id"] for n in body["graph"]}
    assert status == 200 and f"{_field('dataset_b', 'col_c')}#{version}" in ids
    assert all(UUID.search(i) for i in ids)  # every node names its dataset's version
    assert (await _column(client, f"dataset:{NS}:dataset_b#{uuid.uuid4()}"))[0] == 404
    assert (await _column(client, f"dataset:{NS}:dataset_b#{version}", downstream=True))[0] == 400


async def test_facets_tags_and_versions_present(aiohttp_client: Any, make_app: AppFactory, any_store: Store) -> None:
    tags = _facet(tags=[{"key": "pii", "value": "true", "source": "catalog"}, {"key": "tier", "value": "gold"}])
    documented = {**A, "facets": {**A["facets"], "tags": tags}}
    parent = {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": NS, "name": "dag"}}
    sql = _facet(query="SELECT * FROM dataset_a")
    run_id = str(uuid.uuid4())
    events = [
        _run("dag.task", [documented], [B], "2024-05-01T10:00:00Z", run_id=run_id, state="START",
             run_facets={"parent": _facet(**parent)}, job_facets={"sql": sql, "tags": tags}),
        _run("dag.task", [documented], [B], "2024-05-01T10:05:00Z", run_id=run_id,
             run_facets={"parent": _facet(**parent), "nominalTime": _facet(nominalStartTime="2024-05-01T10:00:00Z")}),
        # a new schema for dataset_b: a new version; the same facets again later: no other
        _run("dag.task", [A], [_dataset("dataset_b", ["col_c", "col_e"])], "2024-05-02T10:00:00Z"),
        _run("dag.task", [A], [_dataset("dataset_b", ["col_c", "col_e"])], "2024-05-03T10:00:00Z"),
        _run("dag.task", [A], [{"namespace": NS, "name": "dataset_c"}], "2024-05-04T10:00:00Z"),  # other io
    ]  # fmt: skip
    ingest(any_store, events)
    client = await aiohttp_client(make_app(any_store))
    base = f"/api/v1/namespaces/{NS}"

    assert await (await client.get("/api/v1/tags")).json() == {
        "tags": [{"name": "pii", "description": "source: catalog"}, {"name": "tier:gold", "description": None}]
    }
    dataset = await (await client.get(f"{base}/datasets/dataset_a")).json()
    assert dataset["tags"] == ["pii", "tier:gold"] and set(dataset["facets"]) == {"schema", "tags"}
    assert dataset["facets"]["schema"]["fields"][0]["name"] == "col_a" and UUID.fullmatch(dataset["currentVersion"])
    listed = await (await client.get(f"{base}/datasets")).json()
    b = next(d for d in listed["datasets"] if d["name"] == "dataset_b")
    assert [c["name"] for c in b["columnLineage"]] == ["col_c"]
    assert {(i["dataset"], i["field"]) for i in b["columnLineage"][0]["inputFields"]} == {
        ("dataset_a", "col_a"),
        ("dataset_a", "col_b"),
    }
    assert next(d for d in listed["datasets"] if d["name"] == "dataset_a")["columnLineage"] is None

    versions = await (await client.get(f"{base}/datasets/dataset_b/versions")).json()
    assert versions["totalCount"] == 2
    newest, oldest = versions["versions"]
    assert [f["name"] for f in newest["fields"]] == ["col_c", "col_e"] and [f["name"] for f in oldest["fields"]] == [
        "col_c"
    ]
    assert b["currentVersion"] == newest["version"] and oldest["createdByRun"]["id"] == run_id
    one = await (await client.get(f"{base}/datasets/dataset_b/versions/{oldest['version']}")).json()
    assert one["id"] == {"namespace": NS, "name": "dataset_b", "version": oldest["version"]}
    assert (await client.get(f"{base}/datasets/dataset_a/versions/{oldest['version']}")).status == 404

    job = await (await client.get(f"{base}/jobs/dag.task")).json()
    assert job["parentJobName"] == "dag" and job["simpleName"] == "task" and job["tags"] == ["pii", "tier:gold"]
    assert set(job["facets"]) == {"sql", "tags"} and len(job["latestRuns"]) == 4
    assert job["latestRun"] == job["latestRuns"][0]
    assert job["currentVersion"] == job["latestRun"]["jobVersion"]["version"]
    run = next(r for r in job["latestRuns"] if r["id"] == run_id)
    assert set(run["facets"]) == {"parent", "nominalTime"} and UUID.fullmatch(run["jobVersion"]["version"])
    assert (await (await client.get(f"{base}")).json())["ownerName"] == "anonymous"

    job_versions = await (await client.get(f"{base}/jobs/dag.task/versions")).json()
    assert job_versions["totalCount"] == 2  # the last run wrote another dataset: another version
    assert [[o["name"] for o in v["outputs"]] for v in job_versions["versions"]] == [["dataset_c"], ["dataset_b"]]
    version = job_versions["versions"][0]["version"]
    assert (await (await client.get(f"{base}/jobs/dag.task/versions/{version}")).json())["version"] == version
    assert (await client.get(f"{base}/jobs/dag.task/versions/{uuid.uuid4()}")).status == 404

    run_facets = await (await client.get(f"/api/v1/jobs/runs/{run_id}/facets?type=run")).json()
    assert run_facets["runId"] == run_id and set(run_facets["facets"]) == {"parent", "nominalTime"}
    job_facets = await (await client.get(f"/api/v1/jobs/runs/{run_id}/facets?type=job")).json()
    assert job_facets["facets"]["sql"]["query"] == "SELECT * FROM dataset_a"  # what the UI's DatasetInfo reads
    assert (await client.get(f"/api/v1/jobs/runs/{run_id}/facets?type=dataset")).status == 400
    assert (await client.get(f"/api/v1/jobs/runs/{uuid.uuid4()}/facets")).status == 404

    sources = await (await client.get("/api/v1/sources")).json()
    assert [s["name"] for s in sources["sources"]] == [NS]


async def test_tags_empty_and_latest_runs_capped(aiohttp_client: Any, make_app: AppFactory, any_store: Store) -> None:
    ingest(any_store, [_run("many", [], [B], f"2024-05-01T10:{minute:02d}:00Z") for minute in range(12)])
    client = await aiohttp_client(make_app(any_store))
    assert await (await client.get("/api/v1/tags")).json() == {"tags": []}
    job = await (await client.get(f"/api/v1/namespaces/{NS}/jobs/many")).json()
    times = [r["updatedAt"] for r in job["latestRuns"]]
    assert len(times) == 10 and times == sorted(times, reverse=True) and job["parentJobName"] is None


async def test_a_page_costs_the_same_statements_whatever_its_length(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No N+1: the job and dataset lists read a page with as many statements for 12 items as for 1."""
    ingest(store, [_run(f"job{n}", [A], [_dataset(f"out{n}", ["x"])], f"2024-05-01T10:{n:02d}:00Z") for n in range(12)])
    client = await aiohttp_client(make_app(store))
    calls: list[str] = []
    rows = SqliteStore._rows

    def counting(self: SqliteStore, sql: str, params: Any) -> Any:
        calls.append(sql)
        return rows(self, sql, params)

    monkeypatch.setattr(SqliteStore, "_rows", counting)
    counts = []
    for kind in ("jobs", "datasets"):
        for limit in (1, 12):
            calls.clear()
            assert (await client.get(f"/api/v1/namespaces/{NS}/{kind}?limit={limit}&offset=1")).status == 200
            counts.append(len(calls))
    assert counts[0] == counts[1] and counts[2] == counts[3], counts
    assert counts[1] <= 10 and counts[3] <= 7  # namespace, page, count, then enrich.py's 7 and 4
