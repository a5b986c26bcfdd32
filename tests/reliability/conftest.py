"""The reliability suite: the failures an operator or an attacker found (issue 14), each reproduced on the real
app or a real `lineage serve` process, against real SQLite files under tmp_path and the real Redis.

Events are built here, not read from ../shared, so the suite runs in a clone on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from ingest.http.app import create_app
from ingest.http.errors import HANDLER_TIMEOUT
from ingest.settings import Settings
from schemas import open_store
from schemas.store import Store

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/client/python"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

Client = TestClient[web.Request, None]
MakeServer = Callable[..., Awaitable[tuple[Client, Store]]]


def run_event(name: str = "", *, inputs: int = 1, outputs: int = 1, **extra: Any) -> dict[str, Any]:
    """A valid COMPLETE event of a job of its own, reading `inputs` datasets and writing `outputs`."""
    job = name or f"job_{uuid.uuid4().hex}"
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-06-04T02:00:00Z",
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT,
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "reliability", "name": job},
        "inputs": [{"namespace": "reliability", "name": f"{job}.in_{i}"} for i in range(inputs)],
        "outputs": [{"namespace": "reliability", "name": f"{job}.out_{i}"} for i in range(outputs)],
        **extra,
    }


def store_path(tmp_path: Path) -> Path:
    return tmp_path / "lineage.db"


def settings_for(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"LINEAGE_STORE": f"sqlite:///{store_path(tmp_path)}", "REDIS_ADDR": "", **env}, None)


@pytest.fixture
def make_server(aiohttp_client: AiohttpClient, tmp_path: Path) -> MakeServer:
    """make_server(handler_timeout=..., upgrade=True, **env) -> (client, store) of the real app on a real
    in-process server over tmp_path/lineage.db, run as production runs it (aiohttp does not inflate bodies)."""

    async def make(
        *, handler_timeout: float = HANDLER_TIMEOUT, upgrade: bool = True, **env: str
    ) -> tuple[Client, Store]:
        settings = settings_for(tmp_path, **env)
        if upgrade:
            with_schema = open_store(settings.store.dsn)
            with_schema.upgrade_schema()
            with_schema.close()
        store = open_store(settings.store.dsn, create=False)
        server = TestServer(create_app(settings, store, handler_timeout=handler_timeout))
        await server.start_server(auto_decompress=False)
        client: Client = await aiohttp_client(server, headers={"Content-Type": "application/json"})
        return client, store

    return make
