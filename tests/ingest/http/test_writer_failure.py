"""`lineage serve` as a process whose store raises a plain RuntimeError mid-stream (a bug, or a driver error
the store does not translate): those requests get 503 STORE_ERROR, the writer lives on, SIGTERM still ends it.

The store is the real SQLite store, patched in the server process by a launcher run with `python -c`: its
write_batch raises for any batch holding an event of a job whose name contains "explode".
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from ingest.http.server import SHUTDOWN_TIMEOUT
from schemas.rows import run_key
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
ERROR_FIELDS = {"error", "code", "details", "request_id"}


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
