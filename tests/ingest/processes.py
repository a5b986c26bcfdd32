"""`lineage serve` as a real process in tests: start it on a free port with its own environment and log file,
wait for /health, stop it (SIGTERM) or kill it (SIGKILL), and read the SQLite store it wrote.

Every helper here is synchronous and cheap; async tests call them before or after their load, never while
senders must keep running (waiting for an exit there is `Server.exited`, which polls without blocking long).
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from ingest.settings import Settings
from schemas import open_store

LINEAGE = str(Path(sys.executable).parent / "lineage")
STARTUP_SECONDS = 30.0  # generous: the machine is small and noisy
SHUTDOWN_SECONDS = 35.0  # the server's 30 s graceful shutdown, plus a margin

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def store_file(tmp_path: Path) -> Path:
    return tmp_path / "lineage.db"


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any server setting, the store in tmp_path, then `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "TERADATA_", "TD_"))}
    env["LINEAGE_STORE"] = f"sqlite:///{store_file(tmp_path)}"
    env.update(settings)
    return env


def upgrade_schema(env: dict[str, str]) -> None:
    """What `lineage schema upgrade` does, in this process (faster than another interpreter)."""
    store = open_store(Settings.from_env(env, None).store.dsn)
    try:
        store.upgrade_schema()
    finally:
        store.close()


def wait_for_health(port: int, process: subprocess.Popen[bytes], seconds: float = STARTUP_SECONDS) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                body: dict[str, Any] = orjson.loads(response.read())
                return body
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"/health did not answer within {seconds} s")


def get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def post_json(url: str, data: bytes, timeout: float = 30.0) -> tuple[int, Any]:
    """(status, decoded JSON body) of a POST of `data` as application/json."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, orjson.loads(error.read())


def wait_for(check: Callable[[], T | None], seconds: float, what: str, pause: float = 0.1) -> T:
    """The first truthy result of `check`, polled until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(pause)


@dataclass
class Server:
    """One `lineage serve` process; its stderr goes to `log`."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def metric(self, name: str) -> float:
        """The value of one unlabelled sample of /metrics (0 when absent)."""
        status, _, body = get(f"{self.url}/metrics")
        assert status == 200, body
        return metric_value(body.decode(), name)

    def kill(self) -> None:
        """SIGKILL: no drain, no last commit, as a crash or an OOM kill."""
        self.process.kill()
        self.process.wait(timeout=SHUTDOWN_SECONDS)

    def stop(self, seconds: float = SHUTDOWN_SECONDS) -> int:
        """SIGTERM, then the exit code; fails if the process takes longer than `seconds`."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"no exit within {seconds} s of SIGTERM\n{self.log_text()}") from None

    def exited(self) -> int | None:
        return self.process.poll()


def metric_value(text: str, name: str) -> float:
    for line in text.splitlines():
        metric, _, value = line.partition(" ")
        if metric == name:
            return float(value)
    return 0.0


@contextmanager
def serving(
    tmp_path: Path, *args: str, log_name: str = "serve.log", port: int | None = None, **settings: str
) -> Iterator[Server]:
    """`lineage serve` on the store in tmp_path (schema upgraded first), up and answering /health.

    Whatever the test does, the process is gone when the block ends (killed if still running) and its log
    file is closed. Extra `args` go to `lineage serve`; `settings` are LINEAGE_* variables.
    """
    env = environment(tmp_path, **settings)
    upgrade_schema(env)
    port = port or free_port()
    log = tmp_path / log_name
    with log.open("ab") as stderr, _popen([LINEAGE, "serve", "--port", str(port), *args], env, tmp_path, stderr) as p:
        server = Server(p, port, log, env)
        try:
            wait_for_health(port, p)
            yield server
        finally:
            if p.poll() is None:
                workers = children(p.pid)  # `--workers`: killing the master would orphan them
                p.kill()
                p.wait(timeout=SHUTDOWN_SECONDS)
                for pid in workers:
                    _kill(pid)


def _popen(command: list[str], env: dict[str, str], cwd: Path, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
    )


def rows(tmp_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows of the store in tmp_path, read on a connection of their own (closed after)."""
    with closing(sqlite3.connect(store_file(tmp_path), timeout=10)) as db:
        return db.execute(sql, params).fetchall()


def column(tmp_path: Path, sql: str) -> set[Any]:
    return {row[0] for row in rows(tmp_path, sql)}


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def children(pid: int) -> set[int]:
    """The direct children of a process (Linux /proc/<pid>/task/*/children)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return found


def exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def listening_sockets(port: int) -> set[int]:
    """Inodes of the sockets listening on 127.0.0.1:port (state 0A in /proc/net/tcp)."""
    wanted = f"0100007F:{port:04X}"
    inodes: set[int] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == wanted and parts[3] == "0A":
            inodes.add(int(parts[9]))
    return inodes


def listens(pid: int, port: int) -> bool:
    """True when process `pid` holds a socket listening on 127.0.0.1:port."""
    inodes = listening_sockets(port)
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            return True
    return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
