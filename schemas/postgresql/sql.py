"""The shared SQL (schemas.sql.reads, schemas.sql.upserts) in psycopg's parameter style.

Statements are written with `:name` parameters; psycopg takes `%(name)s` and reads every other `%` in the text as
a marker too, so a literal `%` is doubled. Quoted literals are copied as they are (a `:` or `%` inside one is
text), though none of the shared statements has a `%` literal: LIKE patterns are bound parameters.

An id list (`IN ({ids})`) becomes one array parameter, `= ANY(%(ids)s)`: the statement's text never depends on
the list's length, so psycopg prepares it once per connection and nothing is cut into chunks, and the planner
reads it as an index condition (an Index Scan with `field_id = ANY(...)`), the same plan as an IN list.

A batch's rows of one table go out as one statement (`unnest_upsert`): each column bound as one array, the
arrays unnested into rows that the table's ON CONFLICT clause (schemas.sql.upserts) merges one by one, as it
merges a row of its own. The server plans and runs one statement where `executemany` runs one per row.
"""

from __future__ import annotations

import re
from functools import cache

from schemas.dsn import Dialect
from schemas.sql import ddl
from schemas.sql.rules import Write
from schemas.sql.upserts import on_conflict
from schemas.tables import ColType, Column

_TOKENS = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|%")
_ID_LIST = re.compile(r"\bIN \(\{(\w+)\}\)")


@cache
def pyformat(sql: str, marker: str = "s") -> str:
    """`sql` with `:name` parameters as `%(name)s` and literal `%` doubled; quoted literals untouched. `marker`
    "b" asks psycopg to send the parameters in binary (`%(name)b`)."""

    def replace(match: re.Match[str]) -> str:
        if match[1] is not None:
            return f"%({match[1]}){marker}"
        return "%%" if match[0] == "%" else match[0]

    return _TOKENS.sub(replace, sql)


@cache
def with_arrays(sql: str) -> str:
    """A schemas.sql.reads statement whose `IN ({name})` lists each take one array parameter `:name`."""
    return _ID_LIST.sub(r"= ANY(:\1)", sql)


def unnest_upsert(write: Write) -> str | None:
    """The upsert of many rows of `write`'s table in one statement: every column one array parameter (`:column`,
    sent in binary: psycopg writes a text array's elements through a regular expression each, a binary one in C)
    and its rows merged by the table's ON CONFLICT clause. One statement may not merge two rows onto one stored
    row, so the caller sends a key's second row in a statement of its own.

    None for a table with an insert default (OL_DATASET's is_active): its update compares the value as bound,
    before the default, and `excluded` only holds the value inserted."""
    if any(rule.default is not None for rule in write.rules.values()):
        return None
    arrays = ", ".join(f"CAST(:{c} AS {_element_type(write.table.column(c))}[])" for c in write.columns)
    # Built once at import from schemas.tables' names, never from input; values are bound parameters.
    head = f"INSERT INTO {write.table.name} ({', '.join(write.columns)}) SELECT * FROM unnest({arrays})"  # noqa: S608
    return pyformat(head + on_conflict(write), "b")


def _element_type(column: Column) -> str:
    """An array's element type: text for text columns, whose length the insert then checks as it checks a row's
    (a cast to VARCHAR(n) would cut a longer value short instead of refusing it)."""
    if column.type in (ColType.VARCHAR, ColType.CHAR, ColType.CLOB):
        return "TEXT"
    return ddl.column_type(column, Dialect.POSTGRESQL)
