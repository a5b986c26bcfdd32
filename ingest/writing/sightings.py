"""The newer sightings of unchanged rows that the store's writer memory holds back (schemas.sql.memory), written when
no batch comes: write_batch writes them itself once the last flush is LINEAGE_SIGHTING_REFRESH_SECONDS old, and
this task, every that many seconds, on the writer's thread between two batches, so that a quiet server's rows are
as fresh."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ingest.writing.batcher import Batcher
from schemas.store import Store, StoreError

logger = logging.getLogger(__name__)


async def keep_sightings(
    batcher: Batcher, store: Store, every: float, after_flush: Callable[[], Awaitable[None]]
) -> None:
    """Flush every `every` seconds until cancelled; a flush that fails is tried again the next time."""
    while True:
        await asyncio.sleep(every)
        try:
            written = await batcher.run_in_writer(store.flush_sightings)
        except StoreError as exc:
            logger.warning(
                "writing the latest sightings of unchanged rows failed (%s); tried again in %.0f s", exc, every
            )
            continue
        if written:
            await after_flush()  # an edge's run and last sighting are part of lineage answers
