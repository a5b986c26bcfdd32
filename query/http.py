"""What every query handler shares: store calls off the event loop, JSON answers, the cache around them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import orjson
from aiohttp import web

from query.cache import CacheStatus
from query.typedefs import QUERY_CACHE

P = ParamSpec("P")
R = TypeVar("R")
CACHE_HEADER = "X-Cache"


async def in_thread(call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking store call (or a whole traversal) in the default executor. A StoreError it raises is left
    to the app's error middleware, which answers it as writes are answered (503, Retry-After)."""
    return await asyncio.to_thread(call, *args, **kwargs)


def json_response(body: Any, status: int = 200, cache: CacheStatus | None = None) -> web.Response:
    return _bytes_response(orjson.dumps(body), status, cache)


def _bytes_response(data: bytes, status: int, cache: CacheStatus | None) -> web.Response:
    headers = {CACHE_HEADER: cache.value} if cache is not None else None
    return web.Response(body=data, status=status, content_type="application/json", headers=headers)


async def cached(
    request: web.Request, scope: str, params: Mapping[str, object], compute: Callable[[], Any]
) -> web.Response:
    """The answer for (scope, params) from the lineage cache, else compute() run in a thread and cached.

    `params` must hold every input the answer depends on: they make the key."""
    cache = request.app[QUERY_CACHE]
    lookup = await cache.lookup(scope, params)
    if lookup.body is not None:
        return _bytes_response(lookup.body, 200, lookup.status)
    data = orjson.dumps(await in_thread(compute))
    await cache.store(lookup.key, data)
    return _bytes_response(data, 200, lookup.status)
