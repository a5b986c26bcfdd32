"""`lineage serve` as a process: /health comes up, SIGTERM stops it cleanly, a stale schema stops it early."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson

LINEAGE = str(Path(sys.executable).parent / "lineage")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "TERADATA_", "TD_"))}
    env["LINEAGE_STORE"] = f"sqlite:///{tmp_path / 'lineage.db'}"
    return env


def wait_for_health(port: int, process: subprocess.Popen[bytes], seconds: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                body: dict[str, object] = orjson.loads(response.read())
                return body
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"/health did not answer within {seconds} s")


def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = environment(tmp_path)
    subprocess.run([LINEAGE, "schema", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "serve.log"
    with (
        log.open("wb") as stderr,
        subprocess.Popen(
            [LINEAGE, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr
        ) as process,
    ):
        try:
            assert wait_for_health(port, process)["status"] == "ok", log.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=35) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()


def test_serve_refuses_a_stale_schema(tmp_path: Path) -> None:
    done = subprocess.run(
        [LINEAGE, "serve", "--port", str(free_port())],
        env=environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "run `lineage schema upgrade` first" in done.stderr
