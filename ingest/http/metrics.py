"""Prometheus metrics in process: counters, gauges and histograms rendered in the text format 0.0.4.

Metrics are updated from the event loop only. Nothing here takes a lock: an update is a dict look-up keyed
by the tuple of label values, which asyncio never interleaves. A worker THREAD (the store's writer) must not
touch a metric; it hands its figures back to the loop (the batcher observes commit latency after awaiting
the executor). Label values must come from bounded sets (route templates, short codes), never from input.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from query.errors import HttpError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
COMMIT_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# A write request waits for its group commit, so its latency includes the batch delay.
REQUEST_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# Methods outside this set are counted as OTHER: a client must not be able to mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
CLIENT_CLOSED = 499  # nginx's code for a request whose handler was cancelled before it answered

LabelKey = tuple[str, ...]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as the text format writes it: integers plainly, +Inf, -Inf and NaN by name."""
    if isinstance(value, int):
        return str(int(value))  # int() so that True renders as 1
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _label_text(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)) + "}"


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        if not NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labels:
            if not LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} for metric {name}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"duplicate label names {list(labels)} for metric {name}")
        self.name = name
        self.help = help
        self.labels: LabelKey = tuple(labels)

    def _key(self, labels: dict[str, str]) -> LabelKey:
        if len(labels) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {list(self.labels)}, got {sorted(labels)}")
        try:
            return tuple([labels[n] for n in self.labels])
        except KeyError:
            raise ValueError(f"{self.name} takes labels {list(self.labels)}, got {sorted(labels)}") from None

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        yield from self._samples()

    def _samples(self) -> Iterable[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A total that only goes up. Unlabelled counters show 0 before their first increment."""

    kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[LabelKey, float] = {} if self.labels else {(): 0}

    def inc(self, amount: float = 1, **labels: str) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot decrease (got {amount})")
        key = self._key(labels) if labels or self.labels else ()
        self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0)

    def _samples(self) -> Iterable[str]:
        for key, value in self._values.items():
            yield f"{self.name}{_label_text(self.labels, key)} {format_value(value)}"


class Gauge(_Metric):
    """A value that goes up and down; either set, or read from a function at scrape time."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[LabelKey, float] = {}
        self._function: Callable[[], float] | None = None

    @classmethod
    def callback(cls, name: str, help: str, fn: Callable[[], float]) -> Gauge:
        gauge = cls(name, help)
        gauge.set_function(fn)
        return gauge

    def set(self, value: float, **labels: str) -> None:
        self._values[self._key(labels)] = value

    def set_function(self, fn: Callable[[], float] | None) -> None:
        """Read the value from fn at each scrape (unlabelled gauges only); None goes back to set()."""
        if self.labels:
            raise ValueError(f"{self.name}: only an unlabelled gauge can read its value from a function")
        self._function = fn

    def value(self, **labels: str) -> float:
        if self._function is not None:
            return self._function()
        return self._values.get(self._key(labels), 0)

    def _samples(self) -> Iterable[str]:
        if self._function is None:
            for key, value in self._values.items():
                yield f"{self.name}{_label_text(self.labels, key)} {format_value(value)}"
            return
        try:
            value = self._function()
        except Exception:
            # A broken callback costs its own sample, not the whole scrape.
            logger.exception("the value of gauge %s could not be read", self.name)
            return
        yield f"{self.name} {format_value(value)}"


class _Series:
    __slots__ = ("counts", "sum")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)  # one per bound, then +Inf; not cumulative until rendered
        self.sum: float = 0


