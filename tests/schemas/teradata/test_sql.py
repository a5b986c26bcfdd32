"""Every statement the Teradata backend can send, parsed with sqlglot's Teradata dialect, and every parameterised
statement's `?` count checked against what the store binds, on a real batch of the shared events.

Also the scripted databases the Teradata tests share: a fresh one (render_schema), the seed application's, the
seed's after an upgrade, and the real batch."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
import sqlglot
from sqlglot import exp

from ingest.events import Accepted, prepare
from schemas.dsn import Dialect, parse_dsn
from schemas.migrations import MIGRATIONS, Catalog, ColumnInfo, schema_catalog
from schemas.rows import EventRows
from schemas.sql import backfill, ddl
from schemas.store import CountKind, Direction, Page, PendingItem, SearchKind, SearchScope, TimeWindow
from schemas.tables import SEED_TABLES, TABLES
from schemas.teradata import qvci
from schemas.teradata.store import TeradataStore
from tests.conftest import complete_event_files, load_event
from tests.schemas.sql.test_ddl import COLLECT_STATISTICS, NAMED_INDEX, SEED_KEYS, TABLE_BY_NAME, seed_columns
from tests.schemas.teradata.recording import Call, Script, teradata_error
from tests.schemas.test_migrations import SEED_INDEXES

DATABASE = "lineage_db"
DSN = parse_dsn(f"teradata://etl:secret@td.example:1025/{DATABASE}")
RECEIVED = "2024-06-01 12:00:00.000000"


def store_on(script: Script) -> TeradataStore:
    """A store whose sessions are recording connections of `script`; backoff sleeps are skipped."""
    return TeradataStore(DSN, connect=script.connect, sleep=lambda _seconds: None)


def _seed_info(declaration: str) -> ColumnInfo:
    nullable = "NOT NULL" not in declaration
    if match := re.match(r"(VARCHAR|CHAR)\((\d+)\)", declaration):
        return ColumnInfo("CV" if match[1] == "VARCHAR" else "CF", int(match[2]), "LATIN", nullable)
    if match := re.match(r"TIMESTAMP\((\d)\)", declaration):
        return ColumnInfo("TS", int(match[1]), None, nullable)
    if declaration.startswith("DECIMAL"):
        return ColumnInfo("D", 0, None, nullable)
    return ColumnInfo("I", 0, None, nullable)


def seed_catalog() -> Catalog:
    """The catalog of a database the seed application's `setup_lineage_schema.py --openlineage` built: its nine
    tables with their widths (LATIN, the usual default character set), PIs on its keys, its 18 indexes, version 1."""
    types = {t: {name: _seed_info(decl) for name, decl in seed_columns(t)} for t in SEED_KEYS}
    indexed = {t: {*SEED_KEYS[t]} for t in SEED_KEYS}
    for table, column in SEED_INDEXES.values():
        indexed[table].add(column)
    return Catalog(
        columns={t: frozenset(cols) for t, cols in types.items()},
        indexes=frozenset(SEED_INDEXES),
        versions=frozenset({1}),
        types=types,
        primary_indexes=dict(SEED_KEYS),
        indexed={t: frozenset(cols) for t, cols in indexed.items()},
    )


def seed_script() -> Script:
    return Script(DATABASE, seed_catalog(), versions=[1], extra_indexes=dict(SEED_INDEXES))


def upgraded_seed_catalog() -> Catalog:
    """The seed's database after `lineage schema upgrade`: new tables, columns and indexes as created; seed columns
    as they were, except the VARCHARs the upgrade widened (those no index covers); the seed's PIs and indexes."""
    seed, fresh = seed_catalog(), schema_catalog()
    types = {t: dict(cols) for t, cols in fresh.types.items()}
    for seed_table in SEED_TABLES:
        for name, info in seed.types[seed_table.name].items():
            target = seed_table.column(name)
            widened = info.type == "CV" and name not in seed.indexed[seed_table.name] and info.length < target.length
            types[seed_table.name][name] = replace(info, length=target.length) if widened else info
    primary = {**fresh.primary_indexes, **seed.primary_indexes}
    ours = {i.name.lower(): (t.name, i.columns) for t in TABLES for i in t.indexes if i.columns != primary[t.name]}
    indexed = {t: {*primary[t], *seed.indexed.get(t, ())} for t in types}
    for table, columns in ours.values():
        indexed[table].update(columns)
    return Catalog(
        columns={t: frozenset(cols) for t, cols in types.items()},
        indexes=seed.indexes | frozenset(ours),
        versions=frozenset(m.version for m in MIGRATIONS),
        types=types,
        primary_indexes=primary,
        indexed={t: frozenset(cols) for t, cols in indexed.items()},
    )


