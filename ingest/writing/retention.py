"""Retention: the cut-off of `LINEAGE_RETENTION_DAYS` and `lineage purge --older-than DAYS`, and the server's
periodic purge, sent through the single writer one bounded step at a time (schemas.store.Store.purge).

Every server process runs it (each `--workers` worker and each receiver of a shared database): a purge is
idempotent and each step re-checks what it removes, so two of them at once remove each row once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

from ingest.writing.batcher import Batcher
from schemas.store import Store, StoreError
from schemas.times import format_store_time

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0  # between two purges of the server; fixed
# After each step a purge pauses as long as the step took: it holds the write lock half the time at most, so
# that a writer behind it (the server's, or another process's on the same SQLite file) gets its turns.
PAUSE_PER_STEP = 1.0
FIRST_DELAY_SECONDS = 60.0  # the first purge waits this long after start-up, so that start-up stays quick


def cutoff(days: int, now: datetime | None = None) -> str:
    """The store time `days` days before `now` (UTC): what is older goes."""
    return format_store_time((now or datetime.now(UTC)) - timedelta(days=days))


def paced(steps: Iterator[dict[str, int]]) -> Iterator[dict[str, int]]:
    """The steps of a purge in this thread, each followed by a pause as long as it took (the CLI's purge)."""
    while True:
        started = time.monotonic()
        step = next(steps, None)
        if step is None:
            return
        yield step
        time.sleep(PAUSE_PER_STEP * (time.monotonic() - started))


async def purge_through(batcher: Batcher, store: Store, before: str) -> Counter[str]:
    """One purge, each step on the writer's thread between two batches, then a pause as long; what it removed."""
    steps = store.purge(before)
    removed: Counter[str] = Counter()
    while True:
        started = time.monotonic()
        step = await batcher.run_in_writer(lambda: next(steps, None))
        if step is None:
            return removed
        removed.update(step)
        await asyncio.sleep(PAUSE_PER_STEP * (time.monotonic() - started))


async def keep_retention(batcher: Batcher, store: Store, days: int, after_purge: Callable[[], Awaitable[None]]) -> None:
    """Purge what is older than `days` days every hour until cancelled; a failed purge is tried again then."""
    await asyncio.sleep(FIRST_DELAY_SECONDS)
    while True:
        before = cutoff(days)
        try:
            removed = await purge_through(batcher, store, before)
        except StoreError as exc:
            logger.warning("retention: the purge before %s failed (%s); it runs again within the hour", before, exc)
        else:
            if removed.total():
                await after_purge()
                shown = ", ".join(f"{count} {label}" for label, count in removed.items() if count)
                logger.info("retention: removed what was older than %s: %s", before, shown)
        await asyncio.sleep(INTERVAL_SECONDS)
