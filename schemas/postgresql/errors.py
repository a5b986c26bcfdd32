"""What a psycopg error means for the store: retry the batch, try again later (503), or refuse it.

- RETRIED: the same transaction may succeed if run again at once. Deadlocks (40P01) and serialization failures
  (40001) are the database's way to settle two writers racing for the same rows. A unique violation (23505) is
  one too: every table but OL_EVENT is written with ON CONFLICT on its key, so the only unique key a batch can
  violate is OL_EVENT's, when another writer stored the same event after this batch's stored-id check; run
  again, the check finds it stored and the event ends as DUPLICATE, never as an error.
- unavailable: the server cannot be reached or is going away (no connection, the pool's wait timed out,
  class 08 connection exceptions, 57P01..57P03 shutdown and start-up, 53xxx out of resources). StoreUnavailable,
  HTTP 503; the pool replaces broken connections, so the store recovers by itself once the server answers.
- anything else: StoreError naming the SQLSTATE.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from schemas.store import StoreError, StoreUnavailable

RETRIED = frozenset({"40P01", "40001", "23505"})
# SQLSTATE classes and codes that mean "the server is not there now", not "this batch is wrong".
_UNAVAILABLE_CLASSES = ("08", "53", "57P")


def sqlstate(error: BaseException) -> str | None:
    return getattr(error, "sqlstate", None)


def is_retried(error: BaseException) -> bool:
    """True for the errors a writer runs its transaction again for (see RETRIED)."""
    return sqlstate(error) in RETRIED


def is_unavailable(error: BaseException) -> bool:
    """True when the server or the connection is gone, not the statement wrong."""
    if isinstance(error, PoolTimeout | OSError):
        return True
    code = sqlstate(error)
    if code is None:  # raised by libpq on this side: a lost or refused connection
        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    return code.startswith(_UNAVAILABLE_CLASSES)


def classify(error: BaseException, doing: str) -> StoreError:
    """StoreUnavailable for what may succeed later (see is_unavailable and RETRIED), StoreError with the SQLSTATE
    for anything else."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if is_unavailable(error) or is_retried(error):
        return StoreUnavailable(f"the PostgreSQL store is unavailable while {doing}: {text}")
    return StoreError(f"PostgreSQL refused {doing} [SQLSTATE {sqlstate(error)}]: {text}")
