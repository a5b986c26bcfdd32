"""Operator endpoints: /health (liveness, cheap), /ready (can it take events now?), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ingest import __version__
from ingest.http.metrics import CONTENT_TYPE
from ingest.http.typedefs import BATCHER, METRICS, SCHEMA_WATCH, SETTINGS, STORE
from query.errors import HttpError
from schemas.store import StoreError

PING_TIMEOUT = 2.0  # seconds; a store slower than this to answer `SELECT 1` is not ready
FAILURE_WINDOW = 5.0  # seconds a failed write keeps the store "not ready" without a newer success
SCHEMA_RECHECK = 30.0  # seconds a current schema is taken as still current; a failed write rechecks at once


class NotReady(HttpError):
    """A readiness check fails: the store does not answer, the writer stopped, or the queue is full."""

    status = 503
    code = "NOT_READY"


async def health(request: web.Request) -> web.Response:
    """Alive: the process answers. Touches neither the store nor the queue. `readsProtected` tells the explorer
    to ask for an API key before it reads."""
    http = request.app[SETTINGS].http
    return web.json_response(
        {"status": "ok", "version": __version__, "readsProtected": bool(http.api_keys and http.protect_reads)}
    )


async def ready(request: web.Request) -> web.Response:
    """Ready when the store answers, the writer runs and the queue has room; 503 with each check otherwise."""
    batcher = request.app[BATCHER]
    checks: dict[str, dict[str, Any]] = {
        "store": await _store_check(request),
        "schema": await _schema_check(request),
        "writer": {"ok": batcher.alive},
        "queue": {"ok": not batcher.saturated, "depth": batcher.depth, "capacity": batcher.capacity},
    }
    if all(check["ok"] for check in checks.values()):
        return web.json_response({"status": "ready", "checks": checks})
    failing = [(name, str(check.get("error", "not ok"))) for name, check in checks.items() if not check["ok"]]
    message = f"not ready: {', '.join(name for name, _ in failing)}"
    raise NotReady(message, failing, fields={"status": "not_ready", "checks": checks})


async def _store_check(request: web.Request) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, request.app[STORE].ping), PING_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {PING_TIMEOUT} s"}
    except StoreError as exc:
        return {"ok": False, "error": str(exc)}
    # After the ping, which waits for the writer's lock: a write that failed meanwhile is newer news.
    failure = request.app[BATCHER].store_failure(FAILURE_WINDOW)
    if failure is not None:
        return {"ok": False, "error": f"the last write failed: {failure}"}
    return {"ok": True}


async def _schema_check(request: web.Request) -> dict[str, Any]:
    """Every table and column the recorded migrations made is there: a dropped table fails every write. Reading
    the catalog costs more than a ping, so a current schema is believed for SCHEMA_RECHECK seconds, unless a
    write has failed since."""
    loop = asyncio.get_running_loop()
    watch = request.app[SCHEMA_WATCH]
    if loop.time() < watch.current_until and request.app[BATCHER].store_failure(FAILURE_WINDOW) is None:
        return {"ok": True}
    try:
        status = await asyncio.wait_for(loop.run_in_executor(None, request.app[STORE].schema_status), PING_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "error": f"the catalog was not read within {PING_TIMEOUT} s"}
    except StoreError as exc:
        return {"ok": False, "error": str(exc)}
    if status.current:
        watch.current_until = loop.time() + SCHEMA_RECHECK
        return {"ok": True}
    watch.current_until = 0.0
    lacking = [*status.missing, *(f"migration {m.version} ({m.name})" for m in status.pending)]
    return {
        "ok": False,
        "error": f"the schema is not current, missing {', '.join(lacking)}: run `lineage schema upgrade`",
        "missing": list(status.missing),
        "pending": [m.name for m in status.pending],
    }


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; with `--workers N`, every worker's metrics added up, whichever worker answers."""
    metrics = request.app[METRICS]
    metrics.queue_depth.set(request.app[BATCHER].depth)  # this worker's exactly; the others' as last sampled
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})
