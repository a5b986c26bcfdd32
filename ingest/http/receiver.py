"""The front door: POST /api/v1/lineage (one event) and POST /api/v1/lineage/batch (an array).

A request is answered 2xx only after its events are committed (the batcher's group commit). Bad input is
a 4xx naming the JSON path at fault; a full queue or an unreachable store is a 503 with Retry-After, and
nothing of the request is half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from ingest.events import Accepted, Rejected, prepare
from ingest.events.json_array import element_texts
from ingest.http.body import decode_json, read_body, read_json
from ingest.http.budget import off_loop
from ingest.http.errors import json_bytes, lift_deadline, store_refusal
from ingest.http.event_limits import TooManyDatasets, TooManyFields, check_event
from ingest.http.large import LARGE_BYTES, WorkerPool, run_in_worker
from ingest.http.typedefs import BATCHER, BODY_LIMITS, EVENT_LIMITS, LARGE_POOL, METRICS, SETTINGS
from ingest.writing.batcher import PoisonEvent, QueueFull, Stopped
from query.errors import HttpError
from query.typedefs import QUERY_CACHE
from schemas.store import StoreError, WriteOutcome
from schemas.times import utc_now

logger = logging.getLogger(__name__)

SINGLE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"


class InvalidEvent(HttpError):
    status = 400
    code = "INVALID_EVENT"


class WrongShape(HttpError):
    status = 400
    code = "WRONG_SHAPE"


class TooManyEvents(HttpError):
    status = 413
    code = "TOO_MANY_EVENTS"


class Unstorable(HttpError):
    """Passed validation, yet the store refuses it even alone: a bug of ours or a limit of the database."""

    status = 422
    code = "UNSTORABLE_EVENT"


class Saturated(HttpError):
    """The writer's queue is full: retry later."""

    status = 503
    code = "QUEUE_FULL"


class ShuttingDown(HttpError):
    """The server is stopping and takes no new events: retry against another instance."""

    status = 503
    code = "SHUTTING_DOWN"


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why events could not be written, and whether a retry can succeed."""

    error: HttpError
    retriable: bool


def _write_failure(exc: QueueFull | Stopped | StoreError) -> _Failure:
    if isinstance(exc, QueueFull):
        return _Failure(Saturated(f"the server is saturated ({exc}); retry later"), True)
    if isinstance(exc, Stopped):
        return _Failure(ShuttingDown("the server is shutting down; retry against another instance"), True)
    if isinstance(exc, PoisonEvent):
        return _Failure(Unstorable(f"the event passed validation but the store refused it: {exc}"), False)
    return _Failure(store_refusal(exc), True)


async def _submit(request: web.Request, accepted: Sequence[Accepted]) -> list[WriteOutcome] | _Failure:
    try:
        # Once the writer holds the events the answer waits for their commit, past the handler timeout: a 503
        # must mean "not stored".
        return await request.app[BATCHER].submit([a.rows for a in accepted], claim=lambda: lift_deadline(request))
    except (QueueFull, Stopped, StoreError) as exc:
        failure = _write_failure(exc)
        request.app[METRICS].rejected(failure.error.code, len(accepted))
        return failure


def _warnings(accepted: Accepted) -> list[dict[str, str]]:
    return [{"path": w.path, "message": w.message} for w in accepted.warnings]


async def post_event(request: web.Request) -> web.Response:
    """One event. 201 stored, 200 duplicate (a retry of a stored event), 4xx bad input, 503 try later."""
    metrics, limits = request.app[METRICS], request.app[BODY_LIMITS]
    body = await read_body(request, limits)
    pool = request.app.get(LARGE_POOL)
    if pool is not None and len(body) > LARGE_BYTES:
        return await _post_large(request, pool, body)
    value = await off_loop(request, len(body), decode_json, body, limits.max_json_depth)
    metrics.received(SINGLE)
    if isinstance(value, list):
        metrics.rejected(WrongShape.code)
        raise WrongShape("the body is a JSON array: send one event here, or the array to /api/v1/lineage/batch")
    result = await off_loop(
        request, len(body), _prepare_within, value, body.decode("utf-8"), request, received_at=utc_now()
    )
    if not isinstance(result, Accepted):
        metrics.rejected(InvalidEvent.code)
        raise InvalidEvent(f"the event is not valid: {result.errors[0]}", [(p.path, p.message) for p in result.errors])
    outcome = await _submit(request, [result])
    if isinstance(outcome, _Failure):
        raise outcome.error
    duplicate = outcome[0] is WriteOutcome.DUPLICATE
    (metrics.events_duplicate if duplicate else metrics.events_accepted).inc()
    return _event_response(duplicate, result.rows.event.event_id, _warnings(result))


async def _post_large(request: web.Request, pool: WorkerPool, body: bytes) -> web.Response:
    """One large event, decoded, prepared and committed in a worker process (ingest.http.large)."""
    metrics = request.app[METRICS]
    metrics.received(SINGLE)
    try:
        stored = await run_in_worker(
            request,
            pool,
            body,
            max_depth=request.app[BODY_LIMITS].max_json_depth,
            limits=request.app[EVENT_LIMITS],
            strict=request.app[SETTINGS].strict,
            future_skew=request.app[SETTINGS].max_future_skew,
        )
    except HttpError as exc:
        metrics.rejected(exc.code)
        raise
    if stored.changes_lineage:
        await request.app[QUERY_CACHE].bump()
    (metrics.events_duplicate if stored.duplicate else metrics.events_accepted).inc()
    warnings = [{"path": path, "message": message} for path, message in stored.warnings]
    return _event_response(stored.duplicate, stored.event_id, warnings)


# The answer to one event is {"status", "duplicate", "event_id", "warnings"}, as orjson writes that object: the
# parts that never vary are bytes made once, so that an answer costs the serialising of its id (and warnings).
_STORED = b'{"status":"stored","duplicate":false,"event_id":'
_DUPLICATE = b'{"status":"duplicate","duplicate":true,"event_id":'
_NO_WARNINGS = b',"warnings":[]}'


def _event_response(duplicate: bool, event_id: str, warnings: list[dict[str, str]]) -> web.Response:
    """201 stored or 200 duplicate, with the body web.json_response would make of the same object."""
    tail = b',"warnings":' + orjson.dumps(warnings) + b"}" if warnings else _NO_WARNINGS
    return json_bytes((_DUPLICATE if duplicate else _STORED) + orjson.dumps(event_id) + tail, 200 if duplicate else 201)


async def post_batch(request: web.Request) -> web.Response:
    """An array of events, answered as the OpenLineage spec's batch endpoint (`postEventBatch`): 200 with
    `status` success or partial_success (some events failed: `failed_events` says which and whether a retry
    can succeed), `summary` and `failed_events`; the spec knows no other status.

    400 when the body is not an array of events at all (not an array, or no element an object), 413 beyond
    LINEAGE_MAX_BATCH_EVENTS, and 503 with Retry-After when nothing could be written for a reason a retry
    can cure (a full queue, shutdown, the store unavailable): as on the single endpoint, nothing of the
    request is stored then. Each element is archived as sent, as the single endpoint archives its body.
    """
    settings, metrics = request.app[SETTINGS], request.app[METRICS]
    value, body = await read_json(request, request.app[BODY_LIMITS])
    if not isinstance(value, list) or (value and not any(isinstance(item, dict) for item in value)):
        metrics.rejected(WrongShape.code, len(value) if isinstance(value, list) else 1)
        raise WrongShape("the batch endpoint takes a JSON array of events; send a single event to /api/v1/lineage")
    if len(value) > settings.http.max_batch_events:
        metrics.rejected(TooManyEvents.code, len(value))
        raise TooManyEvents(
            f"the batch holds {len(value)} events; the limit is {settings.http.max_batch_events} "
            "(LINEAGE_MAX_BATCH_EVENTS)"
        )
    metrics.received(BATCH, len(value))
    batch = _Batch(len(value))
    accepted: list[tuple[int, Accepted]] = []
    prepared = await off_loop(request, len(body), _prepare_batch, value, body.decode("utf-8"), request, utc_now())
    for index, result in enumerate(prepared):
        if isinstance(result, HttpError):  # over a per-event limit
            metrics.rejected(result.code)
            batch.fail(index, result.message, retriable=False)
        elif isinstance(result, Accepted):
            accepted.append((index, result))
        else:
            metrics.rejected(InvalidEvent.code)
            batch.fail(index, "; ".join(str(p) for p in result.errors), retriable=False)
    if accepted:
        outcome = await _submit(request, [a for _, a in accepted])
        if isinstance(outcome, _Failure) and outcome.retriable:
            raise outcome.error
        batch.record(accepted, outcome)
        if not isinstance(outcome, _Failure):
            metrics.events_accepted.inc(batch.stored)
            metrics.events_duplicate.inc(len(batch.duplicates))
    return batch.response()


def _prepare_within(value: object, payload: str, request: web.Request, *, received_at: str) -> Accepted | Rejected:
    """The event prepared, after its datasets and fields are counted against the limits (413 beyond them). Runs
    on the prepare pool for a large body: it reads only settings, never the loop's state."""
    check_event(value, request.app[EVENT_LIMITS])
    settings = request.app[SETTINGS]
    return prepare(
        value, payload, strict=settings.strict, received_at=received_at, future_skew=settings.max_future_skew
    )


