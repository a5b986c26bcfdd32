"""A store that raises what it should not. As a process: a plain RuntimeError mid-stream (a bug, or a driver
error the store does not translate) gets those requests 503 STORE_ERROR, the writer lives on, SIGTERM still
ends it. In process: a writer that dies all the same answers its request and shows in /ready.

The process's store is the real SQLite store, patched by a launcher run with `python -c`: its write_batch
raises for any batch holding an event of a job whose name contains "explode".
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from pytest_aiohttp import AiohttpClient

from ingest.http.app import create_app
from ingest.http.server import SHUTDOWN_TIMEOUT
from ingest.settings import Settings
from schemas.rows import EventRows, run_key
from schemas.sqlite.store import SqliteStore
from schemas.store import WriteOutcome
from tests.conftest import load_event
from tests.ingest.processes import Server, column, environment, free_port, get, upgrade_schema, wait_for_health

LAUNCHER = """
import sys
from ingest.cli import main
from schemas.sqlite.store import SqliteStore

write_batch = SqliteStore.write_batch

def exploding(self, batch):
    if any("explode" in job.name for rows in batch for job in rows.jobs):
        raise RuntimeError("a driver error nobody translated")
    return write_batch(self, batch)

SqliteStore.write_batch = exploding
sys.exit(main(sys.argv[1:]))
"""
TEMPLATE = "spark_dataproc__hive_insert_complete_symlinks_cll__4.json"
ERROR_FIELDS = {"error", "message", "code", "details", "request_id"}


@contextmanager
def exploding_server(tmp_path: Path) -> Iterator[Server]:
    env = environment(tmp_path)
    upgrade_schema(env)
    port, log = free_port(), tmp_path / "serve.log"
    command = [sys.executable, "-c", LAUNCHER, "serve", "--port", str(port)]
    with (
        log.open("ab") as stderr,
        subprocess.Popen(
            command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        ) as process,
    ):
        try:
            wait_for_health(port, process)
            yield Server(process, port, log, env)
        finally:
            if process.poll() is None:
                process.kill()


def event(job: str) -> dict[str, Any]:
    template = load_event(TEMPLATE)
    return {**template, "run": {**template["run"], "runId": str(uuid.uuid4())}, "job": {**template["job"], "name": job}}


def post(server: Server, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        f"{server.url}/api/v1/lineage", orjson.dumps(body), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), orjson.loads(error.read())


def test_a_runtime_error_in_the_store_fails_its_requests_and_the_writer_lives_on(tmp_path: Path) -> None:
    with exploding_server(tmp_path) as server:
        sent = [event(job) for job in ("etl.before", "etl.explode", "etl.between", "etl.explode_again", "etl.after")]
        answers = [post(server, body) for body in sent]
        status, _, ready = get(f"{server.url}/ready")
        stopping = time.monotonic()
        code = server.stop()
        elapsed = time.monotonic() - stopping
        log = server.log_text()

    for body, (status_code, headers, answer) in zip(sent, answers, strict=True):
        if "explode" in body["job"]["name"]:
            assert status_code == 503 and answer["code"] == "STORE_ERROR", answer
            assert ERROR_FIELDS <= set(answer) and "Retry-After" in headers, (headers, answer)
        else:
            assert status_code == 201, answer
    assert status == 200, ready
    assert orjson.loads(ready)["checks"]["writer"]["ok"] is True
    assert code == 0, log
    assert elapsed < SHUTDOWN_TIMEOUT, log
    assert "Traceback" in log and "RuntimeError: a driver error nobody translated" in log
    stored = column(tmp_path, "SELECT run_id FROM OL_EVENT")
    assert stored == {run_key(body["run"]["runId"]) for body in sent if "explode" not in body["job"]["name"]}


class Fatal(BaseException):
    """Not an Exception: the writer's own guard lets it through, so the writer task dies."""


class FatalStore(SqliteStore):
    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        raise Fatal


async def test_a_dead_writer_answers_its_request_and_readiness_says_so(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    settings = Settings.from_env({"LINEAGE_STORE": f"sqlite:///{tmp_path / 'lineage.db'}"}, None)
    store = FatalStore(tmp_path / "lineage.db")
    store.create_schema()
    client = await aiohttp_client(create_app(settings, store))
    for _ in range(2):  # the request the writer died on, then one after
        response = await client.post("/api/v1/lineage", json=event("etl.any"))
        assert response.status == 503 and (await response.json())["code"] == "STORE_ERROR"
        assert "Retry-After" in response.headers
    ready = await client.get("/ready")
    assert ready.status == 503
    assert (await ready.json())["checks"]["writer"] == {"ok": False}
