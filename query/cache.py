"""The lineage answer cache in Redis (redis.asyncio). Optional: without Redis every answer is computed.

Keys: `lineage:<VERSION>:<store>:<generation>:<scope>:<sha256 of every parameter>`. The store part names the
database the answer was computed from (`store_identity`), so servers on different stores that share one Redis
never serve each other's graphs. The generation is a counter in Redis (`lineage:generation`) that every writer
increments after a commit that adds lineage (column edges, dataset edges, run inputs or outputs, fields): the
server's batcher (`invalidate`), its large-event worker (`bump`), and the command line (`SyncInvalidator`,
`invalidate_now`). It is read before the store is, so an answer computed from older data is never filed under a
newer generation, and one INCR invalidates every server process at once. The counter is one for all stores on
purpose: two processes may name one database differently (`localhost` and `127.0.0.1`, a relative path), and a
counter per name would then leave one of them stale; a write to another store costs only cache misses. Entries
also expire after `ttl_seconds`, which bounds staleness if an increment is lost.

Redis down, slow or absent is never an error: a failing call is logged once, answered as a miss, and Redis is
left alone for `retry_after_seconds` (doubling up to a minute) so a dead server costs nothing per request.
An increment that could not be sent is sent on the next successful contact.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from query.config import CacheConfig
from schemas.rows import EventRows
from schemas.store import Store

logger = logging.getLogger(__name__)

VERSION = "v1"  # bump when the cached JSON changes shape
GENERATION_KEY = "lineage:generation"
MAX_RETRY_AFTER = 60.0


class CacheStatus(StrEnum):
    """The X-Cache header of a cacheable answer."""

    HIT = "HIT"  # served from Redis
    MISS = "MISS"  # computed, and offered to Redis
    BYPASS = "BYPASS"  # computed; no cache configured or Redis unreachable


@dataclass(frozen=True, slots=True)
class Lookup:
    key: str | None  # where to store the computed answer; None: do not store
    body: bytes | None  # the cached answer
    status: CacheStatus


def changes_lineage(rows: EventRows) -> bool:
    """Whether writing these rows can change a lineage answer."""
    return bool(rows.column_edges or rows.dataset_edges or rows.inputs or rows.outputs or rows.fields)


def cache_key(store: str, generation: int, scope: str, params: Mapping[str, object]) -> str:
    digest = hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"lineage:{VERSION}:{store}:{generation}:{scope}:{digest}"


def store_identity(store: Store) -> str:
    """A short stable name of the database `store` reads: for SQLite this host and the file's real path (two hosts
    may each have a ./lineage.db), for a server database its DSN without the password. Hashed: it goes into keys."""
    path = getattr(store, "path", None)
    if isinstance(path, str):
        name = f"sqlite:{socket.gethostname()}:{os.path.realpath(path)}"
    else:
        name = str(getattr(store, "masked", store.dialect.value))
    return hashlib.sha256(name.encode()).hexdigest()[:16]


class LineageCache:
    """One per server process; `close()` in the app's cleanup. Every method is safe with Redis down."""

    def __init__(
        self, config: CacheConfig, *, store: str = "default", clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`store`: the store_identity of the database the answers come from."""
        self._config = config
        self._store = store
        self._clock = clock
        self._retry_after = config.retry_after_seconds
        self._down_until = 0.0
        self._pending_bump = False
        self._redis: aioredis.Redis | None = None
        if config.addr:
            self._redis = aioredis.Redis(
                **_connection(config),
                retry=Retry(NoBackoff(), 0),  # one try: the back-off below decides when to try again
                health_check_interval=0,
            )

    @property
    def configured(self) -> bool:
        return self._redis is not None

    def _usable(self) -> aioredis.Redis | None:
        if self._redis is None or self._clock() < self._down_until:
            return None
        return self._redis

    def _failed(self, error: Exception) -> None:
        if self._down_until == 0.0:
            logger.warning("Redis cache unreachable (%s); answering uncached for %.0f s", error, self._retry_after)
        self._down_until = self._clock() + self._retry_after
        self._retry_after = min(self._retry_after * 2, MAX_RETRY_AFTER)

    def _succeeded(self) -> None:
        if self._down_until != 0.0:
            logger.info("Redis cache reachable again")
        self._down_until = 0.0
        self._retry_after = self._config.retry_after_seconds

    async def _generation(self, client: aioredis.Redis) -> int:
        if self._pending_bump:
            await client.incr(GENERATION_KEY)
            self._pending_bump = False
        raw = await client.get(GENERATION_KEY)
        return int(raw) if raw is not None else 0

    async def lookup(self, scope: str, params: Mapping[str, object]) -> Lookup:
        client = self._usable()
        if client is None:
            return Lookup(None, None, CacheStatus.BYPASS)
        try:
            key = cache_key(self._store, await self._generation(client), scope, params)
            body = await client.get(key)
        except (RedisError, OSError) as error:
            self._failed(error)
            return Lookup(None, None, CacheStatus.BYPASS)
        self._succeeded()
        if body is None:
            return Lookup(key, None, CacheStatus.MISS)
        return Lookup(key, body if isinstance(body, bytes) else body.encode(), CacheStatus.HIT)

    async def store(self, key: str | None, body: bytes) -> None:
        client = self._usable()
        if client is None or key is None:
            return
        try:
            await client.set(key, body, ex=self._config.ttl_seconds)
        except (RedisError, OSError) as error:
            self._failed(error)

    async def invalidate(self, batch: Sequence[EventRows]) -> None:
        """Call after each committed batch: new lineage makes every cached answer unreachable."""
        if any(changes_lineage(rows) for rows in batch):
            await self.bump()

    async def bump(self) -> None:
        """Invalidate every cached answer: for a writer that committed lineage it holds no rows of (a large event
        written by a worker process)."""
        if self._redis is None:
            return
        await self.forget_all()

    async def forget_all(self) -> None:
        """Make every cached answer unreachable (after a purge: runs removed change lineage answers too)."""
        if self._redis is None:
            return
        client = self._usable()
        if client is None:
            self._pending_bump = True
            return
        try:
            await client.incr(GENERATION_KEY)
            self._pending_bump = False
        except (RedisError, OSError) as error:
            self._pending_bump = True
            self._failed(error)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def _connection(config: CacheConfig) -> dict[str, Any]:
    host, _, port = config.addr.rpartition(":")
    return {
        "host": host or "localhost",
        "port": int(port),
        "db": config.db,
        "password": config.password,
        "socket_timeout": config.timeout_seconds,
        "socket_connect_timeout": config.timeout_seconds,
    }


class SyncInvalidator:
    """Cache invalidation for writers outside the server (`lineage ingest`, `lineage populate ...`): call it with
    what each commit wrote (BatchWriter's `after_commit`), or `bump()` after a commit of rows it did not see.
    Redis down or not configured is never an error: it is logged once and the writing goes on (entries then
    expire within LINEAGE_CACHE_TTL_SECONDS)."""

    def __init__(self, config: CacheConfig) -> None:
        self._redis = redis.Redis(**_connection(config)) if config.addr else None
        self._warned = False

    def __call__(self, batch: Sequence[EventRows]) -> None:
        if any(changes_lineage(rows) for rows in batch):
            self.bump()

    def bump(self) -> None:
        if self._redis is None:
            return
        try:
            self._redis.incr(GENERATION_KEY)
        except (RedisError, OSError) as error:
            if not self._warned:
                logger.warning("could not invalidate the Redis cache (%s); cached answers expire by age", error)
                self._warned = True

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()


def invalidate_now(config: CacheConfig) -> None:
    """One invalidation, for a writer that commits outside a BatchWriter: call it after the commit."""
    invalidator = SyncInvalidator(config)
    try:
        invalidator.bump()
    finally:
        invalidator.close()
