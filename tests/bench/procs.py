"""Processes for the benchmarks: servers started with this Python, the load generator, and their CPU time.

Generic: a benchmark of any endpoint starts a server with `serve_lineage` (a real `lineage serve` on a fresh
SQLite file, or on a fresh schema of the PostgreSQL database `bench_database` made) or `serve_bare`
(tests/bench/bare_server.py), then calls `run_load` with a spec for tests/bench/loadgen.py.

PostgreSQL's CPU time is that of the backend processes connected to the benchmark's database: the pids
pg_stat_activity lists for it when the measured window starts and ends. Processes of other databases on a
shared server, and the server's background processes (WAL writer, checkpointer), are left out, so that
another session's load does not count as ours; the backends do the work of a commit themselves (parse, plan,
upserts, index maintenance, WAL insert and, with synchronous_commit on, the flush).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

from tests.postgres import TestDatabase, find_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON = sys.executable
LINEAGE = str(Path(PYTHON).parent / "lineage")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def no_pids() -> list[int]:
    return []


@dataclass(slots=True)
class Server:
    port: int
    pid: int
    rows: dict[str, int] = field(default_factory=dict)  # a lineage server's OL_* table sizes, once it stopped
    database_pids: Callable[[], list[int]] = no_pids  # the database processes working for it, now

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment(store: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without LINEAGE_*/TERADATA_* settings (so defaults apply), LINEAGE_STORE=store,
    plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "TERADATA_", "TD_", "BENCH_"))}
    env["LINEAGE_STORE"] = store
    env["LINEAGE_LOG_LEVEL"] = "warning"
    env.update(extra)
    return env


def wait_for_health(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"/health did not answer within {seconds} s")


@contextmanager
def _running(command: list[str], env: Mapping[str, str], cwd: Path, port: int) -> Iterator[Server]:
    with (
        (cwd / "server.log").open("wb") as log,
        subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=log, stderr=log) as process,
    ):
        try:
            wait_for_health(port, process)
            yield Server(port, process.pid)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@dataclass(frozen=True, slots=True)
class BenchStore:
    """Where a benchmarked server keeps its rows."""

    dsn: str
    count_rows: Callable[[], dict[str, int]]
    backend_pids: Callable[[], list[int]] = no_pids


@contextmanager
def fresh_store(directory: Path, postgres: TestDatabase | None) -> Iterator[BenchStore]:
    """A SQLite file in `directory`, or a new schema of `postgres` (dropped afterwards)."""
    if postgres is None:
        path = directory / "lineage.db"
        yield BenchStore(f"sqlite:///{path}", lambda: count_rows(path))
        return
    schema = postgres.new_schema()
    dsn = postgres.schema_dsn(schema)
    try:
        yield BenchStore(dsn, lambda: count_postgres_rows(dsn), lambda: backend_pids(postgres))
    finally:
        postgres.drop_schema(schema)


@contextmanager
def serve_lineage(
    workers: int = 1, extra_env: Mapping[str, str] | None = None, postgres: TestDatabase | None = None
) -> Iterator[Server]:
    """`lineage serve --workers N` on a fresh, upgraded store: a SQLite file in a temporary directory or, given
    `postgres`, a new schema of that database; default settings but for `extra_env`. Stopped with SIGTERM
    (which drains the queue) when the block ends; then `rows` holds the size of every OL_* table."""
    with (
        tempfile.TemporaryDirectory(prefix="lineage-bench-", dir=os.environ.get("BENCH_TMPDIR")) as tmp,
        fresh_store(Path(tmp), postgres) as store,
    ):
        cwd = Path(tmp)
        env = server_environment(store.dsn, extra_env or {})
        subprocess.run([LINEAGE, "schema", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True)
        port = free_port()
        command = [LINEAGE, "serve", "--port", str(port), "--workers", str(workers)]
        with _running(command, env, cwd, port) as server:
            server.database_pids = store.backend_pids
            yield server
        server.rows = store.count_rows()


@contextmanager
def serve_bare() -> Iterator[Server]:
    """The reference handler (tests/bench/bare_server.py) with this Python."""
    with tempfile.TemporaryDirectory(prefix="bare-bench-") as tmp:
        port = free_port()
        command = [PYTHON, str(HERE / "bare_server.py"), str(port)]
        with _running(command, os.environ, Path(tmp), port) as server:
            yield server


@contextmanager
def bench_database() -> Iterator[TestDatabase | None]:
    """A database of its own on the tests' PostgreSQL server (tests/postgres.py), dropped afterwards; None, with
    the reason printed, when BENCH_POSTGRES=0 or no server answers."""
    if os.environ.get("BENCH_POSTGRES", "1") == "0":
        print("\nPostgreSQL skipped: BENCH_POSTGRES=0")
        yield None
        return
    admin, reason = find_server()
    if admin is None:
        print(f"\nPostgreSQL skipped: {reason}")
        yield None
        return
    database = TestDatabase.create(admin)
    try:
        yield database
    finally:
        database.drop()


def backend_pids(database: TestDatabase) -> list[int]:
    """The pids of the server processes connected to `database`, this look-up's own connection excepted."""
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database.name,)
        )
        return [int(pid) for (pid,) in rows]


