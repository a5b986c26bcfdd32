"""The one SQL store skeleton: `write_batch` as one template and the Store read methods, on top of a few
primitives a backend supplies.

Every SQL backend (SQLite, Teradata, PostgreSQL) inherits SqlStore and implements:
- `dialect`, and `_rows(sql, params)`, which runs one statement of schemas.sql.reads (`:name` parameters) and
  returns its rows (the reads, in SqlReads);
- `_in_write_transaction(work)`: run `work(connection)` in one transaction, committed, rolled back whole on any
  error (Teradata: retried when transient); a backend that can send a batch's statements without waiting for
  each answer overrides `_in_batch_transaction` too (PostgreSQL's pipeline mode);
- `_stored_event_ids(connection, ids)`: which of the ids OL_EVENT holds, seen inside that transaction;
- `_write_rows(connection, write, rows)`: send one table's rows (schemas.sql.upserts.WRITES) in batch order, as
  the backend renders that table's merge rules;
- `_query(connection, sql, params)` and `_execute(connection, sql, params)` (rows; rows changed): one statement
  of schemas.sql.purge or schemas.sql.marks inside that transaction, bound as `_rows` binds the reads.
A backend whose transactions do not already exclude a purge from a batch (PostgreSQL) also overrides
`_read_purge_mark` and `_move_purge_mark` to lock (see schemas.sql.memory for why a batch reads that mark).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from operator import itemgetter
from typing import Any, Generic, TypeVar, cast

from schemas.dsn import Dialect
from schemas.rows import EventKind, EventRows, database_key, make_key
from schemas.sql import marks, reads
from schemas.sql import purge as purge_sql
from schemas.sql.memory import Batch, WriteMemory
from schemas.sql.reads import Params
from schemas.sql.rules import Write
from schemas.sql.upserts import WRITES
from schemas.store import (
    BucketCount,
    ColumnEdge,
    CountKind,
    DatasetInfo,
    DatasetLink,
    DatasetVersionInfo,
    Direction,
    EventInfo,
    FacetInfo,
    FieldInfo,
    JobInfo,
    JobLink,
    NamespaceInfo,
    Page,
    Paged,
    PendingItem,
    RowCounts,
    RunInfo,
    RunIo,
    SearchHit,
    SearchKind,
    SearchScope,
    SourceMark,
    StoreError,
    TimeWindow,
    WriteOutcome,
)
from schemas.times import utc_now

logger = logging.getLogger(__name__)
T = TypeVar("T")
# The store's purge mark: OL_POPULATE_MARK's row of this source moves with every purge step that removes rows.
PURGE_SOURCE = "lineage purge"
PURGE_MARK = {"source_id": make_key(PURGE_SOURCE)}
Counts = dict[str, int]
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

    def column_edges_into(self, dataset_ids: Sequence[str]) -> list[ColumnEdge]:
        return self._by_ids(ColumnEdge, reads.COLUMN_EDGES_INTO, dataset_ids)

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
        params = {"database_key": database_key(database)}
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

    def jobs_listed(self, namespace_id: str | None, last_states: Sequence[str] | None, page: Page) -> Paged[JobInfo]:
        params: Params = {} if namespace_id is None else {"namespace_id": namespace_id}
        scope = "" if namespace_id is None else reads.JOBS_IN_NAMESPACE
        every = reads.ALL_JOBS if namespace_id is None else reads.JOBS_OF_NAMESPACE
        if last_states is None:
            return self._paged(JobInfo, every, reads.JOB_RECENT_ORDER, params, page)
        text, bound = reads.in_list(reads.JOBS_BY_LAST_STATE + scope, {"states": list(last_states)})
        statement = reads.paged(self.dialect, text, reads.JOB_RECENT_ORDER)
        items = self._build(JobInfo, statement, {**params, **bound, **reads.page_params(page)})
        total = self._rows(reads.counted(every), params)[0][0]  # every job in scope, as Marquez counts
        return Paged(items, int(total))

    def latest_runs(self, job_ids: Sequence[str], per_job: int) -> list[RunInfo]:
        found = self._by_ids(RunInfo, reads.LATEST_RUNS, job_ids, {"per_job": per_job})
        # Newest first within a job, NULL times last: the order of reads.RUN_ORDER on SQLite.
        found.sort(key=lambda r: r.run_id)
        found.sort(key=lambda r: r.last_event_time or "", reverse=True)
        found.sort(key=lambda r: r.last_event_time is None)
        return found

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

    def events(self, window: TimeWindow, page: Page, *, oldest_first: bool = False) -> Paged[EventInfo]:
        params = {"after": window.after, "before": window.before, "event_kind": EventKind.RUN.value}
        order = reads.EVENT_ORDER_OLDEST_FIRST if oldest_first else reads.EVENT_ORDER
        return self._paged(EventInfo, reads.EVENTS, order, params, page)

    def counts_in_buckets(self, kind: CountKind, bounds: Sequence[str]) -> list[BucketCount]:
        if len(bounds) < 2:
            return []
        statement = reads.bucket_counts(kind, len(bounds), before_first=kind is not CountKind.RUN_EVENTS)
        params: Params = {f"bound_{i}": bound for i, bound in enumerate(bounds)}
        if kind is CountKind.RUN_EVENTS:
            params["event_kind"] = EventKind.RUN.value
        return [BucketCount(int(b), t, int(n)) for b, t, n in self._rows(statement, params)]

    def entity_facets(self, owner: str, entity_ids: Sequence[str]) -> list[FacetInfo]:
        return self._by_ids(FacetInfo, reads.ENTITY_FACETS, entity_ids, {"owner": owner})

    def facets_named(self, names: Sequence[str]) -> list[FacetInfo]:
        if not names:
            return []
        text, bound = reads.in_list(reads.FACETS_NAMED, {"names": list(names)})
        return self._build(FacetInfo, text, bound)

    def run_io(self, run_ids: Sequence[str]) -> list[RunIo]:
        return self._by_ids(RunIo, reads.RUN_IO, run_ids)

    def dataset_versions(self, dataset_id: str, page: Page) -> Paged[DatasetVersionInfo]:
        params = {"dataset_id": dataset_id}
        return self._paged(DatasetVersionInfo, reads.DATASET_VERSIONS, reads.DATASET_VERSION_ORDER, params, page)

    def dataset_versions_by_ids(self, version_ids: Sequence[str]) -> list[DatasetVersionInfo]:
        return self._by_ids(DatasetVersionInfo, reads.DATASET_VERSIONS_BY_IDS, version_ids)

    def current_dataset_versions(self, dataset_ids: Sequence[str]) -> list[DatasetVersionInfo]:
        return self._by_ids(DatasetVersionInfo, reads.CURRENT_DATASET_VERSIONS, dataset_ids)

    def search(
        self, text: str, kinds: Sequence[SearchKind], page: Page, scope: SearchScope | None = None
    ) -> Paged[SearchHit]:
        if not kinds:
            return Paged([], 0)
        scope = scope or SearchScope()
        params: Params = {"pattern": reads.like_pattern(text)}
        if scope.namespace_uri is not None:
            params["namespace"] = scope.namespace_uri
        if scope.updated is not None:
            params.update(after=scope.updated.after, before=scope.updated.before)
        statement = reads.search_statement(
            kinds, by_namespace=scope.namespace_uri is not None, by_time=scope.updated is not None
        )
        order = reads.SEARCH_NEWEST_ORDER if scope.newest_first else reads.SEARCH_ORDER
        return self._paged(SearchHit, statement, order, params, page)


class SqlStore(SqlReads, Generic[Conn]):
    """The Store write template over a backend's connection type `Conn` (see the module docstring)."""

    def _in_write_transaction(self, work: Callable[[Conn], T]) -> T:
        raise NotImplementedError

    def _in_batch_transaction(self, work: Callable[[Conn], T]) -> T:
        """`_in_write_transaction` for a batch of rows (write_batch, flush_sightings): statements whose answers
        are not read one by one, unlike a purge step's row counts."""
        return self._in_write_transaction(work)

    def _stored_event_ids(self, conn: Conn, event_ids: list[str]) -> set[str]:
        raise NotImplementedError

    def _write_rows(self, conn: Conn, write: Write, rows: list[Params]) -> None:
        raise NotImplementedError

    # --- population progress --------------------------------------------------------------------------------

    def source_mark(self, source: str) -> SourceMark:
        key = {"source_id": make_key(source)}
        found = self._rows(marks.MARK, key)
        pending = sorted((PendingItem(*row) for row in self._rows(marks.PENDING, key)), key=lambda p: p.item_id)
        return SourceMark(found[0][0] if found else None, tuple(pending))

    def advance_mark(
        self, source: str, mark: str | None, *, pending: Sequence[PendingItem] = (), finished: Sequence[str] = ()
    ) -> None:
        key = make_key(source)

        def advance(conn: Conn) -> None:
            now = utc_now()
            stored = self._query(conn, marks.MARK, {"source_id": key})
            if mark is not None and (not stored or stored[0][0] is None or mark > reads.read_value(stored[0][0])):
                self._set_mark(conn, source, mark, now, stored=bool(stored))
            known = {str(row[0]) for row in self._query(conn, marks.PENDING_IDS, {"source_id": key})}
            for item_id in dict.fromkeys(finished):
                if item_id in known:
                    self._execute(conn, marks.DELETE_PENDING, {"source_id": key, "item_id": item_id})
            for item in {item.item_id: item for item in pending}.values():
                if item.item_id not in known:
                    params = {"source_id": key, "item_id": item.item_id, "item_time": item.item_time,
                              "payload": item.payload, "first_seen_at": now}  # fmt: skip
                    self._execute(conn, marks.INSERT_PENDING, params)

        self._in_write_transaction(advance)

    def _set_mark(self, conn: Conn, source: str, mark: str, now: str, *, stored: bool) -> None:
        """The source's mark set to `mark`: its row updated, or inserted when none is `stored`."""
        key = make_key(source)
        if stored:
            self._execute(conn, marks.UPDATE_MARK, {"source_id": key, "mark_time": mark, "updated_at": now})
        else:
            self._execute(conn, marks.INSERT_MARK, {"source_id": key, "source": source, "mark_time": mark,
                                                    "updated_at": now})  # fmt: skip

    def reset_mark(self, source: str) -> None:
        key = {"source_id": make_key(source)}

        def reset(conn: Conn) -> None:
            self._execute(conn, marks.RESET_PENDING, key)
            self._execute(conn, marks.RESET_MARK, key)

        self._in_write_transaction(reset)

    # --- writes ---------------------------------------------------------------------------------------------

    _memory: WriteMemory | None = None
    _row_counts = RowCounts(0, 0)

    @property
    def memory(self) -> WriteMemory:
        """What this process last wrote (schemas.sql.memory), sized by `remember`."""
        if self._memory is None:
            self._memory = WriteMemory(WRITES)
        return self._memory

    def remember(self, *, limit: int, refresh: float) -> None:
        """Size the writer's memory: up to `limit` keys (0: every row is sent), held sightings written within
        `refresh` seconds by `flush_sightings`."""
        self._memory = WriteMemory(WRITES, limit=limit, refresh=refresh)

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        """Write the batch in one transaction; one outcome per event, in order (see Store.write_batch)."""
        first: dict[str, int] = {}  # event_id -> index of its first copy in the batch
        for index, rows in enumerate(batch):
            first.setdefault(rows.event.event_id, index)
        if not batch:
            return []
        try:
            written, remembered = self._in_batch_transaction(lambda conn: self._write_new(conn, batch, first))
        except BaseException:
            self.memory.abort()
            raise
        self.memory.commit()
        self._row_counts = RowCounts(
            self._row_counts.written + remembered.sent, self._row_counts.left_out + remembered.skipped
        )
        if self.memory.flush_due():
            self._flush_after_batch()
        return [
            WriteOutcome.STORED
            if rows.event.event_id in written and first[rows.event.event_id] == i
            else WriteOutcome.DUPLICATE
            for i, rows in enumerate(batch)
        ]

    def _write_new(self, conn: Conn, batch: Sequence[EventRows], first: dict[str, int]) -> tuple[set[str], Batch]:
        """Write the first copy of every event not stored yet, table by table in WRITES order, leaving out the rows
        the store holds already (schemas.sql.memory); their ids, and the memory's decisions to commit.

        The stored-id check runs inside the write transaction, so two writers of the same event cannot both find
        it new and both store it (the second one waits, conflicts or, retried, finds it stored)."""
        remembered = self.memory.begin(self._read_purge_mark(conn))
        stored = self._stored_event_ids(conn, list(first))
        new = [batch[i] for event_id, i in first.items() if event_id not in stored]
        for write in WRITES:
            rows = self.memory.rows(remembered, write, (params for event in new for params in write.params(event)))
            if rows:
                self._write_rows(conn, write, rows)
                remembered.sent += len(rows)
        return {rows.event.event_id for rows in new}, remembered

    def flush_sightings(self) -> int:
        """Write every sighting the memory holds back, in one transaction; how many rows (see Store)."""
        due = self.memory.held()
        if not due:
            self.memory.flushed(due)  # nothing held after all (written since with newer content): not due again
            return 0

        def flush(conn: Conn) -> None:
            self._read_purge_mark(conn)  # the lock a purge step waits for, where the backend needs one
            for write in WRITES:
                if write.table.name in due:
                    self._write_rows(conn, write, [held.written for held in due[write.table.name]])

        self._in_batch_transaction(flush)
        self.memory.flushed(due)
        flushed = sum(len(rows) for rows in due.values())
        self._row_counts = RowCounts(self._row_counts.written + flushed, self._row_counts.left_out)
        return flushed

    def rows_written(self) -> RowCounts:
        """See Store.rows_written."""
        return self._row_counts

    def _flush_after_batch(self) -> None:
        """The held sightings written after a committed batch: a failure is the next flush's to retry, never the
        batch's (its events are stored)."""
        try:
            self.flush_sightings()
        except StoreError as exc:
            logger.warning("writing the latest sightings of unchanged rows failed (%s); tried again later", exc)

    def _flush_before_close(self) -> None:
        """Every held sighting written, before a backend closes its connections. A store that cannot take them now
        loses those times only (the rows' content is written), and says so."""
        try:
            self.flush_sightings()
        except StoreError as exc:
            logger.warning("the latest sightings of some unchanged rows were not written before closing: %s", exc)

    def _read_purge_mark(self, conn: Conn) -> object:
        """The purge mark, read inside a write transaction (in SQLite and Teradata that read excludes a purge step
        until the transaction ends)."""
        found = self._query(conn, marks.MARK, PURGE_MARK)
        return found[0][0] if found else None

    def _move_purge_mark(self, conn: Conn) -> None:
        """Move the purge mark, first thing in a purge step's transaction: every batch after it forgets its memory."""
        now = utc_now()
        self._set_mark(conn, PURGE_SOURCE, now, now, stored=bool(self._query(conn, marks.MARK, PURGE_MARK)))

    # --- retention ----------------------------------------------------------------------------------------

    def _query(self, conn: Conn, sql: str, params: Params) -> list[Row]:
        raise NotImplementedError

    def _execute(self, conn: Conn, sql: str, params: Params) -> int:
        raise NotImplementedError

    def purge(self, before: str, *, edges: bool = False, dry_run: bool = False) -> Iterator[Counts]:
        """See Store.purge: one batch of keys per step, each in a transaction of its own.

        A batch is bounded twice: PURGE_BATCH keys at most, and about PURGE_STEP_SECONDS of work. Each step's time
        sizes the next (down to PURGE_MIN_BATCH keys): how long a batch of deletes holds the write lock depends on
        the database, its load and its disks, and a writer waiting behind it should wait for one short step.

        The sightings this process holds are written first: a purge must judge a row by its latest sighting."""
        self.flush_sightings()
        for purge in purge_sql.purges(edges=edges):
            last, size = "", purge_sql.PURGE_BATCH
            while keys := [
                str(row[0]) for row in self._rows(purge.keys(self.dialect, size), {"before": before, "last": last})
            ]:
                last = keys[-1]
                started = time.monotonic()
                if dry_run:
                    removed = self._purge_batch(self._rows, self._count, purge, keys, before)
                else:
                    removed = self._in_write_transaction(
                        partial(self._delete_batch, purge=purge, keys=keys, before=before)
                    )
                size = purge_sql.next_batch(size, time.monotonic() - started)
                yield removed

    def _delete_batch(self, conn: Conn, *, purge: purge_sql.Purge, keys: list[str], before: str) -> Counts:
        self._move_purge_mark(conn)
        self.memory.forget()

        def delete(target: purge_sql.Dependent, ids: Sequence[str]) -> int:
            text, bound = reads.in_list(target.delete(), {"ids": ids})
            return self._execute(conn, text, bound)

        return self._purge_batch(partial(self._query, conn), delete, purge, keys, before)

    def _count(self, target: purge_sql.Dependent, ids: Sequence[str]) -> int:
        text, bound = reads.in_list(target.count(), {"ids": ids})
        return int(self._rows(text, bound)[0][0])

    def _purge_batch(
        self,
        query: Callable[[str, Params], list[Row]],
        remove: Callable[[purge_sql.Dependent, Sequence[str]], int],
        purge: purge_sql.Purge,
        keys: list[str],
        before: str,
    ) -> Counts:
        """Remove (or count, with a counting `remove`) the batch's rows that are old still, dependents first."""
        text, bound = reads.in_list(purge.still_old(self.dialect), {"ids": keys})
        old = [str(row[0]) for row in query(text, {**bound, "before": before})]
        counts: Counts = {}
        if not old:
            return counts
        if purge is purge_sql.RUNS:
            text, bound = reads.in_list(purge_sql.RUN_DATASETS, {"ids": old})
            facet_ids = [make_key(str(run), str(dataset)) for run, dataset in query(text, bound)]
            counts[purge_sql.RUN_DATASET_FACETS.label] = sum(
                remove(purge_sql.RUN_DATASET_FACETS, chunk) for chunk in reads.chunks(facet_ids)
            )
        for target in (*purge.dependents, purge.itself):
            counts[target.label] = remove(target, old)
        return counts
