"""`lineage serve` as a process: /health comes up, SIGTERM stops it cleanly, a stale schema stops it early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.ingest.processes import LINEAGE, environment, free_port, get, serving, store_file


def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        status, _, body = get(f"{server.url}/health")
        assert status == 200 and orjson.loads(body)["status"] == "ok", server.log_text()
        assert server.stop() == 0, server.log_text()


def test_serve_refuses_a_stale_schema(tmp_path: Path) -> None:
    store_file(tmp_path).touch()  # an empty file: no schema (a missing file is tests/reliability's case)
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


def test_the_server_freezes_start_up_objects_and_collects_less_often() -> None:
    """In a process of its own: the collector's settings are process-wide."""
    code = (
        "import gc\n"
        "from ingest.http.server import GC_THRESHOLDS, tune_gc\n"
        "tune_gc()\n"
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
