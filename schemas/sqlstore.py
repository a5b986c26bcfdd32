"""The one SQL store skeleton: `write_batch` as one template and the Store read methods, on top of a few
primitives a backend supplies.

Every SQL backend (SQLite, Teradata, PostgreSQL) inherits SqlStore and implements:
- `dialect`, and `_rows(sql, params)`, which runs one statement of schemas.sql.reads (`:name` parameters) and
  returns its rows (the reads, in SqlReads);
- `_in_write_transaction(work)`: run `work(connection)` in one transaction, committed, rolled back whole on any
  error (Teradata: retried when transient);
- `_stored_event_ids(connection, ids)`: which of the ids OL_EVENT holds, seen inside that transaction;
- `_write_rows(connection, write, rows)`: send one table's rows (schemas.sql.upserts.WRITES) in batch order, as
  the backend renders that table's merge rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from operator import itemgetter
from typing import Any, Generic, TypeVar, cast

from schemas.dsn import Dialect
from schemas.rows import EventRows, make_key
from schemas.sql import reads
from schemas.sql.reads import Params
from schemas.sql.rules import Write
from schemas.sql.upserts import WRITES
from schemas.store import (
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
    RunInfo,
    SearchHit,
    SearchKind,
    TimeWindow,
    WriteOutcome,
)

T = TypeVar("T")
Conn = TypeVar("Conn")
Row = tuple[Any, ...]


def _make(kind: Callable[..., T], rows: list[Row]) -> list[T]:
    named_tuple = isinstance(kind, type) and issubclass(kind, tuple)
    if named_tuple:
        # A NamedTuple (ColumnEdge): each row tuple is cast to it as it is. A traversal builds one per edge, and
        # NamedTuple._make (a Python-level call per row) showed in the query benchmark's p50 and p99; the cast
        # runs in C. Field order is the SELECT order, so the cast is exact.
        cast_row = cast(Callable[[Row], T], partial(tuple.__new__, cast(type, kind)))
        return list(map(cast_row, rows))
    return [kind(*row) for row in rows]


def _row_order(row: Row) -> tuple[tuple[bool, Any], ...]:
    """A sort key for rows that may hold NULLs: NULL after every value of its column."""
    return tuple((value is None, "" if value is None else value) for value in row)


def _order_of(kind: Callable[..., Any]) -> Callable[[Row], Any]:
    """How rows of `kind` are sorted. A column edge is identified by its first column (lineage_id, never NULL),
    and a traversal level sorts thousands of them: comparing that one string costs a fraction of `_row_order`."""
    return itemgetter(0) if kind is ColumnEdge else _row_order


class SqlReads:
    """The Store read methods on top of one primitive, `_rows(sql, params)`, which runs a statement of
    schemas.sql.reads (`:name` parameters) and returns its rows. Dialect-neutral: a Teradata or PostgreSQL store
    inherits it and implements `_rows` (rewriting the parameter markers) and `dialect`."""

    @property
    def dialect(self) -> Dialect:
        raise NotImplementedError

    def _rows(self, sql: str, params: Params) -> list[Row]:
        raise NotImplementedError

    def _build(self, kind: Callable[..., T], sql: str, params: Params) -> list[T]:
        """Run `sql` and build one `kind` per row, fields in SELECT order (schemas.sql.reads.select_list)."""
        return _make(kind, self._rows(sql, params))

    def _by_ids(self, kind: Callable[..., T], sql: str, ids: Sequence[str], params: Params | None = None) -> list[T]:
        """Run `sql` (its `{ids}` list) for the ids; the rows in one order on every backend, sorted by their values.

        Each database returns such rows in an order of its own (SQLite in index order, PostgreSQL as its heap holds
        them, which changes with every update), and the read APIs build their lists in row order: sorted, the same
        events give the same answers on every store."""
        unique = list(dict.fromkeys(ids))
        if not unique:
            return []
        rows = self._id_rows(sql, unique, params or {})
        rows.sort(key=_order_of(kind))
        return _make(kind, rows)

    def _id_rows(self, sql: str, ids: list[str], params: Params) -> list[Row]:
        """The rows of `sql` for the ids: once per chunk of an IN list (a backend may bind them otherwise)."""
        found: list[Row] = []
        for chunk in reads.chunks(ids):
            text, bound = reads.in_list(sql, {"ids": chunk})
            found.extend(self._rows(text, {**params, **bound}))
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

    def recent_runs(self, page: Page) -> list[RunInfo]:
        return self._paged(RunInfo, reads.RUNS, reads.RECENT_RUN_ORDER, {}, page).items

    def run_events(self, run_id: str, page: Page) -> Paged[EventInfo]:
        return self._paged(EventInfo, reads.RUN_EVENTS, reads.RUN_EVENT_ORDER, {"run_id": run_id}, page)

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


class SqlStore(SqlReads, Generic[Conn]):
    """The Store write template over a backend's connection type `Conn` (see the module docstring)."""

    def _in_write_transaction(self, work: Callable[[Conn], T]) -> T:
        raise NotImplementedError

    def _stored_event_ids(self, conn: Conn, event_ids: list[str]) -> set[str]:
        raise NotImplementedError

    def _write_rows(self, conn: Conn, write: Write, rows: list[Params]) -> None:
        raise NotImplementedError

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        """Write the batch in one transaction; one outcome per event, in order (see Store.write_batch)."""
        first: dict[str, int] = {}  # event_id -> index of its first copy in the batch
        for index, rows in enumerate(batch):
            first.setdefault(rows.event.event_id, index)
        if not batch:
            return []
        written = self._in_write_transaction(lambda conn: self._write_new(conn, batch, first))
        return [
            WriteOutcome.STORED
            if rows.event.event_id in written and first[rows.event.event_id] == i
            else WriteOutcome.DUPLICATE
            for i, rows in enumerate(batch)
        ]

    def _write_new(self, conn: Conn, batch: Sequence[EventRows], first: dict[str, int]) -> set[str]:
        """Write the first copy of every event not stored yet, table by table in WRITES order; their ids.

        The stored-id check runs inside the write transaction, so two writers of the same event cannot both find
        it new and both store it (the second one waits, conflicts or, retried, finds it stored)."""
        stored = self._stored_event_ids(conn, list(first))
        new = [batch[i] for event_id, i in first.items() if event_id not in stored]
        for write in WRITES:
            rows = [params for event in new for params in write.params(event)]
            if rows:
                self._write_rows(conn, write, rows)
        return {rows.event.event_id for rows in new}
