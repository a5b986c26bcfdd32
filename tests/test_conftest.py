"""The suite in a clone on its own (no ../shared beside it): the tests that read the sample events skip and say
why, the rest run; under CI=true the run refuses to start. Run on a copy of tests/ in a fresh directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_lonely(tmp_path: Path, *args: str, ci: bool) -> subprocess.CompletedProcess[str]:
    clone = tmp_path / "lonely" / "clone"  # ../shared of it does not exist
    shutil.copytree(ROOT / "tests", clone / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", clone)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *args]
    return subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_lonely_clone_skips_what_needs_the_shared_events_and_says_why(tmp_path: Path) -> None:
    # One module of each kind: parametrised over the files (test_receiver), reading them at import (test_body),
    # handing one to a command (test_cli), and tests that need none.
    done = run_lonely(
        tmp_path,
        "tests/ingest/http/test_receiver.py",
        "tests/ingest/http/test_body.py",
        "tests/ingest/test_cli.py",
        ci=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "needs the shared OpenLineage events of ../shared/events" in done.stdout
    assert " passed" in done.stdout and " skipped" in done.stdout
    assert "empty parameter set" not in done.stdout


def test_under_ci_a_clone_without_the_events_does_not_run(tmp_path: Path) -> None:
    done = run_lonely(tmp_path, "tests/test_imports.py", ci=True)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "the shared OpenLineage events are missing" in done.stderr
