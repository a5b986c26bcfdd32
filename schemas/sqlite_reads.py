"""The Store read methods for SQLite: schemas.reads' statements on read-only connections of their own.

Why separate connections: the store's one write connection is held under a lock for a whole batch, and a
lineage query must not wait for a group commit. In WAL mode readers never block the writer nor each other,
so each reading thread opens its own `mode=ro` connection (threading.local) on first use; each read sees
the last committed state. The connections are closed with the store. A ":memory:" database is private to
its one connection, so there reads share the write connection under the lock (tests only).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson

from schemas import reads
from schemas.dsn import Dialect
from schemas.reads import (
    ColumnEdge,
    DatasetInfo,
    DatasetLink,
    Direction,
    EventInfo,
    FacetInfo,
    FieldInfo,
    JobInfo,
    JobLink,
    NamespaceInfo,
    Page,
    Paged,
    Params,
    RunInfo,
    SearchHit,
    SearchKind,
    TimeWindow,
)
from schemas.rows import make_key
from schemas.store import StoreError, StoreUnavailable

T = TypeVar("T")
Row = tuple[Any, ...]


class SqlReads:
    """The Store read methods on top of one primitive, `_rows(sql, params)`, which runs a statement of
    schemas.reads (`:name` parameters) and returns its rows. Dialect-neutral: a Teradata or PostgreSQL store
    inherits it and implements `_rows` (rewriting the parameter markers) and `dialect`."""

    @property
    def dialect(self) -> Dialect:
        raise NotImplementedError

    def _rows(self, sql: str, params: Params) -> list[Row]:
        raise NotImplementedError

    def _build(self, kind: Callable[..., T], sql: str, params: Params) -> list[T]:
        rows = self._rows(sql, params)
        named_tuple = isinstance(kind, type) and issubclass(kind, tuple)
        if named_tuple:
            # A NamedTuple (ColumnEdge): the row tuple is cast as it is, skipping the class's Python-level
            # __new__, a third of the cost of building one; a lineage answer builds thousands.
            cast_row = cast(Callable[[Row], T], partial(tuple.__new__, cast(type, kind)))
            return list(map(cast_row, rows))
        return [kind(*row) for row in rows]

    def _by_ids(self, kind: Callable[..., T], sql: str, ids: Sequence[str], params: Params | None = None) -> list[T]:
        """Run `sql` once per chunk of ids (its `{ids}` list), concatenating the results."""
        found: list[T] = []
        unique = list(dict.fromkeys(ids))
        for chunk in reads.chunks(unique):
            text, bound = reads.in_list(sql, {"ids": chunk})
            found.extend(self._build(kind, text, {**(params or {}), **bound}))
        return found

    def _paged(self, kind: Callable[..., T], sql: str, order: str, params: Params, page: Page) -> Paged[T]:
        items = self._build(kind, reads.paged(self.dialect, sql, order), {**params, **reads.page_params(page)})
        if page.offset == 0 and len(items) < page.limit:
            return Paged(items, len(items))  # the whole answer is on this page: no COUNT needed
        total = self._rows(reads.counted(sql), params)[0][0]
        return Paged(items, int(total))

    # --- lineage ----------------------------------------------------------------------------------------

    def column_edges(self, field_ids: Sequence[str], direction: Direction) -> list[ColumnEdge]:
        return self._by_ids(ColumnEdge, reads.COLUMN_EDGES[direction], field_ids)

    def dataset_links(self, dataset_ids: Sequence[str], direction: Direction) -> list[DatasetLink]:
        return self._by_ids(DatasetLink, reads.DATASET_LINKS[direction], dataset_ids)

    def job_links(self, ids: Sequence[str], *, of_jobs: bool = False) -> list[JobLink]:
        return self._by_ids(JobLink, reads.JOB_LINKS_BY_JOB if of_jobs else reads.JOB_LINKS_BY_DATASET, ids)

    # --- catalog ----------------------------------------------------------------------------------------

    def namespaces(self, page: Page) -> Paged[NamespaceInfo]:
        return self._paged(NamespaceInfo, reads.NAMESPACES, "uri, namespace_id", {}, page)

    def namespaces_by_ids(self, namespace_ids: Sequence[str]) -> list[NamespaceInfo]:
        return self._by_ids(NamespaceInfo, reads.NAMESPACES_BY_IDS, namespace_ids)

    def datasets(self, namespace_id: str, page: Page) -> Paged[DatasetInfo]:
        params = {"namespace_id": namespace_id}
        return self._paged(DatasetInfo, reads.DATASETS_OF_NAMESPACE, reads.DATASET_ORDER, params, page)

    def datasets_by_ids(self, dataset_ids: Sequence[str]) -> list[DatasetInfo]:
        return self._by_ids(DatasetInfo, reads.DATASETS_BY_IDS, dataset_ids)

    def datasets_by_name(self, name: str) -> list[DatasetInfo]:
        found = self._build(DatasetInfo, reads.DATASETS_BY_NAME_KEY, {"name_key": make_key(name)})
        return [d for d in found if d.name == name]  # a hash match is checked against the name itself

    def datasets_in_database(self, database: str, limit: int) -> list[DatasetInfo]:
        params = {"prefix": reads.like_pattern(database + ".", prefix_only=True)}
        page = self._paged(DatasetInfo, reads.DATASETS_IN_DATABASE, reads.DATASET_ORDER, params, Page(limit))
        return page.items

    def fields(self, dataset_ids: Sequence[str]) -> list[FieldInfo]:
        return self._by_ids(FieldInfo, reads.FIELDS_OF_DATASETS, dataset_ids)

    def fields_by_ids(self, field_ids: Sequence[str]) -> list[FieldInfo]:
        return self._by_ids(FieldInfo, reads.FIELDS_BY_IDS, field_ids)

    def jobs(self, namespace_id: str, page: Page) -> Paged[JobInfo]:
        return self._paged(JobInfo, reads.JOBS_OF_NAMESPACE, reads.JOB_ORDER, {"namespace_id": namespace_id}, page)

    def jobs_by_ids(self, job_ids: Sequence[str]) -> list[JobInfo]:
        return self._by_ids(JobInfo, reads.JOBS_BY_IDS, job_ids)

    def runs(self, job_id: str, page: Page) -> Paged[RunInfo]:
        return self._paged(RunInfo, reads.RUNS_OF_JOB, reads.RUN_ORDER, {"job_id": job_id}, page)

    def runs_by_ids(self, run_ids: Sequence[str]) -> list[RunInfo]:
        return self._by_ids(RunInfo, reads.RUNS_BY_IDS, run_ids)

    def runs_writing(self, dataset_id: str, page: Page) -> list[RunInfo]:
        return self._paged(RunInfo, reads.RUNS_WRITING, reads.RUN_ORDER, {"dataset_id": dataset_id}, page).items

    def facets(self, owner: str, entity_ids: Sequence[str], names: Sequence[str]) -> list[FacetInfo]:
        found: list[FacetInfo] = []
        for chunk in reads.chunks(list(dict.fromkeys(entity_ids))):
            text, bound = reads.in_list(reads.FACETS, {"ids": chunk, "names": list(names)})
            found.extend(self._build(FacetInfo, text, {"owner": owner, **bound}))
        return found

    def events(self, window: TimeWindow, page: Page) -> Paged[EventInfo]:
        params = {"after": window.after, "before": window.before}
        return self._paged(EventInfo, reads.EVENTS, reads.EVENT_ORDER, params, page)

    def search(self, text: str, kinds: Sequence[SearchKind], page: Page) -> Paged[SearchHit]:
        if not kinds:
            return Paged([], 0)
        statement = reads.search_statement(kinds)
        return self._paged(SearchHit, statement, reads.SEARCH_ORDER, {"pattern": reads.like_pattern(text)}, page)


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
                # from the map costs no system call (the p99 of the query benchmark drops by about a tenth).
                conn.execute(f"PRAGMA mmap_size = {self._read_mmap_bytes}")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the SQLite store cannot be read: {error}") from error
            self._readers.append(conn)
        self._local.conn = conn
        return conn

    def _by_ids(self, kind: Callable[..., T], sql: str, ids: Sequence[str], params: Params | None = None) -> list[T]:
        """One statement for the whole list, the ids bound as one JSON array read by json_each: the statement's
        text never changes, so SQLite keeps it prepared, and nothing is cut into chunks (a traversal level
        costs about a tenth less than with IN lists of bound parameters)."""
        if not _JSON_EACH:
            return super()._by_ids(kind, sql, ids, params)
        array = orjson.dumps(list(dict.fromkeys(ids))).decode()
        return self._build(kind, sql.format(ids=_JSON_IDS), {**(params or {}), "ids": array})

    def _close_reads(self) -> None:
        with self._readers_lock:
            self._reads_closed = True
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        try:
            if self.path == ":memory:":
                with self._lock:
                    yield self._connection()
            else:
                yield self._reader()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"the SQLite store could not be read: {error}") from error

    def _rows(self, sql: str, params: Params) -> list[Row]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()
