"""`lineage serve --workers 2` as a real process: /metrics shows the sum over the workers on every scrape.

Each request opens its own connection (urllib), so the kernel spreads them, and the scrapes, over both workers'
SO_REUSEPORT sockets: a page showing one worker's counts would be caught by the equality below.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path
from typing import Any

import orjson
from openlineage.client.serde import Serde

from tests.ingest.http.test_metrics import key, parse
from tests.ingest.processes import Server, children, get, listens, post_json, serving, wait_for
from tests.olclient import run_events

SCRAPES = 12


def event() -> bytes:
    """A new distinct COMPLETE event of the real client."""
    complete: dict[str, Any] = Serde.to_dict(run_events("etl.metrics")[-1])
    complete["run"]["runId"] = str(uuid.uuid4())
    return orjson.dumps(complete)


def scrape(server: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, headers, body = get(f"{server.url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain"), body
    return parse(body.decode())


def accepted_on_every_scrape(server: Server) -> set[float]:
    return {scrape(server)[key("lineage_events_accepted_total")] for _ in range(SCRAPES)}


def both_listening(server: Server) -> set[int] | None:
    workers = children(server.pid)
    return workers if len(workers) == 2 and all(listens(pid, server.port) for pid in workers) else None


def test_every_scrape_shows_the_events_accepted_by_all_workers(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"a file of an earlier run: it must not count")
    with serving(tmp_path, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as server:
        workers = wait_for(lambda: both_listening(server), 30, "two workers listening")
        assert not (metrics_dir / "counter_1.db").exists()
        accepted = 0
        for _ in range(3):
            for _ in range(10):
                status, body = post_json(f"{server.url}/api/v1/lineage", event())
                assert status == 201, body
                accepted += 1
            status, body = post_json(f"{server.url}/api/v1/lineage/batch", b"[" + event() + b"]")
            assert status == 200, body
            accepted += 1
            assert accepted_on_every_scrape(server) == {accepted}
        # Both workers took events: each wrote its own counter file.
        assert {f"counter_{pid}.db" for pid in workers} <= {p.name for p in metrics_dir.iterdir()}
        page = scrape(server)
        assert page[key("lineage_events_received_total", endpoint="/api/v1/lineage")] == 30
        assert page[key("lineage_events_received_total", endpoint="/api/v1/lineage/batch")] == 3
        assert page[key("lineage_batch_size_events_count")] >= 1
        assert page[key("lineage_queue_capacity")] == 2 * 10_000  # both live workers' queues
        assert page[key("process_resident_memory_bytes")] > 0
        assert page[key("process_open_fds")] > 0

        # A worker killed: what it counted still counts, the parent starts another, and the sum holds.
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)
        wait_for(lambda: (w := both_listening(server)) and dead not in w, 30, "a replacement worker")
        assert accepted_on_every_scrape(server) == {accepted}
        # Its live gauges were marked dead: the capacity is again that of two workers, not three.
        assert scrape(server)[key("lineage_queue_capacity")] == 2 * 10_000
        assert not list(metrics_dir.glob(f"gauge_livesum_{dead}.db"))
        assert server.stop() == 0, server.log_text()
    assert metrics_dir.is_dir() and not list(metrics_dir.iterdir()), "the parent empties the directory at exit"


def test_a_single_process_server_is_not_in_multiprocess_mode(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        status, body = post_json(f"{server.url}/api/v1/lineage", event())
        assert status == 201, body
        page = scrape(server)
        assert page[key("lineage_events_accepted_total")] == 1
        assert key("python_gc_collections_total", generation="0") in page  # the in-process collectors
