"""The Teradata store: the OL_* tables in one Teradata database, through teradatasql.

Sessions: a small pool (default 4) of teradatasql connections. The driver blocks, so callers run the store's
methods in threads; reads may run concurrently, each on its own session, while writes go one at a time (one
writer lock) so that two batches of this process never deadlock each other.

Transaction mode: ANSI (`tmode=ANSI`), chosen deliberately. ANSI refuses to truncate a value that does not fit
(TERA mode cuts it silently; the store fits values itself and wants an error for anything else), and it is the
mode Teradata recommends for new applications. A batch runs with autocommit off and ends with commit(); on any
error the store calls rollback(), so nothing of a batch is half-written (in ANSI mode a failed request alone
would otherwise be undone and the transaction left open). DDL runs with autocommit on, one statement per
transaction, as ANSI mode requires.

Writes: the batch template is schemas.sqlstore.SqlStore's; this module supplies the pooled, retrying transaction
and sends each table's rows as schemas.teradata.sql plans them for this database's catalog.

Errors: teradatasql raises OperationalError whose message carries `[Error NNNN]`. TRANSIENT codes and lost
sessions are retried with backoff inside the writer (schemas.retry: TRIES attempts in all), then StoreUnavailable
(HTTP 503); any other code fails the batch at once with StoreError naming the code.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from schemas import migrations
from schemas.dsn import Dialect, Dsn
from schemas.migrations import Catalog
from schemas.retry import retrying
from schemas.sql import backfill, ddl, reads
from schemas.sql.reads import Params
from schemas.sql.rules import Write, waves
from schemas.sqlstore import SqlStore
from schemas.store import SchemaStatus, StoreError, StoreUnavailable
from schemas.teradata import catalog as teradata_catalog
from schemas.teradata import sql as teradata_sql

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Codes worth the same transaction again, from Teradata's "Responding to Error and Failure Parcels" (CLIv2):
TRANSIENT = {
    2631: "transaction aborted due to deadlock",
    2639: "too many simultaneous transactions",
    2641: "table was restructured; resubmit",
    2825: "no record of the last request after a database restart",
    2826: "request completed but its output was lost in a database restart",  # safe: a batch is idempotent
    2828: "request rolled back during system recovery",
    2835: "a unique index was invalidated; resubmit",
    3111: "the transaction timed out",
    3120: "request aborted by a database recovery",
    3598: "concurrent change conflict on the database",
    # Two server processes inserting the same new event: the retry's duplicate check then finds it stored.
    2801: "duplicate unique primary key (a concurrent writer stored the same event)",
}
POOL_SIZE = 4
# Every session of ours carries this query band, so that `lineage populate dbql` (which leaves out queries banded
# `LineageServer=...`) never reads the store's own writes back as lineage.
QUERY_BAND = "SET QUERY_BAND = 'LineageServer=store;' FOR SESSION"
POOL_WAIT_SECONDS = 30.0
_CODE = re.compile(r"\[Error (\d+)\]")


class Cursor(Protocol):
    def execute(self, sql: str, params: Any = ...) -> Any: ...
    def executemany(self, sql: str, params: Any) -> Any: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...
    def fetchone(self) -> Sequence[Any] | None: ...
    def close(self) -> None: ...
    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    """The DB-API methods the store uses; teradatasql's connection, or a recording one in tests."""

    autocommit: bool

    def cursor(self) -> Cursor: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


Connect = Callable[[], Connection]


def error_code(error: BaseException) -> int | None:
    """The Teradata error code of a driver error (`[Error 2631]` in its message), None when it has none."""
    found = _CODE.findall(str(error))
    return int(found[-1]) if found else None


def is_session_loss(error: BaseException) -> bool:
    """True when the session itself is gone: a socket error, or a driver error the database did not send."""
    return isinstance(error, OSError) or (error_code(error) is None and "[Teradata Database]" not in str(error))


def classify(error: BaseException, doing: str) -> StoreError:
    """StoreUnavailable for what may succeed later, StoreError (with the Teradata code) for anything else."""
    code = error_code(error)
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if code in TRANSIENT or is_session_loss(error):
        return StoreUnavailable(f"the Teradata store is unavailable while {doing}: {first_line}")
    return StoreError(f"Teradata refused {doing} [Error {code}]: {first_line}")


def connect_parameters(dsn: Dsn) -> dict[str, str]:
    """teradatasql.connect keyword arguments for a teradata:// DSN. The port is passed (`dbs_port`): the seed
    application ignored it. encryptdata protects the lineage on the wire when TLS is not in use."""
    return {
        "host": dsn.host,
        "user": dsn.user,
        "password": dsn.password,
        "database": database_name(dsn),
        "dbs_port": str(dsn.port),
        "tmode": "ANSI",
        "encryptdata": "true",
    }


