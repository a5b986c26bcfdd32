"""Group commit: a bounded queue, one writer, and an answer for each request only after its commit.

Requests put their events on the queue and wait. The writer takes what is queued, up to `max_events`,
waiting at most `max_delay` for more once the first has arrived, writes it with one `write_batch` (one
transaction) on its own thread, then resolves every request in the batch. Nothing is acknowledged before
it is committed, so a crash loses only what no client was told was stored.

Whatever a write raises, every request of that batch gets an answer and the writer goes on to the next
batch. The after-commit hook (the query cache's invalidation) runs beside the writer, never in its way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from schemas.rows import EventRows
from schemas.store import Store, StoreError, StoreUnavailable, WriteOutcome

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue holds as many events as it may; the client should retry later (HTTP 503)."""


class Stopped(Exception):
    """The batcher is shutting down and takes no new work (HTTP 503)."""


class PoisonEvent(StoreError):
    """This request's events fail to write even alone; its neighbours were written without it."""


AfterCommit = Callable[[Sequence[EventRows]], Awaitable[None]]
T = TypeVar("T")


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
        after_commit: AfterCommit | None = None,
    ) -> None:
        """`after_commit(events)` is told what was committed. Calls never overlap: the events of batches
        committed while one runs are handed to a single next call, so at most one call runs and one waits."""
        self._store = store
        self._max_events = max_events
        self._max_delay = max_delay
        self._capacity = queue_events
        self._queued = 0  # events waiting, not yet taken by the writer
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineage-writer")
        self._task: asyncio.Task[None] | None = None
        self._writing: list[_Pending] = []  # the batch the writer holds
        self._stopping = False
        self._observe = observe
        self._after_commit = after_commit
        self._hook_task: asyncio.Task[None] | None = None
        self._hook_events: list[EventRows] = []  # committed, not yet handed to after_commit
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
        self._task.add_done_callback(self._writer_exited)

    async def submit(self, events: Sequence[EventRows]) -> list[WriteOutcome]:
        """Outcomes once committed. QueueFull, Stopped, StoreUnavailable, PoisonEvent, StoreError otherwise."""
        if self._stopping:
            raise Stopped("the server is shutting down")
        if not self.alive:
            raise StoreError("the writer is not running")
        if self._queued + len(events) > self._capacity and self._queued > 0:
            raise QueueFull(f"{self._queued} events are waiting to be written")
        future: asyncio.Future[list[WriteOutcome]] = asyncio.get_running_loop().create_future()
        self._queued += len(events)
        self._queue.put_nowait(_Pending(events, future))
        # A client that hangs up cancels this wait, not the write: the events are queued and get written.
        return await future

    async def run_in_writer(self, work: Callable[[], T]) -> T:
        """Run `work` on the writer's thread, between two batches: it never overlaps a write, and a batch waits for
        it at most as long as it runs (the retention task sends one purge step at a time)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    async def stop(self, *, within: float) -> None:
        """Take no new work, write everything queued, let the last after-commit call finish, then stop the
        writer thread; all within `within` seconds. A request still waiting then (the writer died, or a
        write hangs) fails with Stopped: none is left without an answer."""
        self._stopping = True
        deadline = time.monotonic() + within
        hung = False
        if self._task is not None:
            drained = asyncio.ensure_future(self._queue.join())
            await asyncio.wait({drained, self._task}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
            hung = not drained.done() and not self._task.done()
            drained.cancel()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._fail_waiting(Stopped("the server stopped before this event was written"))
        if hung:
            logger.error("the writer did not drain the queue within %.0f s of the stop", within)
        if self._hook_task is not None:
            await asyncio.wait({self._hook_task}, timeout=max(deadline - time.monotonic(), 0))
            if not self._hook_task.done():
                logger.warning("the after-commit hook did not finish within %.0f s of the stop", within)
                self._hook_task.cancel()
                await asyncio.gather(self._hook_task, return_exceptions=True)
        # A hung write keeps its thread; waiting for it would make the stop unbounded.
        self._thread.shutdown(wait=not hung)

    def _writer_exited(self, task: asyncio.Task[None]) -> None:
        """The writer ends only when stopped; if anything else ended it, fail its requests rather than strand them."""
        if task.cancelled():
            return
        logger.critical("the writer died; every request now fails until a restart", exc_info=task.exception())
        self._fail_waiting(StoreError("the writer died before this event was written"))

    def _fail_waiting(self, exc: Exception) -> None:
        _fail(self._writing, exc)
        while not self._queue.empty():
            _fail([self._queue.get_nowait()], exc)
            self._queue.task_done()
        self._queued = 0

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._write(batch)
            except Exception as exc:
                # Not a store error: a bug, or a driver error the store did not translate. It fails this
                # batch only; the writer must live on, or no later request would ever be answered.
                logger.exception("writing a batch of %d requests failed unexpectedly", len(batch))
                _fail(batch, StoreError(f"unexpected error while writing: {exc!r}"))
            finally:
                for _ in batch:
                    self._queue.task_done()
            self._writing = []  # left in place if the task ends mid-write, so that _fail_waiting answers them

    async def _collect(self) -> list[_Pending]:
        first = await self._queue.get()
        batch, size = [first], len(first.events)
        self._writing = batch  # from the first item taken: a task ended from here on must not strand any
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
        self._committed(events)

    def _committed(self, events: Sequence[EventRows]) -> None:
        """Hand what was committed to the after-commit hook, off the writer's path: a slow hook (Redis
        unreachable) must not delay the next batch. At most one call runs; later commits wait for the next.
        What waits is rows already in memory, and the hook's own timeouts (Redis's socket timeout) bound a
        call, so the backlog is at most what the writer commits in that time."""
        if self._after_commit is None:
            return
        self._hook_events.extend(events)
        if self._hook_task is None or self._hook_task.done():
            self._hook_task = asyncio.get_running_loop().create_task(self._run_hook(self._after_commit))

    async def _run_hook(self, hook: AfterCommit) -> None:
        while self._hook_events:
            events, self._hook_events = self._hook_events, []
            try:
                await hook(events)
            except Exception:  # the events are committed; a listener's failure is its own
                logger.exception("the after-commit hook failed")

    async def _isolate(self, batch: list[_Pending]) -> None:
        """Write each request alone so that one bad request cannot fail the others."""
        for pending in batch:
            try:
                _resolve(pending, await self._call(list(pending.events)))
                self._failure = None
                self._committed(pending.events)
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
