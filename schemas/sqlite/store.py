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

The file under the connection: SQLite keeps writing to the file it opened even after that file is deleted or
replaced, and what it commits there is lost when the process ends. So every write transaction compares the
path's device and inode with those of the file opened (before BEGIN and again after COMMIT, before any caller
is told the batch is stored), and so does ping(); once they differ the store is lost for good (StoreUnavailable
on every call, until a restart opens the file then at the path). A read-only file, a full disk or an I/O error is
StoreUnavailable too, and the write connection is opened again before its next use, since a connection opened
on a read-only file stays read-only after the file becomes writable: the store recovers by itself.

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
        sqlite3.SQLITE_READONLY,  # a read-only file, directory or mount: the events are fine, the store is not
        sqlite3.SQLITE_NOTADB,  # the file at the path is no database (replaced, or not yet restored)
    }
)
# After these the write connection is opened anew before its next use: the old one may be the problem (opened
# read-only, or holding a file handle that now fails), and only a new one sees the file as it is now.
REOPEN_CODES = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB}
)
# A statement naming a table or column the file lacks: the schema is not current (someone dropped a table, or
# the file was never upgraded). Every write then fails whatever the events hold, so the store is unavailable,
# not the events unstorable.
SCHEMA_MISSING = ("no such table", "no such column", "has no column named")


def store_error(error: sqlite3.Error) -> StoreError:
    """StoreUnavailable for a busy, locked, full or unreachable database; StoreError for anything else."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in UNAVAILABLE_CODES:
        return StoreUnavailable(f"the SQLite store is unavailable: {error}")
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return StoreUnavailable(f"the SQLite store is unavailable: {error}")
    if isinstance(error, sqlite3.OperationalError) and any(text in str(error) for text in SCHEMA_MISSING):
        return StoreUnavailable(f"the SQLite store's schema is not current ({error}); run `lineage schema upgrade`")
    return StoreError(f"the SQLite store refused the write: {error}")


def _needs_reopen(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in REOPEN_CODES


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`; None when there is none."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


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

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000, create: bool = True) -> None:
        """Open the database at `path` (creating the file if absent, unless `create` is False), or ":memory:" for a
        private one.

        Raises StoreError when the directory does not exist: a mistyped path must not end as an empty
        database somewhere else, so nothing is created. With `create=False` a missing file is a StoreError too
        (the server: a deleted store must not come back as an empty file).
        """
        self.path = os.fspath(path)
        memory = self.path == ":memory:"
        if not memory:
            directory = Path(self.path).absolute().parent
            if not directory.is_dir():
                raise StoreError(f"the directory {directory} of the SQLite store does not exist; create it first")
            if not create and not os.path.exists(self.path):
                raise StoreError(
                    f"the SQLite store {self.path} does not exist; create it with `lineage schema upgrade` "
                    "(if it was deleted, restore it from a backup first: a new store starts empty)"
                )
        self._lock = threading.Lock()
        self._busy_timeout_ms = busy_timeout_ms
        self._read_timeout_ms = busy_timeout_ms
        # Turn-taking with other processes writing the file; a private ":memory:" database has none.
        self._file_lock = None if memory else WriterLock(self.path, busy_timeout_ms / 1000)
        self._init_reads()
        self._lost: str | None = None  # why the file under the connection is no longer the one at the path
        self._reopen = False  # the write connection failed in a way a new connection may not
        self._files: dict[str, tuple[int, int]] = {}  # path -> (device, inode) of the files SQLite has open
        try:
            self._conn: sqlite3.Connection | None = self._connect(self.path)
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.Error as error:
            if self._file_lock is not None:
                self._file_lock.close()
            raise store_error(error) from error
        if not memory:
            self._remember_files()
        if mode != "wal" and not memory:
            logger.warning("SQLite store %s runs in journal mode %s, not WAL (network file system?)", self.path, mode)
        logger.debug("opened SQLite store %s (SQLite %s)", self.path, sqlite3.sqlite_version)

    def _connect(self, target: str, *, uri: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            target, timeout=self._busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False, uri=uri
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _remember_files(self) -> None:
        """The database file and (in WAL mode) its -wal as opened: the files every later check compares."""
        for name in (self.path, self.path + "-wal"):
            found = _identity(name)
            if found is not None:
                self._files[name] = found

    def _check_files(self) -> None:
        """StoreUnavailable, for good, once a file SQLite has open is no longer the one at its path."""
        if self._lost is None:
            for name, opened in self._files.items():
                now = _identity(name)
                if now != opened:
                    what = "deleted" if now is None else "replaced by another file"
                    self._lost = (
                        f"the SQLite file {name} was {what} while the server had it open; nothing more is stored "
                        "until a restart (restore the file, or create a new store with `lineage schema upgrade`)"
                    )
                    logger.critical("%s", self._lost)
                    break
        if self._lost is not None:
            raise StoreUnavailable(self._lost)

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; any error rolls back whole and becomes a StoreError. The file
        is checked before BEGIN and after COMMIT: a batch committed into a deleted file is reported unavailable,
        never as stored."""
        with self._lock, self._writer_lock():
            self._check_files()
            conn = self._writable()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                _rollback(conn)
                if isinstance(error, sqlite3.Error):
                    self._reopen = self._reopen or _needs_reopen(error)
                    raise store_error(error) from error
                raise
            self._check_files()

    def _writable(self) -> sqlite3.Connection:
        """The write connection, opened anew first when the last one failed in a way only a new one can fix.
        The new one never creates the file (mode=rw): a vanished store must not come back empty."""
        conn = self._connection()
        if not self._reopen:
            return conn
        try:
            fresh = self._connect(Path(self.path).absolute().as_uri() + "?mode=rw", uri=True)
        except sqlite3.Error as error:
            raise store_error(error) from error
        conn.close()
        self._conn, self._reopen = fresh, False
        logger.info("reopened the SQLite store %s", self.path)
        return fresh

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
        """StoreUnavailable unless the file is the one opened, answers, and takes a write: a write transaction is
        begun and rolled back unwritten, which SQLite refuses on a read-only file or connection."""
        with self._lock:
            try:
                if self.path != ":memory:":
                    self._check_files()
                conn = self._writable()
                conn.execute("SELECT 1").fetchone()
                self._probe_write(conn)
            except sqlite3.Error as error:
                self._reopen = self._reopen or _needs_reopen(error)
                raise StoreUnavailable(f"the SQLite store does not answer: {error}") from error
            except StoreError as error:
                raise StoreUnavailable(str(error)) from error

    def _probe_write(self, conn: sqlite3.Connection) -> None:
        """Set user_version to itself inside a transaction that is rolled back: the page is never written, yet
        SQLite asks the file for write access. Skipped while another writer holds the file: it is writing, so
        the file takes writes, and waiting for it would make readiness wait for a batch."""
        if self._file_lock is None or not self._file_lock.try_hold():
            return
        try:
            conn.execute("PRAGMA busy_timeout = 0")  # a writer that does not take our lock (the sqlite3 shell) ...
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute(f"PRAGMA user_version = {int(version)}")
        except sqlite3.Error as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            # ... is writing: the file takes writes
        finally:
            _rollback(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            self._file_lock.release()

    def close(self) -> None:
        """Close the connections. Idempotent."""
        self._flush_before_close()
        self._close_reads()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._file_lock is not None:
                self._file_lock.close()
