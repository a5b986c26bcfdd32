"""TeradataStore on recording connections: the seed upgrade, transactions, retries, error codes, fitting, QVCI."""

from __future__ import annotations

import re

import pytest
import teradatasql

from schemas import open_store
from schemas.dsn import parse_dsn
from schemas.migrations import MIGRATIONS, ColumnInfo, schema_catalog
from schemas.sql import reads
from schemas.store import StoreError, StoreUnavailable, WriteOutcome
from schemas.teradata import qvci
from schemas.teradata import store as teradata
from schemas.teradata.store import TeradataStore
from tests.schemas.teradata.recording import Call, Script, teradata_error
from tests.schemas.teradata.test_sql import (
    DATABASE,
    DSN,
    real_batch,
    seed_script,
    store_on,
    upgraded_seed_catalog,
)

VERSIONS = [m.version for m in MIGRATIONS]
ADDITIVE = re.compile(
    rf"(/\* .* \*/\nCREATE MULTISET TABLE {DATABASE}\.OL_\w+ \(.*|ALTER TABLE {DATABASE}\.OL_\w+ ADD \w+ .*|"
    rf"CREATE INDEX idx_\w+ \([\w, ]+\) ON {DATABASE}\.OL_\w+|"
    rf"COLLECT STATISTICS COLUMN \([\w, ]+\) ON {DATABASE}\.OL_\w+|"
    rf"INSERT INTO {DATABASE}\.OL_SCHEMA_VERSION .*)",
    re.DOTALL,
)
READS = re.compile(r"SELECT .*|SET QUERY_BAND = 'LineageServer=store;' FOR SESSION", re.DOTALL)  # and the band


def current_script() -> Script:
    return Script(DATABASE, schema_catalog(), versions=VERSIONS)


# --- the seed application's database ----------------------------------------------------------------------


def test_upgrade_of_the_seed_database_is_additive() -> None:
    script = seed_script()
    statements = store_on(script).upgrade_schema()
    sent = script.statements()
    assert statements and [s for s in sent if not (ADDITIVE.fullmatch(s) or READS.fullmatch(s))] == []
    assert not any(re.search(r"\b(DROP|DELETE|UPDATE|RENAME|MODIFY)\b", s) for s in sent)
    assert all(call.autocommit for call in script.calls)  # ANSI mode: each DDL statement its own transaction
    assert script.versions == VERSIONS  # the seed's row kept, the later migrations recorded
    creates = {m[1] for s in sent if (m := re.search(r"CREATE MULTISET TABLE \w+\.(OL_\w+)", s))}
    assert creates == {
        "OL_EVENT",
        "OL_FACET",
        "OL_DATASET_SYMLINK",
        "OL_COLUMN_LINEAGE_DATASET",
        "OL_POPULATE_MARK",
        "OL_POPULATE_PENDING",
        "OL_DATASET_VERSION",
    }
    # widened where no index covers the column, keeping its character set and nullability
    assert f"ALTER TABLE {DATABASE}.OL_DATASET_FIELD ADD field_type VARCHAR(4000) CHARACTER SET LATIN" in sent
    assert (
        f"ALTER TABLE {DATABASE}.OL_COLUMN_LINEAGE ADD source_namespace VARCHAR(4000) CHARACTER SET LATIN NOT NULL"
        in sent
    )
    # never for an indexed column (Teradata refuses) nor a TIMESTAMP(0) (no in-place change exists)
    assert not any(re.search(r"ADD (name|field_name|target_field|nominal_start_time) ", s) for s in sent)
    # the seed's PI is lineage_id, so upstream traversal needs the NUSI our own PI made redundant
    assert f"CREATE INDEX idx_ol_lineage_tgt_fid (target_field_id) ON {DATABASE}.OL_COLUMN_LINEAGE" in sent


def test_create_refuses_the_seed_database() -> None:
    script = seed_script()
    with pytest.raises(StoreError, match="lineage schema upgrade"):
        store_on(script).create_schema()
    assert all(READS.fullmatch(s) for s in script.statements())


def test_create_on_an_empty_database_then_nothing_more() -> None:
    script = Script(DATABASE)
    statements = store_on(script).create_schema()
    assert sum(s.startswith("INSERT INTO") for s in statements) == len(VERSIONS) and script.versions == VERSIONS
    script.catalog = schema_catalog()
    assert store_on(script).upgrade_schema() == []
    assert store_on(script).schema_status().current


