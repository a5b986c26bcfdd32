"""Large events: which way keeps the event loop free (ingest.http.large), and what a body costs in memory
(ingest.http.budget's charge against what decoding and preparing really take).

1. The loop's lag while one 14 MB event is prepared and written, three ways, each in this process with a
   5 ms ticker standing in for the event loop: (a) on a thread (the loop waits for the interpreter lock
   behind every long C call and behind a descheduled thread), (b) in a worker process that hands the rows
   back (the loop pays their unpickling), (c) in a worker process that writes the event itself and hands
   back only the outcome (what the server does). Reported: the ticker's lag (median, 95th percentile, max)
   and the CPU seconds of this process; wall figures depend on the machine's load, so compare the columns
   of one run, not runs.
2. Memory per body shape: resident growth (ru_maxrss, in a fresh interpreter per shape) of decoding and
   preparing it, against the budget's charge; the charge must be the larger.
"""

from __future__ import annotations

import multiprocessing
import pickle
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import orjson

from ingest.events import Accepted, prepare
from ingest.http.budget import COST_PER_BYTE, COST_PER_VALUE
from schemas.sqlite.store import SqliteStore
from tests.reliability.big_events import big_event

RECEIVED_AT = "2024-06-04T02:00:00.000000Z"
_store: SqliteStore | None = None


def _prepared(body: bytes) -> Accepted:
    result = prepare(orjson.loads(body), body.decode(), strict=False, received_at=RECEIVED_AT)
    assert isinstance(result, Accepted)
    return result


def rows_back(body: bytes) -> bytes:
    return pickle.dumps(_prepared(body).rows, protocol=pickle.HIGHEST_PROTOCOL)


def open_worker_store(path: str) -> None:
    global _store
    _store = SqliteStore(path, create=False)


def written_there(body: bytes) -> str:
    assert _store is not None
    return str(_store.write_batch([_prepared(body).rows])[0])


def lag_while(work: Callable[[], object]) -> tuple[float, float, float, float]:
    """(median, p95, max lag in ms, CPU seconds of this process) of a 5 ms ticker while `work` runs on a thread."""
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    runner = threading.Thread(target=run)
    cpu = time.process_time()
    runner.start()
    lags: list[float] = []
    while not done.is_set():
        started = time.perf_counter()
        time.sleep(0.005)
        lags.append(time.perf_counter() - started - 0.005)
    runner.join()
    cpu = time.process_time() - cpu
    return statistics.median(lags) * 1e3, statistics.quantiles(lags, n=20)[-1] * 1e3, max(lags) * 1e3, cpu


def test_large_event_off_the_loop(tmp_path: Path) -> None:
    body = big_event(14.0)
    path = tmp_path / "lineage.db"
    store = SqliteStore(path)
    store.upgrade_schema()
    spawn = multiprocessing.get_context("spawn")
    print(f"\none event of {len(body) / 1e6:.1f} MB; lag of a 5 ms ticker in ms, and CPU s of this process")
    print(f"{'way':<34} {'median':>7} {'p95':>7} {'max':>7} {'cpu':>6}")

    def thread_way() -> None:
        store.write_batch([_prepared(body).rows])

    ways: list[tuple[str, Callable[[], object]]] = [("thread: prepare and write here", thread_way)]
    with ProcessPoolExecutor(1, mp_context=spawn) as rows_pool:
        rows_pool.submit(int).result()  # started before timing
        ways.append(
            (
                "process, rows pickled back",
                lambda: store.write_batch([pickle.loads(rows_pool.submit(rows_back, big_event(14.0)).result())]),
            )
        )
        with ProcessPoolExecutor(1, mp_context=spawn, initializer=open_worker_store, initargs=(str(path),)) as pool:
            pool.submit(int).result()
            ways.append(("process writes, outcome back", lambda: pool.submit(written_there, big_event(14.0)).result()))
            for name, work in ways:
                median, p95, worst, cpu = lag_while(work)
                print(f"{name:<34} {median:7.1f} {p95:7.1f} {worst:7.1f} {cpu:6.2f}")
    store.close()


SHAPES = {
    "datasets and fields": "big_event(10.0)",
    "plain inputs": "ev(inputs=[{'namespace': 'n', 'name': f't{i}'} for i in range(400_000)])",
    "empty objects": "ev(run=run({'a': [{}] * 2_000_000}))",
    "a long string": "ev(run=run({'a': 'x' * 24_000_000}))",
    "small integers": "ev(run=run({'a': [0] * 4_000_000}))",
}
BUILD = """
import orjson, sys, uuid
from tests.reliability.big_events import big_event
def run(facet): return {'runId': str(uuid.uuid4()), 'facets': {'x': {'_producer': 'p', '_schemaURL': 's', **facet}}}
def ev(**kw): return {'eventType': 'COMPLETE', 'eventTime': '2024-06-04T02:00:00Z', 'producer': 'https://p',
    'schemaURL': 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent', 'run': run({}),
    'job': {'namespace': 'n', 'name': 'j'}, **kw}
made = SHAPE
open(sys.argv[1], 'wb').write(made if isinstance(made, bytes) else orjson.dumps(made))
"""
# A fresh interpreter that has only read the body: its peak before decoding is the body's own.
MEASURE = """
import resource, sys, orjson
from ingest.events import prepare
body = open(sys.argv[1], 'rb').read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = prepare(orjson.loads(body), body.decode(), strict=False, received_at='2024-06-04T02:00:00.000000Z')
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
values = body.count(b'{') + body.count(b'[') + body.count(b',')
print(len(body), grown, values, type(result).__name__)
"""


def test_budget_charge_covers_memory(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    file = str(tmp_path / "body.json")
    print(f"\n{'shape':<22} {'body MiB':>9} {'grown MiB':>10} {'x body':>7} {'charge MiB':>11} {'charge/grown':>13}")
    for name, expression in SHAPES.items():
        build = BUILD.replace("SHAPE", expression)
        subprocess.run([sys.executable, "-c", build, file], cwd=root, check=True)
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, file], cwd=root, capture_output=True, text=True, check=True
        )
        size, grown, values, kind = out.stdout.split()
        body, growth = int(size), max(int(grown), 1)
        charge = COST_PER_BYTE * body + COST_PER_VALUE * int(values)
        print(f"{name:<22} {body / 2**20:9.1f} {growth / 2**20:10.1f} {growth / body:7.1f} {charge / 2**20:11.1f} "
              f"{charge / growth:13.2f}  {kind}")  # fmt: skip
        assert charge > growth, f"{name}: the budget's charge is below what the body took"
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB peak)")
