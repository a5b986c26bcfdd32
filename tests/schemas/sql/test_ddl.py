"""The DDL of every dialect: complete against the seed application's tables, parseable, and for SQLite
exactly what `create_schema` applies and what sqlite_master keeps."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from schemas.dsn import Dialect
from schemas.migrations import MIGRATIONS
from schemas.sql import ddl
from schemas.sqlite.store import SqliteStore
from schemas.tables import TABLES, ColType

# The seed application's tables, copied from DESIGN.md ("The seed's OL_* tables"), independent of
# schemas.tables: whatever we render must keep every one of these columns under the same name.
SEED_DDL: dict[str, str] = {
    "OL_NAMESPACE": "namespace_id VARCHAR(64) NOT NULL, namespace_uri VARCHAR(512) NOT NULL, "
    "description VARCHAR(2000), spec_version VARCHAR(20) DEFAULT '2-0-2', created_at TIMESTAMP(0)",
    "OL_DATASET": "dataset_id VARCHAR(256) NOT NULL, namespace_id VARCHAR(64) NOT NULL, name VARCHAR(256) NOT NULL, "
    "description VARCHAR(2000), source_type VARCHAR(50), created_at TIMESTAMP(0), updated_at TIMESTAMP(0), "
    "is_active CHAR(1) DEFAULT 'Y'",
    "OL_DATASET_FIELD": "field_id VARCHAR(512) NOT NULL, dataset_id VARCHAR(256) NOT NULL, "
    "field_name VARCHAR(256) NOT NULL, field_type VARCHAR(256), field_description VARCHAR(2000), "
    "ordinal_position INTEGER, nullable CHAR(1), created_at TIMESTAMP(0)",
    "OL_JOB": "job_id VARCHAR(256) NOT NULL, namespace_id VARCHAR(64) NOT NULL, name VARCHAR(256) NOT NULL, "
    "description VARCHAR(2000), job_type VARCHAR(50), created_at TIMESTAMP(0), updated_at TIMESTAMP(0)",
    "OL_RUN": "run_id VARCHAR(64) NOT NULL, job_id VARCHAR(256) NOT NULL, event_type VARCHAR(20), "
    "event_time TIMESTAMP(6), nominal_start_time TIMESTAMP(0), nominal_end_time TIMESTAMP(0), "
    "producer VARCHAR(512), schema_url VARCHAR(512), created_at TIMESTAMP(0)",
    "OL_RUN_INPUT": "run_id VARCHAR(64) NOT NULL, dataset_id VARCHAR(256) NOT NULL",
    "OL_RUN_OUTPUT": "run_id VARCHAR(64) NOT NULL, dataset_id VARCHAR(256) NOT NULL",
    "OL_COLUMN_LINEAGE": "lineage_id VARCHAR(64) NOT NULL, run_id VARCHAR(64), source_namespace VARCHAR(512) NOT NULL, "
    "source_dataset VARCHAR(256) NOT NULL, source_field VARCHAR(256) NOT NULL, "
    "target_namespace VARCHAR(512) NOT NULL, target_dataset VARCHAR(256) NOT NULL, "
    "target_field VARCHAR(256) NOT NULL, transformation_type VARCHAR(20), transformation_subtype VARCHAR(50), "
    "transformation_description VARCHAR(2000), masking CHAR(1) DEFAULT 'N', confidence_score DECIMAL(3,2), "
    "discovered_at TIMESTAMP(0), is_active CHAR(1) DEFAULT 'Y'",
    "OL_SCHEMA_VERSION": "version_id INTEGER NOT NULL, openlineage_spec_version VARCHAR(20) NOT NULL, "
    "schema_version VARCHAR(20) NOT NULL, applied_at TIMESTAMP(0), description VARCHAR(500)",
}
SEED_KEYS: dict[str, tuple[str, ...]] = {  # "primary key first"; the two run I/O tables are keyed by both
    "OL_NAMESPACE": ("namespace_id",),
    "OL_DATASET": ("dataset_id",),
    "OL_DATASET_FIELD": ("field_id",),
    "OL_JOB": ("job_id",),
    "OL_RUN": ("run_id",),
    "OL_RUN_INPUT": ("run_id", "dataset_id"),
    "OL_RUN_OUTPUT": ("run_id", "dataset_id"),
    "OL_COLUMN_LINEAGE": ("lineage_id",),
    "OL_SCHEMA_VERSION": ("version_id",),
}
EXTENSION_TABLES = (
    "OL_EVENT",
    "OL_FACET",
    "OL_DATASET_SYMLINK",
    "OL_COLUMN_LINEAGE_DATASET",
    "OL_POPULATE_MARK",
    "OL_POPULATE_PENDING",
    "OL_DATASET_VERSION",
)


def seed_columns(table: str) -> list[tuple[str, str]]:
    """(name, declaration) of each seed column; commas inside DECIMAL(3,2) are not separators."""
    parts = re.split(r",\s+(?=[a-z_]+ )", SEED_DDL[table])
    return [(name, declaration) for name, declaration in (part.split(" ", 1) for part in parts)]


def test_seed_data_is_complete() -> None:
    assert len(SEED_DDL) == 9
    assert sum(len(seed_columns(t)) for t in SEED_DDL) == 5 + 8 + 8 + 7 + 9 + 2 + 2 + 15 + 5


# --- Teradata ---------------------------------------------------------------------------------------------

# Teradata's named secondary index: CREATE [UNIQUE] INDEX [name] [ALL] (column_list) ON [database.]table
NAMED_INDEX = re.compile(
    r"CREATE INDEX (?P<name>[A-Za-z_$#][\w$#]{0,127}) \((?P<cols>[\w$#]+(?:, [\w$#]+)*)\) ON (?P<table>(?:\w+\.)?\w+)"
)
# COLLECT STATISTICS COLUMN (column_list) ON [database.]table (the 14.0+ form without a statistics name)
COLLECT_STATISTICS = re.compile(
    r"COLLECT STATISTICS COLUMN \((?P<cols>[\w$#]+(?:, [\w$#]+)*)\) ON (?P<table>(?:\w+\.)?\w+)"
)
TABLE_BY_NAME = {table.name: table for table in TABLES}


def teradata_statements() -> list[str]:
    """Every DDL statement the Teradata backend can send: the full schema, each later-added column, the record."""
    statements = ddl.render_schema(Dialect.TERADATA, "lineage_db")
    for table in TABLES:
        statements += [ddl.add_column(table, c, Dialect.TERADATA, "lineage_db") for c in table.columns if c.since > 1]
    return [*statements, ddl.insert_schema_version(Dialect.TERADATA, "lineage_db")]


def check_by_form(statement: str) -> bool:
    """True when the statement is one of the forms sqlglot does not know, checked here against Teradata's syntax."""
    for form in (NAMED_INDEX, COLLECT_STATISTICS):
        match = form.fullmatch(statement)
        if match:
            table = TABLE_BY_NAME[match["table"].split(".")[-1]]
            columns = {c.name for c in table.columns}
            assert set(match["cols"].split(", ")) <= columns, statement
            return True
    return False


