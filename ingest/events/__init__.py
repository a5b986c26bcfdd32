"""The one path from a decoded JSON value to rows: validate, then map. Shared by every way in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ingest.events.mapping import map_event
from ingest.events.validation import FutureBound, Problem, validate_event
from schemas.rows import EventRows


@dataclass(frozen=True, slots=True)
class Accepted:
    """Rows ready for a store; warnings say what was kept although it breaks its facet's schema."""

    rows: EventRows
    warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Not stored; each problem names the JSON path at fault."""

    errors: tuple[Problem, ...]

    @property
    def reason(self) -> str:
        return "; ".join(str(problem) for problem in self.errors)


def prepare(
    value: object, payload: str, *, strict: bool, received_at: str, future_skew: int | None = None
) -> Accepted | Rejected:
    """Validate one event and map it to rows. Pure: no I/O, safe to call from any thread.

    With `future_skew` (seconds, LINEAGE_MAX_FUTURE_SKEW), an eventTime later than `received_at` plus the
    skew is refused: one event dated 9999 would otherwise stay its run's and job's latest forever."""
    latest = None if future_skew is None else _latest(received_at, future_skew)
    validation = validate_event(value, strict=strict, latest=latest)
    if validation.errors:
        return Rejected(validation.errors)
    if validation.kind is None or not isinstance(value, dict):
        return Rejected((Problem("", "not an OpenLineage event"),))
    rows = map_event(value, kind=validation.kind, payload=payload, received_at=received_at)
    return Accepted(rows, validation.warnings)


@lru_cache(maxsize=64)  # the events of a batch share their time of arrival
def _latest(received_at: str, future_skew: int) -> FutureBound | None:
    return FutureBound.after(received_at, future_skew)
