"""Shared fixtures: the real OpenLineage events of ../shared/events, read in place (never copied), and a database
of the real PostgreSQL server for the session (tests/postgres.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.postgres import TestDatabase, server_dsn

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


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[TestDatabase]:
    """A database of its own for this test session on the real PostgreSQL server, dropped at the end (see
    tests/postgres.py: skips without a server, fails instead under CI=true)."""
    database = TestDatabase.create(server_dsn())
    yield database
    database.drop()


@pytest.fixture
def postgres_dsn(postgres_database: TestDatabase) -> Iterator[str]:
    """A DSN (postgresql://...?options=-csearch_path%3D...) to a fresh, empty schema of the session's database."""
    schema = postgres_database.new_schema()
    yield postgres_database.schema_dsn(schema)
    postgres_database.drop_schema(schema)
