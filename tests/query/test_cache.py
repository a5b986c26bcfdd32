"""The lineage cache against the real Redis: a new edge is seen right after its ingest; a dead Redis is no error.

Skips when Redis is unreachable, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest
import redis

from ingest.populate.demo import NAMESPACE, populate_demo
from query.cache import GENERATION_KEY, LineageCache
from query.config import CacheConfig
from schemas.sqlite.store import SqliteStore
from tests.query.conftest import AppFactory, rows_of

REDIS = "127.0.0.1:6379"


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def real_redis() -> str:
    if not redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true and {REDIS} does not answer")
        pytest.skip(f"no Redis at {REDIS}")
    return REDIS


def new_edge_event() -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-06-04T02:00:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "tests", "name": f"new_edge_{uuid.uuid4().hex}"},
        "inputs": [{"namespace": NAMESPACE, "name": "SRC_SALES.PRODUCTS"}],
        "outputs": [
            {
                "namespace": NAMESPACE,
                "name": "DIM.PRODUCT",
                "facets": {
                    "columnLineage": {
                        "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/client/python",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "category": {
                                "inputFields": [
                                    {"namespace": NAMESPACE, "name": "SRC_SALES.PRODUCTS", "field": "product_name"}
                                ]
                            }
                        },
                    }
                },
            }
        ],
    }


URL = "/api/v2/openlineage/lineage/DIM.PRODUCT/category?direction=upstream&maxDepth=1"


def sources(body: dict[str, Any]) -> set[str]:
    return {e["source"] for e in body["graph"]["edges"]}


async def test_new_edge_is_seen_and_dead_redis_is_harmless(
    aiohttp_client: Any, make_app: AppFactory, store: SqliteStore, real_redis: str
) -> None:
    populate_demo(store)
    config = CacheConfig(addr=real_redis)
    app = make_app(store, cache=config)
    client = await aiohttp_client(app)
    from query.typedefs import QUERY_CACHE

    cache: LineageCache = app[QUERY_CACHE]
    first = await client.get(URL)
    assert first.headers["X-Cache"] in ("MISS", "HIT")
    second = await client.get(URL)
    assert second.headers["X-Cache"] == "HIT"
    before = await second.json()
    assert sources(before) == {"SRC_SALES.PRODUCTS.category"}

    batch = rows_of([new_edge_event()])
    store.write_batch(batch)
    await cache.invalidate(batch)  # what the batcher does after each commit
    after_resp = await client.get(URL)
    assert after_resp.headers["X-Cache"] == "MISS"
    after = await after_resp.json()
    assert sources(after) == {"SRC_SALES.PRODUCTS.category", "SRC_SALES.PRODUCTS.product_name"}

    dead = await aiohttp_client(make_app(store, cache=CacheConfig(addr="127.0.0.1:1")))
    for _ in range(3):
        resp = await dead.get(URL)
        assert resp.status == 200 and resp.headers["X-Cache"] == "BYPASS"
        assert await resp.json() == after
    none = await aiohttp_client(make_app(store))
    assert (await none.get(URL)).headers["X-Cache"] == "BYPASS"


async def test_invalidate_bumps_the_generation_only_for_lineage(real_redis: str) -> None:
    cache = LineageCache(CacheConfig(addr=real_redis))
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        start = int(client.get(GENERATION_KEY) or 0)
        plain = rows_of([{**new_edge_event(), "inputs": [], "outputs": []}])
        await cache.invalidate(plain)
        assert int(client.get(GENERATION_KEY) or 0) == start
        await cache.invalidate(rows_of([new_edge_event()]))
        assert int(client.get(GENERATION_KEY) or 0) == start + 1
    finally:
        client.close()
        await cache.close()