def server_settings(database: TestDatabase) -> dict[str, str]:
    """The PostgreSQL settings that decide what a commit costs, for a benchmark's summary."""
    names = ["server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections", "work_mem"]
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) ORDER BY name", (names,)
        )
        return {str(name): str(value) for name, value in rows}


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (the worker processes of `lineage serve --workers N`)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = int(stat[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of the processes (all their threads), in seconds."""
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds of each of the processes that still runs."""
    times = {}
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            times[pid] = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS  # utime, stime: fields 14, 15 of the file
    return times


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (so index 0 is the state, 1 the parent pid)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


@dataclass(frozen=True, slots=True)
class _Sample:
    at: float
    server: float  # CPU seconds of the server's process tree
    database: dict[int, float]  # CPU seconds of each database process working for it
    rows: dict[str, float]  # a lineage server's lineage_store_rows_total by outcome ({} for the bare handler)

    @classmethod
    def take(cls, server: Server) -> _Sample:
        at, cpu = time.perf_counter(), cpu_seconds(process_tree(server.pid))
        return cls(at, cpu, cpu_by_pid(server.database_pids()), store_rows(server))


STORE_ROWS = re.compile(r'^lineage_store_rows_total\{outcome="(\w+)"\} (\S+)$', re.MULTILINE)


def store_rows(server: Server) -> dict[str, float]:
    """The server's row counts by outcome, from /metrics (every worker's, summed); {} without that metric."""
    try:
        with urllib.request.urlopen(server.url("/metrics"), timeout=10) as response:
            page = response.read().decode()
    except urllib.error.HTTPError:
        return {}
    return {outcome: float(value) for outcome, value in STORE_ROWS.findall(page)}


def run_load(spec: Mapping[str, Any], server: Server, timeout: float = 300.0) -> dict[str, Any]:
    """Run tests/bench/loadgen.py with `spec`; its figures plus `server_cpu` and `database_cpu`, the cores the
    server and the database processes serving it used in the measured window (1.0 = one core busy). A database
    process that appeared inside the window counts from zero; one that ended inside it is missed (the store's
    pool keeps its connections, so neither happens in a steady run)."""
    with tempfile.NamedTemporaryFile(suffix=".json", prefix="loadgen-") as spec_file:
        spec_file.write(orjson.dumps(dict(spec)))
        spec_file.flush()
        with subprocess.Popen(
            [PYTHON, str(HERE / "loadgen.py"), spec_file.name], stdout=subprocess.PIPE, cwd=ROOT
        ) as process:
            assert process.stdout is not None
            samples: dict[bytes, _Sample] = {}
            for line in process.stdout:
                word = line.strip()
                if word in (b"start", b"end"):
                    samples[word] = _Sample.take(server)
                    continue
                result: dict[str, Any] = orjson.loads(word)
            if process.wait(timeout=timeout) != 0:
                raise RuntimeError(f"the load generator exited with {process.returncode}")
    start, end = samples[b"start"], samples[b"end"]
    seconds = end.at - start.at
    database = sum(cpu - start.database.get(pid, 0.0) for pid, cpu in end.database.items())
    result["server_cpu"] = round((end.server - start.server) / seconds, 3)
    result["database_cpu"] = round(database / seconds, 3)
    result["window_s"] = round(seconds, 3)
    # Rows per second of the window, by outcome: written to the store, or left out as held already.
    result["rows_per_second"] = {k: round((v - start.rows.get(k, 0.0)) / seconds, 1) for k, v in end.rows.items()}
    return result


def count_rows(database: Path) -> dict[str, int]:
    """Rows per OL_* table (OL_SCHEMA_VERSION excepted), read through a connection of its own."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'OL\\_%' ESCAPE '\\' "
                "AND name <> 'OL_SCHEMA_VERSION' ORDER BY name"
            )
        ]
        return {table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]) for table in tables}


def count_postgres_rows(dsn: str) -> dict[str, int]:
    """Rows per OL_* table (OL_SCHEMA_VERSION excepted) of the DSN's current schema, keyed as on SQLite."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            str(name)
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_name LIKE 'ol\\_%' AND table_name <> 'ol_schema_version' ORDER BY table_name"
            )
        ]
        counts = {}
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            counts[table.upper()] = int(row[0]) if row else 0
        return counts
