"""DDL text for the OL_* tables of schemas.tables, rendered for SQLite, PostgreSQL and Teradata.

Everything that differs between dialects is data in one `DialectDdl` per dialect (type renderings,
statement templates, whether a PRIMARY KEY or a PRIMARY INDEX is declared); the functions below only
fill templates. Statements are plain (no IF NOT EXISTS): what `render_schema` returns is exactly what
`lineage schema create` applies, and SQLite stores that text verbatim in sqlite_master.

Identifiers come from schemas.tables and, for Teradata, from an optional database name validated by
`check_identifier`; nothing else is ever interpolated.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from schemas.dsn import Dialect
from schemas.tables import OL_SCHEMA_VERSION, TABLES, ColType, Column, Index, Table

logger = logging.getLogger(__name__)

# Teradata object names: letters, digits, _ $ #, not starting with a digit, at most 128 characters.
IDENTIFIER = re.compile(r"[A-Za-z_$#][A-Za-z0-9_$#]{0,127}")


@dataclass(frozen=True, slots=True)
class DialectDdl:
    """How one dialect spells DDL. Templates use str.format fields named in each comment."""

    types: dict[ColType, str]  # {length}, {scale}
    create_table: str  # {name}, {body}, {suffix}
    primary_key: bool  # declare PRIMARY KEY (...) in the table body
    primary_index: bool  # Teradata: [UNIQUE] PRIMARY INDEX (...) after the body
    add_column: str  # {table}, {column}
    create_index: str  # {name}, {table}, {columns}
    collect_statistics: str | None  # {table}, {columns}; None: the optimizer keeps its own statistics
    qualifies: bool  # table names may be prefixed with a database name
    placeholder: str  # the driver's parameter marker: sqlite3 and teradatasql "?", psycopg "%s"
    # False where a secondary index on exactly the primary index's columns is refused or useless (Teradata:
    # the PI already is the single-AMP access path for those columns, and a NUSI repeating it is an error).
    index_on_pi: bool = True
    notes: dict[str, str] = field(default_factory=dict)  # table name -> comment rendered before its CREATE
    # {table}, {column}: lengthen an existing VARCHAR column in place; None where lengths mean nothing (SQLite).
    widen_column: str | None = None
    collation: str = ""  # after the type of every VARCHAR and CHAR column


SQLITE_DDL = DialectDdl(
    # Affinity names only: SQLite ignores lengths, and TEXT keeps timestamps as text that sorts as time
    # (a TIMESTAMP declaration would get NUMERIC affinity).
    types={
        ColType.VARCHAR: "TEXT",
        ColType.CHAR: "TEXT",
        ColType.CLOB: "TEXT",
        ColType.TIMESTAMP: "TEXT",
        ColType.INTEGER: "INTEGER",
        ColType.DECIMAL: "NUMERIC",
    },
    create_table="CREATE TABLE {name} (\n{body}\n)",
    primary_key=True,
    primary_index=False,
    add_column="ALTER TABLE {table} ADD COLUMN {column}",
    create_index="CREATE INDEX {name} ON {table} ({columns})",
    collect_statistics=None,
    qualifies=False,
    placeholder="?",
)

POSTGRESQL_DDL = DialectDdl(
    types={
        ColType.VARCHAR: "VARCHAR({length})",
        ColType.CHAR: "CHAR({length})",
        ColType.CLOB: "TEXT",
        # Microseconds everywhere, the seed's TIMESTAMP(0) columns included: a PostgreSQL store holds no seed rows,
        # and PostgreSQL rounds a time to a column's precision (12:00:01.6 would read 12:00:02), where SQLite keeps
        # what the event said.
        ColType.TIMESTAMP: "TIMESTAMP(6)",
        ColType.INTEGER: "INTEGER",
        ColType.DECIMAL: "NUMERIC({length},{scale})",
    },
    create_table="CREATE TABLE {name} (\n{body}\n)",
    primary_key=True,
    primary_index=False,
    add_column="ALTER TABLE {table} ADD COLUMN {column}",
    create_index="CREATE INDEX {name} ON {table} ({columns})",
    collect_statistics=None,
    qualifies=False,
    placeholder="%s",
    # Byte order, as SQLite compares text: names sort and compare the same on both stores whatever the database's
    # locale, and a b-tree index on a name serves `LIKE 'prefix%'`.
    collation='COLLATE "C"',
)

# Why each Teradata primary index is what it is; rendered as a comment ahead of the CREATE TABLE so that
# a DBA reading the DDL sees the reasoning. The PI decides which AMP holds a row and is the cheapest access
# path, so it follows the dominant look-up, not the logical key.
TERADATA_PI_NOTES: dict[str, str] = {
    "OL_NAMESPACE": "UPI on namespace_id: the MERGE key and the only look-up.",
    "OL_DATASET": "UPI on dataset_id: the MERGE key; every join from lineage and runs arrives by dataset_id.",
    "OL_DATASET_FIELD": "NUPI on dataset_id: a dataset's fields are read together, so they share one AMP; "
    "field_id stays the logical key, matched by MERGE together with the PI.",
    "OL_JOB": "UPI on job_id: the MERGE key and the join key from runs.",
    "OL_RUN": "UPI on run_id: the MERGE key; runs are looked up by id from events, lineage and children.",
    "OL_RUN_INPUT": "NUPI on run_id: a run's inputs are read together; the NUSI on dataset_id serves the reverse.",
    "OL_RUN_OUTPUT": "NUPI on run_id: a run's outputs are read together; the NUSI on dataset_id serves the reverse.",
    "OL_COLUMN_LINEAGE": "NUPI on target_field_id: upstream traversal, the common lineage question, reads every "
    "edge into one field, and those rows then sit on one AMP (a single-AMP read per BFS step); lineage_id would "
    "scatter them. Downstream traversal uses the NUSI on source_field_id. MERGE matches target_field_id and "
    "lineage_id. A table the seed application created keeps its own PI (a PI cannot change on a table with rows); "
    "the store reads it from DBC.IndicesV and matches on it.",
    "OL_SCHEMA_VERSION": "UPI on version_id: a handful of rows.",
    "OL_EVENT": "UPI on event_id: the duplicate check of every batch probes it; hashes spread evenly.",
    "OL_FACET": "NUPI on entity_id: all facets of one dataset, job or run are read together.",
    "OL_DATASET_SYMLINK": "NUPI on dataset_id: a dataset's other names are read with it.",
    "OL_COLUMN_LINEAGE_DATASET": "NUPI on target_dataset_id: dataset-level edges are read per output dataset.",
    "OL_POPULATE_MARK": "UPI on source_id: one row per population source, read and written by its key.",
    "OL_POPULATE_PENDING": "NUPI on source_id: a source's pending items are read together at the start of a run.",
    "OL_DATASET_VERSION": "NUPI on dataset_id: a dataset's versions are listed together. MERGE matches dataset_id "
    "and version_id.",
}


TERADATA_DDL = DialectDdl(
    # UNICODE: OpenLineage names are any Unicode text; LATIN would lose characters.
    types={
        ColType.VARCHAR: "VARCHAR({length}) CHARACTER SET UNICODE",
        ColType.CHAR: "CHAR({length}) CHARACTER SET UNICODE",
        ColType.CLOB: "CLOB CHARACTER SET UNICODE",
        ColType.TIMESTAMP: "TIMESTAMP({length})",
        ColType.INTEGER: "INTEGER",
        ColType.DECIMAL: "DECIMAL({length},{scale})",
    },
    # MULTISET: no duplicate-row check on insert (uniqueness is the MERGE on the primary index).
    # No PRIMARY KEY and no foreign keys: both would add a unique secondary index or a reference check to
    # every insert, and the seed application declared neither.
    create_table="CREATE MULTISET TABLE {name} (\n{body}\n) {suffix}",
    primary_key=False,
    primary_index=True,
    add_column="ALTER TABLE {table} ADD {column}",
    create_index="CREATE INDEX {name} ({columns}) ON {table}",
    collect_statistics="COLLECT STATISTICS COLUMN ({columns}) ON {table}",
    qualifies=True,
    placeholder="?",
    index_on_pi=False,
    notes=TERADATA_PI_NOTES,
    # Teradata's ADD on an existing column changes its attributes: a VARCHAR may grow (never shrink), but not while
    # any index covers the column, and not from CHAR or TIMESTAMP(n) to anything else (error 3558).
    widen_column="ALTER TABLE {table} ADD {column}",
)

DIALECT_DDL: dict[Dialect, DialectDdl] = {
    Dialect.SQLITE: SQLITE_DDL,
    Dialect.POSTGRESQL: POSTGRESQL_DDL,
    Dialect.TERADATA: TERADATA_DDL,
}


def check_identifier(name: str) -> str:
    """Return `name` if it is a valid unquoted Teradata identifier, else raise ValueError naming it."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a database name: use letters, digits, _ $ # (at most 128 characters)")
    return name