def database_name(dsn: Dsn) -> str:
    """The database holding the OL_* tables: the DSN's, else the user's own (Teradata's default database)."""
    return ddl.check_identifier(dsn.database or dsn.user)


def driver_connect(dsn: Dsn) -> Connect:
    """A connection factory over teradatasql, imported only here so that the package works without it."""

    def connect() -> Connection:
        try:
            driver: Any = importlib.import_module("teradatasql")  # Any: the driver's functions are untyped
        except ImportError as error:
            raise StoreError("the Teradata store needs the driver: pip install teradatasql") from error
        connection: Connection = driver.connect(**connect_parameters(dsn))
        return connection

    return connect


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the database said no" rather than a bug in the caller."""
    try:
        import teradatasql
    except ImportError:
        return (OSError,)
    return (teradatasql.Error, OSError)


class _Pool:
    """At most `size` open sessions, idle ones reused (last in, first out: the warmest). A session that failed
    with a session loss is closed rather than returned."""

    def __init__(self, connect: Connect, size: int) -> None:
        self._connect = connect
        self._idle: list[Connection] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.closed = False

    @contextmanager
    def session(self, *, autocommit: bool, errors: tuple[type[BaseException], ...]) -> Iterator[Connection]:
        if self.closed:
            raise StoreError("the Teradata store is closed")
        if not self._slots.acquire(timeout=POOL_WAIT_SECONDS):
            raise StoreUnavailable(f"no Teradata session free after {POOL_WAIT_SECONDS:.0f} s")
        connection: Connection | None = None
        try:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                connection = self._open(errors)
            if connection.autocommit != autocommit:
                connection.autocommit = autocommit
            yield connection
        except BaseException as error:
            if connection is not None and isinstance(error, errors) and is_session_loss(error):
                _close_quietly(connection)
                connection = None
            raise
        finally:
            if connection is not None:
                with self._lock:
                    keep = not self.closed
                    if keep:
                        self._idle.append(connection)
                if not keep:
                    _close_quietly(connection)
            self._slots.release()

    def _open(self, errors: tuple[type[BaseException], ...]) -> Connection:
        try:
            connection = self._connect()
        except errors as error:
            raise classify(error, "opening a session") from error
        try:
            connection.autocommit = True
            execute(connection, QUERY_BAND)
        except errors as error:
            _close_quietly(connection)
            raise classify(error, "opening a session") from error
        return connection

    def close(self) -> None:
        self.closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            _close_quietly(connection)


