"""Schemathesis with Marquez's own OpenAPI document (marquez-openapi.yml beside this file, its source in its
header) against a real `lineage serve` loaded with ../shared/events and the demo.

Every GET of the document that this server serves is driven two ways: with the real names the store holds
(so that 200 answers are checked against the document's schemas) and with values Hypothesis generates from the
document (a fixed seed, a bounded number of examples). Checks: no 5xx, a JSON content type as documented, and
every documented answer valid against its schema.

The document has defects that no patch of its syntax can fix; the test relaxes them in memory, and docs/API.md
lists them:
- it never says `nullable`, yet Marquez answers null for what it does not know (its own examples carry
  `lastModifiedAt: null`, `latestRun: null`, `endedAt: null`): every property may be null here;
- GraphNode.data is `oneOf: [Dataset, Job]`, but the two schemas overlap (neither requires anything), so any
  node matches both and `oneOf` fails for every answer Marquez itself gives: it is read as `anyOf`;
- DatasetVersion's `tags` (and its fields' `tags`) are typed `string`, where Dataset's are arrays, Marquez answers
  arrays and the document's own DatasetVersion example shows `tags: []`: an array of strings is accepted too.
The one GET whose endpoint this server does not serve (a source by name) is listed in UNSERVED.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok

from ingest.populate.demo import JOB_NAMESPACE, NAMESPACE, populate_demo
from schemas.sqlite.store import SqliteStore
from schemas.store import Page
from tests.conftest import complete_event_files
from tests.ingest.processes import Server, get, serving, store_file
from tests.query.conftest import ingest

SPEC = Path(__file__).with_name("marquez-openapi.yml")
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
EXAMPLES = 25  # generated cases per operation: enough to reach every parameter, cheap enough for `make test`
# GETs of the document whose endpoints this server does not serve: one source by name (Marquez's deprecated
# source API; /sources lists them).
UNSERVED = {"/sources/{source}"}


def relaxed(node: Any) -> Any:
    """The document with its semantic defects relaxed (see the module docstring)."""
    if isinstance(node, list):
        return [relaxed(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: relaxed(value) for key, value in node.items()}
    if "oneOf" in result and result.get("discriminator", {}).get("propertyName") == "type":
        result["anyOf"] = result.pop("oneOf")
        result.pop("discriminator")
    if isinstance(result.get("properties"), dict):
        tags = result["properties"].get("tags")
        if isinstance(tags, dict) and tags.get("type") == "string":
            result["properties"]["tags"] = {"anyOf": [tags, {"type": "array", "items": {"type": "string"}}]}
        for schema in result["properties"].values():
            if isinstance(schema, dict):
                schema["nullable"] = True
    return result


class TextTimes(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """YAML as JSON reads it: the document's example times stay text (PyYAML would make them datetimes)."""


TextTimes.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def served_operations() -> list[Any]:
    raw = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=TextTimes)
    schema = schemathesis.openapi.from_dict(relaxed(raw))
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    return [op for op in operations if op.method.upper() == "GET" and op.path not in UNSERVED]


OPERATIONS = served_operations()


def uuid_run(event: dict[str, Any]) -> bool:
    """False for a run event whose runId is no UUID (one sample has `run_id`): the OpenLineage spec requires a UUID,
    this server accepts the event and answers its id as sent, where Marquez answers a name-based UUID and the
    document says `format: uuid` (docs/API.md lists it)."""
    run_id = event.get("run", {}).get("runId")
    try:
        return run_id is None or bool(uuid.UUID(run_id))
    except ValueError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("openapi")
    store = SqliteStore(store_file(tmp))
    store.create_schema()
    ingest(
        store, [event for event in map(orjson.loads, map(Path.read_bytes, complete_event_files())) if uuid_run(event)]
    )
    populate_demo(store)
    store.close()
    with serving(tmp, REDIS_ADDR="") as running:
        yield running


