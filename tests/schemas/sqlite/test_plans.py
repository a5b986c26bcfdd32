"""Every id-list read of a traversal looks its rows up through an index on a fresh SQLite schema: a full scan
of a lineage table per level is what turns a millisecond answer into seconds on a large graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.sql import reads
from schemas.sqlite.reads import _JSON_IDS
from schemas.sqlite.store import SqliteStore
from schemas.store import Direction

# The statements a walk runs once per level, by name.
LEVEL_READS = {
    **{f"COLUMN_EDGES {d}": reads.COLUMN_EDGES[d] for d in Direction},
    **{f"DATASET_LINKS {d}": reads.DATASET_LINKS[d] for d in Direction},
    "JOB_LINKS_BY_DATASET": reads.JOB_LINKS_BY_DATASET,
    "JOB_LINKS_BY_JOB": reads.JOB_LINKS_BY_JOB,
    "FIELDS_BY_IDS": reads.FIELDS_BY_IDS,
    "FIELDS_OF_DATASETS": reads.FIELDS_OF_DATASETS,
    # Not a traversal level, but a whole database's datasets: by its hashed key, never a scan of every name.
    "DATASETS_IN_DATABASE": reads.DATASETS_IN_DATABASE,
}


@pytest.mark.parametrize("name", LEVEL_READS)
def test_level_reads_use_indexes(tmp_path: Path, name: str) -> None:
    store = SqliteStore(tmp_path / "lineage.db")
    try:
        store.create_schema()
        sql = "EXPLAIN QUERY PLAN " + LEVEL_READS[name].format(ids=_JSON_IDS)
        plan = [row[3] for row in store._connection().execute(sql, {"ids": "[]", "database_key": "k"})]
    finally:
        store.close()
    scans = [step for step in plan if step.startswith("SCAN") and "json_each" not in step]
    assert not scans, (name, plan)