@pytest.mark.parametrize("statement", teradata_statements())
def test_every_teradata_statement_parses(statement: str) -> None:
    if check_by_form(statement):
        return
    parsed = sqlglot.parse_one(statement, read="teradata")
    assert not isinstance(parsed, exp.Command), statement
    assert isinstance(parsed, exp.Create | exp.Alter | exp.Insert), type(parsed)


def teradata_tables() -> dict[str, tuple[str, exp.Create]]:
    created = {}
    for statement in ddl.render_schema(Dialect.TERADATA):
        if "CREATE MULTISET TABLE" not in statement:
            continue
        parsed = sqlglot.parse_one(statement, read="teradata")
        if isinstance(parsed, exp.Create) and parsed.kind == "TABLE":
            created[parsed.this.this.name] = (statement, parsed)
    return created


def test_teradata_has_every_seed_table_and_column() -> None:
    created = teradata_tables()
    assert set(created) == set(SEED_DDL) | set(EXTENSION_TABLES)
    for name in SEED_DDL:
        text, parsed = created[name]
        assert "CREATE MULTISET TABLE " + name in text
        columns = {column.name for column in parsed.find_all(exp.ColumnDef)}
        assert {column for column, _ in seed_columns(name)} <= columns, name


def test_teradata_physical_design() -> None:
    created = teradata_tables()
    for text, _ in created.values():
        assert "PRIMARY KEY" not in text and "REFERENCES" not in text and "FOREIGN" not in text
        assert "PRIMARY INDEX (" in text
    lineage = created["OL_COLUMN_LINEAGE"][0]
    assert lineage.startswith("/* NUPI on target_field_id")  # the reasoning travels with the DDL
    assert lineage.endswith(") PRIMARY INDEX (target_field_id)")
    assert created["OL_EVENT"][0].endswith(") UNIQUE PRIMARY INDEX (event_id)")
    assert "name VARCHAR(4000) CHARACTER SET UNICODE NOT NULL" in created["OL_DATASET"][0]
    assert "payload CLOB CHARACTER SET UNICODE" in created["OL_EVENT"][0]
    assert "confidence_score DECIMAL(3,2)" in lineage
    statements = ddl.render_schema(Dialect.TERADATA)
    assert "COLLECT STATISTICS COLUMN (target_field_id) ON OL_COLUMN_LINEAGE" in statements
    assert "CREATE INDEX idx_ol_lineage_src_fid (source_field_id) ON OL_COLUMN_LINEAGE" in statements
    # a NUSI on exactly the primary index's columns is refused by Teradata: the PI serves that access
    assert not any(s.startswith("CREATE INDEX idx_ol_lineage_tgt_fid") for s in statements)


