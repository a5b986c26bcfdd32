"""The batcher against a real SQLite store: group commit, bounded queue, drain on stop, poison isolation."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.writing.batcher import Batcher, PoisonEvent, QueueFull, Stopped
from schemas.rows import EventKind, EventRow, EventRows, NamespaceRow, make_key
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreUnavailable, WriteOutcome

TIME = "2024-05-01 10:00:00.000000"


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
    await batcher.stop()
    assert outcomes == [[WriteOutcome.STORED]] * 100
    assert sum(sizes) == 100 and len(sizes) < 10 and max(sizes) <= 50  # group commit, bounded batches
    assert stored_count(tmp_path / "lineage.db") == 100


async def test_a_duplicate_in_the_same_batch(store: SqliteStore) -> None:
    batcher = Batcher(store, max_events=10, max_delay=0.01, queue_events=100)
    batcher.start()
    first, second = await asyncio.gather(batcher.submit([event("same")]), batcher.submit([event("same")]))
    await batcher.stop()
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
    await batcher.stop()


async def test_stop_drains_the_queue_and_refuses_new_work(store: SqliteStore, tmp_path: Path) -> None:
    batcher = Batcher(store, max_events=5, max_delay=0.05, queue_events=100)
    batcher.start()
    pending = [asyncio.ensure_future(batcher.submit([event(f"d{i}")])) for i in range(20)]
    await asyncio.sleep(0)
    await batcher.stop()
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
    await batcher.stop()
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
    await batcher.stop()
