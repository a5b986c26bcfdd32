"""The Teradata catalog reader: the OL_* tables of one database as DBC's dictionary views describe them.

Besides what the migration engine (schemas.migrations) diffs (tables, columns, indexes, recorded versions) it
reports each column's type, width and character set and each table's primary index, so that an upgrade can
widen the seed's too-narrow VARCHARs in place and the store can match its MERGEs on the primary index the table
really has and fit values to the declared columns (schemas.teradata.sql).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from schemas.dsn import Dialect
from schemas.migrations import Catalog, ColumnInfo, Target
from schemas.sql import ddl
from schemas.tables import OL_SCHEMA_VERSION, TABLES

Query = Callable[[str, Sequence[object]], Sequence[Sequence[Any]]]

# The OL_* table names as literals: they come from schemas.tables, never from input, and they let the dictionary
# views answer for these tables only (a shared database can hold thousands of others).
_OL_NAMES = ", ".join(f"'{table.name}'" for table in TABLES)
# Dictionary names are compared upper-cased: ANSI-mode parameters are case specific, DBC's names are not.
COLUMNS_SQL = (
    "SELECT TRIM(c.TableName), TRIM(c.ColumnName), TRIM(c.ColumnType), c.ColumnLength, c.DecimalFractionalDigits, "  # noqa: S608
    "c.CharType, c.Nullable FROM DBC.ColumnsV AS c INNER JOIN DBC.TablesV AS t ON t.DatabaseName = c.DatabaseName "
    "AND t.TableName = c.TableName WHERE t.TableKind = 'T' AND UPPER(TRIM(c.DatabaseName)) = UPPER(?) "
    f"AND UPPER(TRIM(c.TableName)) IN ({_OL_NAMES})"
)
INDEXES_SQL = (
    "SELECT TRIM(TableName), TRIM(IndexName), IndexType, TRIM(ColumnName), IndexNumber, ColumnPosition "  # noqa: S608
    "FROM DBC.IndicesV WHERE UPPER(TRIM(DatabaseName)) = UPPER(?) "
    f"AND UPPER(TRIM(TableName)) IN ({_OL_NAMES}) ORDER BY 1, 5, 6"
)
PRIMARY_INDEX_TYPES = frozenset({"P", "Q"})  # DBC.IndicesV.IndexType: P primary index, Q partitioned primary index
# ColumnLength is in bytes; these server character sets store two bytes a character.
_TWO_BYTE = frozenset({"UNICODE", "GRAPHIC"})


def versions_sql(database: str) -> str:
    # Identifier from schemas.tables and a validated database name only.
    return f"SELECT version_id FROM {ddl.qualified(OL_SCHEMA_VERSION, Dialect.TERADATA, database)}"  # noqa: S608


def _column_info(type_code: str, length: object, fraction: object, char_type: object, nullable: object) -> ColumnInfo:
    charset = ddl.TERADATA_CHARSETS.get(int(str(char_type))) if char_type not in (None, 0, "0") else None
    size = int(str(length or 0))
    if type_code == "TS":
        size = int(str(fraction or 0))
    elif type_code in ("CV", "CF", "CO"):
        size //= 2 if charset in _TWO_BYTE else 1
    else:
        size = 0
    return ColumnInfo(type_code, size, charset, str(nullable).strip().upper() != "N")


def read_catalog(query: Query, database: str) -> Catalog:
    """The catalog of the OL_* tables in `database`, from DBC.ColumnsV, DBC.TablesV and DBC.IndicesV.

    The database name is bound, never interpolated (and validated, since the version query names it).
    Needs SELECT on those DBC views, which every user has by default."""
    ddl.check_identifier(database)
    types: dict[str, dict[str, ColumnInfo]] = {}
    for table, column, type_code, length, fraction, char_type, nullable in query(COLUMNS_SQL, (database,)):
        info = _column_info(str(type_code).strip(), length, fraction, char_type, nullable)
        types.setdefault(str(table).strip().upper(), {})[str(column).strip().lower()] = info
    names: set[str] = set()
    primary: dict[str, list[str]] = {}
    indexed: dict[str, set[str]] = {}
    for table, name, index_type, column, _number, _position in query(INDEXES_SQL, (database,)):
        table_name, column_name = str(table).strip().upper(), str(column).strip().lower()
        indexed.setdefault(table_name, set()).add(column_name)
        if str(index_type).strip() in PRIMARY_INDEX_TYPES:
            primary.setdefault(table_name, []).append(column_name)
        elif name:
            names.add(str(name).strip().lower())
    columns = {table: frozenset(declared) for table, declared in types.items()}
    versions: frozenset[int] = frozenset()
    if OL_SCHEMA_VERSION.name in columns:
        versions = frozenset(int(row[0]) for row in query(versions_sql(database), ()))
    return Catalog(
        columns=columns,
        indexes=frozenset(names),
        versions=versions,
        types=types,
        primary_indexes={table: tuple(cols) for table, cols in primary.items()},
        indexed={table: frozenset(cols) for table, cols in indexed.items()},
    )


def target(query: Query, execute: Callable[[str, Sequence[object]], object], database: str) -> Target:
    """A migration target over a Teradata session in autocommit mode (each DDL statement its own transaction)."""
    return Target(
        dialect=Dialect.TERADATA,
        read_catalog=lambda: read_catalog(query, database),
        execute=execute,
        database=database,
    )
