"""Fixtures of the query tests: real SQLite stores under tmp_path, the real query routes and the real error
middleware on a real app."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import configuration

from ingest.events import Accepted, prepare
from ingest.http.errors import error_middleware
from ingest.populate.demo import populate_demo
from query.cache import LineageCache
from query.config import CacheConfig, QueryConfig
from query.routes import setup_query
from schemas.rows import EventRows
from schemas.sqlite.store import SqliteStore
from schemas.store import Store

# Hypothesis keeps its files out of the repository (pytest refuses to collect next to a `.hypothesis`).
configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "lineage-server-hypothesis")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "lineage.db")
    s.create_schema()
    yield s
    s.close()


def rows_of(events: Sequence[Any]) -> list[EventRows]:
    """Events through the real ingestion path (validate, map), as the batcher would write them."""
    rows = []
    for event in events:
        result = prepare(event, orjson.dumps(event).decode(), strict=False, received_at="2024-01-01 00:00:00.000000")
        assert isinstance(result, Accepted), result
        rows.append(result.rows)
    return rows


def ingest(store: Store, events: Sequence[Any]) -> list[EventRows]:
    rows = rows_of(events)
    store.write_batch(rows)
    return rows


AppFactory = Callable[..., web.Application]


@pytest.fixture
def make_app() -> AppFactory:
    def build(store: Store, config: QueryConfig | None = None, cache: CacheConfig | None = None) -> web.Application:
        app = web.Application(middlewares=[error_middleware(retry_after_seconds=1)])
        setup_query(app, store, config or QueryConfig(), LineageCache(cache or CacheConfig(addr="")))
        return app

    return build


def q(text: str) -> str:
    """A path segment: every reserved character escaped (namespaces are URIs)."""
    return quote(text, safe="")


async def client_for(aiohttp_client: Any, make_app: AppFactory, store: SqliteStore, **kw: Any) -> TestClient[Any, Any]:
    populate_demo(store)
    client: TestClient[Any, Any] = await aiohttp_client(make_app(store, **kw))
    return client
