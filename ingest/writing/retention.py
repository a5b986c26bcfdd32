"""Retention: the cut-off of `LINEAGE_RETENTION_DAYS` and `lineage purge --older-than DAYS`, and the server's
periodic purge, sent through the single writer one bounded step at a time (schemas.store.Store.purge).

Every server process runs it (each `--workers` worker and each receiver of a shared database): a purge is
idempotent and each step re-checks what it removes, so two of them at once remove each row once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from ingest.writing.batcher import Batcher
from schemas.store import Store, StoreError
from schemas.times import format_store_time

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0  # between two purges of the server; fixed
FIRST_DELAY_SECONDS = 60.0  # the first purge waits this long after start-up, so that start-up stays quick


def cutoff(days: int, now: datetime | None = None) -> str:
    """The store time `days` days before `now` (UTC): what is older goes."""
    return format_store_time((now or datetime.now(UTC)) - timedelta(days=days))


async def purge_through(batcher: Batcher, store: Store, before: str) -> Counter[str]:
    """One purge, each step on the writer's thread between two batches; what it removed."""
    steps = store.purge(before)
    removed: Counter[str] = Counter()
    while (step := await batcher.run_in_writer(lambda: next(steps, None))) is not None:
        removed.update(step)
    return removed


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
