"""What dataset versions (migration 3) cost ingestion: CPU per event, in-process, with and without them.

    .venv/bin/python -m pytest tests/bench/bench_versions.py -p no:cacheprovider -s

One process, no HTTP: the shared samples' bodies (tests/bench/bodies.py) are parsed and prepared (validate + map),
then written to a fresh SQLite store in batches of 100, once as the code does it and once with the version rows
taken out (the mapping's `version` step replaced by a no-op), alternating over BENCH_ROUNDS rounds. CPU time is
`time.process_time` of this process (SQLite runs in it); the medians per event are printed with their ratio.
A benchmark, not a test: it fails only when something breaks, never on timing.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def one_round(bodies: list[bytes], path: Path) -> tuple[float, float, int]:
    """(prepare CPU s, write CPU s, version rows) for every body, on a new store at `path`."""
    store = SqliteStore(path)
    store.create_schema()
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
    figures: dict[str, list[tuple[float, float, int]]] = {"with": [], "without": []}
    for n in range(ROUNDS):
        figures["with"].append(one_round(bodies, tmp_path / f"with-{n}.db"))
        with without_versions():
            figures["without"].append(one_round(bodies, tmp_path / f"without-{n}.db"))
    per_event = {}
    for name, rounds in figures.items():
        prep = statistics.median(r[0] for r in rounds) / EVENTS * 1e6
        write = statistics.median(r[1] for r in rounds) / EVENTS * 1e6
        per_event[name] = (prep, write)
        print(f"\n{name} versions: prepare {prep:.1f} us/event, write {write:.1f} us/event, "
              f"total {prep + write:.1f} us/event, version rows {rounds[0][2]} for {EVENTS} events")  # fmt: skip
    (wp, ww), (op, ow) = per_event["with"], per_event["without"]
    print(f"ratio with/without: prepare {wp / op:.3f}, write {ww / ow:.3f}, total {(wp + ww) / (op + ow):.3f}")
    assert figures["without"][0][2] == 0 and figures["with"][0][2] > 0
