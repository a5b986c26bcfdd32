"""The `Store` protocol every backend implements, and the errors a store raises.

Stores are synchronous: SQLite and the Teradata driver block, so callers that live on an event loop run
them in a thread (the batcher owns one writer thread; the query layer uses the default executor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from schemas.dsn import Dialect
from schemas.rows import EventRows


class StoreError(Exception):
    """A store could not do what was asked. The batch it was writing is rolled back whole."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is busy; the same call may succeed later (HTTP 503)."""


class WriteOutcome(StrEnum):
    """What `write_batch` did with one event of the batch."""

    STORED = "stored"  # new: every row of the event was written
    DUPLICATE = "duplicate"  # the same event (same event_id) was already stored; nothing was written


@dataclass(frozen=True, slots=True)
class Migration:
    version: int  # OL_SCHEMA_VERSION.version_id
    name: str  # a stable, human-readable name, recorded with the version
    schema_version: str  # OL_SCHEMA_VERSION.schema_version
    description: str


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    applied: tuple[Migration, ...]
    pending: tuple[Migration, ...]

    @property
    def current(self) -> bool:
        return not self.pending


class Store(Protocol):
    """An OL_* database. Every method is safe to call again after a StoreUnavailable."""

    @property
    def dialect(self) -> Dialect: ...

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        """Write every event of the batch in one transaction; one outcome per event, in order.

        Idempotent: an event already stored (or twice in the batch) is DUPLICATE and writes nothing.
        On any error nothing of the batch is written and StoreError (or StoreUnavailable) is raised.
        """
        ...

    def schema_status(self) -> SchemaStatus: ...

    def create_schema(self) -> list[str]:
        """Create every table and index on an empty database; the statements run. No-op when current."""
        ...

    def upgrade_schema(self) -> list[str]:
        """Add whatever tables, columns and indexes are missing, record pending migrations; never drops."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a trivial query."""
        ...

    def close(self) -> None: ...
