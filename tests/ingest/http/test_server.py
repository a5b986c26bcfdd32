"""Process life of `lineage serve`, as a real process: start-up errors in one line, workers that stop instead of
restarting forever, workers that die with their parent, and the parent-pid watch that backs up prctl."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from ingest.http import server
from tests.ingest.processes import (
    LINEAGE,
    SHUTDOWN_SECONDS,
    Server,
    children,
    environment,
    exists,
    free_port,
    listens,
    post_json,
    rows,
    serving,
    upgrade_schema,
    wait_for,
)

SINGLE = "/api/v1/lineage"
START_SECONDS = 30.0  # a failing start must end within this, not restart forever


def event() -> bytes:
    return orjson.dumps(
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-05-01T10:00:00.000Z",
            "producer": "https://github.com/lineage-server/tests",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "tests", "name": "process-life"},
        }
    )


@contextmanager
def held_port(reuse_port: bool) -> Iterator[int]:
    """A port something else listens on: a plain server, or (reuse_port) one set of SO_REUSEPORT workers."""
    with socket.socket() as sock:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def serve_once(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`lineage serve ARGS` that is expected to fail at start-up: its exit, stdout and stderr."""
    env = environment(tmp_path, **settings)
    upgrade_schema(env)
    try:
        return subprocess.run(
            [LINEAGE, "serve", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"still running after {START_SECONDS} s:\n{exc.stderr!r}") from None


def assert_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("lineage: cannot listen on "), lines
    assert all(text in lines[0] for text in expected), lines


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "reuse_port"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_port_fails_once_in_one_line(tmp_path: Path, workers: str, reuse_port: bool) -> None:
    with held_port(reuse_port) as port:
        done = serve_once(tmp_path, "--port", str(port), "--workers", workers)
    assert_one_line(done, f"127.0.0.1:{port}", "the address is in use")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unresolvable_host_fails_in_one_line(tmp_path: Path, workers: str) -> None:
    done = serve_once(tmp_path, "--port", str(free_port()), "--workers", workers, LINEAGE_HOST="no-such-host.invalid")
    assert_one_line(done, "no-such-host.invalid", "does not resolve")


def two_listening(server: Server) -> set[int] | None:
    workers = children(server.pid)
    return workers if len(workers) == 2 and all(listens(pid, server.port) for pid in workers) else None


def test_workers_die_with_their_killed_parent_and_keep_what_they_acknowledged(tmp_path: Path) -> None:
    with serving(tmp_path, "--workers", "2") as first:
        workers = wait_for(lambda: two_listening(first), 30, "two workers listening")
        statuses = [post_json(first.url + SINGLE, event())[0] for _ in range(20)]
        assert statuses == [201] * 20
        first.kill()  # SIGKILL: the master runs no code at all
        wait_for(lambda: not any(exists(pid) for pid in workers), SHUTDOWN_SECONDS, "the workers gone")
        log = first.log_text()
    assert "Traceback" not in log, log
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(20,)]
    # The port is free again: a new server takes it alone (nothing is left to share its traffic with).
    with serving(tmp_path, port=first.port, log_name="second.log") as second:
        assert post_json(second.url + SINGLE, event())[0] == 201
        assert second.stop() == 0, second.log_text()


async def test_the_parent_watch_stops_a_worker_whose_parent_is_gone() -> None:
    """The portable fallback of prctl: a parent pid that is not this process's parent reads as gone."""
    stop = asyncio.Event()
    await asyncio.wait_for(server._watch_parent(os.getppid() + 1_000_000, stop), 5)
    assert stop.is_set()
    still = asyncio.Event()
    watch = asyncio.create_task(server._watch_parent(os.getppid(), still))
    await asyncio.sleep(0.2)
    assert not still.is_set() and not watch.done()
    watch.cancel()


def test_die_with_parent_refuses_a_parent_already_gone() -> None:
    with pytest.raises(server.StartupError, match="is gone"):
        server.die_with_parent(os.getppid() + 1_000_000)