def qualified(table: Table, dialect: Dialect, database: str | None = None) -> str:
    """The table's name as statements of this dialect spell it, prefixed with `database` where supported."""
    if not database:
        return table.name
    if not DIALECT_DDL[dialect].qualifies:
        raise ValueError(f"{dialect.value} tables are not qualified with a database name")
    return f"{check_identifier(database)}.{table.name}"


def column_type(column: Column, dialect: Dialect) -> str:
    return DIALECT_DDL[dialect].types[column.type].format(length=column.length, scale=column.scale)


def column_definition(column: Column, dialect: Dialect) -> str:
    """`name TYPE [DEFAULT x] [NOT NULL]` as it appears in CREATE TABLE and ALTER TABLE ... ADD."""
    parts = [column.name, column_type(column, dialect)]
    if column.type in (ColType.VARCHAR, ColType.CHAR) and DIALECT_DDL[dialect].collation:
        parts.append(DIALECT_DDL[dialect].collation)
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if not column.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def create_table(table: Table, dialect: Dialect, database: str | None = None) -> str:
    """CREATE TABLE with every current column of `table` (whatever migration introduced it)."""
    spec = DIALECT_DDL[dialect]
    lines = [f"    {column_definition(column, dialect)}" for column in table.columns]
    if spec.primary_key:
        lines.append(f"    PRIMARY KEY ({', '.join(table.primary_key)})")
    suffix = ""
    if spec.primary_index:
        unique = "UNIQUE " if table.unique_pi else ""
        suffix = f"{unique}PRIMARY INDEX ({', '.join(table.primary_index)})"
    text = spec.create_table.format(name=qualified(table, dialect, database), body=",\n".join(lines), suffix=suffix)
    note = spec.notes.get(table.name)
    return f"/* {note} */\n{text}" if note else text


