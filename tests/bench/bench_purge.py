"""Single-event acknowledgement latency of a real `lineage serve` while `lineage purge --older-than 30` runs on a
store with a year of generated history (tests/schemas/history.py), against the same server with no purge.

    .venv/bin/python -m pytest tests/bench/bench_purge.py -p no:cacheprovider -s

A benchmark, not a test: it prints figures and fails only when something breaks (an event refused, a purge
that removed nothing). One sender posts one new event at a time on a keep-alive connection and times each
acknowledgement (201, after the commit): first for BENCH_BASELINE seconds with no purge, then for as long as
the purge runs. The purge's own CPU time is its process's. Knobs: BENCH_PURGE_JOBS (daily jobs in the history,
20), BENCH_BASELINE (5 s), BENCH_TMPDIR.
"""

from __future__ import annotations

import http.client
import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.sqlite.store import SqliteStore
from tests.ingest.http.test_metrics_workers import event
from tests.ingest.processes import LINEAGE, environment, serving, store_file
from tests.schemas.history import write_history

JOBS = int(os.environ.get("BENCH_PURGE_JOBS", "20"))
BASELINE = float(os.environ.get("BENCH_BASELINE", "5"))


def acknowledgements(port: int, until: threading.Event, seconds: float | None = None) -> list[float]:
    """Latencies (s) of single events posted one after the other until `until` is set (or `seconds` pass)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    deadline = time.monotonic() + seconds if seconds else None
    try:
        while not until.is_set() and (deadline is None or time.monotonic() < deadline):
            body = event()
            started = time.perf_counter()
            connection.request("POST", "/api/v1/lineage", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            assert response.status == 201, response.status
    finally:
        connection.close()
    return latencies


def children_cpu() -> float:
    """CPU seconds of this process's children that have been waited for (the server is not, until it stops)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return (
        f"{len(latencies)} events, p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )


def test_ack_latency_during_a_purge() -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMPDIR")) as folder:
        directory = Path(folder)
        store = SqliteStore(store_file(directory))
        store.upgrade_schema()
        jobs = tuple(f"load_job{i}" for i in range(JOBS))
        written = write_history(store, datetime.now(UTC) - timedelta(hours=1), 365, jobs=jobs)
        store.close()
        with serving(directory) as server:
            baseline = acknowledgements(server.port, threading.Event(), BASELINE)
            done = threading.Event()
            during: list[float] = []
            sender = threading.Thread(target=lambda: during.extend(acknowledgements(server.port, done)))
            sender.start()
            started, reaped = time.perf_counter(), children_cpu()
            purge = subprocess.Popen(
                [LINEAGE, "purge", "--older-than", "30"],
                env=environment(directory, REDIS_ADDR=""),
                cwd=directory,
                stdout=subprocess.PIPE,
                text=True,
            )
            output, _ = purge.communicate(timeout=600)
            elapsed, purge_cpu = time.perf_counter() - started, children_cpu() - reaped
            done.set()
            sender.join()
        assert purge.returncode == 0 and "removed" in output, output
        print(f"\nhistory: {written} events over 365 days, {JOBS} daily jobs (+1 retired); purge at 30 days:")
        print(output.strip())
        print(f"purge: {elapsed:.1f} s wall, {purge_cpu:.1f} s CPU (the `lineage purge` process)")
        print(f"acks with no purge:    {summary(baseline)}")
        print(f"acks during the purge: {summary(during)}")
