"""Operator endpoints. `/health` is liveness: cheap, touches nothing but the process."""

from __future__ import annotations

from aiohttp import web

from ingest import __version__


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})