Prepared = Accepted | Rejected | HttpError  # HttpError: over a per-event limit


def _prepare_batch(value: list[object], text: str, request: web.Request, received_at: str) -> list[Prepared]:
    """Each element prepared as the single endpoint would (archived as sent: its own text), or the limit it
    exceeds."""
    results: list[Prepared] = []
    for element, payload in zip(value, element_texts(text, value), strict=True):
        try:
            results.append(_prepare_within(element, payload, request, received_at=received_at))
        except (TooManyDatasets, TooManyFields) as exc:
            results.append(exc)
    return results


class _Batch:
    """The tally of one batch request and its answer."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.stored = 0
        self.duplicates: list[int] = []
        self.failed: list[dict[str, Any]] = []

    def fail(self, index: int, reason: str, *, retriable: bool) -> None:
        self.failed.append({"index": index, "reason": reason, "retriable": retriable})

    def record(self, accepted: list[tuple[int, Accepted]], outcome: list[WriteOutcome] | _Failure) -> None:
        if isinstance(outcome, _Failure):
            for index, _ in accepted:
                self.fail(index, outcome.error.message, retriable=outcome.retriable)
            self.failed.sort(key=lambda item: item["index"])
            return
        for (index, _), written in zip(accepted, outcome, strict=True):
            if written is WriteOutcome.DUPLICATE:
                self.duplicates.append(index)
            else:
                self.stored += 1

    def response(self) -> web.Response:
        """200 with the spec's body: success when every event is stored (or was already), else partial_success."""
        retriable = sum(1 for item in self.failed if item["retriable"])
        body: dict[str, Any] = {
            "status": "partial_success" if self.failed else "success",
            "summary": {
                "received": self.size,
                "successful": self.size - len(self.failed),
                "failed": len(self.failed),
                "retriable": retriable,
                "non_retriable": len(self.failed) - retriable,
            },
            "failed_events": self.failed,
            "duplicates": self.duplicates,
        }
        return json_bytes(orjson.dumps(body), 200)
