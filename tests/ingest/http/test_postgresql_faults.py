"""`lineage serve` on PostgreSQL under load, as a process, when things break: the receiver killed with SIGKILL,
and the database ending the pool's sessions (pg_terminate_backend, as a restart or a failover does).

The promise is DESIGN.md's: a 2xx means the event is committed, so nothing acknowledged is ever lost; a store
that is unreachable answers 503 STORE_UNAVAILABLE with Retry-After, never another 5xx, and the receiver
recovers by itself. The senders and their tally are test_process's (a fresh run id per event).
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from tests.ingest.http.test_process import (
    ERROR_FIELDS,
    Tally,
    assert_acknowledged_are_stored,
    load,
    ready_now,
    until,
)
from tests.ingest.processes import serving, wait_for
from tests.postgres import TestDatabase

TERMINATIONS = 3  # rounds of ending every session of the receiver's pool, with progress in between
PROGRESS = 20  # events acknowledged before the first round and between rounds


def column_reader(dsn: str) -> Callable[[str], set[Any]]:
    """`column_of(sql)` for assert_acknowledged_are_stored: one column of the schema, on a connection of its own."""

    def column_of(query: str) -> set[Any]:
        with psycopg.connect(dsn) as conn:
            return {row[0] for row in conn.execute(query)}

    return column_of


def assert_answers_are_2xx_or_store_unavailable(tally: Tally) -> None:
    assert set(tally.statuses) <= {200, 201, 503}, (tally.statuses, tally.refusals[:3])
    for status, headers, body in tally.refusals:
        assert body["code"] == "STORE_UNAVAILABLE" and "Retry-After" in headers, (status, headers, body)
        assert ERROR_FIELDS <= set(body), body


async def test_kill_9_on_postgresql_loses_no_acknowledged_event(tmp_path: Path, postgres_dsn: str) -> None:
    with serving(tmp_path, LINEAGE_STORE=postgres_dsn) as server:
        async with load(server.url, senders=8) as tally:
            await progress(tally, 50)  # mid-stream: batches are being committed
            server.kill()
            await until(lambda: tally.errors > 0, 10)  # the senders now meet a dead port
        assert server.exited() == -signal.SIGKILL
    with serving(tmp_path, LINEAGE_STORE=postgres_dsn, log_name="restart.log") as again:
        wait_for(lambda: ready_now(again), 30, "/ready after the restart")  # the pool connects in the background
        assert again.stop() == 0, again.log_text()
    assert_acknowledged_are_stored(tally, column_reader(postgres_dsn))
    assert set(tally.statuses) <= {201}, tally.refusals[:3]


async def progress(tally: Tally, count: int, seconds: float = 60) -> None:
    """Until `count` more events are acknowledged."""
    wanted = len(tally.acknowledged) + count
    await until(lambda: len(tally.acknowledged) >= wanted, seconds)


def terminate_sessions(database: TestDatabase, application_name: str) -> int:
    """End every session of the database that names itself `application_name`; how many there were. Asked on the
    administrative connection, which works while the database refuses new sessions."""
    query = (
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND application_name = %s"
    )
    with psycopg.connect(database.admin, autocommit=True) as conn:
        found = conn.execute(query, (database.name, application_name)).fetchone()
    return int(found[0]) if found else 0


@contextmanager
def refusing_new_sessions(database: TestDatabase) -> Iterator[None]:
    """While the block runs, the database accepts no new session, a superuser's neither (ALLOW_CONNECTIONS false):
    to a client that has lost its sessions, the database is down."""
    alter = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}")
    with psycopg.connect(database.admin, autocommit=True) as admin:
        admin.execute(alter.format(sql.Identifier(database.name), sql.SQL("false")))
        try:
            yield
        finally:
            admin.execute(alter.format(sql.Identifier(database.name), sql.SQL("true")))


async def test_terminated_sessions_give_503s_then_recovery_and_lose_nothing(
    tmp_path: Path, postgres_database: TestDatabase, postgres_dsn: str
) -> None:
    # The receiver's sessions name themselves (libpq's application_name, passed through the DSN).
    name = f"lineage-faults-{uuid.uuid4().hex[:12]}"
    dsn = f"{postgres_dsn}&application_name={quote(name)}"
    terminated = []
    with serving(tmp_path, LINEAGE_STORE=dsn) as server:
        async with load(server.url, senders=8) as tally:
            for _ in range(TERMINATIONS):  # sessions ended, new ones accepted: the writer retries on new ones
                await progress(tally, PROGRESS)  # mid-stream, and recovered from the round before
                terminated.append(await asyncio.to_thread(terminate_sessions, postgres_database, name))
            await progress(tally, PROGRESS)
            with refusing_new_sessions(postgres_database):  # sessions ended and none accepted: down
                terminated.append(await asyncio.to_thread(terminate_sessions, postgres_database, name))
                await until(lambda: tally.statuses[503] > 0, 60)  # once the writer's retries and pool wait run out
                assert not await asyncio.to_thread(ready_now, server)
            await progress(tally, PROGRESS)  # back by itself, under load
        wait_for(lambda: ready_now(server), 30, "/ready back to 200", pause=0.25)
        async with load(server.url, senders=2, limit=20) as after:
            pass
        assert after.statuses == {201: 20}, after.refusals[:3]
        assert server.stop() == 0, server.log_text()
    assert all(terminated), f"sessions ended per round: {terminated}"
    assert tally.errors == 0, "the receiver must keep answering"
    assert_answers_are_2xx_or_store_unavailable(tally)
    assert_acknowledged_are_stored(tally, column_reader(postgres_dsn))
    assert after.acknowledged <= column_reader(postgres_dsn)("SELECT run_id FROM OL_EVENT")