def add_column(table: Table, column: Column, dialect: Dialect, database: str | None = None) -> str:
    """ALTER TABLE ... ADD for a column an older schema lacks. Only nullable or defaulted columns can be added
    to a table that already holds rows, so anything else is refused here rather than by the database."""
    if not column.nullable and column.default is None:
        raise ValueError(f"{table.name}.{column.name} is NOT NULL without a default and cannot be added later")
    return DIALECT_DDL[dialect].add_column.format(
        table=qualified(table, dialect, database), column=column_definition(column, dialect)
    )


def widen_column(
    table: Table, column: Column, dialect: Dialect, database: str | None = None, *, charset: str, nullable: bool
) -> str:
    """Lengthen an existing VARCHAR column to `column.length`, keeping the character set and nullability it has.

    Teradata spells this `ALTER TABLE t ADD c VARCHAR(n) ...` on a column that exists; restating its character
    set matters, since LATIN data cannot become UNICODE in place. Raises ValueError for a dialect without it.
    """
    template = DIALECT_DDL[dialect].widen_column
    if template is None or column.type is not ColType.VARCHAR:
        raise ValueError(f"{dialect.value} cannot widen {table.name}.{column.name} in place")
    if charset not in TERADATA_CHARSETS.values():
        raise ValueError(f"unknown character set {charset!r} of {table.name}.{column.name}")
    definition = f"{column.name} VARCHAR({column.length}) CHARACTER SET {charset}" + ("" if nullable else " NOT NULL")
    return template.format(table=qualified(table, dialect, database), column=definition)


# DBC.ColumnsV.CharType -> the server character set it names (Teradata Data Dictionary).
TERADATA_CHARSETS = {1: "LATIN", 2: "UNICODE", 3: "KANJISJIS", 4: "GRAPHIC", 5: "KANJI1"}


def indexes(table: Table, dialect: Dialect) -> tuple[Index, ...]:
    """The secondary indexes this dialect creates for `table` (all of them, less any that repeat the PI)."""
    if DIALECT_DDL[dialect].index_on_pi:
        return table.indexes
    return tuple(index for index in table.indexes if index.columns != table.primary_index)


def create_index(table: Table, index: Index, dialect: Dialect, database: str | None = None) -> str:
    return DIALECT_DDL[dialect].create_index.format(
        name=index.name, table=qualified(table, dialect, database), columns=", ".join(index.columns)
    )


def collect_statistics(
    table: Table, dialect: Dialect, database: str | None = None, *, new_indexes: tuple[Index, ...] | None = None
) -> list[str]:
    """Statistics statements for the primary index and each indexed column (Teradata only; else empty).

    With `new_indexes`, only those indexes' columns (an upgrade that added indexes to an existing table).
    Without statistics the Teradata optimizer guesses from a random-AMP sample and may ignore a NUSI.
    """
    template = DIALECT_DDL[dialect].collect_statistics
    if template is None:
        return []
    name = qualified(table, dialect, database)
    if new_indexes is None:
        column_sets = [table.primary_index, *(index.columns for index in indexes(table, dialect))]
    else:
        column_sets = [index.columns for index in new_indexes]
    unique = list(dict.fromkeys(column_sets))  # two indexes on one column need one statistic
    return [template.format(table=name, columns=", ".join(columns)) for columns in unique]


def insert_schema_version(dialect: Dialect, database: str | None = None) -> str:
    """The parameterised INSERT recording one migration in OL_SCHEMA_VERSION (six parameters, in order:
    version_id, openlineage_spec_version, schema_version, applied_at, description, migration_name)."""
    names = ["version_id", "openlineage_spec_version", "schema_version", "applied_at", "description", "migration_name"]
    marks = ", ".join([DIALECT_DDL[dialect].placeholder] * len(names))
    table = qualified(OL_SCHEMA_VERSION, dialect, database)
    # Identifiers from schemas.tables and a validated database name only; values are bound parameters.
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608


def render_schema(dialect: Dialect, database: str | None = None) -> list[str]:
    """The full current schema: every CREATE TABLE, then every index, then (Teradata) statistics.

    Applying these statements in order to an empty database gives the schema `upgrade_schema` converges to.
    """
    statements = [create_table(table, dialect, database) for table in TABLES]
    statements += [
        create_index(table, index, dialect, database) for table in TABLES for index in indexes(table, dialect)
    ]
    for table in TABLES:
        statements += collect_statistics(table, dialect, database)
    return statements
