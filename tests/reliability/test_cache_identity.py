"""The query cache names its store and every writer invalidates it (issue 14: two servers on different stores
sharing one Redis served each other's graphs; `lineage ingest` and `lineage populate` never invalidated).

Real Redis, in a database number of this suite's own (REDIS_DB below), never flushed; skips without Redis,
except under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from ingest.http.app import create_app
from query.cache import GENERATION_KEY
from schemas import open_store
from tests.ingest.processes import LINEAGE, environment
from tests.reliability.conftest import run_event, settings_for

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = "13"
URL = "/api/v2/openlineage/lineage/R.TARGET/col?direction=upstream&maxDepth=1"


@pytest.fixture
def real_redis() -> redis.Redis:
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5).close()
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true and {REDIS_HOST}:{REDIS_PORT} does not answer")
        pytest.skip(f"no Redis at {REDIS_HOST}:{REDIS_PORT}")
    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=int(REDIS_DB))


def edge_event(source: str) -> dict[str, Any]:
    """R.TARGET.col computed from <source>.x."""
    lineage = {
        "_producer": "https://example.com/tests",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {"col": {"inputFields": [{"namespace": "reliability", "name": source, "field": "x"}]}},
    }
    event = run_event()
    event["inputs"] = [{"namespace": "reliability", "name": source}]
    event["outputs"] = [{"namespace": "reliability", "name": "R.TARGET", "facets": {"columnLineage": lineage}}]
    return event


def made(directory: Path) -> Path:
    directory.mkdir(exist_ok=True)
    return directory


async def server_on(aiohttp_client: AiohttpClient, directory: Path) -> TestClient[web.Request, None]:
    settings = settings_for(directory, REDIS_ADDR=f"{REDIS_HOST}:{REDIS_PORT}", REDIS_DB=REDIS_DB)
    store = open_store(settings.store.dsn)
    store.upgrade_schema()
    server = TestServer(create_app(settings, store))
    await server.start_server(auto_decompress=False)
    client: TestClient[web.Request, None] = await aiohttp_client(server, headers={"Content-Type": "application/json"})
    return client


async def cached_answer(client: TestClient[web.Request, None]) -> ClientResponse:
    """The answer to URL once it comes from the cache: the after-commit invalidation runs beside the writer, so
    an answer cached right after a POST may be invalidated by that POST's own commit."""
    for _ in range(50):
        answer = await client.get(URL)
        if answer.headers["X-Cache"] == "HIT":
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError("the answer never came from the cache")


def sources(body: dict[str, Any]) -> set[str]:
    return {edge["source"] for edge in body["graph"]["edges"]}


async def test_two_stores_never_serve_each_others_graphs(
    aiohttp_client: AiohttpClient, tmp_path: Path, real_redis: redis.Redis
) -> None:
    first = await server_on(aiohttp_client, made(tmp_path / "a"))
    second = await server_on(aiohttp_client, made(tmp_path / "b"))
    assert (await first.post("/api/v1/lineage", data=orjson.dumps(edge_event("R.SRC_A")))).status == 201
    assert (await second.post("/api/v1/lineage", data=orjson.dumps(edge_event("R.SRC_B")))).status == 201
    first_cached, second_cached = await cached_answer(first), await cached_answer(second)
    assert sources(await first_cached.json()) == {"R.SRC_A.x"}
    assert sources(await second_cached.json()) == {"R.SRC_B.x"}


def lineage(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(directory, REDIS_ADDR=f"{REDIS_HOST}:{REDIS_PORT}", REDIS_DB=REDIS_DB)
    return subprocess.run([LINEAGE, *args], env=env, cwd=directory, capture_output=True, text=True, check=False)


async def test_lineage_ingest_invalidates_what_a_server_cached(
    aiohttp_client: AiohttpClient, tmp_path: Path, real_redis: redis.Redis
) -> None:
    client = await server_on(aiohttp_client, tmp_path)
    assert (await client.post("/api/v1/lineage", data=orjson.dumps(edge_event("R.SRC_A")))).status == 201
    cached = await cached_answer(client)
    assert sources(await cached.json()) == {"R.SRC_A.x"}
    events = tmp_path / "more.json"
    events.write_bytes(orjson.dumps(edge_event("R.SRC_C")))
    done = lineage(tmp_path, "ingest", str(events))
    assert done.returncode == 0, done.stdout + done.stderr
    after = await client.get(URL)
    assert sources(await after.json()) == {"R.SRC_A.x", "R.SRC_C.x"}, after.headers.get("X-Cache")


def test_lineage_populate_invalidates(tmp_path: Path, real_redis: redis.Redis) -> None:
    before = int(real_redis.get(GENERATION_KEY) or 0)
    done = lineage(tmp_path, "populate", "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(real_redis.get(GENERATION_KEY) or 0) > before
    again = lineage(tmp_path, "populate", "demo")  # every event a duplicate: nothing changed, nothing to invalidate
    assert again.returncode == 0
    real_redis.close()
