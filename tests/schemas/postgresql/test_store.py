"""The PostgreSQL store beyond the contract suite: its DSN, schema commands, error classes and retries, an
unreachable server, and a connection the server drops. Server tests use a fresh schema (tests/postgres.py)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from schemas import open_store
from schemas.dsn import parse_dsn
from schemas.migrations import MIGRATIONS
from schemas.postgresql import errors
from schemas.postgresql.sql import pyformat, unnest_upsert, with_arrays
from schemas.postgresql.store import PostgresStore, connection_string
from schemas.rows import field_key
from schemas.sql import reads
from schemas.sql.rules import Write
from schemas.sql.upserts import UPSERTS, WRITES, on_conflict
from schemas.store import Direction, StoreError, StoreUnavailable, WriteOutcome
from tests.ingest.processes import LINEAGE, environment
from tests.schemas.test_contract import T1, dataset, event

STORED, DUPLICATE = WriteOutcome.STORED, WriteOutcome.DUPLICATE
DSN = "postgresql://lineage:s3cret@db.example:5433/lineage?sslmode=require&connect_timeout=5&password=other"


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    s = PostgresStore(parse_dsn(postgres_dsn))
    s.create_schema()
    yield s
    s.close()


# --- without a server -------------------------------------------------------------------------------------


def test_the_dsn_passes_libpq_parameters_and_masks_every_password() -> None:
    dsn = parse_dsn(DSN)
    assert dsn.options == (("sslmode", "require"), ("connect_timeout", "5"), ("password", "other"))
    assert (
        dsn.masked()
        == "postgresql://lineage:***@db.example:5433/lineage?sslmode=require&connect_timeout=5&password=***"
    )
    assert psycopg.conninfo.conninfo_to_dict(connection_string(dsn)) == {
        "host": "db.example",
        "port": "5433",
        "user": "lineage",
        "password": "other",  # the query string's, as libpq reads a later parameter
        "dbname": "lineage",
        "sslmode": "require",
        "connect_timeout": "5",
    }
    with pytest.raises(ValueError, match="query string"):
        parse_dsn("postgresql://u@h/db?sslmode")


def test_statements_take_psycopg_parameters_and_arrays() -> None:
    assert pyformat("SELECT 1 WHERE a = :a AND b LIKE '50%:x' AND c LIKE :p ESCAPE '\\' AND d = 5 % 2") == (
        "SELECT 1 WHERE a = %(a)s AND b LIKE '50%:x' AND c LIKE %(p)s ESCAPE '\\' AND d = 5 %% 2"
    )
    assert with_arrays(reads.STORED_EVENT_IDS) == "SELECT event_id FROM OL_EVENT WHERE event_id = ANY(:ids)"
    assert "{" not in with_arrays(reads.DATASET_LINKS[Direction.UPSTREAM])


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.table.name)
def test_a_tables_rows_are_one_statement_of_arrays_merged_by_its_rules(write: Write) -> None:
    statement = unnest_upsert(write)
    if any(rule.default is not None for rule in write.rules.values()):
        assert statement is None  # its update compares the value as bound, which `excluded` does not hold
        return
    assert statement is not None
    assert [f"CAST(%({c})b AS " in statement for c in write.columns] == [True] * len(write.columns)
    assert statement.count("%(") == len(write.columns)  # one array parameter per column, nothing else bound
    assert statement.endswith(pyformat(on_conflict(write), "b"))
    assert UPSERTS[write.table.name].endswith(on_conflict(write))  # the clause a row of its own is merged by


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (pg_errors.DeadlockDetected("deadlock detected"), StoreUnavailable),
        (pg_errors.SerializationFailure("could not serialize access"), StoreUnavailable),
        (pg_errors.UniqueViolation("duplicate key value"), StoreUnavailable),
        (pg_errors.AdminShutdown("terminating connection due to administrator command"), StoreUnavailable),
        (pg_errors.TooManyConnections("too many clients"), StoreUnavailable),
        (psycopg.OperationalError("connection failed: Connection refused"), StoreUnavailable),
        (PoolTimeout("couldn't get a connection after 1.00 sec"), StoreUnavailable),
        (pg_errors.SyntaxError("syntax error at or near"), StoreError),
        (pg_errors.NotNullViolation("null value in column"), StoreError),
    ],
)
def test_errors_are_classified_by_sqlstate(error: Exception, kind: type[StoreError]) -> None:
    found = errors.classify(error, "writing a batch")
    assert type(found) is kind
    if kind is StoreError:
        assert f"[SQLSTATE {errors.sqlstate(error)}]" in str(found)


def test_an_unreachable_server_is_unavailable_fast() -> None:
    store = PostgresStore(parse_dsn("postgresql://root@127.0.0.1:1/test?connect_timeout=1"), pool_timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="PostgreSQL store is unavailable"):
            store.write_batch([event("a")])
        with pytest.raises(StoreUnavailable):
            store.ping()
        with pytest.raises(StoreUnavailable):
            store.datasets_by_ids(["d"])
        assert time.monotonic() - started < 10
    finally:
        store.close()
    with pytest.raises(StoreError, match="closed"):
        store.write_batch([event("a")])


# --- on the server ----------------------------------------------------------------------------------------


def test_schema_commands_are_idempotent(postgres_dsn: str, tmp_path: Path) -> None:
    env = environment(tmp_path, LINEAGE_STORE=postgres_dsn)

    def lineage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([LINEAGE, *args], env=env, capture_output=True, text=True, timeout=60, check=False)

    assert lineage("schema", "status").returncode == 1  # nothing applied yet
    runs = [lineage("schema", action) for action in ("create", "create", "upgrade", "status")]
    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    assert "statements run" in runs[0].stdout
    assert [r.stdout.count("nothing to do") for r in runs[1:3]] == [1, 1]
    assert f"applied  {MIGRATIONS[-1].version}" in runs[3].stdout
    assert "lineage_test_" in runs[0].stdout  # the masked DSN names the database
    assert "CREATE TABLE OL_EVENT" in lineage("schema", "ddl", "--dialect", "postgresql").stdout
    store = open_store(parse_dsn(postgres_dsn))
    try:
        assert store.schema_status().current
        assert store.upgrade_schema() == []
    finally:
        store.close()
    with psycopg.connect(postgres_dsn) as conn:
        versions = [row[0] for row in conn.execute("SELECT version_id FROM OL_SCHEMA_VERSION ORDER BY 1")]
    assert versions == [m.version for m in MIGRATIONS]


def test_an_upgrade_adds_a_dropped_index_back(store: PostgresStore, postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("DROP INDEX idx_ol_run_job")
    assert store.upgrade_schema() == ["CREATE INDEX idx_ol_run_job ON OL_RUN (job_id)"]
    assert store.upgrade_schema() == []


def test_reads_get_values_as_the_stores_types_hold_them(store: PostgresStore, postgres_dsn: str) -> None:
    """psycopg converts as it reads (schemas.postgresql.values) what read_value converts after a plain fetch."""
    sql = (
        "SELECT CAST('2024-05-01 10:00:01' AS TIMESTAMP(6)), CAST('2024-05-01 12:00:01.5+02' AS TIMESTAMPTZ), "
        "CAST(0.95 AS NUMERIC(5,4)), CAST(12 AS NUMERIC(9,0)), CAST('' AS CHAR(1)), CAST('Y' AS CHAR(1)), "
        "CAST('ab' AS CHAR(4)), 'text ', 7, NULL"
    )
    with psycopg.connect(postgres_dsn) as conn:
        plain = conn.execute(sql).fetchall()
    expected = [tuple(map(reads.read_value, row)) for row in plain]
    assert store._rows(sql, {}) == expected
    assert expected == [("2024-05-01 10:00:01.000000", "2024-05-01 10:00:01.500000", 0.95, 12.0, "", "Y", "ab  ",
                         "text ", 7, None)]  # fmt: skip


def test_a_deadlock_is_retried_and_the_batch_stored(postgres_dsn: str) -> None:
    """The store takes A, then waits for B, held by another session that then asks for A. The store's session
    checks for the deadlock first (the other one waits longer before checking) and is the one aborted; the retry
    waits for the other session's commit and stores the batch.

    PostgreSQL checks a waiter once, `deadlock_timeout` after it began to wait: the store's sessions wait 5 s, so
    that the other session has asked for A by then even on a loaded machine (with the default 1 s, a late request
    made the other session the victim)."""
    late_check = quote("-cdeadlock_timeout=5s ", safe="")
    store = PostgresStore(parse_dsn(postgres_dsn.replace("options=", f"options={late_check}", 1)))
    store.create_schema()
    names = ["A", "B"]
    keys = [dataset(T1, name=name).dataset_id for name in names]
    assert store.write_batch([event("seed", datasets=tuple(dataset(T1, name=n) for n in names))])
    pauses: list[float] = []
    store._sleep = pauses.append
    batch = [event("both", datasets=tuple(dataset(T1, name=n, description="new") for n in names))]
    with psycopg.connect(postgres_dsn) as other, ThreadPoolExecutor(1) as pool:
        other.execute("SET deadlock_timeout = '20s'")
        other.execute("SELECT 1 FROM OL_DATASET WHERE dataset_id = %s FOR UPDATE", (max(keys),))
        written = pool.submit(store.write_batch, batch)
        wait_until_blocked(postgres_dsn)
        other.execute("SELECT 1 FROM OL_DATASET WHERE dataset_id = %s FOR UPDATE", (min(keys),))
        other.commit()
        assert written.result(timeout=30) == [WriteOutcome.STORED]
    store.close()
    assert len(pauses) == 1


def wait_until_blocked(dsn: str, seconds: float = 10.0) -> None:
    """Until some session of the database waits for a lock."""
    deadline = time.monotonic() + seconds
    sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    while time.monotonic() < deadline:
        with psycopg.connect(dsn, autocommit=True) as probe:
            if probe.execute(sql).fetchone() != (0,):
                return
        time.sleep(0.05)
    raise AssertionError("the store's session never waited for the lock")


def test_two_writers_of_one_event_store_it_once(postgres_dsn: str) -> None:
    """Two stores (two hosts) write the same new event at once: one STORED, the other DUPLICATE, no error."""
    stores = [PostgresStore(parse_dsn(postgres_dsn)) for _ in range(2)]
    stores[0].create_schema()
    start = threading.Barrier(2)

    def write(store: PostgresStore) -> list[WriteOutcome]:
        start.wait()
        return store.write_batch([event("same", datasets=(dataset(T1),))])

    try:
        for s in stores:
            s._sleep = lambda _seconds: None
        with ThreadPoolExecutor(2) as pool:
            assert sorted(o for result in pool.map(write, stores) for o in result) == [DUPLICATE, STORED]
            assert sorted(o for result in pool.map(write, stores) for o in result) == [DUPLICATE, DUPLICATE]
    finally:
        for s in stores:
            s.close()


def test_a_dropped_connection_is_replaced(store: PostgresStore, postgres_dsn: str) -> None:
    """The server ends every session of the store (a restart, a failover): the next calls work on new ones."""
    assert store.write_batch([event("before")]) == [WriteOutcome.STORED]
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    store.ping()
    assert store.write_batch([event("after")]) == [WriteOutcome.STORED]
    assert len(store.datasets_by_ids([])) == 0


def test_a_full_pool_of_dropped_connections_is_replaced_at_once(store: PostgresStore, postgres_dsn: str) -> None:
    """Every pooled session ends at once while idle (a restart): the first failed check replaces them all, so a
    write waits for one pause of the pool (about 1 s), not one growing pause per dead connection (1 + 2 + 4 s)."""
    with ExitStack() as held:  # four connections at once: the pool grows to its size, then holds them idle
        for _ in range(4):
            held.enter_context(store._pool.connection())
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended == (4,)
    started = time.monotonic()
    assert store.write_batch([event("after")]) == [WriteOutcome.STORED]
    assert time.monotonic() - started < 3.0


def test_upgrade_fills_the_old_applications_lineage_ids(store: PostgresStore, postgres_dsn: str) -> None:
    """schemas.sql.backfill on PostgreSQL: rows with names only become visible to traversal after an upgrade."""
    namespace = "teradata://td.example:1025"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO OL_COLUMN_LINEAGE (lineage_id, source_namespace, source_dataset, source_field, "
            "target_namespace, target_dataset, target_field, transformation_type, is_active) "
            "VALUES ('old-1', %s, 'staging.orders', 'amt', %s, 'sales.orders', 'amount', 'DIRECT', 'Y')",
            (namespace, namespace),
        )
    target = field_key(namespace, "sales.orders", "amount")
    assert store.column_edges([target], Direction.UPSTREAM) == []
    assert store.upgrade_schema() == []
    [edge] = store.column_edges([target], Direction.UPSTREAM)
    assert (edge.lineage_id, edge.source_field) == ("old-1", "amt")
