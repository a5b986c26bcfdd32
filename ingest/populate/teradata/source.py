"""The Teradata session the catalog and DBQL populations read through: the Teradata backend's driver code
(schemas.teradata.store: connection parameters, error codes and their classification) and its retry loop
(schemas.retry), with what reading DBC needs on top.

- The session carries our query band (`SET QUERY_BAND ... FOR SESSION`), which the DBQL read leaves out: the
  population's own queries are never read back as lineage.
- Rows are fetched `fetchmany` at a time, never `fetchall`: a DBQL window of millions of rows streams.
- A statement that fails with a transient error (deadlock, restart, lost session) before its first row is sent
  again (schemas.retry); a failure midway ends the run before the watermark moves, so the next run reads it again.
- Error 3523 (no SELECT right on a DBC view or a PDCR table) gets a message naming the grant a DBA must give.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from ingest.populate.teradata.dbc_sql import SET_QUERY_BAND
from schemas.dsn import Dsn
from schemas.retry import retrying
from schemas.store import StoreError, StoreUnavailable
from schemas.teradata import store as teradata

logger = logging.getLogger(__name__)

FETCH_ROWS = 2000  # rows per fetchmany: a DBQL text row is up to 31,000 characters
NO_ACCESS = 3523  # "The user does not have <right> access to <object>."


class SourceError(Exception):
    """Reading Teradata failed; the message says what to do about it."""


class Cursor(Protocol):
    description: Sequence[Sequence[Any]] | None

    def execute(self, sql: str, params: Any = ...) -> Any: ...
    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]: ...
    def close(self) -> None: ...


class Connection(Protocol):
    autocommit: bool

    def cursor(self) -> Cursor: ...
    def close(self) -> None: ...


def explain(error: BaseException, doing: str, user: str) -> SourceError:
    """A driver error as the message an operator can act on."""
    code = teradata.error_code(error)
    if code == NO_ACCESS:
        first = str(error).strip().splitlines()[0]
        return SourceError(
            f"Teradata error 3523 while {doing}: the user {user} lacks the SELECT right it needs ({first}). "
            f"A DBA grants it, for example: GRANT SELECT ON DBC.QryLogV TO {user}; GRANT SELECT ON DBC.QryLogSQLV "
            f"TO {user}; GRANT SELECT ON DBC.TablesV TO {user}; GRANT SELECT ON DBC.ColumnsV TO {user}; "
            f"(with --pdcr: GRANT SELECT ON PDCRINFO TO {user};)"
        )
    return SourceError(str(teradata.classify(error, doing)).replace("the Teradata store", "Teradata"))


class TeradataSource:
    """One autocommit session on the Teradata system being read. Not thread-safe. close() when done."""

    def __init__(
        self, dsn: Dsn, *, connect: Callable[[], Any] | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.user = dsn.user
        self.where = dsn.masked()
        self._connect: Callable[[], Any] = connect or teradata.driver_connect(dsn)
        self._errors = teradata.driver_errors()
        self._sleep = sleep
        self._conn: Connection | None = None

    def _session(self) -> Connection:
        if self._conn is None:
            try:
                conn: Connection = self._connect()
                conn.autocommit = True
                cursor = conn.cursor()
                try:
                    cursor.execute(SET_QUERY_BAND, ())
                finally:
                    cursor.close()
            except StoreError as error:
                raise SourceError(f"cannot connect to {self.where}: {error}") from error
            except self._errors as error:
                raise explain(error, f"connecting to {self.where}", self.user) from error
            self._conn = conn
        return self._conn

    def rows(self, sql: str, params: Sequence[object] = (), *, doing: str) -> Iterator[Mapping[str, Any]]:
        """The rows of one statement as mappings keyed by column name, fetched FETCH_ROWS at a time."""
        cursor = retrying(lambda: self._execute(sql, params, doing), self._verdict(doing), self._sleep)
        try:
            names = [str(column[0]) for column in cursor.description or ()]
            while True:
                try:
                    batch = cursor.fetchmany(FETCH_ROWS)
                except self._errors as error:
                    self._drop()
                    raise explain(error, doing, self.user) from error
                if not batch:
                    return
                for row in batch:
                    yield dict(zip(names, row, strict=True))
        finally:
            _close(cursor)

    def error_code_of(self, sql: str, doing: str) -> int | None:
        """Run `sql` for its error alone (the QVCI probe): None when it succeeds, else the Teradata code."""
        try:
            for _ in self.rows(sql, doing=doing):
                pass
        except SourceError as error:
            cause = error.__cause__
            return teradata.error_code(cause) if cause is not None else None
        return None

    def _execute(self, sql: str, params: Sequence[object], doing: str) -> Cursor:
        cursor = self._session().cursor()
        try:
            cursor.execute(sql, tuple(params))
        except BaseException:
            _close(cursor)
            raise
        return cursor

    def _verdict(self, doing: str) -> Callable[[Exception], tuple[StoreError, bool] | None]:
        def verdict(error: Exception) -> tuple[StoreError, bool] | None:
            if isinstance(error, SourceError):
                return None
            if not isinstance(error, self._errors):
                return None
            failure = teradata.classify(error, doing)
            again = isinstance(failure, StoreUnavailable)
            if teradata.is_session_loss(error):
                self._drop()
            if not again:
                raise explain(error, doing, self.user) from error
            return failure, again

        return verdict

    def _drop(self) -> None:
        if self._conn is not None:
            _close(self._conn)
            self._conn = None

    def close(self) -> None:
        self._drop()


def _close(thing: Cursor | Connection) -> None:
    try:
        thing.close()
    except Exception:  # closing after a failure may fail too; the failure is what matters
        logger.debug("closing a Teradata cursor or session failed", exc_info=True)
