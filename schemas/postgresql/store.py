"""The PostgreSQL store: the OL_* tables in one schema of a PostgreSQL database, through psycopg 3 and its pool.

Connections: a psycopg_pool.ConnectionPool (POOL_SIZE connections at most, in autocommit mode). Every connection
is checked before it is handed out (`_check`), so one the server dropped is replaced, not used, and with it every
idle one the server dropped at the same time (a restart, a failover); while the server is down, waiting for a
connection ends after `pool_timeout` seconds as StoreUnavailable, and once it answers again the pool connects by
itself. Opening the store connects in the background and fails for nothing.

Writes: the batch template is schemas.sqlstore.SqlStore's. This module runs it in one transaction on one pooled
connection, one batch of this process at a time (the writer lock), in pipeline mode: the rows of every table
(one statement of arrays each, schemas.postgresql.sql.unnest_upsert, or executemany where a table has an insert
default) go out together and are answered in one round trip. Rows are sorted by the table's key, so that two
writers (processes, hosts) lock the rows they share in the same order and rarely deadlock; the merge rules do
not depend on the order rows arrive in, and the sort is stable for two rows of one key. Deadlocks,
serialization failures and the unique violation of a concurrent writer storing the same event are retried
(schemas.postgresql.errors, schemas.retry): retried, the stored-id check finds that event stored and reports it
DUPLICATE. A batch reads the purge mark under a shared advisory lock that a purge step takes exclusively (under
READ COMMITTED nothing else keeps a purge from deleting, between a batch's read of the mark and its commit, a row
the batch leaves out as stored: see schemas.sql.memory).

Reads: SqlReads' statements on pooled connections of their own, outside any transaction: under MVCC a read
never waits for the writer and sees the last committed batch. Id lists are bound as one array
(schemas.postgresql.sql); every connection reads values as the store's types hold them
(schemas.postgresql.values).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from schemas import migrations
from schemas.dsn import Dialect, Dsn
from schemas.postgresql import catalog, errors, values
from schemas.postgresql.sql import pyformat, unnest_upsert, with_arrays
from schemas.retry import retrying
from schemas.sql import backfill, marks, reads
from schemas.sql.reads import Params
from schemas.sql.rules import Write, waves
from schemas.sql.upserts import UPSERTS, WRITES
from schemas.sqlstore import PURGE_MARK, Row, SqlStore
from schemas.store import SchemaStatus, StoreError, StoreUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")

Connection = psycopg.Connection[tuple[Any, ...]]
POOL_SIZE = 4  # the writer and three concurrent reads
POOL_TIMEOUT_SECONDS = 10.0  # waiting for a connection; past it, StoreUnavailable (HTTP 503)
PING_TIMEOUT_SECONDS = 2.0  # /ready answers quickly, even with the server gone
# The advisory lock between batches (shared) and purge steps (exclusive): one per schema of a database.
_PURGE_LOCK = "{kind}(1818848869, hashtext(current_schema()))"
_READ_PURGE_MARK = pyformat(f"SELECT {_PURGE_LOCK.format(kind='pg_advisory_xact_lock_shared')}, ({marks.MARK})")
_LOCK_FOR_PURGE = f"SELECT {_PURGE_LOCK.format(kind='pg_advisory_xact_lock')}"
_UNNESTS = {write.table.name: unnest_upsert(write) for write in WRITES}


def connection_string(dsn: Dsn) -> str:
    """The libpq connection string of a postgresql:// DSN: its parts, and its query parameters passed through (one
    that names a part again, `?password=...` say, wins, as in a libpq URI)."""
    parts: dict[str, str | int] = {
        "host": dsn.host,
        "port": dsn.port,
        "user": dsn.user,
        "password": dsn.password,
        "dbname": dsn.database,
    }
    given = {name: value for name, value in parts.items() if value}
    return conninfo.make_conninfo("", **{**given, **dict(dsn.options)})


class PostgresStore(SqlStore[Connection]):
    """A Store on one PostgreSQL database (its current schema). Call upgrade_schema (or create_schema) before
    writing. After close() every method raises StoreError."""

    def __init__(
        self,
        dsn: Dsn,
        *,
        pool_size: int = POOL_SIZE,
        pool_timeout: float = POOL_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.masked = dsn.masked()
        self._sleep = sleep
        self._writer = threading.Lock()
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            connection_string(dsn),
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            configure=lambda conn: values.register(conn.adapters),
            check=self._check,
            timeout=pool_timeout,
            name=self.masked,
            open=False,
        )
        self._pool.open(wait=False)
        self._closed = False

    @property
    def dialect(self) -> Dialect:
        return Dialect.POSTGRESQL

    def _check(self, conn: Connection) -> None:
        """The pool's check of a connection before handing it out. A session the server ended rarely ends alone (a
        restart or a failover ends them all), so a failed check has the pool check every idle one at once: left to
        itself, psycopg_pool would find them dead one by one, with a growing pause (1, 2, 4 s, ...) before each,
        and a write could wait past `pool_timeout` for a connection that a fresh connect gives at once."""
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            self._pool.check()
            raise

    @contextmanager
    def _connection(self, doing: str, timeout: float | None = None) -> Iterator[Connection]:
        """A pooled connection; a database error inside becomes StoreError or StoreUnavailable."""
        if self._closed:
            raise StoreError("the PostgreSQL store is closed")
        try:
            with self._pool.connection(timeout) as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as error:
            raise errors.classify(error, doing) from error

    # --- writes -------------------------------------------------------------------------------------------

    def _in_write_transaction(self, work: Callable[[Connection], T]) -> T:
        return self._transaction(work, pipelined=False)

    def _in_batch_transaction(self, work: Callable[[Connection], T]) -> T:
        """The batch in pipeline mode inside its transaction: the upserts of every table go out together and are
        answered in one round trip, where each table's executemany would wait for its own. A read (the purge mark,
        the stored ids) still waits for its answer. An error of any upsert is raised at the pipeline's end, inside
        the transaction, which then rolls back whole, and is retried like any other."""
        return self._transaction(work, pipelined=True)

    def _transaction(self, work: Callable[[Connection], T], *, pipelined: bool) -> T:
        def attempt() -> T:
            with self._connection("writing a batch") as conn, conn.transaction():
                if not pipelined:
                    return work(conn)
                with conn.pipeline():
                    return work(conn)

        with self._writer:
            return retrying(attempt, _verdict, self._sleep)

    def _stored_event_ids(self, conn: Connection, event_ids: list[str]) -> set[str]:
        sql = pyformat(with_arrays(reads.STORED_EVENT_IDS))
        return {row[0] for row in conn.execute(sql, {"ids": event_ids})}

    def _write_rows(self, conn: Connection, write: Write, rows: list[Params]) -> None:
        ordered = sorted(rows, key=lambda row: tuple(row[column] for column in write.key))
        statement = _UNNESTS[write.table.name]
        with conn.cursor() as cursor:
            if statement is None:
                cursor.executemany(pyformat(UPSERTS[write.table.name]), ordered)
                return
            for part in waves(ordered, write.key):
                cursor.execute(statement, {column: [row[column] for row in part] for column in write.columns})

    def _read_purge_mark(self, conn: Connection) -> object:
        found = conn.execute(_READ_PURGE_MARK, PURGE_MARK).fetchone()
        return None if found is None else found[1]

    def _move_purge_mark(self, conn: Connection) -> None:
        conn.execute(_LOCK_FOR_PURGE)
        super()._move_purge_mark(conn)

    def _query(self, conn: Connection, sql: str, params: Params) -> list[Row]:
        return [tuple(row) for row in conn.execute(pyformat(sql), params)]

    def _execute(self, conn: Connection, sql: str, params: Params) -> int:
        return conn.execute(pyformat(sql), params).rowcount

    # --- reads --------------------------------------------------------------------------------------------

    def _rows(self, sql: str, params: Params) -> list[Row]:
        """The rows as tuples, their values already as schemas.sql.reads holds them (schemas.postgresql.values)."""
        with self._connection("reading lineage") as conn:
            return conn.execute(pyformat(sql), params).fetchall()

    def _id_rows(self, sql: str, ids: list[str], params: Params) -> list[Row]:
        """One statement for the whole list, the ids bound as one array (see schemas.postgresql.sql)."""
        return self._rows(with_arrays(sql), {**params, "ids": ids})

    # --- schema -------------------------------------------------------------------------------------------

    def _migrate(self, action: Callable[[Connection], list[str]]) -> list[str]:
        """Run `action` in one transaction under the writer lock: DDL is transactional, so all of it or nothing."""
        with self._writer, self._connection("changing the schema") as conn, conn.transaction():
            statements = action(conn)
        if statements:
            logger.info("changed PostgreSQL store %s: %d statements", self.masked, len(statements))
        return statements

    def schema_status(self) -> SchemaStatus:
        with self._connection("reading the catalog") as conn:
            return migrations.status(catalog.read_catalog(_query(conn)))

    def create_schema(self) -> list[str]:
        """Create the schema in an empty schema, in one transaction; [] when current (see migrations.create)."""
        return self._migrate(lambda conn: migrations.create(_target(conn)))

    def upgrade_schema(self) -> list[str]:
        """Add what is missing, record pending migrations and fill the old application's lineage ids, in one
        transaction (see migrations.upgrade and schemas.sql.backfill); the DDL and INSERT statements run."""

        def upgrade(conn: Connection) -> list[str]:
            statements = migrations.upgrade(_target(conn))
            backfill.backfill_legacy_edges(_query(conn), partial(_execute_many, conn), self.dialect)
            backfill.backfill_folded_names(_query(conn), partial(_execute_many, conn), self.dialect)
            return statements

        return self._migrate(upgrade)

    def ping(self) -> None:
        try:
            with self._connection("answering a ping", PING_TIMEOUT_SECONDS) as conn:
                conn.execute("SELECT 1").fetchone()
        except StoreError as error:
            raise StoreUnavailable(str(error)) from error

    def close(self) -> None:
        """Close the pool and its connections. Idempotent."""
        self._flush_before_close()
        self._closed = True
        self._pool.close()


def _verdict(error: Exception) -> tuple[StoreError, bool] | None:
    """What schemas.retry does with a failed batch (already a StoreError, see `_connection`): try again after a
    deadlock, a serialization failure, the unique violation of a racing writer or a lost connection; not after
    the pool found no connection for `pool_timeout` already, nor after anything else."""
    if not isinstance(error, StoreError):
        return None
    cause = error.__cause__
    lost = errors.is_unavailable(cause) and not isinstance(cause, PoolTimeout) if cause else False
    return error, cause is not None and (errors.is_retried(cause) or lost)


def _execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(sql, rows)


def _query(conn: Connection) -> catalog.Query:
    return lambda sql, params: conn.execute(sql, params).fetchall()


def _target(conn: Connection) -> migrations.Target:
    return catalog.target(_query(conn), lambda sql, params: conn.execute(sql, params))
