"""The one entry point the app factory calls: `setup_query(app, store, config, cache)`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from query.cache import LineageCache
from query.config import QueryConfig
from query.explorer.routes import setup_explorer
from query.typedefs import QUERY_CACHE, QUERY_CONFIG, QUERY_STORE
from query.v1 import lineage as v1_lineage
from query.v1 import routes as v1
from query.v2 import routes as v2
from schemas.store import Store

V1 = v1.PREFIX


def v1_routes(prefix: str = V1) -> list[web.RouteDef]:
    return [
        web.get(f"{prefix}/namespaces", v1.list_namespaces),
        web.get(f"{prefix}/namespaces/{{namespace}}", v1.get_namespace),
        web.get(f"{prefix}/namespaces/{{namespace}}/datasets", v1.list_datasets),
        web.get(f"{prefix}/namespaces/{{namespace}}/datasets/{{dataset}}", v1.get_dataset),
        web.get(f"{prefix}/namespaces/{{namespace}}/jobs", v1.list_jobs),
        web.get(f"{prefix}/namespaces/{{namespace}}/jobs/{{job}}", v1.get_job),
        web.get(f"{prefix}/namespaces/{{namespace}}/jobs/{{job}}/runs", v1.list_runs),
        web.get(f"{prefix}/jobs/runs/{{id}}", v1.get_run),
        # GET only: POST /api/v1/lineage is ingestion (ingest). No HEAD, so the POST route stays alone.
        web.get(f"{prefix}/lineage", v1_lineage.lineage, allow_head=False),
        web.get(f"{prefix}/column-lineage", v1_lineage.column_lineage_handler),
        web.get(f"{prefix}/events/lineage", v1_lineage.events),
        web.get(f"{prefix}/search", v1_lineage.search),
    ]


def setup_query(app: web.Application, store: Store, config: QueryConfig, cache: LineageCache) -> None:
    """Mount the v2 and v1 read APIs and the explorer. The store is the app's (closed by its owner); the cache
    is closed here when the app cleans up."""
    app[QUERY_STORE] = store
    app[QUERY_CONFIG] = config
    app[QUERY_CACHE] = cache
    app.cleanup_ctx.append(_cache_lifecycle)
    app.router.add_routes(v2.routes())
    app.router.add_routes(v1_routes())
    setup_explorer(app)


async def _cache_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[QUERY_CACHE].close()