def real_batch() -> list[EventRows]:
    """Every complete shared event mapped to rows, then the first three again (duplicates within the batch)."""
    batch = []
    for path in complete_event_files():
        result = prepare(load_event(path.name), path.read_text(), strict=False, received_at=RECEIVED)
        if isinstance(result, Accepted):
            batch.append(result.rows)
    assert len(batch) > 10, "the shared events should give a real batch"
    return batch + batch[:3]


def every_ddl_statement() -> list[str]:
    """Every DDL the backend can send: the schema, each later column, every widening, the migration record."""
    statements = ddl.render_schema(Dialect.TERADATA, DATABASE)
    for table in TABLES:
        statements += [ddl.add_column(table, c, Dialect.TERADATA, DATABASE) for c in table.columns if c.since > 1]
        statements += [
            ddl.widen_column(table, c, Dialect.TERADATA, DATABASE, charset=charset, nullable=c.nullable)
            for c in table.columns
            if c.type.value == "VARCHAR"
            for charset in ("LATIN", "UNICODE")
        ]
    return [*statements, ddl.insert_schema_version(Dialect.TERADATA, DATABASE)]


# --- every statement the backend sends --------------------------------------------------------------------


def recorded_calls() -> list[Call]:
    """Drive the store through everything it does, on recording connections, and return every call it made."""
    calls: list[Call] = []
    fresh = Script(DATABASE)  # empty: create_schema, then writes once the catalog says the schema is there
    store = store_on(fresh)
    store.create_schema()
    fresh.catalog = schema_catalog()
    store.upgrade_schema()
    store.schema_status()
    store.ping()
    store.write_batch(real_batch())
    read_everything(store)
    drive_marks(store)
    calls += fresh.calls

    seed = seed_script()
    store = store_on(seed)
    store.upgrade_schema()
    seed.catalog = upgraded_seed_catalog()
    seed.versions = [m.version for m in MIGRATIONS]
    store.write_batch(real_batch())
    calls += seed.calls

    for answer in (None, teradata_error(9719, "QVCI feature is disabled.")):
        checked = Script(DATABASE, fail=_answering(answer))
        qvci.qvci_check(DSN, connect=checked.connect)
        calls += checked.calls
    return calls


def _answering(failure: BaseException | None) -> Callable[[Call], BaseException | None]:
    return lambda _call: failure


def drive_marks(store: TeradataStore) -> None:
    """Every statement of a population source's progress: read, first advance (INSERT), a later one (UPDATE),
    pending items recorded and finished, the reset."""
    source = "dbql teradata://td.example:1025"
    store.source_mark(source)
    pending = PendingItem("307188741412345678", "2024-06-01 10:00:00.000000", '{"QueryID": "307188741412345678"}')
    store.advance_mark(source, "2024-06-01 11:00:00.000000", pending=[pending])
    store.reset_mark(source)


def read_everything(store: TeradataStore) -> None:
    """Every Store read method, with pages past the first so that counts run too."""
    ids, page = ["a", "b"], Page(10, 10)
    for direction in Direction:
        store.column_edges(ids, direction)
        store.dataset_links(ids, direction)
    store.job_links(ids)
    store.job_links(ids, of_jobs=True)
    store.namespaces(page)
    store.namespaces_by_ids(ids)
    store.datasets("ns", page)
    store.datasets_by_ids(ids)
    store.datasets_by_name("sales.orders")
    store.datasets_in_database("sales", 10)
    store.fields(ids)
    store.fields_by_ids(ids)
    store.jobs("ns", page)
    store.jobs_by_ids(ids)
    store.jobs_listed(None, None, page)
    store.jobs_listed("ns", ["COMPLETE", "NEW"], page)
    store.latest_runs(ids, 10)
    store.runs("job", page)
    store.runs_by_ids(ids)
    store.runs_writing("ds", page)
    store.facets("dataset", ids, ["schema", "documentation"])
    store.entity_facets("job", ids)
    store.events(TimeWindow("2024-01-01 00:00:00.000000", "2024-12-31 23:59:59.999999"), page)
    store.events(TimeWindow("2024-01-01 00:00:00.000000", "2024-12-31 23:59:59.999999"), page, oldest_first=True)
    for kind in CountKind:
        store.counts_in_buckets(kind, ["2024-01-01 00:00:00.000000", "2024-01-02 00:00:00", "2024-01-03 00:00:00"])
    store.search("ord%er", list(SearchKind), page)
    window = TimeWindow("2024-01-01 00:00:00.000000", "2024-12-31 23:59:59.999999")
    store.search("ord", [SearchKind.JOB], page, SearchScope("ns", window, newest_first=True))
    store.column_edges_into(ids)
    store.entity_facets("job", ids)
    store.facets_named(["tags", "dataSource"])
    store.latest_runs(ids, 10)
    store.run_io(ids)
    store.dataset_versions("ds", page)
    store.dataset_versions_by_ids(ids)
    store.current_dataset_versions(ids)