def test_writes_on_the_upgraded_seed_match_its_primary_index_and_fit_its_columns() -> None:
    script = seed_script()
    script.catalog, script.versions = upgraded_seed_catalog(), VERSIONS
    batch = real_batch()
    outcomes = store_on(script).write_batch(batch)
    assert outcomes.count(WriteOutcome.STORED) == len(batch) - 3
    lineage = next(c for c in script.calls if c.sql.startswith(f"MERGE INTO {DATABASE}.OL_COLUMN_LINEAGE "))
    assert " ON t.lineage_id = s.lineage_id WHEN " in lineage.sql  # the seed's PI is also the key
    runs = [c for c in script.calls if c.sql.startswith(f"MERGE INTO {DATABASE}.OL_RUN ")]
    assert "CAST(? AS TIMESTAMP(0))" in runs[0].sql  # the seed's nominal times: whole seconds
    columns = ("run_id", "job_id", "event_type", "event_time", "nominal_start_time")
    for row in (r for call in runs for r in call.params):
        assert row[4] is None or re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[4]), dict(
            zip(columns, row, strict=False)
        )


def test_fresh_database_merges_on_target_field_and_lineage_id() -> None:
    script = current_script()
    store_on(script).write_batch(real_batch())
    lineage = next(c for c in script.calls if c.sql.startswith(f"MERGE INTO {DATABASE}.OL_COLUMN_LINEAGE "))
    assert " ON t.target_field_id = s.target_field_id AND t.lineage_id = s.lineage_id WHEN " in lineage.sql


# --- transactions and duplicates --------------------------------------------------------------------------


def test_batch_is_one_transaction_and_duplicates_write_nothing() -> None:
    script = current_script()
    store = store_on(script)
    batch = real_batch()
    outcomes = store.write_batch(batch)
    assert outcomes[-3:] == [WriteOutcome.DUPLICATE] * 3 and script.commits == 1 and script.rollbacks == 0
    writes = [c for c in script.calls if c.sql.startswith(("MERGE", "INSERT", "UPDATE", "SELECT event_id"))]
    assert writes and not any(call.autocommit for call in writes)
    script.calls.clear()
    assert store.write_batch(batch[:2]) == [WriteOutcome.DUPLICATE] * 2
    # The purge mark (schemas.sql.memory), the stored-id check, and nothing written.
    assert [c.sql.split(" ", 1)[0] for c in script.calls] == ["SELECT", "SELECT"]


def test_rows_of_one_key_merge_in_batch_order() -> None:
    script = current_script()
    store_on(script).write_batch(real_batch())
    runs = [c for c in script.calls if c.sql.startswith(f"MERGE INTO {DATABASE}.OL_RUN ")]
    keys = [row[0] for call in runs for row in call.params]
    assert len(runs) > 1 and len(keys) > len(set(keys))  # the same run in several events: one wave each
    for call in runs:
        assert len({row[0] for row in call.params}) == len(call.params)  # never twice in one executemany


# --- errors -----------------------------------------------------------------------------------------------


def failing(code: int | None, times: int, on: str = "MERGE") -> Script:
    script = current_script()
    left = [times]

    def fail(call: Call) -> BaseException | None:
        if call.sql.startswith(on) and left[0] > 0:
            left[0] -= 1
            if code is None:
                return teradatasql.OperationalError(
                    "[Version 20.0.0.72] [Teradata SQL Driver] socket: connection reset"
                )
            return teradata_error(code, "Transaction ABORTed due to deadlock." if code == 2631 else "Syntax error.")
        return None

    script.fail = fail
    return script


def test_deadlock_is_retried_and_the_batch_committed_once() -> None:
    script = failing(2631, 1)
    outcomes = store_on(script).write_batch(real_batch())
    assert WriteOutcome.STORED in outcomes and script.commits == 1 and script.rollbacks == 1


def test_persistent_deadlock_is_unavailable_after_three_tries() -> None:
    script = failing(2631, 99)
    with pytest.raises(StoreUnavailable, match="Error 2631"):
        store_on(script).write_batch(real_batch())
    assert script.commits == 0 and script.rollbacks == 3 and not script.stored_events


def test_other_errors_fail_the_batch_with_their_code_and_roll_back() -> None:
    script = failing(3706, 1)
    with pytest.raises(StoreError, match=r"\[Error 3706\]") as raised:
        store_on(script).write_batch(real_batch())
    assert not isinstance(raised.value, StoreUnavailable)
    assert script.commits == 0 and script.rollbacks == 1 and not script.stored_events


def test_a_lost_session_is_replaced() -> None:
    script = failing(None, 1)
    store_on(script).write_batch(real_batch())
    assert script.opened == 2 and script.closed == 1 and script.commits == 1


def test_unreachable_server_is_unavailable() -> None:
    def refuse() -> teradata.Connection:
        raise teradatasql.OperationalError("[Version 20.0.0.72] [Teradata SQL Driver] Failed to connect to td.example")

    store = TeradataStore(DSN, connect=refuse, sleep=lambda _s: None)
    with pytest.raises(StoreUnavailable):
        store.ping()
    with pytest.raises(StoreUnavailable):
        store.write_batch(real_batch())


