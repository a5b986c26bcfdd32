"""The SQLite store: the OL_* tables in one embedded file, written one batch per transaction.

Durability: WAL with synchronous=FULL. In WAL mode synchronous=NORMAL survives a process crash (kill -9)
but a power loss can drop the last commits, and a 2xx promises the event is stored; FULL syncs the WAL on
every commit, which the batcher's group commit amortises over a whole batch.

Threads: one connection (check_same_thread=False) guarded by one lock, so the writer thread and any
reader thread take turns on it; WAL lets other processes read while this one writes. A busy database is
waited for `busy_timeout_ms`, then StoreUnavailable is raised.

The upsert statements are data (`WRITES`), written in the SQL that SQLite (>= 3.24) and PostgreSQL share:
INSERT ... ON CONFLICT (key) DO UPDATE SET ..., `excluded.` for the incoming row, CASE instead of
min()/max()/LEAST/GREATEST (whose NULL handling differs), named parameters (`:name`, which a PostgreSQL
store rewrites to `%(name)s`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas import migrations
from schemas.dsn import Dialect
from schemas.rows import TERMINAL_STATES, EventRows, RunState, make_key
from schemas.store import SchemaStatus, StoreError, StoreUnavailable, WriteOutcome

logger = logging.getLogger(__name__)

Params = dict[str, Any]

# --- statements -------------------------------------------------------------------------------------------


def _earliest(table: str, column: str) -> str:
    """The earlier of stored and incoming, NULL on either side ignored."""
    return (
        f"{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} < {table}.{column} "
        f"THEN excluded.{column} ELSE {table}.{column} END"
    )


def _latest(table: str, column: str) -> str:
    return (
        f"{column} = CASE WHEN {table}.{column} IS NULL OR excluded.{column} > {table}.{column} "
        f"THEN excluded.{column} ELSE {table}.{column} END"
    )


def _newer(table: str, column: str, time: str = "updated_at") -> str:
    """An incoming non-NULL value wins when its time is not older than the stored row's; NULL never erases,
    and an older event still fills a column that is NULL."""
    return (
        f"{column} = CASE WHEN excluded.{column} IS NOT NULL AND ({table}.{time} IS NULL "
        f"OR excluded.{time} >= {table}.{time}) THEN excluded.{column} ELSE COALESCE({table}.{column}, "
        f"excluded.{column}) END"
    )


def _coalesce(table: str, column: str) -> str:
    return f"{column} = COALESCE(excluded.{column}, {table}.{column})"


def _insert(
    table: str,
    columns: Sequence[str],
    conflict: Sequence[str],
    updates: Sequence[str] = (),
    values: dict[str, str] | None = None,
) -> str:
    """INSERT of named parameters (one per column, same name, unless `values` gives an expression) with an
    ON CONFLICT clause on the key."""
    exprs = [(values or {}).get(c, ":" + c) for c in columns]
    # Built once at import from the names in this module, never from input; values are bound parameters.
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(exprs)})"  # noqa: S608
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    return f"{head} ON CONFLICT ({', '.join(conflict)}) {action}"


def _rank(row: str) -> str:
    """The run-cycle rank of `row`.event_type: START 1 < RUNNING 2 < terminal 3; NULL or unknown 0."""
    return (
        f"CASE {row}.event_type WHEN 'START' THEN 1 WHEN 'RUNNING' THEN 2 "
        f"WHEN 'COMPLETE' THEN 3 WHEN 'FAIL' THEN 3 WHEN 'ABORT' THEN 3 ELSE 0 END"
    )


# The incoming state replaces the stored one: a state at all, and a higher rank, or the same rank and not older.
_RUN_WINS = (
    f"(excluded.event_type IS NOT NULL AND ({_rank('excluded')} > {_rank('OL_RUN')} OR ({_rank('excluded')} = "
    f"{_rank('OL_RUN')} AND (OL_RUN.event_time IS NULL OR excluded.event_time >= OL_RUN.event_time))))"
)

_IS_ACTIVE = "CAST(:is_active AS CHAR(1))"  # typed, so that PostgreSQL can compare a NULL parameter
DATASET_SQL = _insert(
    "OL_DATASET",
    ("dataset_id", "namespace_id", "name", "description", "source_type", "created_at", "updated_at", "is_active",
     "name_key"),
    ("dataset_id",),
    (*(_newer("OL_DATASET", c) for c in ("description", "source_type", "name_key")),
     _earliest("OL_DATASET", "created_at"), _latest("OL_DATASET", "updated_at"),
     # A first sighting without lifecycle news is active ('Y', the seed's default), so `excluded.is_active` is
     # never NULL; the parameter itself says whether this event had news.
     f"is_active = CASE WHEN {_IS_ACTIVE} IS NOT NULL AND (OL_DATASET.updated_at IS NULL OR excluded.updated_at "
     f">= OL_DATASET.updated_at) THEN {_IS_ACTIVE} ELSE OL_DATASET.is_active END"),
    values={"is_active": f"COALESCE({_IS_ACTIVE}, 'Y')"},
)
FIELD_SQL = _insert(
    "OL_DATASET_FIELD",
    ("field_id", "dataset_id", "field_name", "field_type", "field_description", "ordinal_position", "created_at",
     "updated_at"),
    ("field_id",),
    (*(_newer("OL_DATASET_FIELD", c) for c in ("field_type", "field_description", "ordinal_position")),
     _earliest("OL_DATASET_FIELD", "created_at"), _latest("OL_DATASET_FIELD", "updated_at")),
)
JOB_SQL = _insert(
    "OL_JOB",
    ("job_id", "namespace_id", "name", "description", "job_type", "created_at", "updated_at", "name_key",
     "parent_job_id"),
    ("job_id",),
    (*(_newer("OL_JOB", c) for c in ("description", "job_type", "name_key", "parent_job_id")),
     _earliest("OL_JOB", "created_at"), _latest("OL_JOB", "updated_at")),
)
RUN_SQL = _insert(
    "OL_RUN",
    ("run_id", "job_id", "event_type", "event_time", "nominal_start_time", "nominal_end_time", "producer",
     "schema_url", "created_at", "started_at", "ended_at", "last_event_time", "parent_run_id", "parent_job_id",
     "root_run_id", "root_job_id"),
    ("run_id",),
    (
        f"event_type = CASE WHEN {_RUN_WINS} THEN excluded.event_type ELSE OL_RUN.event_type END",
        f"event_time = CASE WHEN {_RUN_WINS} THEN excluded.event_time ELSE OL_RUN.event_time END",
        f"ended_at = CASE WHEN {_RUN_WINS} AND excluded.ended_at IS NOT NULL THEN excluded.ended_at "
        "ELSE OL_RUN.ended_at END",
        _earliest("OL_RUN", "started_at"),
        _earliest("OL_RUN", "created_at"),
        _latest("OL_RUN", "last_event_time"),
        *(_coalesce("OL_RUN", c) for c in ("nominal_start_time", "nominal_end_time", "producer", "schema_url",
                                           "parent_run_id", "parent_job_id", "root_run_id", "root_job_id")),
    ),
)
_EDGE_COMMON = ("lineage_id", "run_id", "source_namespace", "source_dataset", "source_field", "source_dataset_id",
                "source_field_id", "target_namespace", "target_dataset", "target_dataset_id", "transformation_type",
                "transformation_subtype", "transformation_description", "masking", "discovered_at",
                "last_seen_at")


def _edge_updates(table: str) -> tuple[str, ...]:
    # run_id follows the latest sighting; the edge's identity (lineage_id) fixes everything else.
    return (
        f"run_id = CASE WHEN excluded.run_id IS NOT NULL AND ({table}.last_seen_at IS NULL OR excluded.last_seen_at "
        f">= {table}.last_seen_at) THEN excluded.run_id ELSE {table}.run_id END",
        _earliest(table, "discovered_at"),
        _latest(table, "last_seen_at"),
    )


COLUMN_EDGE_SQL = _insert(
    "OL_COLUMN_LINEAGE",
    (*_EDGE_COMMON, "target_field", "target_field_id", "confidence_score"),
    ("lineage_id",),
    (*_edge_updates("OL_COLUMN_LINEAGE"), _coalesce("OL_COLUMN_LINEAGE", "confidence_score")),
)
DATASET_EDGE_SQL = _insert(
    "OL_COLUMN_LINEAGE_DATASET", _EDGE_COMMON, ("lineage_id",), _edge_updates("OL_COLUMN_LINEAGE_DATASET")
)
FACET_SQL = (
    _insert("OL_FACET", ("owner", "entity_id", "facet_name", "payload", "event_time"),
            ("owner", "entity_id", "facet_name"),
            ("payload = excluded.payload", "event_time = excluded.event_time"))
    # Out-of-order events: an older facet never replaces a newer one; a NULL payload (tombstone) is a value.
    + " WHERE OL_FACET.event_time IS NULL OR excluded.event_time >= OL_FACET.event_time"
)


# --- rows to parameters -----------------------------------------------------------------------------------


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


_RANK = {RunState.START: 1, RunState.RUNNING: 2, **dict.fromkeys(TERMINAL_STATES, 3)}


def _namespaces(rows: EventRows) -> Iterable[Params]:
    for n in rows.namespaces:
        yield {"namespace_id": n.namespace_id, "namespace_uri": n.namespace_uri, "created_at": rows.event.event_time}


def _datasets(rows: EventRows) -> Iterable[Params]:
    for d in rows.datasets:
        yield {"dataset_id": d.dataset_id, "namespace_id": d.namespace_id, "name": d.name,
               "description": d.description, "source_type": d.source_type, "created_at": d.event_time,
               "updated_at": d.event_time, "is_active": _flag(d.is_active), "name_key": make_key(d.name)}


def _fields(rows: EventRows) -> Iterable[Params]:
    for f in rows.fields:
        yield {"field_id": f.field_id, "dataset_id": f.dataset_id, "field_name": f.field_name,
               "field_type": f.field_type, "field_description": f.field_description,
               "ordinal_position": f.ordinal_position, "created_at": f.event_time, "updated_at": f.event_time}


def _jobs(rows: EventRows) -> Iterable[Params]:
    for j in rows.jobs:
        yield {"job_id": j.job_id, "namespace_id": j.namespace_id, "name": j.name, "description": j.description,
               "job_type": j.job_type, "created_at": j.event_time, "updated_at": j.event_time,
               "name_key": make_key(j.name), "parent_job_id": j.parent_job_id}


def _runs(rows: EventRows) -> Iterable[Params]:
    for r in rows.runs:
        # event_time is when the run entered its state: unknown for a stateless row (OTHER, parent stub).
        state_time = r.event_time if r.state is not None else None
        yield {"run_id": r.run_id, "job_id": r.job_id, "event_type": None if r.state is None else str(r.state),
               "event_time": state_time, "nominal_start_time": r.nominal_start_time,
               "nominal_end_time": r.nominal_end_time, "producer": r.producer, "schema_url": r.schema_url,
               "created_at": r.event_time, "started_at": r.event_time if r.state is RunState.START else None,
               "ended_at": r.event_time if r.state in TERMINAL_STATES else None, "last_event_time": r.event_time,
               "parent_run_id": r.parent_run_id, "parent_job_id": r.parent_job_id, "root_run_id": r.root_run_id,
               "root_job_id": r.root_job_id}


def _inputs(rows: EventRows) -> Iterable[Params]:
    return ({"run_id": i.run_id, "dataset_id": i.dataset_id} for i in rows.inputs)


def _outputs(rows: EventRows) -> Iterable[Params]:
    return ({"run_id": o.run_id, "dataset_id": o.dataset_id} for o in rows.outputs)


def _edge(edge: Any) -> Params:
    """The parameters a column edge and a dataset edge share (both rows carry these attributes)."""
    names = ("lineage_id", "run_id", "source_namespace", "source_dataset", "source_field", "source_dataset_id",
             "source_field_id", "target_namespace", "target_dataset", "target_dataset_id", "transformation_type",
             "transformation_subtype", "transformation_description")
    params: Params = {name: getattr(edge, name) for name in names}
    params.update(masking=_flag(edge.masking), discovered_at=edge.event_time, last_seen_at=edge.event_time)
    return params


def _column_edges(rows: EventRows) -> Iterable[Params]:
    for e in rows.column_edges:
        yield {**_edge(e), "target_field": e.target_field, "target_field_id": e.target_field_id,
               "confidence_score": e.confidence_score}


def _dataset_edges(rows: EventRows) -> Iterable[Params]:
    return (_edge(e) for e in rows.dataset_edges)


def _symlinks(rows: EventRows) -> Iterable[Params]:
    for s in rows.symlinks:
        yield {"symlink_id": s.symlink_id, "dataset_id": s.dataset_id, "symlink_namespace": s.symlink_namespace,
               "symlink_name": s.symlink_name, "symlink_type": s.symlink_type,
               "symlink_dataset_id": s.symlink_dataset_id, "created_at": s.event_time}


def _facets(rows: EventRows) -> Iterable[Params]:
    for f in rows.facets:
        yield {"owner": str(f.owner), "entity_id": f.entity_id, "facet_name": f.facet_name, "payload": f.payload,
               "event_time": f.event_time}


def _events(rows: EventRows) -> Iterable[Params]:
    e = rows.event
    yield {"event_id": e.event_id, "event_kind": str(e.event_kind), "event_type": e.event_type,
           "event_time": e.event_time, "producer": e.producer, "schema_url": e.schema_url, "run_id": e.run_id,
           "job_id": e.job_id, "dataset_id": e.dataset_id, "received_at": e.received_at, "payload": e.payload}


@dataclass(frozen=True, slots=True)
class Write:
    sql: str
    params: Callable[[EventRows], Iterable[Params]]


# Every table a batch writes, in order, with its statement. Within one statement, rows go in batch order, so a
# later event of the batch merges onto an earlier one exactly as if they had come in two batches.
WRITES: tuple[Write, ...] = (
    Write(_insert("OL_NAMESPACE", ("namespace_id", "namespace_uri", "created_at"), ("namespace_id",)), _namespaces),
    Write(JOB_SQL, _jobs),
    Write(DATASET_SQL, _datasets),
    Write(FIELD_SQL, _fields),
    Write(RUN_SQL, _runs),
    Write(_insert("OL_RUN_INPUT", ("run_id", "dataset_id"), ("run_id", "dataset_id")), _inputs),
    Write(_insert("OL_RUN_OUTPUT", ("run_id", "dataset_id"), ("run_id", "dataset_id")), _outputs),
    Write(COLUMN_EDGE_SQL, _column_edges),
    Write(DATASET_EDGE_SQL, _dataset_edges),
    Write(_insert("OL_DATASET_SYMLINK", ("symlink_id", "dataset_id", "symlink_namespace", "symlink_name",
                                         "symlink_type", "symlink_dataset_id", "created_at"), ("symlink_id",)),
          _symlinks),
    Write(FACET_SQL, _facets),
    # New events only (already-stored ids are filtered first), so a plain INSERT: a clash is a bug, not a retry.
    Write("INSERT INTO OL_EVENT (event_id, event_kind, event_type, event_time, producer, schema_url, run_id, job_id, "
          "dataset_id, received_at, payload) VALUES (:event_id, :event_kind, :event_type, :event_time, :producer, "
          ":schema_url, :run_id, :job_id, :dataset_id, :received_at, :payload)", _events),
)


# --- the store --------------------------------------------------------------------------------------------

# Primary result codes that mean "try again later" rather than "this batch is wrong".
UNAVAILABLE_CODES = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
     sqlite3.SQLITE_FULL, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOLFS}
)
ID_CHUNK = 500  # bound parameters per IN list; SQLite before 3.32 allows at most 999


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


class SqliteStore:
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
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as error:
            raise store_error(error) from error
        if mode != "wal" and self.path != ":memory:":
            logger.warning("SQLite store %s runs in journal mode %s, not WAL (network file system?)", self.path, mode)
        logger.info("opened SQLite store %s (SQLite %s)", self.path, sqlite3.sqlite_version)

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; any error rolls back whole and becomes a StoreError."""
        with self._lock:
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

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the SQLite store is closed")
        return self._conn

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        """Write the batch in one transaction; one outcome per event, in order (see Store.write_batch)."""
        first: dict[str, int] = {}  # event_id -> index of its first copy in the batch
        for index, rows in enumerate(batch):
            first.setdefault(rows.event.event_id, index)
        if not batch:
            return []
        with self._transaction() as conn:
            stored = self._stored_event_ids(conn, list(first))
            new = [batch[i] for event_id, i in first.items() if event_id not in stored]
            for write in WRITES:
                params = [p for rows in new for p in write.params(rows)]
                if params:
                    conn.executemany(write.sql, params)
        written = {rows.event.event_id for rows in new}
        return [
            WriteOutcome.STORED if rows.event.event_id in written and first[rows.event.event_id] == i
            else WriteOutcome.DUPLICATE
            for i, rows in enumerate(batch)
        ]

    @staticmethod
    def _stored_event_ids(conn: sqlite3.Connection, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(event_ids), ID_CHUNK):
            chunk = event_ids[start : start + ID_CHUNK]
            marks = ", ".join("?" * len(chunk))
            # Only "?" markers are interpolated; the ids are bound.
            rows = conn.execute(f"SELECT event_id FROM OL_EVENT WHERE event_id IN ({marks})", chunk)  # noqa: S608
            found.update(row[0] for row in rows)
        return found

    def schema_status(self) -> SchemaStatus:
        with self._lock:
            try:
                return migrations.status(migrations.read_sqlite_catalog(self._connection()))
            except sqlite3.Error as error:
                raise store_error(error) from error

    def create_schema(self) -> list[str]:
        """Create the schema on an empty file, in one transaction; [] when current (see migrations.create)."""
        with self._transaction() as conn:
            return migrations.create(migrations.sqlite_target(conn))

    def upgrade_schema(self) -> list[str]:
        """Add what is missing and record pending migrations, in one transaction (see migrations.upgrade)."""
        with self._transaction() as conn:
            statements = migrations.upgrade(migrations.sqlite_target(conn))
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
        """Close the connection. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
