"""The shared SQL (schemas.sql.reads, schemas.sql.upserts) in psycopg's parameter style.

Statements are written with `:name` parameters; psycopg takes `%(name)s` and reads every other `%` in the text as
a marker too, so a literal `%` is doubled. Quoted literals are copied as they are (a `:` or `%` inside one is
text), though none of the shared statements has a `%` literal: LIKE patterns are bound parameters.

An id list (`IN ({ids})`) becomes one array parameter, `= ANY(%(ids)s)`: the statement's text never depends on
the list's length, so psycopg prepares it once per connection and nothing is cut into chunks, and the planner
reads it as an index condition (an Index Scan with `field_id = ANY(...)`), the same plan as an IN list.
"""

from __future__ import annotations

import re
from functools import cache

_TOKENS = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|%")
_ID_LIST = re.compile(r"\bIN \(\{(\w+)\}\)")


@cache
def pyformat(sql: str) -> str:
    """`sql` with `:name` parameters as `%(name)s` and literal `%` doubled; quoted literals untouched."""

    def replace(match: re.Match[str]) -> str:
        if match[1] is not None:
            return f"%({match[1]})s"
        return "%%" if match[0] == "%" else match[0]

    return _TOKENS.sub(replace, sql)


@cache
def with_arrays(sql: str) -> str:
    """A schemas.sql.reads statement whose `IN ({name})` lists each take one array parameter `:name`."""
    return _ID_LIST.sub(r"= ANY(:\1)", sql)
