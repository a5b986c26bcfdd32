"""The reference for the ingestion benchmark: aiohttp that parses the JSON body with orjson and answers 201.

    python tests/bench/bare_server.py PORT

No validation, mapping or store: what the same machine and client reach with aiohttp alone. It runs with
the real server's run_app options (ingest.http.server.run) so that only the work per request differs.
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

STORED = orjson.dumps({"status": "stored", "duplicate": False, "event_id": "0" * 64, "warnings": []})


async def post_event(request: web.Request) -> web.Response:
    value = orjson.loads(await request.read())
    if not isinstance(value, dict):
        raise web.HTTPBadRequest()
    return web.Response(status=201, body=STORED, content_type="application/json")


async def post_batch(request: web.Request) -> web.Response:
    value = orjson.loads(await request.read())
    if not isinstance(value, list):
        raise web.HTTPBadRequest()
    return web.Response(status=200, body=b'{"status":"success"}', content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/health", health)
    app.router.add_post("/api/v1/lineage", post_event)
    app.router.add_post("/api/v1/lineage/batch", post_batch)
    return app


if __name__ == "__main__":
    web.run_app(
        create_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        shutdown_timeout=30.0,
        keepalive_timeout=60.0,
        print=None,
        access_log=None,
        auto_decompress=False,
    )
