"""What migration 5 costs ingestion: CPU per event, in-process, with and without dataset versions and the index on
OL_FACET.facet_name.

    .venv/bin/python -m pytest tests/bench/bench_versions.py -p no:cacheprovider -s

One process, no HTTP: the shared samples' bodies (tests/bench/bodies.py) are parsed and prepared (validate + map),
then written to a fresh SQLite store in batches of 100: as the code does it, with the version rows taken out (the
mapping's `version` step replaced by a no-op), and with the facet-name index dropped, in turn over BENCH_ROUNDS
rounds. CPU time is `time.process_time` of this process (SQLite runs in it); the minimum and the median per event
over the rounds are printed, with ratios of the minima (on a loaded machine the minimum is the steadier figure).
A benchmark, not a test: it fails only when something breaks, never on timing.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import orjson
import pytest

from ingest.events import Accepted, mapping, prepare
from schemas.sqlite.store import SqliteStore
from tests.bench.bodies import load_templates, make_bodies
from tests.conftest import complete_event_files

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
EVENTS = int(os.environ.get("BENCH_VERSION_EVENTS", "3000"))
BATCH = 100
RECEIVED = "2024-01-01 00:00:00.000000"


@contextmanager
def without_versions() -> Iterator[None]:
    original = mapping._Rows.version
    mapping._Rows.version = lambda self, dataset_id, facets, run_id: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        mapping._Rows.version = original  # type: ignore[method-assign]


def one_round(bodies: list[bytes], path: Path, *, facet_index: bool = True) -> tuple[float, float, int]:
    """(prepare CPU s, write CPU s, version rows) for every body, on a new store at `path`."""
    store = SqliteStore(path)
    store.create_schema()
    if not facet_index:
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("DROP INDEX idx_ol_facet_name")
    try:
        start = time.process_time()
        rows = []
        for body in bodies:
            result = prepare(orjson.loads(body), body.decode(), strict=False, received_at=RECEIVED)
            assert isinstance(result, Accepted)
            rows.append(result.rows)
        prepared = time.process_time()
        for i in range(0, len(rows), BATCH):
            store.write_batch(rows[i : i + BATCH])
        written = time.process_time()
    finally:
        store.close()
    return prepared - start, written - prepared, sum(len(r.dataset_versions) for r in rows)


def test_dataset_versions_cost(tmp_path: Path) -> None:
    paths = complete_event_files()
    if not paths:
        pytest.skip("../shared/events is absent")
    bodies = make_bodies(load_templates(paths), EVENTS)
    figures: dict[str, list[tuple[float, float, int]]] = {"all": [], "no versions": [], "no facet index": []}
    for n in range(ROUNDS):
        figures["all"].append(one_round(bodies, tmp_path / f"all-{n}.db"))
        with without_versions():
            figures["no versions"].append(one_round(bodies, tmp_path / f"noversions-{n}.db"))
        figures["no facet index"].append(one_round(bodies, tmp_path / f"noindex-{n}.db", facet_index=False))
    lowest = {}
    for name, rounds in figures.items():
        prep, write = ([r[i] / EVENTS * 1e6 for r in rounds] for i in (0, 1))
        lowest[name] = (min(prep), min(write))
        print(
            f"\n{name}: prepare min {min(prep):.1f} / median {statistics.median(prep):.1f} us/event, write min "
            f"{min(write):.1f} / median {statistics.median(write):.1f} us/event, version rows {rounds[0][2]}"
        )
    (ap, aw) = lowest["all"]
    for name in ("no versions", "no facet index"):
        p, w = lowest[name]
        print(f"all / {name} (minima): prepare {ap / p:.3f}, write {aw / w:.3f}, total {(ap + aw) / (p + w):.3f}")
    assert figures["no versions"][0][2] == 0 and figures["all"][0][2] > 0
