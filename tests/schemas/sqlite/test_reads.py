"""SQLite reads against close(): a read in flight is never freed under its statement."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from schemas.sqlite.store import SqliteStore
from schemas.store import StoreError

# A statement that steps for a while on its own: a recursive count to two million.
SLOW = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) SELECT COUNT(*) FROM n"


def test_close_waits_for_a_read_in_flight_then_refuses_new_ones(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "lineage.db")
    store.upgrade_schema()
    results: list[object] = []
    reader = threading.Thread(target=lambda: results.append(store._rows(SLOW, {})))
    reader.start()
    deadline = time.monotonic() + 5
    while store._active_reads == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert store._active_reads == 1, "the slow read did not start"
    store.close()  # before the fix, this freed the connection under the running statement: a segfault
    reader.join(10)
    assert results == [[(2000000,)]]
    with pytest.raises(StoreError, match="closed"):
        store.namespaces_by_ids(["x"])
