"""A large single event (POST /api/v1/lineage over LARGE_BYTES) is decoded, validated, mapped and written in a
worker process, so that the server's own process stays free to answer everything else.

Why a process and not a thread: a thread shares the interpreter lock, and on a busy machine the event loop
waits for it behind every long C call (orjson on a 14 MB body) and every time the thread holding it is
descheduled; /health then took up to 390 ms while a 15 MB event was prepared on a thread. A process pool that
hands the rows back would cost the loop their unpickling instead (a second per 100,000 fields), so the worker
writes the event itself, through a store of its own on the same database, in one transaction (SQLite writers
take turns on the file's writer lock, as `--workers` do), and only the outcome comes back. The benchmark
tests/bench/bench_large_event.py measures the three ways.

The worker commits before it answers, and once an event is handed to it the request waits for the answer
(the handler timeout is lifted, as for an event the writer holds): a 2xx means committed, an error means not.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from aiohttp import web

from ingest.events import Accepted, prepare
from ingest.http.body import decode_json
from ingest.http.errors import lift_deadline, store_refusal
from ingest.http.event_limits import EventLimits, check_event
from query.cache import changes_lineage
from query.errors import HttpError
from schemas import open_store
from schemas.dsn import Dialect, Dsn
from schemas.store import Store, StoreError, StoreUnavailable, WriteOutcome
from schemas.times import utc_now

logger = logging.getLogger(__name__)

LARGE_BYTES = 1 << 20  # single-event bodies above this go to the worker process
PROCESSES = 1  # one: large events are rare, and each worker costs an interpreter's memory
NICENESS = 10

_store: Store | None = None  # the worker process's own store
_unopened = ""  # why it could not be opened


@dataclass(frozen=True, slots=True)
class Stored:
    """What the worker did with an event: stored (or a duplicate), with the rows' news for the cache."""

    duplicate: bool
    event_id: str
    warnings: tuple[tuple[str, str], ...]
    changes_lineage: bool


@dataclass(frozen=True, slots=True)
class Refused:
    """An error to answer with: the HttpError class (pickled by name) and its arguments."""

    error: type[HttpError]
    message: str
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StoreFailed:
    message: str
    unavailable: bool


Outcome = Stored | Refused | StoreFailed


def pool_for(dsn: Dsn, store: Store) -> WorkerPool | None:
    """A worker pool writing to the database `dsn` names, or None when that is not the server's own store (a
    private ":memory:" database, or a test's store opened apart from its settings): then large events are
    prepared on threads like any other."""
    if dsn.dialect is Dialect.SQLITE:
        path = getattr(store, "path", None)
        if dsn.path == ":memory:" or path is None or os.path.abspath(path) != os.path.abspath(dsn.path):
            return None
    elif store.dialect is not dsn.dialect:
        return None
    return WorkerPool(dsn)


class WorkerPool:
    """The worker process (started with the first large event), started anew when it dies (killed for memory,
    say): that event is answered 503, the next one gets a new worker."""

    def __init__(self, dsn: Dsn) -> None:
        self._dsn = dsn
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        # spawn: the server's process has threads (the writer's, the readers'), and forking a threaded process can
        # copy a lock some thread holds.
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(PROCESSES, mp_context=context, initializer=_open, initargs=(self._dsn,))

    async def run(self, work: Callable[[], Outcome]) -> Outcome:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        except BrokenProcessPool:
            logger.error("the worker process for large events died; starting another")
            self._pool.shutdown(wait=False)
            self._pool = self._new()
            return StoreFailed("the worker process writing large events died; retry", unavailable=False)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _open(dsn: Dsn) -> None:
    """The worker's initializer. A store that cannot be opened (its file deleted) is kept as the reason every
    event then fails with: an initializer that raises would break the pool for good."""
    global _store, _unopened
    # Below the server's priority: on a busy machine the kernel then runs the server's process first whenever it
    # has work, and a large event takes the CPU time left over.
    os.nice(NICENESS)
    try:
        # No memory of writes: a large event is rare, and this process has no writer loop to flush held sightings.
        _store = open_store(dsn, create=False, memory_keys=0)
    except StoreError as exc:
        _unopened = str(exc)


def ingest_one(
    body: bytes, *, max_depth: int, limits: EventLimits, strict: bool, received_at: str, future_skew: int | None
) -> Outcome:
    """In the worker: decode, check the limits, validate, map and write one event."""
    # The receiver's errors; imported here because the receiver imports this module.
    from ingest.http.receiver import InvalidEvent, WrongShape

    try:
        value = decode_json(body, max_depth)
        if isinstance(value, list):
            return Refused(
                WrongShape, "the body is a JSON array: send one event here, or the array to /api/v1/lineage/batch"
            )
        check_event(value, limits)
    except HttpError as exc:
        return Refused(type(exc), exc.message, tuple(exc.details))
    result = prepare(value, body.decode("utf-8"), strict=strict, received_at=received_at, future_skew=future_skew)
    del value  # the rows are all that is needed now
    if not isinstance(result, Accepted):
        details = tuple((p.path, p.message) for p in result.errors)
        return Refused(InvalidEvent, f"the event is not valid: {result.errors[0]}", details)
    if _store is None:
        return StoreFailed(_unopened or "the worker's store is not open", unavailable=True)
    try:
        [outcome] = _store.write_batch([result.rows])
    except StoreError as exc:
        return StoreFailed(str(exc), isinstance(exc, StoreUnavailable))
    return Stored(
        duplicate=outcome is WriteOutcome.DUPLICATE,
        event_id=result.rows.event.event_id,
        warnings=tuple((w.path, w.message) for w in result.warnings),
        changes_lineage=changes_lineage(result.rows),
    )


async def run_in_worker(
    request: web.Request,
    pool: WorkerPool,
    body: bytes,
    *,
    max_depth: int,
    limits: EventLimits,
    strict: bool,
    future_skew: int | None,
) -> Stored:
    """The worker's outcome for `body`; its refusal or store failure raised as the HttpError to answer with."""
    lift_deadline(request)  # from here on the worker may commit at any moment: the answer must wait for it
    work = functools.partial(
        ingest_one,
        body,
        max_depth=max_depth,
        limits=limits,
        strict=strict,
        received_at=utc_now(),
        future_skew=future_skew,
    )
    outcome = await pool.run(work)
    if isinstance(outcome, Refused):
        raise outcome.error(outcome.message, outcome.details)
    if isinstance(outcome, StoreFailed):
        logger.error("a large event could not be written: %s", outcome.message)
        raise store_refusal(StoreUnavailable(outcome.message) if outcome.unavailable else StoreError(outcome.message))
    return outcome
