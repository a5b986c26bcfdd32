"""`lineage serve` under load, as a process: kill -9, SIGTERM, a saturated queue and a locked store, workers.

The promise under test is DESIGN.md's: a 2xx means the event is committed, so nothing acknowledged is ever
lost, whatever happens to the process afterwards. Senders are concurrent aiohttp clients posting distinct
events (a fresh run id each: an event's identity is the hash of its whole JSON) and recording every answer.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from openlineage.client.serde import Serde

from schemas.rows import run_key
from tests.conftest import complete_event_files, event_files, load_event
from tests.ingest.processes import (
    SHUTDOWN_SECONDS,
    Server,
    children,
    column,
    exists,
    get,
    listens,
    post_json,
    rows,
    rss_bytes,
    serving,
    store_file,
    wait_for,
)
from tests.olclient import run_events

SINGLE = "/api/v1/lineage"
JSON = {"Content-Type": "application/json"}
ERROR_FIELDS = {"error", "message", "code", "details", "request_id"}
TEMPLATES = ("spark_dataproc__hive_insert_complete_symlinks_cll__4.json", "airflow__task_BQ.upload_start__line_02.json")
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=60)


def templates() -> list[dict[str, Any]]:
    """Events of several shapes: the real client's START and COMPLETE, a Spark CLL event, an Airflow task."""
    return [Serde.to_dict(event) for event in run_events("etl.under_load")] + [load_event(n) for n in TEMPLATES]


def fresh(template: dict[str, Any]) -> dict[str, Any]:
    """The template as a new event: a new run id makes it distinct."""
    return {**template, "run": {**template["run"], "runId": str(uuid.uuid4())}}


@dataclass
class Tally:
    """Every answer the senders got."""

    acknowledged: set[str] = field(default_factory=set)  # run ids answered 2xx
    event_ids: set[str] = field(default_factory=set)  # the event_id of each 201/200 body
    refused: set[str] = field(default_factory=set)  # run ids answered non-2xx
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)  # status, headers, body
    errors: int = 0  # no answer: refused connection, reset, timeout
    sent: int = 0


async def post(session: aiohttp.ClientSession, url: str, tally: Tally, templates: list[dict[str, Any]]) -> bool:
    """Post one fresh event and record the answer; False when there was none (connection error)."""
    event = fresh(random.choice(templates))
    run_id = run_key(event["run"]["runId"])
    tally.sent += 1
    try:
        async with session.post(url + SINGLE, data=orjson.dumps(event), headers=JSON) as response:
            status = response.status
            if 200 <= status < 300:
                tally.acknowledged.add(run_id)  # the status line is the acknowledgement
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        tally.errors += 1
        return False
    tally.statuses[status] += 1
    if 200 <= status < 300:
        tally.event_ids.add(orjson.loads(body)["event_id"])
    else:
        tally.refused.add(run_id)
        tally.refusals.append((status, dict(response.headers), orjson.loads(body)))
    return 200 <= status < 300


async def sender(
    session: aiohttp.ClientSession, url: str, tally: Tally, stop: asyncio.Event, pause: float, limit: int | None
) -> None:
    samples = templates()
    while not stop.is_set() and (limit is None or tally.sent < limit):
        if not await post(session, url, tally, samples) and pause:
            await asyncio.sleep(pause)


@asynccontextmanager
async def load(
    url: str, senders: int, *, pause: float = 0.05, limit: int | None = None, force_close: bool = False
) -> AsyncIterator[Tally]:
    """`senders` concurrent clients posting until the block ends (or `limit` requests are sent).

    After a refusal or a connection error a sender pauses `pause` seconds. On leaving the block the senders
    finish the request they are in, then stop; with a `limit`, leaving the block waits until all are sent."""
    tally = Tally()
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0, force_close=force_close)
    async with aiohttp.ClientSession(connector=connector, timeout=CLIENT_TIMEOUT) as session:
        tasks = [asyncio.create_task(sender(session, url, tally, stop, pause, limit)) for _ in range(senders)]
        try:
            yield tally
        finally:
            if limit is None:
                stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 90)


def stored_run_ids(tmp_path: Path) -> set[str]:
    return column(tmp_path, "SELECT run_id FROM OL_EVENT")


def assert_nothing_acknowledged_is_lost(tmp_path: Path, tally: Tally) -> None:
    assert_acknowledged_are_stored(tally, lambda sql: column(tmp_path, sql))


