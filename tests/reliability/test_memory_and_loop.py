"""Memory and the event loop under large bodies, on a real `lineage serve` process (issue 14: sixteen 61 KB gzip
bodies inflating to 60 MiB events took the process to 5.2 GB and stalled /health 18 s; one 14.6 MB event held
the event loop 6 s and /health waited 25 s).

The bound asserted is the one docs/SECURITY.md states: the server's processes together stay under
2 x (LINEAGE_MAX_INFLIGHT_BYTES + 128 MiB), peak resident memory (VmHWM) summed over the process tree.
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.ingest.processes import Server, children, column, get, serving
from tests.reliability.big_events import big_event, inflating_body

pytestmark = pytest.mark.slow

MIB = 1 << 20
DEFAULT_BUDGET = 1 << 30  # LINEAGE_MAX_INFLIGHT_BYTES's default


def bound(budget: int) -> int:
    return 2 * (budget + 128 * MIB)


def peak_rss(pid: int) -> int:
    """VmHWM of the process and each of its children, summed: an upper bound of the tree's peak."""
    total = 0
    for each in (pid, *children(pid)):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


def post_all(server: Server, bodies: list[bytes], gzipped: bool) -> list[tuple[int, dict[str, str]]]:
    """POST every body at once, each from a thread of its own; (status, headers) of each answer."""
    answers: list[tuple[int, dict[str, str]]] = []

    def send(body: bytes) -> None:
        headers = {"Content-Type": "application/json", **({"Content-Encoding": "gzip"} if gzipped else {})}
        request = urllib.request.Request(f"{server.url}/api/v1/lineage", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                answers.append((response.status, dict(response.headers)))
        except urllib.error.HTTPError as error:
            with error:
                answers.append((error.code, dict(error.headers)))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_sixteen_bodies_inflating_to_60_mib_stay_under_the_bound(tmp_path: Path) -> None:
    bodies = [inflating_body(60) for _ in range(16)]
    assert all(len(body) < 100_000 for body in bodies)
    with serving(tmp_path) as server:
        answers = post_all(server, bodies, gzipped=True)
        assert {status for status, _ in answers} <= {413, 503}, answers
        peak = peak_rss(server.pid)
        assert get(f"{server.url}/health")[0] == 200
    assert peak < bound(DEFAULT_BUDGET), f"peak {peak >> 20} MiB"


def test_bodies_within_the_limit_are_held_to_the_budget(tmp_path: Path) -> None:
    budget = 128 * MIB
    bodies = [inflating_body(12) for _ in range(16)]
    with serving(tmp_path, LINEAGE_MAX_INFLIGHT_BYTES=str(budget)) as server:
        answers = post_all(server, bodies, gzipped=True)
        peak = peak_rss(server.pid)
        stored = column(tmp_path, "SELECT COUNT(*) FROM OL_RUN")
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {201, 503} and 201 in statuses and 503 in statuses, statuses
    assert all(headers.get("Retry-After") for status, headers in answers if status == 503)
    assert stored == {statuses.count(201)}, "every 201 committed, nothing else"
    assert peak < bound(budget), f"peak {peak >> 20} MiB"


def test_health_answers_while_a_14_mb_event_is_processed(tmp_path: Path) -> None:
    """Latency as a client sees it, so the machine's own load is in it: the 95th percentile must stay under
    100 ms and no answer may wait a second (on main the loop was held for the whole validation, seconds)."""
    body = big_event(14.0)
    assert len(body) > 14_000_000
    with serving(tmp_path) as server:
        answer: list[int] = []

        def send() -> None:
            request = urllib.request.Request(
                f"{server.url}/api/v1/lineage", data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(request, timeout=300) as response:
                answer.append(response.status)

        sender = threading.Thread(target=send)
        sender.start()
        waits: list[float] = []
        while sender.is_alive():
            started = time.perf_counter()
            assert get(f"{server.url}/health", timeout=30)[0] == 200
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)
        sender.join()
    assert answer == [201]
    assert len(waits) >= 20, "the event took too little time to measure anything"
    p95 = statistics.quantiles(waits, n=20)[-1]
    assert p95 < 0.1 and max(waits) < 1.0, f"p95 {p95 * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms"
