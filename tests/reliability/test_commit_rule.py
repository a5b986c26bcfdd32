"""A request whose event was queued is answered only after its commit, or its event is never committed: no 503
that later commits (issue 14: three requests got 503 HANDLER_TIMEOUT and were committed 90 s later)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson

from schemas.sqlite.lock import WriterLock
from tests.reliability.conftest import MakeServer, run_event, store_path


def stored_run_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT run_id FROM OL_RUN")}


async def test_a_slow_commit_is_waited_for_and_a_timed_out_request_is_never_committed(
    make_server: MakeServer, tmp_path: Path
) -> None:
    client, _ = await make_server(handler_timeout=0.5)
    taken, queued = run_event(), run_event()
    lock = WriterLock(str(store_path(tmp_path)), 10.0)
    try:
        with lock.held():  # another writer holds the file: the server's write waits for it
            first = asyncio.ensure_future(client.post("/api/v1/lineage", data=orjson.dumps(taken)))
            await asyncio.sleep(0.2)  # the writer has taken the first event and waits for the lock
            second = await client.post("/api/v1/lineage", data=orjson.dumps(queued))
            # Queued behind the write past its handler timeout: refused, and withdrawn.
            assert second.status == 503 and (await second.json())["code"] == "HANDLER_TIMEOUT"
            await asyncio.sleep(0.5)
            assert not first.done(), "the request whose event the writer holds waits for the commit"
        answer = await first
        assert answer.status == 201, await answer.text()
    finally:
        lock.close()
    await asyncio.sleep(0.3)  # time for the writer to take (and drop) the withdrawn event
    stored = stored_run_ids(store_path(tmp_path))
    assert taken["run"]["runId"] in stored
    assert queued["run"]["runId"] not in stored, "a request answered 503 must never be committed"
    again = await client.post("/api/v1/lineage", data=orjson.dumps(queued))
    assert again.status == 201, "the withdrawn event is stored when sent again"