def assert_acknowledged_are_stored(tally: Tally, column_of: Callable[[str], set[Any]]) -> None:
    """Every acknowledged run id and event id is in OL_EVENT; `column_of(sql)` reads one column of the store."""
    assert tally.acknowledged, "no event was acknowledged: the test proved nothing"
    missing = tally.acknowledged - column_of("SELECT run_id FROM OL_EVENT")
    assert not missing, f"{len(missing)} of {len(tally.acknowledged)} acknowledged events are not stored"
    assert tally.event_ids <= column_of("SELECT event_id FROM OL_EVENT")


async def exit_code(server: Server, seconds: float) -> int:
    """Wait for the process to exit without blocking the senders' loop."""
    deadline = time.monotonic() + seconds
    while (code := server.exited()) is None:
        assert time.monotonic() < deadline, f"no exit within {seconds} s\n{server.log_text()}"
        await asyncio.sleep(0.05)
    return code


async def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        async with load(server.url, senders=8) as tally:
            await asyncio.sleep(random.uniform(0.5, 2.5))
            server.kill()
            await asyncio.sleep(0.3)  # the senders now meet a dead port
        assert server.exited() == -signal.SIGKILL
    assert tally.errors > 0
    # The same store file, opened again by a new process (SQLite recovers its WAL), serves and holds them all.
    with serving(tmp_path, log_name="restart.log") as again:
        status, _, _ = get(f"{again.url}/ready")
        assert status == 200, again.log_text()
        assert again.stop() == 0, again.log_text()
    assert_nothing_acknowledged_is_lost(tmp_path, tally)
    assert set(tally.statuses) <= {201}, tally.refusals[:3]


async def test_sigterm_under_load_drains_and_exits_0(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        async with load(server.url, senders=8) as tally:
            await asyncio.sleep(1.0)
            stopped = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            code = await exit_code(server, SHUTDOWN_SECONDS)
            elapsed = time.monotonic() - stopped
            await asyncio.sleep(0.2)  # answers the process wrote before it exited are read by now
            acknowledged, errors = len(tally.acknowledged), tally.errors
            await asyncio.sleep(0.5)  # requests after the stop
        log = server.log_text()
    assert code == 0, log
    assert elapsed < SHUTDOWN_SECONDS
    assert "Traceback" not in log, log
    assert len(tally.acknowledged) == acknowledged, "a 2xx came after the process had exited"
    assert tally.errors > errors, "requests after the stop must fail to connect"
    # During the stop, a request is answered 2xx (then it is stored) or 503; never anything else.
    assert set(tally.statuses) <= {201, 503}, tally.statuses
    for status, headers, body in tally.refusals:
        assert status == 503 and "Retry-After" in headers and ERROR_FIELDS <= set(body), (status, body)
    assert_nothing_acknowledged_is_lost(tmp_path, tally)
    assert not tally.refused & stored_run_ids(tmp_path), "a refused event was stored"


@dataclass
class Probe:
    """What /ready said, and the server's resident memory, sampled while the load runs."""

    ready: list[tuple[int, Any]] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)


async def probe(session: aiohttp.ClientSession, server: Server, stop: asyncio.Event, found: Probe) -> None:
    while not stop.is_set():
        found.rss.append(rss_bytes(server.pid))
        async with session.get(f"{server.url}/ready") as response:
            found.ready.append((response.status, await response.json()))
        await asyncio.sleep(0.25)


@asynccontextmanager
async def probing(server: Server) -> AsyncIterator[Probe]:
    found, stop = Probe(), asyncio.Event()
    async with aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as session:
        task = asyncio.create_task(probe(session, server, stop, found))
        try:
            yield found
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


