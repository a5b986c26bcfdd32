"""Acceptance on PostgreSQL, as a new user runs it: `lineage schema create`, `lineage serve`, the real
openlineage-python HttpTransport sending every complete event of ../shared/events (each acknowledged), then the
v1 and v2 read APIs answering exactly as a SQLite server fed the same events.

Nothing is normalised: every time in an answer comes from the events, every id is a hash of names, both stores
sort names in byte order, and rows read by id come sorted on every store (schemas.sqlstore.SqlReads._by_ids), so
the two servers' JSON must be equal once parsed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from tests.ingest.http.test_clients import KEY, sample_events, send_sync
from tests.ingest.processes import LINEAGE, Server, environment, get, serving


def q(text: str) -> str:
    return quote(text, safe="")


def answer(server: Server, path: str) -> tuple[int, Any]:
    status, _, body = get(server.url + path, timeout=30)
    return status, orjson.loads(body)


def v1_paths(server: Server) -> Iterator[str]:
    """Every v1 read of the namespaces, datasets, fields, jobs and runs the server holds, found by walking it."""
    yield "/api/v1/namespaces"
    yield "/api/v1/events/lineage?" + urlencode({"limit": 1000})
    yield "/api/v1/search?" + urlencode({"q": "a", "limit": 100})
    for namespace in answer(server, "/api/v1/namespaces?limit=1000")[1]["namespaces"]:
        ns = namespace["name"]
        yield f"/api/v1/namespaces/{q(ns)}"
        yield f"/api/v1/namespaces/{q(ns)}/datasets?limit=1000"
        yield f"/api/v1/namespaces/{q(ns)}/jobs?limit=1000"
        for dataset in answer(server, f"/api/v1/namespaces/{q(ns)}/datasets?limit=1000")[1]["datasets"]:
            yield f"/api/v1/namespaces/{q(ns)}/datasets/{q(dataset['name'])}"
            yield "/api/v1/lineage?" + urlencode({"nodeId": f"dataset:{ns}:{dataset['name']}", "depth": 5})
            if dataset["fields"]:  # without fields, Marquez (and we) answer 404
                yield "/api/v1/column-lineage?" + urlencode({"nodeId": f"dataset:{ns}:{dataset['name']}", "depth": 5})
            yield f"/api/v1/namespaces/{q(ns)}/datasets/{q(dataset['name'])}/versions"
        for job in answer(server, f"/api/v1/namespaces/{q(ns)}/jobs?limit=1000")[1]["jobs"]:
            yield f"/api/v1/namespaces/{q(ns)}/jobs/{q(job['name'])}"
            yield f"/api/v1/namespaces/{q(ns)}/jobs/{q(job['name'])}/runs?limit=1000"
            yield "/api/v1/lineage?" + urlencode({"nodeId": f"job:{ns}:{job['name']}", "depth": 5})


def v2_paths(server: Server) -> Iterator[str]:
    """Every v2 read of the namespaces, datasets and fields the server holds."""
    prefix = "/api/v2/openlineage"
    yield f"{prefix}/namespaces"
    for text in ("or", "order", "__", "//"):
        yield f"{prefix}/search?" + urlencode({"q": text})
        yield f"{prefix}/datasets/search?" + urlencode({"q": text})
    for namespace in answer(server, f"{prefix}/namespaces")[1]["namespaces"]:
        yield f"{prefix}/namespaces/{q(namespace['id'])}"
        yield f"{prefix}/namespaces/{q(namespace['id'])}/datasets?limit=1000"
        for dataset in answer(server, f"{prefix}/namespaces/{q(namespace['id'])}/datasets?limit=1000")[1]["datasets"]:
            base = f"{prefix}/datasets/{q(dataset['id'])}"
            yield base
            database, dot, table = dataset["name"].partition(".")
            if dot and database and table:  # a `database.table` name: statistics and its database (else 404)
                yield f"{base}/statistics"
                yield f"{prefix}/lineage/database/{q(database)}"
            fields = answer(server, base)[1].get("fields", [])
            if fields:  # table lineage of a dataset without fields is a 404, as the application answered
                yield f"{prefix}/lineage/table/{q(dataset['id'])}"
            for field in fields:
                yield f"{prefix}/lineage/{q(dataset['id'])}/{q(field['name'])}?direction=both&maxDepth=5"


def test_postgresql_serves_the_sample_events_as_sqlite_does(tmp_path: Path, postgres_dsn: str) -> None:
    events = sample_events()
    pg_dir, sqlite_dir = tmp_path / "postgresql", tmp_path / "sqlite"
    for directory in (pg_dir, sqlite_dir):
        directory.mkdir()
    created = subprocess.run(
        [LINEAGE, "schema", "create"],
        env=environment(pg_dir, LINEAGE_STORE=postgres_dsn),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    with (
        serving(pg_dir, LINEAGE_STORE=postgres_dsn, LINEAGE_API_KEYS=KEY) as postgresql,
        serving(sqlite_dir, LINEAGE_API_KEYS=KEY) as sqlite,
    ):
        for server in (postgresql, sqlite):
            assert send_sync(server.url, events, []) == [201] * len(events)
        paths = [*v1_paths(sqlite), *v2_paths(sqlite)]
        assert len(paths) > 100
        for path in paths:
            expected = answer(sqlite, path)
            assert expected[0] == 200, (path, expected)
            assert answer(postgresql, path) == expected, path
        assert postgresql.stop() == 0, postgresql.log_text()
