"""SqliteStore on real files: durability settings, locking between stores, closing, opening by DSN.

What every backend must do (idempotency, atomicity, the merge rules) is tests/schemas/test_contract.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from schemas import open_store
from schemas.dsn import parse_dsn
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreError, StoreUnavailable
from tests.schemas.test_contract import DUPLICATE, STORED, event


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "lineage.db"
    store = SqliteStore(path)
    store.create_schema()
    store.close()
    yield path


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(db)
    yield store
    store.close()


Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def query(db: Path) -> Iterator[Query]:
    """Read what a store committed, through a connection of its own."""
    conn = sqlite3.connect(db)

    def run(sql: str, *params: object) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    yield run
    conn.close()


def test_wal_mode_and_schema(db: Path, store: SqliteStore, query: Query) -> None:
    assert query("PRAGMA journal_mode") == [("wal",)]
    assert store.schema_status().current
    store.ping()


def test_a_locked_database_is_unavailable_then_recovers(db: Path) -> None:
    store = SqliteStore(db, busy_timeout_ms=50)
    try:
        with closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable):
                store.write_batch([event("a")])
            other.execute("ROLLBACK")
        assert store.write_batch([event("a")]) == [STORED]
    finally:
        store.close()


def test_closed_store(db: Path) -> None:
    store = SqliteStore(db)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.write_batch([event("a")])
    with pytest.raises(StoreUnavailable):
        store.ping()


def test_open_store(db: Path) -> None:
    store = open_store(parse_dsn(f"sqlite:///{db}"))
    try:
        assert store.schema_status().current
    finally:
        store.close()


def test_stores_on_one_file_take_turns_through_the_writer_lock(db: Path) -> None:
    """Two stores stand for two worker processes: an flock excludes open file descriptions, not processes."""
    holder, waiter = SqliteStore(db), SqliteStore(db, busy_timeout_ms=50)
    try:
        assert Path(str(db) + "-writer").exists()
        with holder._transaction():
            with pytest.raises(StoreUnavailable, match="write lock"):
                waiter.write_batch([event("a")])
        assert waiter.write_batch([event("a")]) == [STORED]
        assert holder.write_batch([event("a")]) == [DUPLICATE]
    finally:
        holder.close()
        waiter.close()