@asynccontextmanager
async def write_lock(tmp_path: Path) -> AsyncIterator[None]:
    """SQLite's write lock, held by another connection: the server's writer waits its busy timeout (5 s)."""
    with closing(sqlite3.connect(store_file(tmp_path), isolation_level=None, timeout=10)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")


LOCK_MAX_SECONDS = 30.0  # the lock is released once a write has failed: 5 s (the busy timeout) on a calm machine
MEMORY_BOUND = 100 * 2**20


def refusal_codes(tally: Tally) -> Counter[str]:
    return Counter(body["code"] for _, _, body in tally.refusals)


async def until(check: Callable[[], bool], seconds: float) -> None:
    """Poll `check` without blocking the loop; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        await asyncio.sleep(0.05)


def ready_now(server: Server) -> bool:
    return get(f"{server.url}/ready")[0] == 200


async def test_overload_answers_503_with_retry_after_and_recovers(tmp_path: Path) -> None:
    with serving(tmp_path, LINEAGE_QUEUE_MAX_EVENTS="5", LINEAGE_BATCH_MAX_EVENTS="2") as server:
        async with load(server.url, senders=1, limit=1) as warm:
            pass
        assert warm.statuses == {201: 1}, warm.refusals
        baseline = rss_bytes(server.pid)
        async with probing(server) as found, load(server.url, senders=40, pause=0.1) as tally:
            async with write_lock(tmp_path):
                # The writer waits on the lock, the queue fills; after the busy timeout the blocked write fails.
                await until(lambda: refusal_codes(tally)["STORE_UNAVAILABLE"] > 0, LOCK_MAX_SECONDS)
            await asyncio.sleep(1.0)  # the writer catches up while the load goes on
        # Load stopped, lock released: readiness comes back by itself (after the 5 s failure window).
        wait_for(lambda: ready_now(server), 20, "/ready back to 200", pause=0.25)
        async with load(server.url, senders=1, limit=1) as after:
            pass
        assert after.statuses == {201: 1}, after.refusals
        assert server.stop() == 0, server.log_text()

    codes = refusal_codes(tally)
    assert set(tally.statuses) <= {201, 503}, tally.statuses
    assert codes["QUEUE_FULL"] > 0 and codes["STORE_UNAVAILABLE"] > 0, codes
    for status, headers, body in tally.refusals:
        assert headers.get("Retry-After") == "1" and ERROR_FIELDS <= set(body), (status, headers, body)
    assert max(found.rss) - baseline < MEMORY_BOUND, (baseline, max(found.rss))
    failing = [body["checks"] for status, body in found.ready if status == 503]
    assert any(not checks["queue"]["ok"] for checks in failing), found.ready
    assert any(not checks["store"]["ok"] for checks in failing), found.ready
    # Nothing acknowledged is lost, nothing refused is half-written.
    assert_nothing_acknowledged_is_lost(tmp_path, tally)
    assert after.acknowledged <= stored_run_ids(tmp_path)
    assert not tally.refused & stored_run_ids(tmp_path)
    assert not tally.refused & column(tmp_path, "SELECT run_id FROM OL_RUN")


def two_listening(server: Server) -> set[int] | None:
    """The two worker pids once both listen on the port."""
    workers = children(server.pid)
    return workers if len(workers) == 2 and all(listens(pid, server.port) for pid in workers) else None


async def test_two_workers_both_serve_and_stop_on_sigterm(tmp_path: Path) -> None:
    with serving(tmp_path, "--workers", "2") as server:
        workers = wait_for(lambda: two_listening(server), 30, "two workers listening")
        # A new connection per request: the kernel spreads connections over both workers' sockets.
        async with load(server.url, senders=8, limit=200, force_close=True) as tally:
            pass
        assert tally.statuses == {201: 200}, (tally.statuses, tally.refusals[:3], tally.errors)
        # Whichever worker answers the scrape, it shows both workers' counts added up.
        counts = [server.metric("lineage_events_accepted_total") for _ in range(40)]
        assert counts == [200] * 40, counts
        assert server.stop() == 0, server.log_text()
    assert not any(exists(pid) for pid in workers)
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(200,)]
    assert tally.acknowledged == stored_run_ids(tmp_path)


def test_a_dead_worker_is_replaced_and_a_stop_during_the_restart_pause_stops_all(tmp_path: Path) -> None:
    restarts = "starting it again"
    with serving(tmp_path, "--workers", "2") as server:
        first = wait_for(lambda: two_listening(server), 30, "two workers listening")
        os.kill(min(first), signal.SIGKILL)

        def replacement() -> set[int] | None:
            workers = two_listening(server)
            return workers if workers and workers != first else None

        replaced = wait_for(replacement, 30, "a replacement worker")
        assert max(first) in replaced
        os.kill(min(replaced), signal.SIGKILL)
        # SIGTERM while the master pauses before starting a replacement: it must start none, and exit.
        wait_for(lambda: server.log_text().count(restarts) == 2, 30, "the master saw the second death")
        assert server.stop() == 0, server.log_text()
        assert server.log_text().count(restarts) == 2
    assert not any(exists(pid) for pid in replaced)


def test_every_sample_file_gets_a_2xx_or_a_4xx_from_the_process(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        for path in event_files():
            endpoint = "/batch" if isinstance(load_event(path.name), list) else ""
            status, body = post_json(f"{server.url}{SINGLE}{endpoint}", path.read_bytes())
            assert status < 500, (path.name, body)
            if status >= 400:
                assert ERROR_FIELDS <= set(body), (path.name, body)
            if path in complete_event_files():
                assert status == 201, (path.name, body)
        assert server.stop() == 0, server.log_text()
