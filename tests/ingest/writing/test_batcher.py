"""The batcher against a real SQLite store: group commit, bounded queue, drain on stop, poison isolation, a
writer that survives any error, a bounded stop, and an after-commit hook that never holds up the writer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.writing.batcher import Batcher, PoisonEvent, QueueFull, Stopped
from schemas.rows import EventKind, EventRow, EventRows, NamespaceRow, make_key
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreError, StoreUnavailable, WriteOutcome

TIME = "2024-05-01 10:00:00.000000"
STOP_TIMEOUT = 10.0


def event(name: str) -> EventRows:
    row = EventRow(make_key(name) * 2, EventKind.RUN, None, TIME, "p", None, None, None, None, "{}", TIME)
    return EventRows(event=row, namespaces=(NamespaceRow(make_key("ns", name), f"ns://{name}"),))


def poison(name: str) -> EventRows:
    """Valid to the eye, refused by the database: a NOT NULL column bound to NULL."""
    rows = event(name)
    return replace(rows, namespaces=(NamespaceRow(make_key("ns", name), None),))  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "lineage.db", busy_timeout_ms=200)
    store.create_schema()
    yield store
    store.close()


def stored_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        count: int = db.execute("SELECT COUNT(*) FROM OL_EVENT").fetchone()[0]
        return count


async def test_concurrent_requests_share_commits(store: SqliteStore, tmp_path: Path) -> None:
    sizes: list[int] = []
    batcher = Batcher(store, max_events=50, max_delay=0.02, queue_events=1000, observe=lambda n, _: sizes.append(n))
    batcher.start()
    outcomes = await asyncio.gather(*(batcher.submit([event(f"e{i}")]) for i in range(100)))
    await batcher.stop(within=STOP_TIMEOUT)
    assert outcomes == [[WriteOutcome.STORED]] * 100
    assert sum(sizes) == 100 and len(sizes) < 10 and max(sizes) <= 50  # group commit, bounded batches
    assert stored_count(tmp_path / "lineage.db") == 100


async def test_a_duplicate_in_the_same_batch(store: SqliteStore) -> None:
    batcher = Batcher(store, max_events=10, max_delay=0.01, queue_events=100)
    batcher.start()
    first, second = await asyncio.gather(batcher.submit([event("same")]), batcher.submit([event("same")]))
    await batcher.stop(within=STOP_TIMEOUT)
    assert sorted([first[0], second[0]]) == [WriteOutcome.DUPLICATE, WriteOutcome.STORED]


async def test_a_full_queue_refuses_at_once(store: SqliteStore, tmp_path: Path) -> None:
    blocker = sqlite3.connect(tmp_path / "lineage.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer blocks on the busy timeout: a slow store
    batcher = Batcher(store, max_events=1, max_delay=0, queue_events=2)
    batcher.start()
    waiting = [asyncio.ensure_future(batcher.submit([event("taken by the writer")]))]
    await asyncio.sleep(0.02)
    waiting += [asyncio.ensure_future(batcher.submit([event(f"queued {i}")])) for i in range(2)]
    await asyncio.sleep(0.02)
    assert batcher.depth == 2 and batcher.saturated
    with pytest.raises(QueueFull):
        await batcher.submit([event("one too many")])
    blocker.execute("ROLLBACK")
    blocker.close()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    # Each queued request was either written once the lock went, or failed as unavailable: none was lost.
    assert all(r == [WriteOutcome.STORED] or isinstance(r, StoreUnavailable) for r in results), results
    await batcher.stop(within=STOP_TIMEOUT)


async def test_stop_drains_the_queue_and_refuses_new_work(store: SqliteStore, tmp_path: Path) -> None:
    batcher = Batcher(store, max_events=5, max_delay=0.05, queue_events=100)
    batcher.start()
    pending = [asyncio.ensure_future(batcher.submit([event(f"d{i}")])) for i in range(20)]
    await asyncio.sleep(0)
    await batcher.stop(within=STOP_TIMEOUT)
    assert [await p for p in pending] == [[WriteOutcome.STORED]] * 20
    assert stored_count(tmp_path / "lineage.db") == 20
    with pytest.raises(Stopped):
        await batcher.submit([event("late")])


async def test_a_poison_event_fails_alone(store: SqliteStore, tmp_path: Path) -> None:
    batcher = Batcher(store, max_events=10, max_delay=0.05, queue_events=100)
    batcher.start()
    results = await asyncio.gather(
        batcher.submit([event("good-1")]),
        batcher.submit([poison("bad")]),
        batcher.submit([event("good-2")]),
        return_exceptions=True,
    )
    await batcher.stop(within=STOP_TIMEOUT)
    assert results[0] == [WriteOutcome.STORED] and results[2] == [WriteOutcome.STORED]
    assert isinstance(results[1], PoisonEvent)
    assert stored_count(tmp_path / "lineage.db") == 2


async def test_an_unavailable_store_fails_the_batch_then_recovers(store: SqliteStore, tmp_path: Path) -> None:
    blocker = sqlite3.connect(tmp_path / "lineage.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    batcher = Batcher(store, max_events=10, max_delay=0, queue_events=100)
    batcher.start()
    with pytest.raises(StoreUnavailable):
        await batcher.submit([event("while locked")])
    assert batcher.store_failure(within=60) is not None
    blocker.execute("ROLLBACK")
    blocker.close()
    assert await batcher.submit([event("after")]) == [WriteOutcome.STORED]
    assert batcher.store_failure(within=60) is None
    await batcher.stop(within=STOP_TIMEOUT)


class Crash(BaseException):
    """Escapes `except Exception`: the one way left to end the writer task from inside a write."""


class FaultyStore(SqliteStore):
    """A real SQLite store whose write fails, in the way `fault` says, for a batch holding a marked event."""

    fault: BaseException | None = None
    marker = "explode"
    released = threading.Event()  # a `hang` write waits for this

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        if any(ns.namespace_uri.startswith(f"ns://{self.marker}") for rows in batch for ns in rows.namespaces):
            if self.fault is None:
                self.released.wait()
            else:
                raise self.fault
        return super().write_batch(batch)


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[FaultyStore]:
    store = FaultyStore(tmp_path / "lineage.db", busy_timeout_ms=200)
    store.released = threading.Event()
    store.create_schema()
    yield store
    store.released.set()
    store.close()


async def test_an_unexpected_error_fails_its_batch_and_the_writer_goes_on(
    faulty: FaultyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faulty.fault = RuntimeError("a driver error nobody translated")
    batcher = Batcher(faulty, max_events=10, max_delay=0, queue_events=100)
    batcher.start()
    with pytest.raises(StoreError) as failed:
        await batcher.submit([event("explode-1")])
    # A StoreError of its own kind: the receiver answers it 503 STORE_ERROR, retriable.
    assert not isinstance(failed.value, StoreUnavailable | PoisonEvent)
    assert "RuntimeError" in str(failed.value)
    assert await batcher.submit([event("after")]) == [WriteOutcome.STORED]
    assert batcher.alive and batcher.store_failure(within=60) is None
    await batcher.stop(within=STOP_TIMEOUT)
    assert stored_count(tmp_path / "lineage.db") == 1
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert logged and "a driver error nobody translated" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_a_dead_writer_answers_every_request_and_stops_at_once(faulty: FaultyStore) -> None:
    faulty.fault = Crash()
    batcher = Batcher(faulty, max_events=1, max_delay=0, queue_events=100)
    batcher.start()
    dying = asyncio.ensure_future(batcher.submit([event("explode")]))
    queued = asyncio.ensure_future(batcher.submit([event("queued behind it")]))
    results = await asyncio.wait_for(asyncio.gather(dying, queued, return_exceptions=True), 5)
    assert all(isinstance(r, StoreError) for r in results), results
    assert not batcher.alive
    with pytest.raises(StoreError):
        await batcher.submit([event("after the death")])
    started = time.monotonic()
    await batcher.stop(within=STOP_TIMEOUT)
    assert time.monotonic() - started < 1.0


async def test_stop_is_bounded_when_a_write_hangs(faulty: FaultyStore) -> None:
    faulty.fault = None  # the marked write waits until released
    batcher = Batcher(faulty, max_events=1, max_delay=0, queue_events=100)
    batcher.start()
    hanging = asyncio.ensure_future(batcher.submit([event("explode")]))
    queued = asyncio.ensure_future(batcher.submit([event("queued")]))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await batcher.stop(within=0.3)
    assert time.monotonic() - started < 2.0
    results = await asyncio.gather(hanging, queued, return_exceptions=True)
    assert all(isinstance(r, Stopped) for r in results), results


async def test_a_slow_after_commit_hook_never_delays_the_next_batch(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[list[str]] = []
    release = asyncio.Event()

    async def slow_hook(events: Sequence[EventRows]) -> None:
        calls.append([rows.namespaces[0].namespace_uri for rows in events])
        await release.wait()  # Redis not answering
        if len(calls) == 2:
            raise ConnectionError("Redis went away")

    batcher = Batcher(store, max_events=1, max_delay=0, queue_events=100, after_commit=slow_hook)
    batcher.start()
    assert await batcher.submit([event("a")]) == [WriteOutcome.STORED]
    # The hook is stuck on the first commit; the next batches commit regardless.
    second = await asyncio.wait_for(batcher.submit([event("b")]), 2)
    third = await asyncio.wait_for(batcher.submit([event("c")]), 2)
    assert second == third == [WriteOutcome.STORED]
    assert calls == [["ns://a"]]  # one call in flight; b and c wait, coalesced, for the next
    release.set()
    await batcher.stop(within=STOP_TIMEOUT)
    assert calls == [["ns://a"], ["ns://b", "ns://c"]]
    assert any("after-commit hook failed" in r.getMessage() for r in caplog.records)


async def test_stop_does_not_wait_forever_for_a_stuck_hook(store: SqliteStore) -> None:
    async def stuck(events: Sequence[EventRows]) -> None:
        await asyncio.Event().wait()

    batcher = Batcher(store, max_events=1, max_delay=0, queue_events=100, after_commit=stuck)
    batcher.start()
    assert await batcher.submit([event("a")]) == [WriteOutcome.STORED]
    started = time.monotonic()
    await batcher.stop(within=0.3)
    assert time.monotonic() - started < 2.0
