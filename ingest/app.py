"""The app factory: wires settings, the store's lifecycle, routes and middlewares. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ingest.errors import error_middleware
from ingest.health import health
from ingest.settings import Settings
from ingest.typedefs import SETTINGS, STORE
from schemas.store import Store


def create_app(settings: Settings, store: Store) -> web.Application:
    """The server. The store is opened by the caller and closed when the app's cleanup runs."""
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[STORE] = store
    app.cleanup_ctx.append(_store_lifecycle)
    app.router.add_get("/health", health)
    return app


async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    app[STORE].close()