def _close_quietly(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # the session is being dropped because it failed; its close may fail too
        logger.debug("closing a failed Teradata session failed", exc_info=True)


def _rollback(connection: Connection) -> None:
    try:
        connection.rollback()
    except Exception:  # a lost session has no transaction left to undo; the database rolled it back
        logger.warning("ROLLBACK failed on the Teradata store; the session is dropped", exc_info=True)


def query(connection: Connection, sql: str, params: Sequence[object] = ()) -> list[Sequence[Any]]:
    """Run one statement and return its rows; parameters always go as a tuple (the driver takes list or tuple)."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def execute(connection: Connection, sql: str, params: Sequence[object] = ()) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
    finally:
        cursor.close()


def executemany(connection: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    cursor = connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


class TeradataStore(SqlStore[Connection]):
    """A Store on one Teradata database. Opening connects to nothing: the first call opens a session. Call
    upgrade_schema (or create_schema) before writing. After close() every method raises StoreError."""

    def __init__(
        self, dsn: Dsn, *, connect: Connect | None = None, pool_size: int = POOL_SIZE, sleep: Callable[[float], None]
        = time.sleep
    ) -> None:  # fmt: skip
        self.database = database_name(dsn)
        self.masked = dsn.masked()
        self._pool = _Pool(connect or driver_connect(dsn), pool_size)
        self._errors = driver_errors()
        self._writer = threading.Lock()
        self._plan: dict[str, teradata_sql.TableWrite] | None = None
        self._sleep = sleep

    @property
    def dialect(self) -> Dialect:
        return Dialect.TERADATA

    # --- writes -------------------------------------------------------------------------------------------

    def _in_write_transaction(self, work: Callable[[Connection], T]) -> T:
        """One batch at a time (the writer lock), on statements planned for this database's catalog."""
        with self._writer:
            self._write_plan()
            return self._retrying("writing a batch", work)

    def _stored_event_ids(self, conn: Connection, event_ids: list[str]) -> set[str]:
        stored: set[str] = set()
        sql = teradata_sql.stored_events_sql(self.database)
        for chunk in teradata_sql.id_chunks(event_ids):
            stored.update(str(row[0]) for row in query(conn, sql, chunk))
        return stored

    def _write_rows(self, conn: Connection, write: Write, rows: list[Params]) -> None:
        table_write = self._write_plan()[write.table.name]
        for wave in waves(rows, write.key):
            for statement in table_write.statements:
                executemany(conn, statement.sql, teradata_sql.bind(statement, wave, table_write.fit))

    def _query(self, conn: Connection, sql: str, params: Params) -> list[tuple[Any, ...]]:
        text, values = teradata_sql.bind_sql(sql, params, self.database)
        return [tuple(row) for row in query(conn, text, values)]

    def _execute(self, conn: Connection, sql: str, params: Params) -> int:
        text, values = teradata_sql.bind_sql(sql, params, self.database)
        cursor = conn.cursor()
        try:
            cursor.execute(text, values)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _retrying(self, doing: str, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction, committed; transient failures are retried with backoff (schemas.retry),
        then 503."""

        def attempt() -> T:
            with self._pool.session(autocommit=False, errors=self._errors) as conn:
                try:
                    result = work(conn)
                    conn.commit()
                    return result
                except BaseException:
                    _rollback(conn)
                    raise

        def verdict(error: Exception) -> tuple[StoreError, bool] | None:
            if not isinstance(error, self._errors):
                return None
            failure = classify(error, doing)
            return failure, isinstance(failure, StoreUnavailable)

        return retrying(attempt, verdict, self._sleep)

    def _write_plan(self) -> dict[str, teradata_sql.TableWrite]:
        """The statements for this database, built once from its catalog (its PIs, widths, precisions)."""
        if self._plan is None:
            catalog = self.catalog()
            if not migrations.status(catalog).current or migrations.missing_ddl(
                catalog, Dialect.TERADATA, self.database
            ):
                raise StoreError("the Teradata schema is not current; run `lineage schema upgrade` first")
            self._plan = {tw.write.table.name: tw for tw in teradata_sql.plan(self.database, catalog)}
        return self._plan

    # --- schema -------------------------------------------------------------------------------------------

    def catalog(self) -> Catalog:
        with self._session("reading the catalog") as conn:
            return teradata_catalog.read_catalog(lambda sql, p: query(conn, sql, p), self.database)

    def schema_status(self) -> SchemaStatus:
        return migrations.status(self.catalog())

    def create_schema(self) -> list[str]:
        """Create the schema on an empty database; [] when current (see migrations.create)."""
        return self._migrate(migrations.create)

    def upgrade_schema(self) -> list[str]:
        """Add what is missing, widen what can be widened, record pending migrations, then fill the old
        application's lineage ids (schemas.sql.backfill); never drops. The DDL and INSERT statements run."""
        statements = self._migrate(migrations.upgrade)
        with self._writer, self._session("filling legacy lineage ids") as conn:
            backfill.backfill_legacy_edges(
                lambda sql, p: query(conn, sql, p),
                lambda sql, rows: executemany(conn, sql, rows),
                self.dialect,
                self.database,
            )
            backfill.backfill_folded_names(
                lambda sql, p: query(conn, sql, p),
                lambda sql, rows: executemany(conn, sql, rows),
                self.dialect,
                self.database,
            )
        for blocked in migrations.blocked_widenings(self.catalog(), Dialect.TERADATA):
            logger.warning("Teradata store %s: %s; longer values are cut to fit", self.masked, blocked)
        return statements

    def _migrate(self, action: Callable[[migrations.Target], list[str]]) -> list[str]:
        self._plan = None  # the catalog changes: statements are planned again on the next write
        with self._writer, self._session("changing the schema") as conn:
            target = teradata_catalog.target(
                lambda sql, p: query(conn, sql, p), lambda sql, p: execute(conn, sql, p), self.database
            )
            statements = action(target)
        if statements:
            logger.info("changed Teradata store %s: %d statements", self.masked, len(statements))
        return statements

    @contextmanager
    def _session(self, doing: str) -> Iterator[Connection]:
        """An autocommit session; driver errors become StoreError or StoreUnavailable (no retry: not a batch)."""
        try:
            with self._pool.session(autocommit=True, errors=self._errors) as conn:
                yield conn
        except self._errors as error:
            raise classify(error, doing) from error

    def _rows(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        """Run one schemas.sql.reads statement (the read methods come from SqlReads) on a pooled session of its own:
        reads run concurrently with each other and with the writer."""
        text, values = teradata_sql.read_sql(sql, params, self.database)
        with self._session("reading lineage") as conn:
            return [tuple(reads.read_value(v) for v in row) for row in query(conn, text, values)]

    def ping(self) -> None:
        try:
            with self._session("answering a ping") as conn:
                query(conn, "SELECT 1")
        except StoreError as error:
            raise StoreUnavailable(str(error)) from error

    def close(self) -> None:
        """Close every idle session; sessions in use close when returned. Idempotent."""
        self._flush_before_close()
        self._pool.close()
