"""Shared fixtures: the real OpenLineage events of ../shared/events, read in place (never copied)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

EVENTS_DIR = Path(__file__).resolve().parents[2] / "shared" / "events"


def pytest_configure(config: pytest.Config) -> None:
    # Parametrised tests collect the sample files; without them they would quietly run on nothing.
    if not EVENTS_DIR.is_dir():
        raise pytest.UsageError(f"the shared OpenLineage events are missing: {EVENTS_DIR}")


def pytest_report_header() -> list[str]:
    return [f"sqlite: {sqlite3.sqlite_version}", f"events: {EVENTS_DIR}"]


def event_files(prefix: str = "") -> list[Path]:
    """Every sample file whose name starts with prefix; INDEX.md's prefixes say what each is."""
    return sorted(p for p in EVENTS_DIR.glob(f"{prefix}*.json"))


def complete_event_files() -> list[Path]:
    """The files INDEX.md lists as complete, postable events (plain names and EDGE__ cases)."""
    special = ("TEMPLATE__", "MALFORMED__", "FACET__")
    return [p for p in event_files() if not p.name.startswith(special)]


def load_event(name: str) -> Any:
    return orjson.loads((EVENTS_DIR / name).read_bytes())
