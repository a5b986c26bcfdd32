"""Group commit: a bounded queue, one writer, and an answer for each request only after its commit.

Requests put their events on the queue and wait. The writer takes what is queued, up to `max_events`,
waiting at most `max_delay` for more once the first has arrived, writes it with one `write_batch` (one
transaction) on its own thread, then resolves every request in the batch. Nothing is acknowledged before
it is committed, so a crash loses only what no client was told was stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from schemas.rows import EventRows
from schemas.store import Store, StoreError, StoreUnavailable, WriteOutcome

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue holds as many events as it may; the client should retry later (HTTP 503)."""


class Stopped(Exception):
    """The batcher is shutting down and takes no new work (HTTP 503)."""


class PoisonEvent(StoreError):
    """This request's events fail to write even alone; its neighbours were written without it."""


@dataclass(slots=True)
class _Pending:
    events: Sequence[EventRows]
    future: asyncio.Future[list[WriteOutcome]]


class Batcher:
    """One per process. `submit` from request handlers; `start` once; `stop` drains and commits the rest."""

    def __init__(
        self,
        store: Store,
        *,
        max_events: int,
        max_delay: float,
        queue_events: int,
        observe: Callable[[int, float], None] | None = None,
        after_commit: Callable[[Sequence[EventRows]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._max_events = max_events
        self._max_delay = max_delay
        self._capacity = queue_events
        self._queued = 0  # events waiting, not yet taken by the writer
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineage-writer")
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._observe = observe
        self._after_commit = after_commit
        self._failure: tuple[float, str] | None = None  # (monotonic time, reason) of the last unavailable store

    @property
    def depth(self) -> int:
        """Events waiting in the queue."""
        return self._queued

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def saturated(self) -> bool:
        return self._queued >= self._capacity

    def store_failure(self, within: float) -> str | None:
        """Why the last write found the store unavailable, if that was under `within` seconds ago and no write
        has succeeded since. It expires so that readiness comes back by itself once the store does."""
        if self._failure is None or time.monotonic() - self._failure[0] > within:
            return None
        return self._failure[1]

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lineage-writer")

    async def submit(self, events: Sequence[EventRows]) -> list[WriteOutcome]:
        """Outcomes once committed. QueueFull, Stopped, StoreUnavailable, PoisonEvent, StoreError otherwise."""
        if self._stopping:
            raise Stopped("the server is shutting down")
        if self._queued + len(events) > self._capacity and self._queued > 0:
            raise QueueFull(f"{self._queued} events are waiting to be written")
        future: asyncio.Future[list[WriteOutcome]] = asyncio.get_running_loop().create_future()
        self._queued += len(events)
        self._queue.put_nowait(_Pending(events, future))
        # A client that hangs up cancels this wait, not the write: the events are queued and get written.
        return await future

    async def stop(self) -> None:
        """Take no new work, write everything queued, then stop the writer thread."""
        self._stopping = True
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _collect(self) -> list[_Pending]:
        first = await self._queue.get()
        batch, size = [first], len(first.events)
        deadline = time.monotonic() + self._max_delay
        while size < self._max_events:
            if self._queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                item = self._queue.get_nowait()
            batch.append(item)
            size += len(item.events)
        self._queued -= size
        return batch

    async def _write(self, batch: list[_Pending]) -> None:
        events = [event for pending in batch for event in pending.events]
        started = time.perf_counter()
        try:
            outcomes = await self._call(events)
        except StoreUnavailable as exc:
            self._failure = (time.monotonic(), str(exc))
            _fail(batch, exc)
            return
        except StoreError as exc:
            logger.warning("a batch of %d events failed (%s); writing its requests one by one", len(events), exc)
            await self._isolate(batch)
            return
        self._failure = None
        if self._observe is not None:
            self._observe(len(events), time.perf_counter() - started)
        offset = 0
        for pending in batch:
            count = len(pending.events)
            _resolve(pending, outcomes[offset : offset + count])
            offset += count
        await self._committed(events)

    async def _committed(self, events: Sequence[EventRows]) -> None:
        """Tell the listener (the query cache) what was committed; its failure never fails the write."""
        if self._after_commit is None:
            return
        try:
            await self._after_commit(events)
        except Exception:
            logger.exception("the after-commit hook failed")

    async def _isolate(self, batch: list[_Pending]) -> None:
        """Write each request alone so that one bad request cannot fail the others."""
        for pending in batch:
            try:
                _resolve(pending, await self._call(list(pending.events)))
                self._failure = None
                await self._committed(pending.events)
            except StoreUnavailable as exc:
                self._failure = (time.monotonic(), str(exc))
                _fail([pending], exc)
            except StoreError as exc:
                logger.error("an event could not be stored even alone: %s", exc)
                _fail([pending], PoisonEvent(str(exc)))

    async def _call(self, events: list[EventRows]) -> list[WriteOutcome]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._store.write_batch, events)


def _resolve(pending: _Pending, outcomes: list[WriteOutcome]) -> None:
    if not pending.future.done():
        pending.future.set_result(outcomes)


def _fail(batch: list[_Pending], exc: Exception) -> None:
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(exc)
