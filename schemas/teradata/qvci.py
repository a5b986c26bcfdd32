"""`lineage qvci-check`: is Queryable View Column Information (QVCI) enabled on the Teradata system?

With QVCI, DBC.ColumnsJQV (and DBC.ColumnsQV) describe the columns of views, which population from the catalog
needs to see view column types. Without it the query fails with error 9719 and population falls back to
DBC.ColumnsV, which lists view columns without their types.
"""

from __future__ import annotations

from schemas.dsn import Dsn
from schemas.store import StoreError
from schemas.teradata import store as teradata

QVCI_SQL = "SELECT TOP 1 * FROM DBC.ColumnsJQV"
QVCI_DISABLED = 9719  # "QVCI feature is disabled."

ENABLED, DISABLED, UNREACHABLE = 0, 1, 2

DISABLED_MESSAGE = (
    "QVCI is disabled on {host} (error 9719 on `SELECT TOP 1 * FROM DBC.ColumnsJQV`).\n"
    "Lineage still works: view columns are then read from DBC.ColumnsV, without their data types.\n"
    "To enable QVCI, a DBA runs the dbscontrol utility on the Teradata node:\n"
    "  dbscontrol\n"
    "  display internal          (field 551 is DisableQVCI)\n"
    "  modify internal 551=false\n"
    "  write\n"
    "then restarts the database (tpareset) for the change to take effect."
)


def qvci_check(dsn: Dsn, *, connect: teradata.Connect | None = None) -> tuple[int, str]:
    """(exit code, message): 0 QVCI enabled, 1 disabled (with how to enable it), 2 the check could not run
    (no connection, no SELECT on DBC.ColumnsJQV, any other error). Never raises for a database error."""
    errors = teradata.driver_errors()
    where = dsn.masked()
    try:
        connection = (connect or teradata.driver_connect(dsn))()
    except StoreError as error:
        return UNREACHABLE, f"cannot connect to {where}: {error}"
    except errors as error:
        return UNREACHABLE, f"cannot connect to {where}: {_first_line(error)}"
    try:
        connection.autocommit = True
        teradata.query(connection, QVCI_SQL)
    except errors as error:
        if teradata.error_code(error) == QVCI_DISABLED:
            return DISABLED, DISABLED_MESSAGE.format(host=where)
        return UNREACHABLE, f"the QVCI check could not run on {where}: {_first_line(error)}"
    finally:
        try:
            connection.close()
        except errors:  # the answer is known; a failing logoff changes nothing about it
            pass
    return ENABLED, f"QVCI is enabled on {where}: DBC.ColumnsJQV describes view columns with their types"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
