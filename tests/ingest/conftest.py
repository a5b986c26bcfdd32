"""The real app on a real in-process server, as production runs it (aiohttp does not inflate bodies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from ingest.http.app import create_app
from ingest.settings import Settings
from schemas import open_store

MakeClient = Callable[..., Awaitable[TestClient[web.Request, None]]]


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, tmp_path: Path) -> MakeClient:
    """make_client(**env) -> a client of a fresh server on tmp_path/lineage.db with those settings."""

    async def make(**env: str) -> TestClient[web.Request, None]:
        settings = Settings.from_env({"LINEAGE_STORE": f"sqlite:///{tmp_path / 'lineage.db'}", **env}, None)
        store = open_store(settings.store.dsn)
        store.upgrade_schema()
        server = TestServer(create_app(settings, store))
        await server.start_server(auto_decompress=False)
        # aiohttp's client labels bytes application/octet-stream; producers send JSON as JSON.
        return await aiohttp_client(server, headers={"Content-Type": "application/json"})

    return make
