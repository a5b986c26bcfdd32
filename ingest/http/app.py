"""The app factory: wires settings, the store and writer lifecycles, the query module, routes and middlewares."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ingest.http import ops, receiver
from ingest.http.auth import auth_middleware
from ingest.http.body import BodyLimits
from ingest.http.budget import POOL, POOL_THREADS, MemoryBudget, budgeted
from ingest.http.cors import cors_middleware
from ingest.http.errors import HANDLER_TIMEOUT, error_middleware
from ingest.http.event_limits import EventLimits
from ingest.http.large import pool_for
from ingest.http.metrics import ServerMetrics, metrics_middleware
from ingest.http.server import SHUTDOWN_TIMEOUT
from ingest.http.typedefs import (
    BATCHER,
    BODY_LIMITS,
    EVENT_LIMITS,
    LARGE_POOL,
    METRICS,
    SCHEMA_WATCH,
    SETTINGS,
    STORE,
    SchemaWatch,
)
from ingest.settings import HttpSettings, Settings
from ingest.writing.batcher import Batcher
from ingest.writing.retention import keep_retention
from ingest.writing.sightings import keep_sightings
from query.cache import LineageCache, store_identity
from query.routes import setup_query
from query.typedefs import QUERY_CACHE
from schemas.store import Store

logger = logging.getLogger(__name__)

QUEUE_SAMPLE_SECONDS = 1.0


def create_app(settings: Settings, store: Store, *, handler_timeout: float = HANDLER_TIMEOUT) -> web.Application:
    """The server. The store is opened by the caller; the app closes it after the last batch is committed.
    A handler that takes longer than `handler_timeout` seconds is answered 503 HANDLER_TIMEOUT."""
    metrics = ServerMetrics()
    # Each middleware costs every request a coroutine layer: CORS and auth join only when configured.
    middlewares = [
        metrics_middleware(metrics),
        *([cors_middleware] if settings.http.cors_origins else []),
        error_middleware(settings.http.retry_after_seconds, handler_timeout),
        *([auth_middleware] if settings.http.api_keys else []),
    ]
    app = web.Application(middlewares=middlewares, client_max_size=settings.http.max_body_bytes)
    app[SETTINGS] = settings
    app[STORE] = store
    app[METRICS] = metrics
    app[SCHEMA_WATCH] = SchemaWatch()
    app[EVENT_LIMITS] = EventLimits(settings.http.max_event_datasets, settings.http.max_event_fields)
    app[BODY_LIMITS] = BodyLimits(
        max_body_bytes=settings.http.max_body_bytes,
        max_decompressed_bytes=settings.http.max_decompressed_bytes,
        max_json_depth=settings.http.max_json_depth,
    )
    setup_query(app, store, settings.query, LineageCache(settings.cache, store=store_identity(store)))
    # After setup_query: cleanup runs in reverse, so the writer drains while the query cache is still open.
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_prepare_pool)
    app.router.add_get("/health", ops.health)
    app.router.add_get("/ready", ops.ready)
    app.router.add_get("/metrics", ops.metrics)
    # The ingestion handlers alone hold request bodies: only they take a ticket on the memory budget.
    budget = MemoryBudget(settings.http.max_inflight_bytes)
    app.router.add_post(receiver.SINGLE, budgeted(budget, receiver.post_event))
    app.router.add_post(receiver.BATCH, budgeted(budget, receiver.post_batch))
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Start the writer; at shutdown (after in-flight requests finished) drain it, then close the store."""
    settings, metrics = app[SETTINGS], app[METRICS]

    def observe(size: int, seconds: float) -> None:
        metrics.batch_size.observe(size)
        metrics.commit_seconds.observe(seconds)
        metrics.store_wrote(app[STORE].rows_written())

    batcher = Batcher(
        app[STORE],
        max_events=settings.http.batch_max_events,
        max_delay=settings.http.batch_max_delay_ms / 1000,
        queue_events=settings.http.queue_max_events,
        observe=observe,
        after_commit=app[QUERY_CACHE].invalidate,  # a query right after an ingest sees the new lineage
    )
    app[BATCHER] = batcher
    metrics.queue_capacity.set(batcher.capacity)
    _warn_if_open(settings.http)
    logger.info("store %s", settings.store.dsn.masked())
    batcher.start()
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(_sample_queue(metrics, batcher), name="lineage-queue-sampler")]
    flush = keep_sightings(batcher, app[STORE], settings.store.sighting_refresh_seconds, app[QUERY_CACHE].bump)
    tasks.append(loop.create_task(flush, name="lineage-sightings"))
    if settings.retention.days:
        purge = keep_retention(batcher, app[STORE], settings.retention.days, app[QUERY_CACHE].forget_all)
        tasks.append(loop.create_task(purge, name="lineage-retention"))
    yield
    for task in tasks:
        task.cancel()  # they hold no accepted event (a purge step under way ends on its own): the drain matters
    # Bounded even if the writer died or a write hangs: SIGTERM must end the process.
    await batcher.stop(within=SHUTDOWN_TIMEOUT)
    app[STORE].close()


async def _sample_queue(metrics: ServerMetrics, batcher: Batcher) -> None:
    """Keep the queue-depth gauge fresh: with `--workers N` a scrape reads the other workers' last values."""
    while True:
        metrics.queue_depth.set(batcher.depth)
        await asyncio.sleep(QUEUE_SAMPLE_SECONDS)


async def _prepare_pool(app: web.Application) -> AsyncIterator[None]:
    """The threads that decode and prepare large bodies (ingest.http.budget) and the process that writes large
    single events (ingest.http.large). Set up after the writer, so shut down before it, when no request is left
    to use them."""
    app[POOL] = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="lineage-prepare")
    large = pool_for(app[SETTINGS].store.dsn, app[STORE])
    if large is not None:
        app[LARGE_POOL] = large
    yield
    app[POOL].shutdown(wait=True)
    if large is not None:
        large.shutdown()


def _warn_if_open(settings: HttpSettings) -> None:
    if settings.api_keys:
        return
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        logger.warning(
            "ingestion is open: no LINEAGE_API_KEYS are set and the server listens on %s, beyond loopback",
            settings.host,
        )
