"""The SQLite store: the OL_* tables in one embedded file, written one batch per transaction.

Durability: WAL with synchronous=FULL. In WAL mode synchronous=NORMAL survives a process crash (kill -9)
but a power loss can drop the last commits, and a 2xx promises the event is stored; FULL syncs the WAL on
every commit, which the batcher's group commit amortises over a whole batch.

Threads: one write connection (check_same_thread=False) guarded by one lock, so writes and schema work take
turns on it. Reads (schemas.sqlite.reads) use read-only connections of their own, one per reading thread:
WAL lets them read the last commit while a batch is being written. Processes: every write transaction also
holds a WriterLock (schemas.sqlite.lock), so that the workers of one server hand the file over without
SQLite's sleeping busy handler. A busy database is waited for `busy_timeout_ms`, then StoreUnavailable is
raised.

The write template (dedupe, stored-id check, writes in order, outcomes) is schemas.sqlstore.SqlStore's; this
module supplies the transaction and runs each table's upsert as schemas.sql.upserts renders it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from schemas import migrations
from schemas.dsn import Dialect
from schemas.sql import backfill, reads
from schemas.sql.params import Params
from schemas.sql.rules import Write
from schemas.sql.upserts import UPSERTS
from schemas.sqlite import catalog
from schemas.sqlite.lock import WriterLock
from schemas.sqlite.reads import SqliteReads
from schemas.sqlstore import SqlStore
from schemas.store import SchemaStatus, StoreError, StoreUnavailable

T = TypeVar("T")

logger = logging.getLogger(__name__)

# --- the store --------------------------------------------------------------------------------------------

# Primary result codes that mean "try again later" rather than "this batch is wrong".
UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOLFS,
    }
)


def store_error(error: sqlite3.Error) -> StoreError:
    """StoreUnavailable for a busy, locked, full or unreachable database; StoreError for anything else."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in UNAVAILABLE_CODES:
        return StoreUnavailable(f"the SQLite store is unavailable: {error}")
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return StoreUnavailable(f"the SQLite store is unavailable: {error}")
    return StoreError(f"the SQLite store refused the write: {error}")


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if any. A failing ROLLBACK is logged: SQLite has then already undone it."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            logger.exception("ROLLBACK failed on the SQLite store")


class SqliteStore(SqliteReads, SqlStore[sqlite3.Connection]):
    """A Store on one SQLite file. Opening checks nothing but the file: call upgrade_schema (or create_schema)
    before writing. After close() every method raises StoreError."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> None:
        """Open (creating the file if absent) the database at `path`, or ":memory:" for a private one.

        Raises StoreError when the directory does not exist: a mistyped path must not end as an empty
        database somewhere else, so nothing is created.
        """
        self.path = os.fspath(path)
        if self.path != ":memory:":
            directory = Path(self.path).absolute().parent
            if not directory.is_dir():
                raise StoreError(f"the directory {directory} of the SQLite store does not exist; create it first")
        self._lock = threading.Lock()
        self._read_timeout_ms = busy_timeout_ms
        # Turn-taking with other processes writing the file; a private ":memory:" database has none.
        self._file_lock = None if self.path == ":memory:" else WriterLock(self.path, busy_timeout_ms / 1000)
        self._init_reads()
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as error:
            if self._file_lock is not None:
                self._file_lock.close()
            raise store_error(error) from error
        if mode != "wal" and self.path != ":memory:":
            logger.warning("SQLite store %s runs in journal mode %s, not WAL (network file system?)", self.path, mode)
        logger.debug("opened SQLite store %s (SQLite %s)", self.path, sqlite3.sqlite_version)

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; any error rolls back whole and becomes a StoreError."""
        with self._lock, self._writer_lock():
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                _rollback(conn)
                if isinstance(error, sqlite3.Error):
                    raise store_error(error) from error
                raise

    def _writer_lock(self) -> AbstractContextManager[None]:
        return nullcontext() if self._file_lock is None else self._file_lock.held()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the SQLite store is closed")
        return self._conn

    def _in_write_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._transaction() as conn:
            return work(conn)

    def _stored_event_ids(self, conn: sqlite3.Connection, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in reads.chunks(event_ids):
            text, bound = reads.in_list(reads.STORED_EVENT_IDS, {"ids": chunk})
            found.update(row[0] for row in conn.execute(text, bound))
        return found

    def _write_rows(self, conn: sqlite3.Connection, write: Write, rows: list[Params]) -> None:
        conn.executemany(UPSERTS[write.table.name], rows)

    def _query(self, conn: sqlite3.Connection, sql: str, params: Params) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    def _execute(self, conn: sqlite3.Connection, sql: str, params: Params) -> int:
        return conn.execute(sql, params).rowcount

    def schema_status(self) -> SchemaStatus:
        with self._lock:
            try:
                return migrations.status(catalog.read_catalog(self._connection()))
            except sqlite3.Error as error:
                raise store_error(error) from error

    def create_schema(self) -> list[str]:
        """Create the schema on an empty file, in one transaction; [] when current (see migrations.create)."""
        with self._transaction() as conn:
            return migrations.create(catalog.target(conn))

    def upgrade_schema(self) -> list[str]:
        """Add what is missing, record pending migrations and fill the old application's lineage ids, in one
        transaction (see migrations.upgrade and schemas.sql.backfill); the DDL and INSERT statements run."""
        with self._transaction() as conn:
            statements = migrations.upgrade(catalog.target(conn))
            backfill.backfill_legacy_edges(
                lambda sql, p: conn.execute(sql, p).fetchall(), conn.executemany, self.dialect
            )
            backfill.backfill_folded_names(
                lambda sql, p: conn.execute(sql, p).fetchall(), conn.executemany, self.dialect
            )
        if statements:
            logger.info("upgraded SQLite store %s: %d statements", self.path, len(statements))
        return statements

    def ping(self) -> None:
        with self._lock:
            try:
                self._connection().execute("SELECT 1").fetchone()
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the SQLite store does not answer: {error}") from error
            except StoreError as error:
                raise StoreUnavailable(str(error)) from error

    def close(self) -> None:
        """Close the connections. Idempotent."""
        self._close_reads()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._file_lock is not None:
                self._file_lock.close()
