"""What the index on OL_EVENT (event_kind, event_time, event_id) (migration 6) saves the v1 event listing: CPU per
page at a deep offset, with the index and without it.

    .venv/bin/python -m pytest tests/bench/bench_event_listing.py -p no:cacheprovider -s

One SQLite store of BENCH_LISTING_EVENTS run events (one OL_EVENT row each, written directly: the listing reads
nothing else), then pages of 100 at offset 30,000 (and the count the page carries), newest first and oldest first,
read through the store as /api/v1/events/lineage reads them. The same store is read again after DROP INDEX. CPU
time is `time.process_time` of this process (SQLite runs in it); medians over BENCH_ROUNDS rounds are printed with
their ratio. A benchmark, not a test: it fails only when something breaks, never on timing.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from contextlib import closing
from pathlib import Path

from schemas.sqlite.store import SqliteStore
from schemas.store import Page, TimeWindow

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
EVENTS = int(os.environ.get("BENCH_LISTING_EVENTS", "40000"))
OFFSET = 30_000
WINDOW = TimeWindow("0001-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999")


def fill(path: Path) -> None:
    store = SqliteStore(path)
    store.create_schema()
    store.close()
    rows = (
        (f"e{i:08d}", "RunEvent", "COMPLETE", f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:00:00.{i:06d}",
         f"r{i}", "2024-01-01 00:00:00.000000", '{"run": {}}')
        for i in range(EVENTS)
    )  # fmt: skip
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO OL_EVENT (event_id, event_kind, event_type, event_time, run_id, received_at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def cpu_per_page(path: Path) -> float:
    store = SqliteStore(path)
    try:
        samples = []
        for _ in range(ROUNDS):
            start = time.process_time()
            for oldest_first in (False, True):
                page = store.events(WINDOW, Page(100, OFFSET), oldest_first=oldest_first)
                assert len(page.items) == 100 and page.total == EVENTS
            samples.append((time.process_time() - start) / 2)
        return statistics.median(samples)
    finally:
        store.close()


def test_the_event_time_index_makes_a_deep_page_cheap(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    fill(path)
    indexed = cpu_per_page(path)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP INDEX idx_ol_event_time")
    scanned = cpu_per_page(path)
    print(
        f"\nevent listing, {EVENTS} run events, a page of 100 at offset {OFFSET} with its count (median CPU of "
        f"{ROUNDS} rounds): with idx_ol_event_time {indexed * 1000:.1f} ms, without {scanned * 1000:.1f} ms, "
        f"ratio {scanned / max(indexed, 1e-9):.1f}x"
    )