class Histogram(_Metric):
    """Observations counted in buckets by upper bound (value <= le), rendered cumulatively with +Inf."""

    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: Sequence[float], labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        if "le" in self.labels:
            raise ValueError(f"{name}: 'le' is reserved for histogram buckets")
        bounds = [float(b) for b in buckets if not math.isinf(b)]
        if not bounds or any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"{name}: buckets must be increasing and not empty, got {list(buckets)}")
        self.bounds = tuple(bounds)
        self._le = [format_value(b) for b in bounds] + ["+Inf"]
        self._series: dict[LabelKey, _Series] = {} if self.labels else {(): _Series(len(bounds))}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels) if labels or self.labels else ()
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(len(self.bounds))
        series.counts[bisect.bisect_left(self.bounds, value)] += 1
        series.sum += value

    def count(self, **labels: str) -> int:
        series = self._series.get(self._key(labels))
        return sum(series.counts) if series else 0

    def _samples(self) -> Iterable[str]:
        names = (*self.labels, "le")
        for key, series in self._series.items():
            running = 0
            for le, count in zip(self._le, series.counts, strict=True):
                running += count
                yield f"{self.name}_bucket{_label_text(names, (*key, le))} {running}"
            labels = _label_text(self.labels, key)
            yield f"{self.name}_sum{labels} {format_value(series.sum)}"
            yield f"{self.name}_count{labels} {running}"


M = TypeVar("M", bound=_Metric)


class Registry:
    """The metrics one /metrics page shows, in the order they were registered."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: M) -> M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def render(self) -> str:
        lines = [line for metric in self._metrics.values() for line in metric.render()]
        return "\n".join(lines) + "\n" if lines else ""


class ServerMetrics:
    """Every metric the server exports, declared in one place.

    `endpoint` is the ingestion route's canonical path; `reason` is an error code (INVALID_EVENT,
    INVALID_JSON, TOO_LARGE, UNAUTHORIZED, QUEUE_FULL, STORE_UNAVAILABLE, ...); `route` is the matched
    resource's canonical path or "unmatched"; `method` is an HTTP method or OTHER; `status` the status code.
    """

    def __init__(self) -> None:
        self.registry = r = Registry()
        self.events_received = r.register(
            Counter("lineage_events_received_total", "Events received, by ingestion endpoint.", ["endpoint"])
        )
        self.events_accepted = r.register(Counter("lineage_events_accepted_total", "Events newly committed."))
        self.events_duplicate = r.register(
            Counter("lineage_events_duplicate_total", "Events already stored (client retries), acknowledged.")
        )
        self.events_rejected = r.register(
            Counter("lineage_events_rejected_total", "Events refused, by error code.", ["reason"])
        )
        self.batch_size = r.register(
            Histogram("lineage_batch_size_events", "Events per committed batch.", BATCH_SIZE_BUCKETS)
        )
        self.commit_seconds = r.register(
            Histogram("lineage_commit_duration_seconds", "Time to write and commit one batch.", COMMIT_SECONDS_BUCKETS)
        )
        self.queue_depth = r.register(Gauge("lineage_queue_depth", "Events waiting in the writer's queue."))
        self.requests = r.register(
            Counter("lineage_http_requests_total", "HTTP requests answered.", ["route", "method", "status"])
        )
        self.request_seconds = r.register(
            Histogram(
                "lineage_http_request_duration_seconds",
                "Time from a request's dispatch to its response.",
                REQUEST_SECONDS_BUCKETS,
                ["route", "method"],
            )
        )

    def render(self) -> str:
        return self.registry.render()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.requests.inc(route=route, method=method, status=str(status))
        self.request_seconds.observe(seconds, route=route, method=method)


def route_label(request: web.Request) -> str:
    """The matched resource's canonical path (`/api/v1/lineage`, `/namespaces/{id}`) or "unmatched"."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def metrics_middleware(metrics: ServerMetrics) -> Middleware:
    """Count and time every request by route, method and status.

    Place it OUTSIDE the error middleware, `middlewares=[metrics_middleware(m), error_middleware(...)]`, so that
    it reads the final status of every answer and times the error rendering too. It also copes with the
    other order: HttpError and HTTPException passing through are recorded with their status, any other
    exception as 500, a cancelled handler as 499; each is re-raised.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except (web.HTTPException, HttpError) as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            metrics.observe_request(route_label(request), request.method, status, time.perf_counter() - start)

    return middleware


def metrics_handler(metrics: ServerMetrics) -> Handler:
    """The GET /metrics handler for these metrics."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})

    return handler
