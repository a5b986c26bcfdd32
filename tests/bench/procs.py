"""Processes for the benchmarks: servers started with this Python, the load generator, and their CPU time.

Generic: a benchmark of any endpoint starts a server with `serve_lineage` (a real `lineage serve` on a fresh
SQLite file) or `serve_bare` (tests/bench/bare_server.py), then calls `run_load` with a spec for
tests/bench/loadgen.py.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON = sys.executable
LINEAGE = str(Path(PYTHON).parent / "lineage")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Server:
    port: int
    pid: int
    rows: dict[str, int] = field(default_factory=dict)  # a lineage server's OL_* table sizes, once it stopped

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment(database: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without LINEAGE_*/TERADATA_* settings (so defaults apply), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "TERADATA_", "TD_", "BENCH_"))}
    env["LINEAGE_STORE"] = f"sqlite:///{database}"
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


@contextmanager
def serve_lineage(workers: int = 1, extra_env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """`lineage serve --workers N` on a fresh, upgraded SQLite file in a temporary directory, with default
    settings but for `extra_env`. Stopped with SIGTERM (which drains the queue) when the block ends; then
    `rows` holds the size of every OL_* table."""
    with tempfile.TemporaryDirectory(prefix="lineage-bench-", dir=os.environ.get("BENCH_TMPDIR")) as tmp:
        cwd = Path(tmp)
        database = cwd / "lineage.db"
        env = server_environment(database, extra_env or {})
        subprocess.run([LINEAGE, "schema", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True)
        port = free_port()
        command = [LINEAGE, "serve", "--port", str(port), "--workers", str(workers)]
        with _running(command, env, cwd, port) as server:
            yield server
        server.rows = count_rows(database)


@contextmanager
def serve_bare() -> Iterator[Server]:
    """The reference handler (tests/bench/bare_server.py) with this Python."""
    with tempfile.TemporaryDirectory(prefix="bare-bench-") as tmp:
        port = free_port()
        command = [PYTHON, str(HERE / "bare_server.py"), str(port)]
        with _running(command, os.environ, Path(tmp), port) as server:
            yield server


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
    total = 0
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            total += int(stat[11]) + int(stat[12])  # utime, stime: fields 14 and 15 of /proc/PID/stat
    return total / CLOCK_TICKS


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (so index 0 is the state, 1 the parent pid)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def run_load(spec: Mapping[str, Any], server: Server, timeout: float = 300.0) -> dict[str, Any]:
    """Run tests/bench/loadgen.py with `spec`; its figures plus `server_cpu`, the cores the server used in the
    measured window (1.0 = one core busy)."""
    with tempfile.NamedTemporaryFile(suffix=".json", prefix="loadgen-") as spec_file:
        spec_file.write(orjson.dumps(dict(spec)))
        spec_file.flush()
        with subprocess.Popen(
            [PYTHON, str(HERE / "loadgen.py"), spec_file.name], stdout=subprocess.PIPE, cwd=ROOT
        ) as process:
            assert process.stdout is not None
            samples: dict[bytes, tuple[float, float]] = {}
            for line in process.stdout:
                word = line.strip()
                if word in (b"start", b"end"):
                    samples[word] = (time.perf_counter(), cpu_seconds(process_tree(server.pid)))
                    continue
                result: dict[str, Any] = orjson.loads(word)
            if process.wait(timeout=timeout) != 0:
                raise RuntimeError(f"the load generator exited with {process.returncode}")
    (t0, c0), (t1, c1) = samples[b"start"], samples[b"end"]
    result["server_cpu"] = round((c1 - c0) / (t1 - t0), 3)
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
