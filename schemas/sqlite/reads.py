"""The Store read methods for SQLite: schemas.sql.reads' statements on read-only connections of their own.

Why separate connections: the store's one write connection is held under a lock for a whole batch, and a
lineage query must not wait for a group commit. In WAL mode readers never block the writer nor each other,
so each reading thread opens its own `mode=ro` connection (threading.local) on first use; each read sees
the last committed state. The connections are closed with the store. A ":memory:" database is private to
its one connection, so there reads share the write connection under the lock (tests only).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import orjson

from schemas.sql.reads import Params
from schemas.sqlstore import Row, SqlReads
from schemas.store import StoreError, StoreUnavailable

T = TypeVar("T")
logger = logging.getLogger(__name__)


# SQLite builds JSON in by default from 3.38; before, json_each may be missing, and ids go as IN lists.
_JSON_EACH = sqlite3.sqlite_version_info >= (3, 38, 0)
_JSON_IDS = "SELECT value FROM json_each(:ids)"


class SqliteReads(SqlReads):
    """SqlReads on read-only SQLite connections. Mixin for SqliteStore, which calls `_init_reads()` on open
    and `_close_reads()` on close."""

    path: str
    _lock: threading.Lock
    _read_timeout_ms = 5000
    _read_mmap_bytes = 1 << 30  # address space only: the OS maps what is read and shares it with its page cache

    def _connection(self) -> sqlite3.Connection:  # provided by SqliteStore
        raise NotImplementedError

    def _init_reads(self) -> None:
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # Reads in flight, so that close() never frees a connection another thread is stepping: sqlite3 then
        # crashes the process instead of raising.
        self._reads_idle = threading.Condition(self._readers_lock)
        self._active_reads = 0
        self._reads_closed = False

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._readers_lock:
            if self._reads_closed:
                raise StoreError("the SQLite store is closed")
            uri = Path(self.path).absolute().as_uri() + "?mode=ro"
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=self._read_timeout_ms / 1000, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(self._read_timeout_ms)}")
                # Memory-mapped pages: a large lineage answer reads thousands of scattered rows, and a page read
                # from the map costs no system call.
                conn.execute(f"PRAGMA mmap_size = {self._read_mmap_bytes}")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the SQLite store cannot be read: {error}") from error
            self._readers.append(conn)
        self._local.conn = conn
        return conn

    def _id_rows(self, sql: str, ids: list[str], params: Params) -> list[Row]:
        """One statement for the whole list, the ids bound as one JSON array read by json_each: the statement's
        text never changes, so SQLite keeps it prepared, and nothing is cut into chunks."""
        if not _JSON_EACH:
            return super()._id_rows(sql, ids, params)
        return self._rows(sql.format(ids=_JSON_IDS), {**params, "ids": orjson.dumps(ids).decode()})

    def _close_reads(self) -> None:
        """Refuse new reads, wait (at most the read timeout) for those in flight, then close the connections.
        A read still running then keeps them open: leaking them beats freeing one under a running statement."""
        with self._reads_idle:
            self._reads_closed = True
            if not self._reads_idle.wait_for(lambda: self._active_reads == 0, self._read_timeout_ms / 1000):
                logger.warning("closing the SQLite store with %d reads still running", self._active_reads)
                return
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._readers_lock:
            if self._reads_closed:
                raise StoreError("the SQLite store is closed")
            self._active_reads += 1
        try:
            if self.path == ":memory:":
                with self._lock:
                    yield self._connection()
            else:
                yield self._reader()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"the SQLite store could not be read: {error}") from error
        finally:
            with self._reads_idle:
                self._active_reads -= 1
                if self._active_reads == 0:
                    self._reads_idle.notify_all()

    def _rows(self, sql: str, params: Params) -> list[Row]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()
