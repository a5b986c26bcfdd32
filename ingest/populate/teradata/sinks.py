"""Where a population's events go: the batch writer (ingest.writing.batches), or, on a dry run, a sink that
prepares every event exactly as the writer would (validation, mapping) and counts the outcome without writing."""

from __future__ import annotations

from typing import Protocol

from ingest.events import Accepted, prepare
from ingest.writing.batches import WriteReport
from schemas.times import utc_now


class Sink(Protocol):
    def add(self, origin: str, value: object, payload: str) -> None: ...
    def finish(self) -> WriteReport: ...


class DrySink:
    """Prepares and counts; commits nothing. `prepared` is what a real run would have handed to the store."""

    def __init__(self, *, strict: bool) -> None:
        self._strict = strict
        self.prepared = 0
        self.report = WriteReport()

    def add(self, origin: str, value: object, payload: str) -> None:
        result = prepare(value, payload, strict=self._strict, received_at=utc_now())
        if isinstance(result, Accepted):
            self.prepared += 1
            self.report.warnings.extend((origin, str(warning)) for warning in result.warnings)
        else:
            self.report.rejected.append((origin, result.reason))

    def finish(self) -> WriteReport:
        return self.report
