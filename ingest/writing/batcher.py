"""Group commit: a bounded queue, one writer, and an answer for each request only after its commit.

Requests put their events on the queue and wait. The writer takes what is queued, up to `max_events`,
waiting at most `max_delay` for more once the first has arrived, writes it with one `write_batch` (one
transaction) on its own thread, then resolves every request in the batch. Nothing is acknowledged before
it is committed, so a crash loses only what no client was told was stored.

Whatever a write raises, every request of that batch gets an answer and the writer goes on to the next
batch. The after-commit hook (the query cache's invalidation) runs beside the writer, never in its way.

A request that stops waiting (its handler timed out or was cancelled) while its events are still queued takes
them back: they are never written. Once the writer has taken them, the request is answered with the commit's
outcome, whenever that comes: `claim`, given to submit, is how the writer tells the request so (the receiver
lifts its handler timeout there). So a request that got an error was never committed, and one that was
committed is told so.

A store that is unavailable is logged with its reason when it fails, then at most once a minute while it stays
so, and once more when it is back (the log handlers redact credentials).
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


# Called by the writer as it takes a request's events; False: the request has given up, write nothing of it.
Claim = Callable[[], bool]

FAILURE_LOG_INTERVAL = 60.0  # seconds between two log lines about one continuing store outage


@dataclass(slots=True)
class _Pending:
    events: Sequence[EventRows]
    future: asyncio.Future[list[WriteOutcome]]
    claim: Claim | None = None
    taken: bool = False  # the writer holds it: it is answered with the commit's outcome
    withdrawn: bool = False  # its request stopped waiting before that: never written


class OutageLog:
    """Logs a store outage when it starts, then at most every `interval` seconds with the failures since, and
    when it ends: a reason for every 503, without a line per request."""

    def __init__(self, interval: float = FAILURE_LOG_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._started: float | None = None
        self._logged = 0.0
        self._count = 0  # failures not yet in a log line

    def failed(self, reason: str) -> None:
        now = self._clock()
        if self._started is None:
            self._started, self._logged, self._count = now, now, 0
            logger.error("the store is unavailable, writes are answered 503 until it is back: %s", reason)
            return
        self._count += 1
        if now - self._logged >= self._interval:
            logger.error(
                "the store is still unavailable after %.0f s (%d more failed writes): %s",
                now - self._started,
                self._count,
                reason,
            )
            self._logged, self._count = now, 0

    def succeeded(self) -> None:
        if self._started is not None:
            logger.warning("the store is available again after %.0f s", self._clock() - self._started)
            self._started = None


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
        # The writer's loop, kept by start: submit runs per request, and in CPython 3.11 each look-up of the
        # running loop is a getpid system call.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writing: list[_Pending] = []  # the batch the writer holds
        self._stopping = False
        self._observe = observe
        self._after_commit = after_commit
        self._hook_task: asyncio.Task[None] | None = None
        self._hook_events: list[EventRows] = []  # committed, not yet handed to after_commit
        self._failure: tuple[float, str] | None = None  # (monotonic time, reason) of the last unavailable store
        self._outage = OutageLog()

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
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="lineage-writer")
        self._task.add_done_callback(self._writer_exited)

    async def submit(self, events: Sequence[EventRows], claim: Claim | None = None) -> list[WriteOutcome]:
        """Outcomes once committed. QueueFull, Stopped, StoreUnavailable, PoisonEvent, StoreError otherwise.

        Cancelled while the events are queued, it withdraws them: they are never written. `claim()` is called when
        the writer takes them; from then on the caller must wait for the outcome (False from it: the caller gave up
        already, and they are dropped unwritten)."""
        if self._stopping:
            raise Stopped("the server is shutting down")
        if self._loop is None or not self.alive:
            raise StoreError("the writer is not running")
        if self._queued + len(events) > self._capacity and self._queued > 0:
            raise QueueFull(f"{self._queued} events are waiting to be written")
        future: asyncio.Future[list[WriteOutcome]] = self._loop.create_future()
        pending = _Pending(events, future, claim)
        self._queued += len(events)
        self._queue.put_nowait(pending)
        try:
            return await future
        except asyncio.CancelledError:
            self._withdraw(pending)
            raise

    def _withdraw(self, pending: _Pending) -> None:
        """The request stopped waiting: if its events are still queued, they stay unwritten."""
        if not pending.taken and not pending.withdrawn:
            pending.withdrawn = True
            self._queued -= len(pending.events)

    def _take(self, pending: _Pending) -> bool:
        """Whether the writer may write this request's events: not withdrawn, and claimed."""
        if not pending.withdrawn and (pending.claim is None or pending.claim()):
            pending.taken = True
            self._queued -= len(pending.events)
            return True
        self._withdraw(pending)
        pending.future.cancel()
        self._queue.task_done()
        return False

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
            pending = self._queue.get_nowait()
            pending.taken = True  # answered here: a later withdrawal must not count it again
            _fail([pending], exc)
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
        while not self._take(first):
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
                    # Not wait_for: it makes a task of the get, once per batch at least.
                    async with asyncio.timeout(remaining):
                        item = await self._queue.get()
                except TimeoutError:
                    break
            else:
                item = self._queue.get_nowait()
            if self._take(item):
                batch.append(item)
                size += len(item.events)
        return batch

    async def _write(self, batch: list[_Pending]) -> None:
        events = [event for pending in batch for event in pending.events]
        started = time.perf_counter()
        try:
            outcomes = await self._call(events)
        except StoreUnavailable as exc:
            self._unavailable(exc)
            _fail(batch, exc)
            return
        except StoreError as exc:
            logger.warning("a batch of %d events failed (%s); writing its requests one by one", len(events), exc)
            await self._isolate(batch)
            return
        self._available()
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
                self._available()
                self._committed(pending.events)
            except StoreUnavailable as exc:
                self._unavailable(exc)
                _fail([pending], exc)
            except StoreError as exc:
                logger.error("an event could not be stored even alone: %s", exc)
                _fail([pending], PoisonEvent(str(exc)))

    def _unavailable(self, exc: StoreUnavailable) -> None:
        self._failure = (time.monotonic(), str(exc))
        self._outage.failed(str(exc))

    def _available(self) -> None:
        self._failure = None
        self._outage.succeeded()

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
