"""The store fails under a running server: its file deleted, made read-only, a table dropped. Each time the server
stops acknowledging (503 STORE_UNAVAILABLE with Retry-After, /ready false), logs why once, and, where the store
can come back by itself, takes events again without a restart."""

from __future__ import annotations

import io
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.ingest.processes import LINEAGE, environment, free_port
from tests.reliability.conftest import Client, MakeServer, run_event, store_path


async def post(client: Client, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/v1/lineage", data=io.BytesIO(orjson.dumps(event)))
    return response.status, await response.json()


async def ready(client: Client) -> tuple[int, dict[str, Any]]:
    response = await client.get("/ready")
    return response.status, await response.json()


def stored_run_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT run_id FROM OL_RUN")}


def large_event() -> dict[str, Any]:
    """An event over ingest.http.large.LARGE_BYTES: the worker process handles it."""
    event = run_event()
    padding = {"_producer": "https://example.com/tests", "_schemaURL": "https://example.com/x", "text": "x" * 1_100_000}
    event["run"]["facets"] = {"padding": padding}
    return event


def delete_store(tmp_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_path(tmp_path)}{suffix}").unlink(missing_ok=True)


def lineage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, *args], env=environment(tmp_path), capture_output=True, text=True, check=False)


async def test_a_deleted_store_is_never_acknowledged_into(make_server: MakeServer, tmp_path: Path) -> None:
    client, _ = await make_server()
    assert (await post(client, run_event()))[0] == 201
    delete_store(tmp_path)
    for _ in range(3):
        status, body = await post(client, run_event())
        assert status == 503 and body["code"] == "STORE_UNAVAILABLE", body
        assert "deleted" in body["error"]
    batch = await client.post("/api/v1/lineage/batch", data=orjson.dumps([run_event(), run_event()]))
    # Nothing of the batch can be written and a retry may succeed: the request is a 503, to be resent whole.
    assert batch.status == 503 and (await batch.json())["code"] == "STORE_UNAVAILABLE"
    # A large event goes to the worker process, which opens the store then: it must not create it either.
    status, body = await post(client, large_event())
    assert status == 503 and body["code"] == "STORE_UNAVAILABLE", body
    status, body = await ready(client)
    assert status == 503 and body["checks"]["store"]["ok"] is False
    assert not store_path(tmp_path).exists(), "nothing may bring the deleted file back as an empty store"


async def test_a_replaced_store_is_never_acknowledged_into(make_server: MakeServer, tmp_path: Path) -> None:
    client, _ = await make_server()
    path = store_path(tmp_path)
    path.rename(tmp_path / "moved.db")
    path.write_bytes((tmp_path / "moved.db").read_bytes())
    status, body = await post(client, run_event())
    assert status == 503 and "replaced" in body["error"]
    assert (await ready(client))[0] == 503


def test_serve_without_its_store_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [LINEAGE, "serve", "--port", str(free_port())],
        env=environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "does not exist; create it with `lineage schema upgrade`" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not store_path(tmp_path).exists()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file refuses writes while the block runs: immutable for root (who ignores permissions), mode 0444
    for anyone else."""
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"root cannot make a file read-only here (chattr +i: {made.stderr.strip()})")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)


async def test_a_read_only_store_is_unavailable_and_recovers_by_itself(make_server: MakeServer, tmp_path: Path) -> None:
    client, _ = await make_server()
    first = run_event()
    assert (await post(client, first))[0] == 201
    with read_only(store_path(tmp_path)):
        client_ro, _ = await make_server(upgrade=False)
        status, body = await post(client_ro, run_event())
        assert status == 503 and body["code"] == "STORE_UNAVAILABLE", body
        assert "readonly" in body["error"]
        batch = await client_ro.post("/api/v1/lineage/batch", data=orjson.dumps([run_event(), run_event()]))
        answer = await batch.json()
        assert batch.status == 503 and answer["code"] == "STORE_UNAVAILABLE", answer
        assert "Retry-After" in batch.headers  # resent whole later: nothing of it was stored
        status, body = await ready(client_ro)
        assert status == 503 and body["checks"]["store"]["ok"] is False, body
    # Writable again: the same server takes events without a restart.
    later = run_event()
    status, body = await post(client_ro, later)
    assert status == 201, body
    assert (await ready(client_ro))[0] == 200
    assert {first["run"]["runId"], later["run"]["runId"]} <= stored_run_ids(store_path(tmp_path))


async def test_a_missing_table_fails_readiness_and_schema_status(make_server: MakeServer, tmp_path: Path) -> None:
    client, _ = await make_server()
    assert (await ready(client))[0] == 200
    with sqlite3.connect(store_path(tmp_path)) as db:
        db.execute("DROP TABLE OL_RUN_INPUT")
    status, body = await post(client, run_event())
    assert status == 503 and body["code"] == "STORE_UNAVAILABLE" and "OL_RUN_INPUT" in body["error"], body
    status, body = await ready(client)
    assert status == 503
    assert body["checks"]["schema"]["missing"] == ["table OL_RUN_INPUT"], body
    shown = lineage(tmp_path, "schema", "status")
    assert shown.returncode == 1
    assert "missing  table OL_RUN_INPUT" in shown.stdout, shown.stdout
    upgraded = lineage(tmp_path, "schema", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (await post(client, run_event()))[0] == 201
    assert (await ready(client))[0] == 200


async def test_a_store_outage_is_logged_once_with_its_reason(
    make_server: MakeServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = await make_server()
    with sqlite3.connect(store_path(tmp_path)) as db:
        db.execute("ALTER TABLE OL_JOB RENAME TO OL_JOB_AWAY")
    caplog.set_level(logging.INFO, logger="ingest.writing.batcher")
    for _ in range(5):
        assert (await post(client, run_event()))[0] == 503
    lines = [r.getMessage() for r in caplog.records if r.name == "ingest.writing.batcher"]
    assert len(lines) == 1 and "the store is unavailable" in lines[0] and "OL_JOB" in lines[0], lines
    with sqlite3.connect(store_path(tmp_path)) as db:
        db.execute("ALTER TABLE OL_JOB_AWAY RENAME TO OL_JOB")
    assert (await post(client, run_event()))[0] == 201
    lines = [r.getMessage() for r in caplog.records if r.name == "ingest.writing.batcher"]
    assert len(lines) == 2 and "available again" in lines[1], lines
