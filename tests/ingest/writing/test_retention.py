"""Retention as an operator meets it: `lineage purge` as a real command on a store with history (and while a real
`lineage serve` goes on acknowledging events), and the server's periodic purge with LINEAGE_RETENTION_DAYS.

The acknowledgement latency during a purge is measured in tests/bench/bench_purge.py, not asserted here."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from ingest.writing import retention
from schemas.sqlite.store import SqliteStore
from tests.ingest.conftest import MakeClient
from tests.ingest.http.test_metrics_workers import event
from tests.ingest.processes import LINEAGE, environment, post_json, rows, serving, store_file
from tests.query.test_cache import real_redis
from tests.schemas.history import CURRENT, NS, RETIRED_AFTER, tables, write_history

DAYS = 150
REDIS_DB = 13  # this module's own database: it reads and bumps the cache generation there

__all__ = ["real_redis"]  # the fixture, imported for the test that needs Redis


def history_store(tmp_path: Path, days: int = DAYS) -> None:
    """tmp_path/lineage.db holding `days` days of history up to an hour ago (no run is near a cut-off of whole days
    from now, which a purge computes a few seconds after this)."""
    end = datetime.now(UTC) - timedelta(hours=1)
    store = SqliteStore(store_file(tmp_path))
    try:
        store.upgrade_schema()
        write_history(store, end, days)
    finally:
        store.close()


def old_runs(tmp_path: Path, days: int = 30) -> int:
    before = retention.cutoff(days)
    return int(rows(tmp_path, "SELECT COUNT(*) FROM OL_RUN WHERE last_event_time < ?", (before,))[0][0])


def purge(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINEAGE, "purge", *args],
        env=environment(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


def printed(output: str) -> dict[str, int]:
    """`removed N what` / `would remove N what` lines -> {what: N}."""
    found = {}
    for line in output.splitlines():
        words = line.removeprefix("would ").split(" ", 2)
        if words[0] in ("remove", "removed"):
            found[words[2]] = int(words[1])
    return found


def test_lineage_purge_prints_what_it_removes_and_a_dry_run_what_it_would(tmp_path: Path, real_redis: str) -> None:
    history_store(tmp_path)
    old = old_runs(tmp_path)
    assert old == (DAYS - 29) * len(CURRENT) + (DAYS - RETIRED_AFTER)  # days 150 to 30 (an hour past it)
    generation = redis.Redis(db=REDIS_DB).incr("lineage:generation")

    dry = purge(tmp_path, "--older-than", "30", "--dry-run", REDIS_DB=str(REDIS_DB))
    assert dry.returncode == 0, dry.stderr
    assert "cut-off " in dry.stdout and "would remove" in dry.stdout
    assert printed(dry.stdout)["runs"] == old and old_runs(tmp_path) == old
    assert int(redis.Redis(db=REDIS_DB).get("lineage:generation") or 0) == generation, "a dry run changes nothing"

    done = purge(tmp_path, "--older-than", "30", REDIS_DB=str(REDIS_DB))
    assert done.returncode == 0, done.stderr
    removed = printed(done.stdout)
    assert removed == printed(dry.stdout)
    assert removed["runs"] == old and removed["raw events"] == 2 * old
    assert "column lineage edges" not in removed, "edges are only shown, and removed, with --edges"
    assert old_runs(tmp_path) == 0
    assert int(redis.Redis(db=REDIS_DB).get("lineage:generation") or 0) > generation, "the cache is invalidated"

    edges = purge(tmp_path, "--older-than", "30", "--edges", REDIS_DB=str(REDIS_DB))
    assert edges.returncode == 0 and printed(edges.stdout)["runs"] == 0
    assert printed(edges.stdout)["column lineage edges"] > 0  # the retired job's


@pytest.mark.parametrize("days", ["0", "-3", "ten"])
def test_lineage_purge_refuses_a_bad_age(tmp_path: Path, days: str) -> None:
    done = purge(tmp_path, f"--older-than={days}")
    assert done.returncode == 2 and "--older-than" in done.stderr


def test_a_running_server_acknowledges_events_while_lineage_purge_runs(tmp_path: Path) -> None:
    history_store(tmp_path, 200)
    old = old_runs(tmp_path)
    with serving(tmp_path) as server:
        statuses: list[int] = []
        stop = threading.Event()

        def send() -> None:
            while not stop.is_set() and len(statuses) < 2000:
                statuses.append(post_json(f"{server.url}/api/v1/lineage", event())[0])

        sender = threading.Thread(target=send)
        sender.start()
        try:
            done = purge(tmp_path, "--older-than", "30", REDIS_ADDR="")
        finally:
            stop.set()
            sender.join()
        assert done.returncode == 0, done.stderr
        assert printed(done.stdout)["runs"] == old
        assert statuses and set(statuses) == {201}, "every event sent during the purge was acknowledged"
        assert server.stop() == 0
    assert old_runs(tmp_path) == 0
    sql = "SELECT COUNT(*) FROM OL_RUN r JOIN OL_JOB j ON j.job_id = r.job_id WHERE j.name = 'etl.metrics'"
    assert rows(tmp_path, sql)[0][0] == len(statuses), "each acknowledged event (a run of its own) is stored"


async def test_the_server_purges_by_itself_with_lineage_retention_days(
    tmp_path: Path, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(history_store, tmp_path, 60)
    assert old_runs(tmp_path) > 0
    monkeypatch.setattr(retention, "FIRST_DELAY_SECONDS", 0.0)
    client = await make_client(LINEAGE_RETENTION_DAYS="30", REDIS_ADDR="")
    response = await client.post("/api/v1/lineage", data=event())
    assert response.status == 201
    for _ in range(300):
        if old_runs(tmp_path) == 0:
            break
        await asyncio.sleep(0.1)
    assert old_runs(tmp_path) == 0
    assert (await client.post("/api/v1/lineage", data=event())).status == 201
    assert old_runs(tmp_path, 0) >= 30 * len(CURRENT)  # the recent runs and the new ones stay


async def test_the_read_apis_answer_the_same_for_current_datasets_after_a_purge(
    tmp_path: Path, make_client: MakeClient
) -> None:
    await asyncio.to_thread(history_store, tmp_path, 60)
    client = await make_client(REDIS_ADDR="")
    paths = []
    for job in CURRENT:
        for name in tables(job):
            paths += [
                f"/api/v2/openlineage/lineage/table/{name}?direction=both",
                f"/api/v2/openlineage/lineage/{name}/amount?direction=both",
                f"/api/v1/lineage?nodeId=dataset:{NS}:{name}&depth=5",
                f"/api/v1/column-lineage?nodeId=dataset:{NS}:{name}&depth=5&withDownstream=true",
            ]

    async def answers() -> dict[str, object]:
        found = {}
        for path in paths:
            response = await client.get(path)
            assert response.status == 200, (path, await response.text())
            found[path] = await response.json()
        return found

    before = await answers()
    table = before["/api/v2/openlineage/lineage/table/silver.orders?direction=both"]
    assert isinstance(table, dict) and table["graph"]["edges"], "the answers compared hold lineage"
    store = SqliteStore(store_file(tmp_path))
    try:
        removed = sum(step.get("runs", 0) for step in store.purge(retention.cutoff(30)))
    finally:
        store.close()
    assert removed > 0
    assert await answers() == before