def real_cases(server: Server) -> dict[str, list[dict[str, Any]]]:
    """Path parameters and queries naming what the store holds, per operation path."""
    store = SqliteStore(Path(server.env["LINEAGE_STORE"].removeprefix("sqlite:///")))
    try:
        namespaces = [n.uri for n in store.namespaces(Page(100)).items]
        datasets = [(d.namespace_uri, d.name) for ns in store.namespaces(Page(100)).items
                    for d in store.datasets(ns.namespace_id, Page(5)).items]  # fmt: skip
        jobs = [(j.namespace_uri, j.name) for j in store.jobs_listed(None, None, Page(20)).items]
        runs = [
            r.run_id for r in store.latest_runs([j.job_id for j in store.jobs_listed(None, None, Page(20)).items], 2)
        ]
    finally:
        store.close()
    assert namespaces and datasets and jobs and runs
    dataset_versions = [
        {"path": {"namespace": n, "dataset": d, "version": v["version"]}}
        for n, d in datasets[:10]
        for v in _json(server, f"/namespaces/{quote(n, safe='')}/datasets/{quote(d, safe='')}/versions")["versions"][:2]
    ]
    job_versions = [
        {"path": {"namespace": n, "job": j, "version": v["version"]}}
        for n, j in jobs[:10]
        for v in _json(server, f"/namespaces/{quote(n, safe='')}/jobs/{quote(j, safe='')}/versions")["versions"][:2]
    ]
    assert dataset_versions and job_versions
    return {
        "/namespaces/{namespace}": [{"path": {"namespace": n}} for n in namespaces],
        "/namespaces": [{"query": {}}, {"query": {"limit": 2, "offset": 1}}, {"query": {"limit": 0}}],
        "/namespaces/{namespace}/datasets/{dataset}": [{"path": {"namespace": n, "dataset": d}} for n, d in datasets],
        "/namespaces/{namespace}/datasets": [{"path": {"namespace": n}, "query": {"limit": 3}} for n in namespaces],
        "/namespaces/{namespace}/jobs/{job}": [{"path": {"namespace": n, "job": j}} for n, j in jobs],
        "/namespaces/{namespace}/jobs": [{"path": {"namespace": n}} for n in namespaces],
        "/namespaces/{namespace}/jobs/{job}/runs": [{"path": {"namespace": n, "job": j}} for n, j in jobs],
        "/jobs/runs/{id}": [{"path": {"id": r}} for r in runs],
        "/lineage": [
            {"query": {"nodeId": f"dataset:{NAMESPACE}:DIM.CUSTOMER", "depth": 2}},
            {"query": {"nodeId": f"job:{JOB_NAMESPACE}:dim.load_customer"}},
            *({"query": {"nodeId": f"dataset:{n}:{d}", "depth": 1}} for n, d in datasets[:10]),
        ],
        "/sources": [{"query": {}}, {"query": {"limit": 1}}],
        "/tags": [{"query": {}}],
        "/namespaces/{namespace}/datasets/{dataset}/versions": [
            {"path": {"namespace": n, "dataset": d}} for n, d in datasets[:10]
        ],
        "/namespaces/{namespace}/datasets/{dataset}/versions/{version}": dataset_versions,
        "/namespaces/{namespace}/jobs/{job}/versions": [{"path": {"namespace": n, "job": j}} for n, j in jobs[:10]],
        "/namespaces/{namespace}/jobs/{job}/versions/{version}": job_versions,
        "/search": [
            {"query": {"q": "customer"}},
            {"query": {"q": "order", "filter": "dataset", "sort": "updated_at", "limit": 50}},
            {"query": {"q": "a", "filter": "job", "limit": 0}},
        ],
    }


def _json(server: Server, path: str) -> Any:
    status, _, body = get(f"{server.url}/api/v1{path}")
    assert status == 200, (path, body)
    return orjson.loads(body)


def test_every_served_get_of_the_document_is_exercised() -> None:
    every = [r.ok() for r in schemathesis.openapi.from_path(SPEC).get_all_operations() if isinstance(r, Ok)]
    gets = [op.path for op in every if op.method.upper() == "GET"]
    assert len(gets) == 17 and sorted(op.path for op in OPERATIONS) == sorted(set(gets) - UNSERVED)


def test_the_served_gets_that_marquez_documents_are_really_served(server: Server) -> None:
    """The operations UNSERVED skips are the only ones; the others answer something other than a 404 route."""
    for op in OPERATIONS:
        names = {"namespace": "x", "dataset": "y", "job": "z", "id": "r", "version": "v"}
        status, _, body = get(f"{server.url}/api/v1{op.path.format(**names)}")
        assert status != 404 or orjson.loads(body)["error"] != "Not Found", op.path


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.path)
def test_real_names_answer_as_the_document_says(server: Server, operation: Any) -> None:
    cases = real_cases(server)[operation.path]
    answered = 0
    for given_values in cases:
        # Marquez's clients send a name as one path segment (encodeURIComponent); Schemathesis would not encode `/`.
        path = {name: quote(value, safe="") for name, value in given_values.get("path", {}).items()}
        case = operation.Case(path_parameters=path or None, query=given_values.get("query"))
        response = case.call(base_url=f"{server.url}/api/v1")
        assert response.status_code == 200, (operation.path, given_values, response.text[:500])
        case.validate_response(response, checks=CHECKS)
        answered += 1
    assert answered == len(cases)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.path)
def test_generated_requests_answer_as_the_document_says(server: Server, operation: Any) -> None:
    """Hypothesis draws requests from the document (a fixed seed): no 5xx, every documented answer valid."""
    base_url = f"{server.url}/api/v1"
    statuses: list[int] = []

    @seed(12)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), _=st.just(None))
    def check(case: Any, _: None) -> None:
        response = case.call(base_url=base_url)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    assert len(statuses) >= min(EXAMPLES, 5) and max(statuses) < 500, statuses
    if operation.path in (
        "/namespaces",
        "/search",
        "/sources",
        "/tags",
    ):  # no name to guess: drawn requests reach real answers
        assert 200 in statuses, statuses