def test_writes_refuse_a_schema_that_is_not_current() -> None:
    with pytest.raises(StoreError, match="lineage schema upgrade"):
        store_on(seed_script()).write_batch(real_batch())


def test_close() -> None:
    script = current_script()
    store = store_on(script)
    store.ping()
    store.close()
    assert script.closed == 1
    with pytest.raises(StoreError, match="closed"):
        store.write_batch(real_batch())
    with pytest.raises(StoreUnavailable):
        store.ping()


# --- connection, fitting, QVCI ----------------------------------------------------------------------------


def test_connect_parameters_pass_the_port_and_choose_ansi() -> None:
    params = teradata.connect_parameters(parse_dsn("teradata://etl:pw@td.example:1026/lineage_db"))
    assert params == {"host": "td.example", "user": "etl", "password": "pw", "database": "lineage_db",
                      "dbs_port": "1026", "tmode": "ANSI", "encryptdata": "true"}  # fmt: skip
    assert teradata.connect_parameters(parse_dsn("teradata://etl@td.example"))["database"] == "etl"


def test_open_store_gives_a_teradata_store_and_checks_the_database_name() -> None:
    store = open_store(parse_dsn("teradata://etl@td.example:1025/lineage_db"))
    assert isinstance(store, TeradataStore) and store.database == "lineage_db"
    with pytest.raises(StoreError, match="not a database name"):
        open_store(parse_dsn("teradata://etl@td.example:1025/lineage-db"))


def test_values_fit_latin_and_narrow_columns_but_keys_are_never_cut() -> None:
    from schemas.tables import OL_DATASET
    from schemas.teradata import sql as teradata_sql

    fit = teradata_sql.fitters(
        OL_DATASET, {"name": ColumnInfo("CV", 5, "LATIN", False), "dataset_id": ColumnInfo("CV", 3, "LATIN", False)}
    )
    assert fit["name"]("Zürich→db") == "Züric" and fit["name"]("a→b") == "a?b"
    assert "dataset_id" not in fit


@pytest.mark.parametrize(
    ("failure", "code"),
    [(None, qvci.ENABLED), (teradata_error(9719, "QVCI feature is disabled."), qvci.DISABLED),
     (teradata_error(3523, "The user does not have SELECT access to DBC.ColumnsJQV."), qvci.UNREACHABLE)],
)  # fmt: skip
def test_qvci_check(failure: BaseException | None, code: int) -> None:
    script = Script(DATABASE, fail=lambda call: failure)
    exit_code, message = qvci.qvci_check(DSN, connect=script.connect)
    assert exit_code == code and script.statements() == [qvci.QVCI_SQL] and script.closed == 1
    if code == qvci.DISABLED:
        assert "551=false" in message and "DBC.ColumnsV" in message and "restart" in message


def test_qvci_check_without_a_server() -> None:
    def refuse() -> teradata.Connection:
        raise teradatasql.OperationalError("[Version 20.0.0.72] [Teradata SQL Driver] Failed to connect to td.example")

    assert qvci.qvci_check(DSN, connect=refuse)[0] == qvci.UNREACHABLE


def test_reads_are_qualified_bound_and_under_an_access_lock() -> None:
    from datetime import datetime
    from decimal import Decimal

    from schemas.teradata import sql as teradata_sql

    sql, values = teradata_sql.read_sql(
        "SELECT a FROM OL_EVENT e JOIN OL_RUN r ON r.x = e.x WHERE e.t >= :after AND e.k = :k AND e.s = ':no'",
        {"after": "2024-01-01 00:00:00.000000", "k": "v", "unused": 1},
        DATABASE,
    )
    assert sql == (
        f"LOCKING ROW FOR ACCESS SELECT a FROM {DATABASE}.OL_EVENT e JOIN {DATABASE}.OL_RUN r ON r.x = e.x "
        "WHERE e.t >= CAST(? AS TIMESTAMP(6)) AND e.k = ? AND e.s = ':no'"
    )
    assert values == ("2024-01-01 00:00:00.000000", "v")
    row = (datetime(2024, 1, 2, 3, 4, 5), Decimal("0.85"), "Y  ", "name ", None)
    assert tuple(map(reads.read_value, row)) == ("2024-01-02 03:04:05.000000", 0.85, "Y", "name ", None)


def test_every_session_carries_the_band_that_populate_dbql_leaves_out() -> None:
    from ingest.populate.teradata.dbql import OUR_QUERY_BAND_LIKE
    from schemas.teradata.store import QUERY_BAND

    script = current_script()
    store_on(script).ping()
    assert script.statements()[:2] == [QUERY_BAND, "SELECT 1"]
    band = QUERY_BAND.split("'")[1]
    assert re.fullmatch(OUR_QUERY_BAND_LIKE.replace("%", ".*"), band)