# Teradata's row limit (64,256 bytes before 1 MB rows) is checked against the declared maximum at CREATE.
TERADATA_BYTES = {ColType.INTEGER: 4, ColType.CLOB: 40, ColType.DECIMAL: 2}  # CLOBs live outside the row


def test_teradata_rows_fit_the_64k_limit() -> None:
    for table in TABLES:
        size = 0
        for c in table.columns:
            if c.type in (ColType.VARCHAR, ColType.CHAR):
                size += 2 * c.length + 2  # UNICODE: two bytes a character, plus the length
            elif c.type is ColType.TIMESTAMP:
                size += 10
            else:
                size += TERADATA_BYTES[c.type]
        assert size < 64256, (table.name, size)


@pytest.mark.parametrize("database", ["lineage-db", "1abc", "a" * 129, "db; DROP TABLE x", ""])
def test_teradata_database_name_is_an_identifier(database: str) -> None:
    if not database:
        assert ddl.qualified(TABLES[0], Dialect.TERADATA, database) == "OL_NAMESPACE"
        return
    with pytest.raises(ValueError, match="is not a database name"):
        ddl.render_schema(Dialect.TERADATA, database)


def test_database_name_only_for_teradata() -> None:
    with pytest.raises(ValueError, match="not qualified"):
        ddl.render_schema(Dialect.SQLITE, "lineage_db")


# --- PostgreSQL and SQLite --------------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ddl.render_schema(Dialect.POSTGRESQL))
def test_every_postgresql_statement_parses(statement: str) -> None:
    parsed = sqlglot.parse_one(statement, read="postgres")
    assert isinstance(parsed, exp.Create), statement


def test_postgresql_types() -> None:
    text = "\n".join(ddl.render_schema(Dialect.POSTGRESQL))
    assert "payload TEXT" in text and "confidence_score NUMERIC(3,2)" in text and "event_time TIMESTAMP(6)" in text
    assert "TIMESTAMP(0)" not in text  # PostgreSQL would round to whole seconds
    assert "PRIMARY KEY (owner, entity_id, facet_name)" in text
    assert (
        'namespace_id VARCHAR(64) COLLATE "C" NOT NULL' in text and "masking CHAR(1) COLLATE \"C\" DEFAULT 'N'" in text
    )


def test_sqlite_ddl_is_what_create_applied_and_what_sqlite_keeps(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "lineage.db")
    try:
        executed = store.create_schema()
    finally:
        store.close()
    rendered = ddl.render_schema(Dialect.SQLITE)
    assert [s for s in executed if not s.startswith("INSERT INTO OL_SCHEMA_VERSION ")] == rendered
    assert len(executed) == len(rendered) + len(MIGRATIONS)  # one record per migration
    with closing(sqlite3.connect(tmp_path / "lineage.db")) as conn:
        kept = [row[0] for row in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    assert kept == rendered
