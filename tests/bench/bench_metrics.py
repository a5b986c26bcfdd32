"""CPU time the metrics cost per ingested event, in process: what one POST /api/v1/lineage updates.

    .venv/bin/python -m pytest tests/bench/bench_metrics.py -p no:cacheprovider -s

A benchmark, not a test: it prints figures and fails only when something breaks. One event posted alone costs
the server these updates: events_received (labelled by endpoint), events_accepted, the request counter and
histogram (labelled by route, method, status), and, when the event is a batch of its own, the batch-size and
commit-time histograms. They run on prometheus-client's in-memory values (one process) and on its memory-mapped
files (a worker of `--workers N`). CPU time (time.process_time), median of BENCH_ROUNDS rounds of BENCH_EVENTS
events each.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from ingest.http.metrics import ServerMetrics, shared_across_workers

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
ROUTE = "/api/v1/lineage"


def one_event(metrics: ServerMetrics) -> Callable[[], None]:
    def updates() -> None:
        metrics.received(ROUTE)
        metrics.events_accepted.inc()
        metrics.batch_size.observe(1)
        metrics.commit_seconds.observe(0.003)
        metrics.observe_request(ROUTE, "POST", 201, 0.004)

    return updates


def cpu_per_event(updates: Callable[[], None]) -> float:
    """Median CPU seconds per event over the rounds."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(EVENTS):
            updates()
        rounds.append((time.process_time() - started) / EVENTS)
    return statistics.median(rounds)


def test_metrics_cpu_per_event() -> None:
    in_memory = cpu_per_event(one_event(ServerMetrics()))
    with shared_across_workers():
        metrics = ServerMetrics()
        mapped = cpu_per_event(one_event(metrics))
        assert metrics.render()  # the files read back
    print(
        f"\nmetrics per event, CPU: one process {in_memory * 1e6:.2f} us, a worker of --workers N {mapped * 1e6:.2f} us"
    )
    print(f"(median of {ROUNDS} rounds of {EVENTS} events; time.process_time)")