CALLS = recorded_calls()
# The backfill's UPDATE runs only where old rows exist, which no scripted database holds.
STATEMENTS = sorted(
    {call.sql for call in CALLS}
    | set(every_ddl_statement())
    | {backfill.fill_sql(Dialect.TERADATA, DATABASE)}
    | {backfill.fold_sql(folded, Dialect.TERADATA, DATABASE) for folded in backfill.FOLDED}
)


def check_by_form(statement: str) -> bool:
    """True for the valid Teradata forms sqlglot does not know, each held to Teradata's documented grammar:
    `CREATE INDEX name (column_list) ON [database.]table` and `COLLECT STATISTICS COLUMN (column_list) ON
    [database.]table` (schemas.sql.ddl renders no other form sqlglot cannot parse)."""
    for form in (NAMED_INDEX, COLLECT_STATISTICS):
        match = form.fullmatch(statement)
        if match:
            table = TABLE_BY_NAME[match["table"].split(".")[-1]]
            assert set(match["cols"].split(", ")) <= {c.name for c in table.columns}, statement
            return True
    return False


def test_the_store_was_driven_through_every_kind_of_statement() -> None:
    kinds = {s.split(" ", 1)[0] for s in STATEMENTS if not s.startswith("/*")}
    assert {"CREATE", "ALTER", "COLLECT", "INSERT", "MERGE", "UPDATE", "SELECT", "LOCKING"} <= kinds
    assert sum(s.startswith("LOCKING ROW FOR ACCESS ") for s in STATEMENTS) >= 20  # every read
    assert any("QUALIFY ROW_NUMBER() OVER (ORDER BY" in s for s in STATEMENTS)
    assert any(
        s.startswith(f"MERGE INTO {DATABASE}.{t.name} ") for s in STATEMENTS for t in TABLES if t.name != "OL_EVENT"
    )
    assert qvci.QVCI_SQL in STATEMENTS


@pytest.mark.parametrize("statement", STATEMENTS)
def test_every_teradata_statement_parses(statement: str) -> None:
    if check_by_form(statement):
        return
    parsed = sqlglot.parse_one(statement, read="teradata")
    assert not isinstance(parsed, exp.Command), statement
    if isinstance(parsed, exp.LockingStatement):  # reads: LOCKING ROW FOR ACCESS <select>
        assert statement.startswith("LOCKING ROW FOR ACCESS SELECT ") and isinstance(parsed.expression, exp.Query)
        return
    kinds = exp.Create | exp.Alter | exp.Insert | exp.Merge | exp.Update | exp.Select | exp.Delete | exp.Set
    assert isinstance(parsed, kinds), type(parsed)


def test_every_parameter_marker_gets_a_value() -> None:
    bound = [call for call in CALLS if "?" in call.sql]
    assert len(bound) > 20
    for call in bound:
        assert "'?'" not in call.sql  # every ? is a marker, none a literal
        for row in call.params:
            assert len(row) == call.sql.count("?"), call.sql[:120]
    assert all(call.params == [()] for call in CALLS if "?" not in call.sql)


def test_writes_bind_every_rule_column_from_the_shared_param_builders() -> None:
    """The Teradata statements bind exactly the parameters schemas.sql.params' builders give for each table."""
    from schemas.teradata import sql as teradata_sql

    plan = teradata_sql.plan(DATABASE, schema_catalog())
    for table_write in plan:
        write = table_write.write
        names = {c for statement in table_write.statements for c in statement.columns}
        for rows in real_batch():
            for params in write.params(rows):
                assert names <= set(params), write.table.name
                assert set(write.columns) == set(params), write.table.name
