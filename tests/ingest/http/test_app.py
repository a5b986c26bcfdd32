"""The app on a real in-process server: /health answers, errors come in the one JSON shape."""

from __future__ import annotations

from pathlib import Path

from pytest_aiohttp import AiohttpClient

from ingest.http.app import create_app
from ingest.settings import Settings
from schemas import open_store
from schemas.dsn import parse_dsn


async def test_health_answers_ok(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    settings = Settings.from_env({"LINEAGE_STORE": f"sqlite:///{tmp_path}/lineage.db"}, None)
    store = open_store(parse_dsn(f"sqlite:///{tmp_path}/lineage.db"))
    store.create_schema()
    client = await aiohttp_client(create_app(settings, store))
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and "version" in body
    assert response.headers["X-Request-ID"]


async def test_unknown_path_is_a_json_404(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    settings = Settings.from_env({"LINEAGE_STORE": f"sqlite:///{tmp_path}/lineage.db"}, None)
    store = open_store(settings.store.dsn)
    store.create_schema()
    client = await aiohttp_client(create_app(settings, store))
    response = await client.get("/nowhere", headers={"X-Request-ID": "req-1"})
    assert response.status == 404
    assert await response.json() == {
        "error": "Not Found",
        "message": "Not Found",
        "code": "NOT_FOUND",
        "details": [],
        "request_id": "req-1",
    }
    wrong_method = await client.post("/health")
    assert wrong_method.status == 405
    assert (await wrong_method.json())["code"] == "METHOD_NOT_ALLOWED"
