"""POST /api/v1/lineage and /api/v1/lineage/batch on the real app: acknowledgement means committed."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import EVENTS_DIR, complete_event_files, event_files, load_event
from tests.ingest.conftest import MakeClient

SPARK = "spark_dataproc__hive_insert_complete_symlinks_cll__4.json"
KEY, OTHER_KEY = "k" * 20, "rotated-key-000000000"
ERROR_FIELDS = {"error", "message", "code", "details", "request_id"}


def body_of(path: Path) -> bytes:
    return path.read_bytes()


def rows(tmp_path: Path, sql: str) -> list[Any]:
    with sqlite3.connect(tmp_path / "lineage.db") as db:
        return db.execute(sql).fetchall()


async def test_one_event_is_stored_then_a_retry_is_a_duplicate(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client()
    body = (EVENTS_DIR / SPARK).read_bytes()
    first = await client.post("/api/v1/lineage", data=body, headers={"Content-Type": "application/json"})
    assert first.status == 201, await first.text()
    stored = await first.json()
    assert stored["status"] == "stored" and stored["duplicate"] is False and stored["warnings"] == []
    again = await client.post("/api/v1/lineage", data=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert again.status == 200
    assert (await again.json())["status"] == "duplicate"
    assert rows(tmp_path, "SELECT event_id, payload FROM OL_EVENT") == [(stored["event_id"], body.decode())]
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_COLUMN_LINEAGE")[0][0] > 0


async def test_an_invalid_event_names_each_path(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        "/api/v1/lineage", data=(EVENTS_DIR / "MALFORMED__fluentd__event_no_run_id.json").read_bytes()
    )
    assert response.status == 400
    body = await response.json()
    assert set(body) == ERROR_FIELDS and body["code"] == "INVALID_EVENT"
    assert body["details"] == [{"path": "run.runId", "message": "required"}]
    assert body["request_id"] == response.headers["X-Request-ID"]


async def test_a_kept_facet_warns_in_the_answer(make_client: MakeClient) -> None:
    client = await make_client()
    data = (EVENTS_DIR / "MALFORMED__fluentd__event_invalid_job_facet.json").read_bytes()
    response = await client.post("/api/v1/lineage", data=data)
    assert response.status == 201
    assert [w["path"] for w in (await response.json())["warnings"]] == ["job.facets.ownership.owners[0].name"]
    strict = await make_client(LINEAGE_VALIDATION="strict")
    assert (await strict.post("/api/v1/lineage", data=data)).status == 400


async def test_arrays_and_objects_go_to_their_own_endpoint(make_client: MakeClient) -> None:
    client = await make_client()
    single = await client.post("/api/v1/lineage", data=b"[]")
    assert single.status == 400 and (await single.json())["code"] == "WRONG_SHAPE"
    batch = await client.post("/api/v1/lineage/batch", data=b"{}")
    assert batch.status == 400 and (await batch.json())["code"] == "WRONG_SHAPE"


async def test_batch_answers_per_event(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client()
    events = [load_event(SPARK), load_event("MALFORMED__fluentd__event_no_run_id.json"), load_event(SPARK)]
    response = await client.post("/api/v1/lineage/batch", data=orjson.dumps(events))
    assert response.status == 200  # the spec's batch endpoint answers 200 or 204, never 207
    body = await response.json()
    assert body["status"] == "partial_success"
    assert body["summary"] == {"received": 3, "successful": 2, "failed": 1, "retriable": 0, "non_retriable": 1}
    assert body["failed_events"] == [{"index": 1, "reason": "run.runId: required", "retriable": False}]
    assert body["duplicates"] == [2]
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(1,)]

    again = await client.post("/api/v1/lineage/batch", data=orjson.dumps(events[:1]))
    assert again.status == 200
    assert (await again.json())["status"] == "success"


async def test_a_batch_of_only_bad_events_is_a_partial_success_with_nothing_stored(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client()
    response = await client.post("/api/v1/lineage/batch", data=b'[{"eventTime": "x"}, 7]')
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "partial_success"  # the spec's statuses are success and partial_success only
    assert body["summary"] == {"received": 2, "successful": 0, "failed": 2, "retriable": 0, "non_retriable": 2}
    assert [item["index"] for item in body["failed_events"]] == [0, 1]
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(0,)]


async def test_an_empty_batch_is_a_success(make_client: MakeClient) -> None:
    response = await (await make_client()).post("/api/v1/lineage/batch", data=b"[]")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "success" and body["summary"]["received"] == 0 and body["failed_events"] == []


async def test_batch_elements_are_archived_as_sent(make_client: MakeClient, tmp_path: Path) -> None:
    """As the single endpoint stores its body: no re-serialising (a 20-digit integer would become a float)."""
    client = await make_client()
    first = (EVENTS_DIR / SPARK).read_text().strip()
    event = load_event("compat__minimal__simple_run_event.json")
    event["run"]["facets"] = {"big": {"_producer": "https://p", "_schemaURL": "https://s", "rows": 0}}
    text = orjson.dumps(event).decode().replace('"rows":0', '"rows":12345678901234567890')
    body = f"[ {first} ,\n\t{text}  ]"
    response = await client.post("/api/v1/lineage/batch", data=body.encode())
    assert response.status == 200 and (await response.json())["status"] == "success", await response.text()
    stored = {payload for (payload,) in rows(tmp_path, "SELECT payload FROM OL_EVENT")}
    assert stored == {first, text}


async def test_batch_size_limit(make_client: MakeClient) -> None:
    client = await make_client(LINEAGE_MAX_BATCH_EVENTS="2")
    response = await client.post("/api/v1/lineage/batch", data=orjson.dumps([{}, {}, {}]))
    assert response.status == 413 and (await response.json())["code"] == "TOO_MANY_EVENTS"


async def test_api_keys(make_client: MakeClient) -> None:
    client = await make_client(LINEAGE_API_KEYS=f"{KEY},{OTHER_KEY}")
    data = (EVENTS_DIR / SPARK).read_bytes()
    missing = await client.post("/api/v1/lineage", data=data)
    assert missing.status == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await missing.json())["code"] == "UNAUTHORIZED"
    wrong = await client.post("/api/v1/lineage", data=data, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 403 and (await wrong.json())["code"] == "FORBIDDEN"
    for key in (KEY, OTHER_KEY):  # both keys of a rotation work
        ok = await client.post("/api/v1/lineage", data=data, headers={"Authorization": f"Bearer {key}"})
        assert ok.status in (200, 201)
    assert (await client.get("/health")).status == 200
    assert (await client.get("/metrics")).status == 200


async def test_protected_reads(make_client: MakeClient) -> None:
    client = await make_client(LINEAGE_API_KEYS=KEY, LINEAGE_PROTECT_READS="true")
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})).status == 200
    assert (await client.get("/ready")).status == 200


async def test_cors_only_for_named_origins(make_client: MakeClient) -> None:
    client = await make_client(LINEAGE_CORS_ORIGINS="https://ui.example")
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"}
    allowed = await client.options("/api/v1/lineage", headers=preflight)
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ui.example"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("path", event_files(), ids=lambda p: p.name)
async def test_every_sample_file_gets_a_2xx_or_a_4xx(make_client: MakeClient, path: Path) -> None:
    client = await make_client()
    endpoint = "/api/v1/lineage/batch" if isinstance(load_event(path.name), list) else "/api/v1/lineage"
    response = await client.post(endpoint, data=body_of(path), headers={"Content-Type": "application/json"})
    assert response.status < 500, await response.text()
    if response.status >= 400:
        assert ERROR_FIELDS <= set(await response.json())
    if path in complete_event_files():
        assert response.status == 201


@pytest.mark.parametrize(
    ("headers", "data", "status", "code"),
    [
        ({"Content-Type": "application/json"}, b"{not json", 400, "INVALID_JSON"),
        ({"Content-Type": "text/plain"}, b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"Content-Encoding": "br"}, b"{}", 415, "UNSUPPORTED_ENCODING"),
        ({}, b"[" * 200 + b"]" * 200, 400, "TOO_DEEP"),
        ({}, b" " * 2048 + b"{}", 413, "PAYLOAD_TOO_LARGE"),
        ({"Content-Encoding": "gzip"}, gzip.compress(b" " * 1_000_000), 413, "DECOMPRESSED_TOO_LARGE"),
    ],
    ids=["non-json", "content-type", "encoding", "200-deep", "oversized", "gzip-bomb"],
)
async def test_each_bad_body_has_its_own_status_and_code(
    make_client: MakeClient, headers: dict[str, str], data: bytes, status: int, code: str
) -> None:
    client = await make_client(LINEAGE_MAX_BODY_BYTES="2048", LINEAGE_MAX_DECOMPRESSED_BYTES="65536")
    response = await client.post("/api/v1/lineage", data=data, headers=headers)
    assert response.status == status
    body = await response.json()
    assert body["code"] == code and set(body) == ERROR_FIELDS


async def test_ready_and_metrics(make_client: MakeClient) -> None:
    client = await make_client()
    ready = await client.get("/ready")
    assert ready.status == 200
    assert {name for name, check in (await ready.json())["checks"].items() if check["ok"]} == {
        "store",
        "schema",
        "writer",
        "queue",
    }
    await client.post("/api/v1/lineage", data=(EVENTS_DIR / SPARK).read_bytes())
    text = await (await client.get("/metrics")).text()
    assert 'lineage_events_received_total{endpoint="/api/v1/lineage"} 1.0' in text
    assert "lineage_events_accepted_total 1.0" in text
    assert "lineage_batch_size_events_count 1.0" in text
    assert 'lineage_http_requests_total{method="POST",route="/api/v1/lineage",status="201"} 1.0' in text


async def test_an_event_from_the_far_future_is_refused(make_client: MakeClient, tmp_path: Path) -> None:
    """One event dated 9999 would stay its run's and job's latest forever: past LINEAGE_MAX_FUTURE_SKEW, a 400."""
    event = load_event("compat__minimal__simple_run_event.json")
    client = await make_client(LINEAGE_MAX_FUTURE_SKEW="60")
    far = await client.post("/api/v1/lineage", data=orjson.dumps({**event, "eventTime": "9999-01-01T00:00:00Z"}))
    assert far.status == 400
    assert [d["path"] for d in (await far.json())["details"]] == ["eventTime"]
    batch = await client.post(
        "/api/v1/lineage/batch", data=orjson.dumps([{**event, "eventTime": "9999-01-01T00:00:00Z"}])
    )
    assert (await batch.json())["failed_events"][0]["reason"].startswith("eventTime: more than 60 s ahead")
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(0,)]
    assert (await client.post("/api/v1/lineage", data=orjson.dumps(event))).status == 201
