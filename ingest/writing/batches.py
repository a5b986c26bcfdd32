"""Synchronous batch writing for every source that is not HTTP: files and the demo, and any population to come.

Each event is prepared (ingest.events.prepare) as it is added, and the accepted ones are written
`batch_events` at a time, each batch in one transaction (Store.write_batch). A batch the store refuses with
a StoreError is written again event by event, so that one poison event fails alone. StoreUnavailable, or an
error that is not a StoreError at all, stops the writing: what was committed stays committed (a rerun
reports it as duplicate, since an event's identity is its content), and the report says why it stopped.

After each commit `after_commit` is told what it wrote: the command line passes the query cache's
SyncInvalidator, so that a server answering from the same store sees the new lineage at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ingest.events import Accepted, prepare
from schemas.rows import EventRows
from schemas.store import Store, StoreError, StoreUnavailable, WriteOutcome
from schemas.times import utc_now

logger = logging.getLogger(__name__)

BATCH_EVENTS = 500

AfterCommit = Callable[[Sequence[EventRows]], None]

Outcome = tuple[str, str]  # (origin, reason or warning); origin names the event: "path:12", "job START"


@dataclass(slots=True)
class WriteReport:
    """What became of every event handed to a BatchWriter. Each event is counted once: committed,
    duplicate, rejected or failed."""

    committed: int = 0  # stored by this run
    duplicate: int = 0  # stored already (a rerun, or the same event twice)
    rejected: list[Outcome] = field(default_factory=list)  # invalid: refused by prepare, never sent to the store
    failed: list[Outcome] = field(default_factory=list)  # valid, not stored: refused alone, or not written
    warnings: list[Outcome] = field(default_factory=list)  # stored, with a facet that breaks its schema
    stopped: str | None = None  # why writing stopped early: the store failed; events after it are failed


class BatchWriter:
    """Prepare and write events in batches; `finish()` writes the rest and returns the report.

    Not thread-safe; one per run. After the store has failed (`stopped`), added events are not written but
    counted as failed, so a caller may stop reading its source or carry on."""

    def __init__(
        self,
        store: Store,
        *,
        strict: bool,
        batch_events: int = BATCH_EVENTS,
        future_skew: int | None = None,
        after_commit: AfterCommit | None = None,
    ) -> None:
        """`after_commit(rows)` is called after each commit with the rows it wrote (duplicates included); its
        failure is logged, never the writing's."""
        self._store = store
        self._after_commit = after_commit
        self._strict = strict
        self._future_skew = future_skew  # LINEAGE_MAX_FUTURE_SKEW; None: events from any time
        self._batch_events = batch_events
        self._chunk: list[tuple[str, EventRows]] = []
        self.report = WriteReport()

    @property
    def stopped(self) -> bool:
        return self.report.stopped is not None

    def add(self, origin: str, value: object, payload: str) -> None:
        """Prepare one event (`payload` is its JSON text, archived as sent); write a batch once one is full."""
        if self.report.stopped is not None:
            self.report.failed.append((origin, f"not written: {self.report.stopped}"))
            return
        result = prepare(value, payload, strict=self._strict, received_at=utc_now(), future_skew=self._future_skew)
        if not isinstance(result, Accepted):
            self.report.rejected.append((origin, result.reason))
            return
        self.report.warnings.extend((origin, str(warning)) for warning in result.warnings)
        self._chunk.append((origin, result.rows))
        if len(self._chunk) >= self._batch_events:
            self._flush()

    def reject(self, origin: str, reason: str) -> None:
        """Count an event the source could not even read (bad JSON, an unreadable file) as rejected."""
        self.report.rejected.append((origin, reason))

    def finish(self) -> WriteReport:
        self._flush()
        return self.report

    def _flush(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk:
            return
        refused = self._write(chunk)
        if refused is None:
            return
        logger.warning("a batch of %d events failed (%s); writing them one by one", len(chunk), refused)
        for index, (origin, rows) in enumerate(chunk):
            if self.stopped:  # the store failed meanwhile: the rest of the chunk is not written
                self._not_written(chunk[index:])
                return
            alone = self._write([(origin, rows)])
            if alone is not None:
                logger.error("%s could not be stored even alone: %s", origin, alone)
                self.report.failed.append((origin, f"the store refused it: {alone}"))

    def _write(self, chunk: list[tuple[str, EventRows]]) -> StoreError | None:
        """Write `chunk` in one transaction and count its outcomes. A StoreError that says the chunk itself
        is at fault is returned (nothing of it was written); any other failure stops the writer."""
        try:
            outcomes = self._store.write_batch([rows for _, rows in chunk])
        except StoreUnavailable as exc:
            self.report.stopped = f"the store is unavailable: {exc}"
        except StoreError as exc:
            return exc
        except Exception as exc:  # a bug or an untranslated driver error: the traceback is the news
            logger.exception("writing a batch of %d events failed unexpectedly", len(chunk))
            self.report.stopped = f"unexpected error while writing: {exc!r}"
        else:
            stored = outcomes.count(WriteOutcome.STORED)
            self.report.committed += stored
            self.report.duplicate += len(outcomes) - stored
            if stored and self._after_commit is not None:
                self._committed([rows for _, rows in chunk])
            return None
        self._not_written(chunk)
        return None

    def _committed(self, rows: list[EventRows]) -> None:
        assert self._after_commit is not None
        try:
            self._after_commit(rows)
        except Exception:  # the rows are committed; a listener's failure is its own
            logger.exception("the after-commit hook failed")

    def _not_written(self, chunk: list[tuple[str, EventRows]]) -> None:
        self.report.failed.extend((origin, f"not written: {self.report.stopped}") for origin, _ in chunk)
