"""Every statement `lineage populate catalog` and `lineage populate dbql` send to Teradata. Values are `?`
parameters; the only text built from data is a HELP COLUMN's object name, which comes from DBC itself and is
quoted (tests parse each statement with sqlglot's Teradata dialect and count its markers).
"""

from __future__ import annotations

from ingest.populate.teradata.datasets import SYSTEM_DATABASES
from ingest.populate.teradata.dbql import LOG_COLUMNS, NO_DATA_STATEMENTS, OUR_QUERY_BAND

SET_QUERY_BAND = f"SET QUERY_BAND = '{OUR_QUERY_BAND}' FOR SESSION"  # a constant: never built from input

_SYSTEM_EXACT = [name for name in SYSTEM_DATABASES if not name.endswith("_")]
_SYSTEM_PREFIXES = [name for name in SYSTEM_DATABASES if name.endswith("_")]


def _literals(values: list[str] | tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _no_system(column: str) -> str:
    """Leave out the system databases: names compared as they are (Teradata compares them case-insensitively), the
    `TD_` family by a LIKE whose `_` is escaped (an unescaped `_` matches any character)."""
    likes = " ".join(f"AND {column} NOT LIKE '{p[:-1]}\\_%' ESCAPE '\\'" for p in _SYSTEM_PREFIXES)
    return f"{column} NOT IN ({_literals(_SYSTEM_EXACT)}) {likes}"


# --- the catalog -------------------------------------------------------------------------------------------

_CATALOG_SELECT = (
    "SELECT t.DatabaseName, t.TableName, t.TableKind, c.ColumnName, c.ColumnId, c.ColumnType, c.ColumnLength, "
    "c.DecimalTotalDigits, c.DecimalFractionalDigits, c.Nullable, c.CommentString, "
    "t.CommentString AS TableCommentString, t.RequestText, t.LastAlterTimeStamp, c.CharType "
    "FROM DBC.TablesV AS t LEFT JOIN {columns} AS c ON c.DatabaseName = t.DatabaseName AND c.TableName = t.TableName "
    "WHERE t.TableKind IN ('T', 'O', 'V', 'Q') AND " + _no_system("t.DatabaseName")
)
_CATALOG_ORDER = " ORDER BY t.DatabaseName, t.TableName, c.ColumnId"


def catalog_sql(columns_view: str, databases: int) -> str:
    """Tables and views with their columns, one row per column, a table's rows together in ColumnId order.
    `columns_view` is DBC.ColumnsJQV (QVCI on: view columns typed) or DBC.ColumnsV; `databases` is how many
    `?` names restrict it (0: every non-system database)."""
    if columns_view not in ("DBC.ColumnsJQV", "DBC.ColumnsV"):
        raise ValueError(columns_view)
    where = f" AND t.DatabaseName IN ({', '.join('?' * databases)})" if databases else ""
    return _CATALOG_SELECT.format(columns=columns_view) + where + _CATALOG_ORDER


def help_column_sql(database: str, view: str) -> str:
    """`HELP COLUMN "db"."view".*`: a view's column types where QVCI is off. HELP takes no parameters; the names
    are DBC's own, quoted (a `"` inside doubled)."""
    return f"HELP COLUMN {_quoted(database)}.{_quoted(view)}.*"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the query log -----------------------------------------------------------------------------------------

_LOG_LIST = ", ".join(f"l.{column}" for column in LOG_COLUMNS)
_KEEP = (
    "l.ErrorCode = 0 AND (l.StatementType IS NULL OR l.StatementType NOT IN ("
    + _literals(NO_DATA_STATEMENTS)
    + ")) AND (l.QueryBand IS NULL OR l.QueryBand NOT LIKE ?)"
)


def dbql_sql(*, pdcr: bool) -> str:
    """Log rows with their SQL text rows (LEFT JOIN: a query whose text has not come yet is still seen), in the
    window [?, ?) of CollectTimeStamp, as ingest.populate.teradata.dbql reads them: a query's rows together, in
    SqlRowNo order. Parameters: low, high, our query band's LIKE pattern, and with `pdcr` the LogDate range (low
    date, high date) first, so that only the partitions of the window are read."""
    if pdcr:
        return (
            # Built from this module's constants only; every value is a `?` parameter.
            f"SELECT {_LOG_LIST}, s.SqlRowNo, s.SqlTextInfo FROM PDCRINFO.DBQLogTbl_Hst AS l "  # noqa: S608
            "LEFT JOIN PDCRINFO.DBQLSqlTbl_Hst AS s ON s.QueryID = l.QueryID AND s.LogDate = l.LogDate "
            "WHERE l.LogDate BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) "
            "AND l.CollectTimeStamp >= CAST(? AS TIMESTAMP(6)) AND l.CollectTimeStamp < CAST(? AS TIMESTAMP(6)) "
            f"AND {_KEEP} ORDER BY l.CollectTimeStamp, l.QueryID, s.SqlRowNo"
        )
    return (
        f"SELECT {_LOG_LIST}, s.SqlRowNo, s.SqlTextInfo FROM DBC.QryLogV AS l "  # noqa: S608
        "LEFT JOIN DBC.QryLogSQLV AS s ON s.QueryID = l.QueryID "
        "WHERE l.CollectTimeStamp >= CAST(? AS TIMESTAMP(6)) AND l.CollectTimeStamp < CAST(? AS TIMESTAMP(6)) "
        f"AND {_KEEP} ORDER BY l.CollectTimeStamp, l.QueryID, s.SqlRowNo"
    )


def pending_text_sql(count: int, *, pdcr: bool) -> str:
    """The text rows of `count` pending queries (`?` QueryIDs), for queries whose log row an earlier run read."""
    table = "PDCRINFO.DBQLSqlTbl_Hst" if pdcr else "DBC.QryLogSQLV"
    marks = ", ".join("?" * count)
    return (
        f"SELECT QueryID, SqlRowNo, SqlTextInfo FROM {table} WHERE QueryID IN ({marks}) "  # noqa: S608
        "ORDER BY QueryID, SqlRowNo"
    )


# Zero queries found: is any logging rule there at all? (DBC.DBQLRulesV lists BEGIN QUERY LOGGING rules.)
RULES_SQL = "SELECT COUNT(*) FROM DBC.DBQLRulesV"
