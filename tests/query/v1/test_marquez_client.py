"""marquez-python, Marquez's own client, against a real `lineage serve` loaded with ../shared/events and the demo:
every client method whose endpoint this server serves (the reads; the client's writes are Marquez's deprecated
PUT/POST API, and ingestion here is OpenLineage's POST /api/v1/lineage). Not served, so not here: get_source (one
source by name) and list_events (Marquez's older /api/v1/events; its UI reads /api/v1/events/lineage)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from marquez_client import MarquezClient

from ingest.populate.demo import JOB_NAMESPACE, NAMESPACE, populate_demo
from schemas.sqlite.store import SqliteStore
from tests.conftest import complete_event_files
from tests.ingest.processes import Server, serving, store_file
from tests.query.conftest import ingest


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("marquez-client")
    store = SqliteStore(store_file(tmp))
    store.create_schema()
    ingest(store, [orjson.loads(path.read_bytes()) for path in complete_event_files()])
    populate_demo(store)
    store.close()
    with serving(tmp, REDIS_ADDR="") as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server) -> MarquezClient:
    return MarquezClient(server.url)


def test_namespaces(client: MarquezClient) -> None:
    listed: dict[str, Any] = client.list_namespaces()
    names = {n["name"] for n in listed["namespaces"]}
    assert {NAMESPACE, JOB_NAMESPACE} <= names and listed["totalCount"] == len(names)
    assert client.list_namespaces(limit=2, offset=1)["namespaces"] == listed["namespaces"][1:3]
    one = client.get_namespace(NAMESPACE)
    assert one["name"] == NAMESPACE and set(one) >= {"createdAt", "updatedAt", "ownerName", "description"}


def test_datasets(client: MarquezClient) -> None:
    listed = client.list_datasets(NAMESPACE, limit=100)
    assert listed["totalCount"] == 10 and "DIM.CUSTOMER" in {d["name"] for d in listed["datasets"]}
    page = client.list_datasets(NAMESPACE, limit=3, offset=2)["datasets"]
    assert [d["name"] for d in page] == [d["name"] for d in listed["datasets"][2:5]]
    dataset = client.get_dataset(NAMESPACE, "DIM.CUSTOMER")
    assert dataset["id"] == {"namespace": NAMESPACE, "name": "DIM.CUSTOMER"} and dataset["type"] == "DB_TABLE"
    assert "lifetime_value" in {f["name"] for f in dataset["fields"]}


def test_jobs_and_runs(client: MarquezClient) -> None:
    jobs = client.list_jobs(JOB_NAMESPACE)
    assert jobs["totalCount"] == len(jobs["jobs"]) > 3
    job = client.get_job(JOB_NAMESPACE, "dim.load_customer")
    assert job["id"] == {"namespace": JOB_NAMESPACE, "name": "dim.load_customer"}
    assert {"namespace": NAMESPACE, "name": "FACT.CUSTOMER_LTV"} in job["inputs"]
    assert job["latestRun"]["state"] == "COMPLETED"
    runs = client.list_job_runs(JOB_NAMESPACE, "dim.load_customer")["runs"]
    run = runs[0]
    assert run["id"] == job["latestRun"]["id"] and run["durationMs"] == 180_000
    again = client.get_job_run(run["id"])
    assert again["id"] == run["id"] and again["state"] == "COMPLETED"
    assert client.list_jobs("no-such-namespace") == {"totalCount": 0, "jobs": []}


def test_column_lineage_by_dataset_field_and_job(client: MarquezClient) -> None:
    field = client.get_column_lineage_by_dataset_field(NAMESPACE, "DIM.CUSTOMER", "lifetime_value")
    assert any(n["id"].endswith("FACT.CUSTOMER_LTV:ltv") for n in field["graph"])
    dataset = client.get_column_lineage_by_dataset(NAMESPACE, "FACT.SALES_DAILY", depth=1)
    ids = {n["id"] for n in dataset["graph"]}
    assert f"datasetField:{NAMESPACE}:FACT.SALES_DAILY:total_amount" in ids
    job = client.get_column_lineage_by_job(JOB_NAMESPACE, "fact.load_sales_daily", depth=1)
    assert {n["type"] for n in job["graph"]} == {"DATASET_FIELD"} and job["graph"]


def test_versions_tags_and_sources(client: MarquezClient) -> None:
    versions = client.list_dataset_versions(NAMESPACE, "DIM.CUSTOMER")["versions"]
    assert versions and all(v["id"]["name"] == "DIM.CUSTOMER" for v in versions)
    one = client.get_dataset_version(NAMESPACE, "DIM.CUSTOMER", versions[0]["version"])
    assert one["version"] == versions[0]["version"]
    tags = client.list_tags()
    assert isinstance(tags["tags"], list)
    sources = client.list_sources()["sources"]
    assert NAMESPACE in {s["name"] for s in sources}


def test_errors_reach_the_client_as_its_own_exceptions(client: MarquezClient) -> None:
    from marquez_client.errors import APIError

    with pytest.raises(APIError):
        client.get_dataset(NAMESPACE, "NO.SUCH_TABLE")
    with pytest.raises(APIError):
        client.get_job_run("00000000-0000-0000-0000-000000000000")
