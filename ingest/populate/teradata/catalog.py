"""The Teradata catalog the SQL extractor resolves names against: tables and views with their ordered columns.

Pure: built from rows, never from a connection. The rows are what `DBC.TablesV` joined with
`DBC.ColumnsV` (or `DBC.ColumnsJQV`) gives, keyed by the header of an exported catalog
(`../shared/tdsql/README.md`)::

    DatabaseName,TableName,TableKind,ColumnName,ColumnId,ColumnType,ColumnLength,
    DecimalTotalDigits,DecimalFractionalDigits,Nullable,CommentString

Teradata names are case-insensitive: look-ups ignore case and answer with the catalog's own spelling,
which is the spelling every dataset and field name of the events uses.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

HEADER = (
    "DatabaseName",
    "TableName",
    "TableKind",
    "ColumnName",
    "ColumnId",
    "ColumnType",
    "ColumnLength",
    "DecimalTotalDigits",
    "DecimalFractionalDigits",
    "Nullable",
    "CommentString",
)

# DBC.ColumnsV.ColumnType codes -> Teradata type names. Sized types get their size appended below.
_PLAIN = {
    "I": "INTEGER",
    "I1": "BYTEINT",
    "I2": "SMALLINT",
    "I8": "BIGINT",
    "F": "FLOAT",
    "DA": "DATE",
    "CO": "CLOB",
    "BO": "BLOB",
    "JN": "JSON",
    "XM": "XML",
    "UT": "UDT",
    "A1": "ARRAY",
    "AN": "ARRAY",
    "DY": "INTERVAL DAY",
    "DH": "INTERVAL DAY TO HOUR",
    "DM": "INTERVAL DAY TO MINUTE",
    "DS": "INTERVAL DAY TO SECOND",
    "HR": "INTERVAL HOUR",
    "HM": "INTERVAL HOUR TO MINUTE",
    "HS": "INTERVAL HOUR TO SECOND",
    "MI": "INTERVAL MINUTE",
    "MS": "INTERVAL MINUTE TO SECOND",
    "MO": "INTERVAL MONTH",
    "SC": "INTERVAL SECOND",
    "YR": "INTERVAL YEAR",
    "YM": "INTERVAL YEAR TO MONTH",
    "PD": "PERIOD(DATE)",
    "PM": "PERIOD(TIMESTAMP WITH TIME ZONE)",
    "PS": "PERIOD(TIMESTAMP)",
    "PT": "PERIOD(TIME)",
    "PZ": "PERIOD(TIME WITH TIME ZONE)",
    "++": "TD_ANYTYPE",
}
_LENGTH = {"CF": "CHAR", "CV": "VARCHAR", "BF": "BYTE", "BV": "VARBYTE"}  # size is ColumnLength (bytes)
_FRACTION = {"TS": "TIMESTAMP", "AT": "TIME", "SZ": "TIMESTAMP", "TZ": "TIME"}  # size is the fraction digits
_ZONED = {"SZ", "TZ"}


class TableKind(StrEnum):
    """DBC.TablesV.TableKind values the extractor distinguishes."""

    TABLE = "T"  # a table with a primary index
    NOPI = "O"  # a table without a primary index
    VIEW = "V"  # a view
    QUEUE = "Q"  # a queue table
    OTHER = "?"  # anything else the catalog lists (join index, macro, ...): still a named dataset

    @classmethod
    def of(cls, code: str | None) -> TableKind:
        try:
            return cls((code or "").strip().upper())
        except ValueError:
            return cls.OTHER

    @property
    def dataset_type(self) -> str:
        """The DatasetTypeDatasetFacet value: VIEW for views, TABLE for the rest."""
        return "VIEW" if self is TableKind.VIEW else "TABLE"


def type_name(
    code: str | None, length: int | None = None, precision: int | None = None, scale: int | None = None
) -> str | None:
    """A Teradata type name from DBC codes: ("CV", 40) -> VARCHAR(40), ("D", 8, 12, 4) -> DECIMAL(12,4),
    ("TS", 26, None, 6) -> TIMESTAMP(6). None when the code is empty (a view read without QVCI); an
    unknown code is returned as it is, so no information is lost."""
    if code is None or not code.strip():
        return None
    code = code.strip().upper()
    if code in _PLAIN:
        return _PLAIN[code]
    if code in _LENGTH:
        return f"{_LENGTH[code]}({length})" if length is not None else _LENGTH[code]
    if code in _FRACTION:
        base = f"{_FRACTION[code]}({scale})" if scale is not None else _FRACTION[code]
        return f"{base} WITH TIME ZONE" if code in _ZONED else base
    if code in ("D", "N"):
        name = "DECIMAL" if code == "D" else "NUMBER"
        if precision is None:
            return name
        return f"{name}({precision},{scale or 0})"
    return code


@dataclass(frozen=True, slots=True)
class Column:
    """One column, in the catalog's spelling; `ordinal` is DBC's ColumnId (only the order matters)."""

    name: str
    ordinal: int
    type_name: str | None  # None: not known (a view on a system without QVCI)
    type_code: str | None
    length: int | None
    precision: int | None
    scale: int | None
    nullable: bool | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class Table:
    """A table or view: its columns in ColumnId order, which is the order `SELECT *` and a positional INSERT
    use."""

    database: str
    name: str
    kind: TableKind
    columns: tuple[Column, ...]
    comment: str | None = None  # the table's own comment, when the rows carry one (TableCommentString)

    @property
    def qualified(self) -> str:
        """`DATABASE.TABLE`, the dataset name of the events."""
        return f"{self.database}.{self.name}"

    def column(self, name: str) -> Column | None:
        """The column named `name` in any case, or None."""
        folded = name.casefold()
        for column in self.columns:
            if column.name.casefold() == folded:
                return column
        return None


class Catalog:
    """Tables and views by case-insensitive `DATABASE.TABLE`. Immutable once built."""

    def __init__(self, tables: Iterable[Table] = ()) -> None:
        self._tables: dict[tuple[str, str], Table] = {}
        self._by_name: dict[str, list[Table]] = {}
        for table in tables:
            key = (table.database.casefold(), table.name.casefold())
            self._tables[key] = table
            self._by_name.setdefault(key[1], []).append(table)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str | None]]) -> Catalog:
        """Build from rows keyed by HEADER (one row per column, any order; columns are sorted by ColumnId).
        Empty strings read as NULL. An optional `TableCommentString` key carries the table's comment. A
        row without DatabaseName or TableName is skipped; one without ColumnName adds the table only."""
        grouped: dict[tuple[str, str], tuple[str, str, str | None, str | None, list[Column]]] = {}
        for row in rows:
            database, name = _text(row.get("DatabaseName")), _text(row.get("TableName"))
            if database is None or name is None:
                continue
            key = (database.casefold(), name.casefold())
            entry = grouped.setdefault(
                key, (database, name, _text(row.get("TableKind")), _text(row.get("TableCommentString")), [])
            )
            column = _column(row, len(entry[4]))
            if column is not None:
                entry[4].append(column)
        return cls(
            Table(database, name, TableKind.of(kind), tuple(sorted(columns, key=lambda c: c.ordinal)), comment)
            for database, name, kind, comment, columns in grouped.values()
        )

    @classmethod
    def from_csv(cls, path: Path | str) -> Catalog:
        """Read an exported catalog (CSV with HEADER, standard quoting, UTF-8 with or without a BOM)."""
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return cls.from_rows(csv.DictReader(handle))

    def __len__(self) -> int:
        return len(self._tables)

    def __iter__(self) -> Iterator[Table]:
        return iter(self._tables.values())

    def table(self, database: str, name: str) -> Table | None:
        """The table or view `database.name` in any case, or None."""
        return self._tables.get((database.casefold(), name.casefold()))

    def named(self, name: str) -> list[Table]:
        """Every table called `name` (any case), in any database: resolves an unqualified name when the
        default database is not known."""
        return list(self._by_name.get(name.casefold(), ()))


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(value: str | None) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def _column(row: Mapping[str, str | None], position: int) -> Column | None:
    name = _text(row.get("ColumnName"))
    if name is None:
        return None
    code = _text(row.get("ColumnType"))
    length, precision, scale = (
        _int(row.get("ColumnLength")),
        _int(row.get("DecimalTotalDigits")),
        _int(row.get("DecimalFractionalDigits")),
    )
    nullable = _text(row.get("Nullable"))
    ordinal = _int(row.get("ColumnId"))
    comment = row.get("CommentString")
    return Column(
        name=name,
        ordinal=ordinal if ordinal is not None else position,
        type_name=type_name(code, length, precision, scale),
        type_code=code,
        length=length,
        precision=precision,
        scale=scale,
        nullable=None if nullable is None else nullable.upper() == "Y",
        comment=comment if comment else None,
    )
