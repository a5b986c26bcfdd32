"""Shared fixtures: the real OpenLineage events of ../shared/events, read in place (never copied), and a database
of the real PostgreSQL server for the session (tests/postgres.py).

A clone on its own has no ../shared: every test that reads the events is then skipped, saying so, and the rest
run. Under CI=true the events must be there (a skip would hide a broken checkout): the run stops at once.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.postgres import TestDatabase, server_dsn

EVENTS_DIR = Path(__file__).resolve().parents[2] / "shared" / "events"
NO_EVENTS = f"needs the shared OpenLineage events of ../shared/events, absent in this checkout ({EVENTS_DIR})"
_collected = False  # set once collection is over: a missing file then skips the test that wanted it
_asked = False  # event_files() was called without the events since the last module began collecting


def events_present() -> bool:
    return EVENTS_DIR.is_dir()


def pytest_configure(config: pytest.Config) -> None:
    if not events_present() and os.environ.get("CI") == "true":
        raise pytest.UsageError(f"the shared OpenLineage events are missing: {EVENTS_DIR} (CI=true needs them)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Parametrised over the sample files, a test collects no case without them: pytest would skip it as "got
    empty parameter set"; say why instead."""
    global _collected
    _collected = True
    if events_present():
        return
    for item in items:
        if any("empty parameter set" in str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skip")):
            item.add_marker(pytest.mark.skip(reason=NO_EVENTS), append=False)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module that reads the sample files as it is imported (a parametrize list, a module constant) fails to
    collect without them: report it skipped, with the reason, instead."""
    global _asked
    _asked = False
    report = yield
    if report.failed and not events_present() and isinstance(collector, pytest.Module):
        if _asked or str(EVENTS_DIR) in str(report.longrepr):
            report.outcome = "skipped"
            report.longrepr = (str(collector.path), 0, f"Skipped: {NO_EVENTS}")
    return report


def _skip_without_events(exc: BaseException) -> None:
    if isinstance(exc, FileNotFoundError) and not events_present():
        missing = Path(str(exc.filename or ""))
        if missing == EVENTS_DIR or EVENTS_DIR in missing.parents:
            pytest.skip(NO_EVENTS)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """A test that reads a sample file directly (EVENTS_DIR / name) is skipped, not failed, without them."""
    try:
        return (yield)
    except FileNotFoundError as exc:
        _skip_without_events(exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    try:
        return (yield)
    except FileNotFoundError as exc:
        _skip_without_events(exc)
        raise


def pytest_report_header() -> list[str]:
    return [f"sqlite: {sqlite3.sqlite_version}", f"events: {EVENTS_DIR}"]


def event_files(prefix: str = "") -> list[Path]:
    """Every sample file whose name starts with prefix; INDEX.md's prefixes say what each is. Without the
    files: none while tests are collected, and a skip of the test that asks for them."""
    global _asked
    if not events_present():
        if _collected:
            pytest.skip(NO_EVENTS)
        _asked = True
        return []
    return sorted(p for p in EVENTS_DIR.glob(f"{prefix}*.json"))


def shared_event(name: str) -> Path:
    """The path of one sample file, for a test that hands it to a command; skips the test without the files."""
    if not events_present():
        pytest.skip(NO_EVENTS)
    return EVENTS_DIR / name


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
