"""Benchmarks, not tests: `make bench` runs them; the main test run never collects this directory.

Every `bench_*.py` file here is collected (pytest's own pattern, test_*.py, would miss them), and in it the
functions named `test_*`. A benchmark prints its figures and fails only when something breaks, never on
timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # A file named on the command line is collected by pytest's own collector already: not a second time.
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        module: pytest.Module = pytest.Module.from_parent(parent, path=file_path)
        return module
    return None
