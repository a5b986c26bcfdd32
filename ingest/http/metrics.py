"""Prometheus metrics through prometheus-client: what the server counts, and how `--workers N` adds them up.

One process: the metrics live in memory and /metrics shows them with the client's process, platform and
garbage-collector collectors. Several workers (`lineage serve --workers N`): the client's multiprocess mode.
Each worker writes its metrics to memory-mapped files in PROMETHEUS_MULTIPROC_DIR, which the server parent
makes before forking and removes at exit (`shared_across_workers`), and whichever worker answers a scrape reads
every file: each counter and histogram is the sum over the workers, dead ones included (what they counted
happened), and the queue-depth gauge the sum over the live ones (the parent marks a dead worker with
`mark_process_dead`). Label values come from bounded sets (route templates, short codes), never from input.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from query.errors import HttpError
from schemas.store import RowCounts

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
COMMIT_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# A write request waits for its group commit, so its latency includes the batch delay.
REQUEST_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# Methods outside this set are counted as OTHER: a client must not be able to mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
CLIENT_CLOSED = 499  # nginx's code for a request whose handler was cancelled before it answered

# The `_created` series double every counter and histogram, and multiprocess mode never has them: one page
# shape in both modes.
disable_created_metrics()


# The server parent's pid, set by shared_across_workers before it forks: its children are the workers.
_parent: int | None = None


def multiprocess_mode() -> bool:
    """True where the metrics live in PROMETHEUS_MULTIPROC_DIR (the client's own test: the variable is set)."""
    return MULTIPROC_DIR in os.environ


class ServerMetrics:
    """Every metric the server exports, declared in one place, and the registry /metrics renders.

    `endpoint` is the ingestion route's canonical path; `reason` is an error code (INVALID_EVENT,
    INVALID_JSON, TOO_LARGE, UNAUTHORIZED, QUEUE_FULL, STORE_UNAVAILABLE, ...); `route` is the matched
    resource's canonical path or "unmatched"; `method` is an HTTP method or OTHER; `status` the status code.
    """

    def __init__(self) -> None:
        self._rows_seen = RowCounts(0, 0)
        self.registry = CollectorRegistry()
        shared = multiprocess_mode()
        # In multiprocess mode the metrics are read back from the files: registered too, they would show twice.
        r = None if shared else self.registry
        self.events_received = Counter(
            "lineage_events_received_total", "Events received, by ingestion endpoint.", ["endpoint"], registry=r
        )
        self.events_accepted = Counter("lineage_events_accepted_total", "Events newly committed.", registry=r)
        self.events_duplicate = Counter(
            "lineage_events_duplicate_total", "Events already stored (client retries), acknowledged.", registry=r
        )
        self.events_rejected = Counter(
            "lineage_events_rejected_total", "Events refused, by error code.", ["reason"], registry=r
        )
        self.batch_size = Histogram(
            "lineage_batch_size_events", "Events per committed batch.", buckets=BATCH_SIZE_BUCKETS, registry=r
        )
        self.commit_seconds = Histogram(
            "lineage_commit_duration_seconds",
            "Time to write and commit one batch.",
            buckets=COMMIT_SECONDS_BUCKETS,
            registry=r,
        )
        self.store_rows = Counter(
            "lineage_store_rows_total",
            "Rows of committed events: written to the store, or left out as held already (LINEAGE_WRITE_MEMORY_KEYS).",
            ["outcome"],
            registry=r,
        )
        # Both series from the start, at 0; their children kept, as for the label sets below.
        self._rows_written, self._rows_left_out = self.store_rows.labels("written"), self.store_rows.labels("left_out")
        self.queue_depth = Gauge(
            "lineage_queue_depth", "Events waiting in the writers' queues.", multiprocess_mode="livesum", registry=r
        )
        self.queue_capacity = Gauge(
            "lineage_queue_capacity",
            "Events the writers' queues hold at most (LINEAGE_QUEUE_MAX_EVENTS per worker).",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.requests = Counter(
            "lineage_http_requests_total", "HTTP requests answered.", ["route", "method", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "lineage_http_request_duration_seconds",
            "Time from a request's dispatch to its response.",
            ["route", "method"],
            buckets=REQUEST_SECONDS_BUCKETS,
            registry=r,
        )
        if shared:
            multiprocess.MultiProcessCollector(self.registry)
        if shared and _parent is not None:
            self.registry.register(WorkersProcessCollector(_parent))
        else:
            ProcessCollector(registry=self.registry)
        if not shared:
            GCCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._received: dict[str, Counter] = {}
        self._rejected: dict[str, Counter] = {}
        self._requests: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # The client's labels() costs more than the update it leads to (a lock, a check, a look-up); each label set is
    # looked up once and kept: the sets are bounded (see the class doc), so these dicts are too.

    def received(self, endpoint: str, count: int = 1) -> None:
        child = self._received.get(endpoint)
        if child is None:
            child = self._received[endpoint] = self.events_received.labels(endpoint)
        child.inc(count)

    def rejected(self, reason: str, count: int = 1) -> None:
        child = self._rejected.get(reason)
        if child is None:
            child = self._rejected[reason] = self.events_rejected.labels(reason)
        child.inc(count)

    def store_wrote(self, counts: RowCounts) -> None:
        """The store's running row counts (Store.rows_written): what grew since the last call is counted."""
        seen, self._rows_seen = self._rows_seen, counts
        self._rows_written.inc(counts.written - seen.written)
        self._rows_left_out.inc(counts.left_out - seen.left_out)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        series = self._requests.get((route, method, status))
        if series is None:
            series = (self.requests.labels(route, method, str(status)), self.request_seconds.labels(route, method))
            self._requests[(route, method, status)] = series
        series[0].inc()
        series[1].observe(seconds)


# How each process metric of the workers adds up into the one the page shows.
_COMBINE: dict[str, Callable[[Iterable[float]], float]] = {"process_start_time_seconds": min, "process_max_fds": min}


class WorkersProcessCollector(Collector):
    """The client's process metrics (CPU seconds, memory, open files) of every worker of this server: the sum of
    each, but the earliest start time and the lowest descriptor limit.

    A worker's own ProcessCollector would show only the worker that happens to answer the scrape. The workers are
    the children of the server parent; each is read from /proc as the client reads its own process."""

    def __init__(self, parent: int) -> None:
        self._parent = parent

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        found: dict[str, list[float]] = {}
        for pid in _children(self._parent):
            for family in ProcessCollector(pid=partial(int, pid), registry=None).collect():
                merged.setdefault(family.name, family)
                found.setdefault(family.name, []).extend(sample.value for sample in family.samples)
        for name, family in merged.items():
            metric = Metric(name, f"{family.documentation} Over the server's workers.", family.type)
            sample = family.samples[0]
            metric.add_sample(sample.name, {}, _COMBINE.get(name, sum)(found[name]))
            yield metric


def _children(parent: int) -> list[int]:
    """The pids of the parent's children: the server's workers, this one included."""
    pids: list[int] = []
    for task in Path(f"/proc/{parent}/task").glob("*"):
        try:
            pids.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return pids or [os.getpid()]


@contextmanager
def shared_across_workers() -> Iterator[Callable[[int], None]]:
    """Multiprocess mode for the workers forked inside the block; yields the call for a worker that died.

    The directory is PROMETHEUS_MULTIPROC_DIR when the operator gives one (emptied first: files of an earlier run
    would add to this one's counts), else a new temporary one; it is emptied (or removed) at the end. The client
    chooses its value store when it is imported, from the environment; the server learns that it has workers only
    after, so the choice is made again here, in the parent, before any metric exists and before the fork (the
    children inherit both the variable and the choice)."""
    given = os.environ.get(MULTIPROC_DIR)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="lineage-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    _empty(path)
    os.environ[MULTIPROC_DIR] = str(path)
    global _parent
    before = values.ValueClass, _parent
    values.ValueClass, _parent = values.get_value_class(), os.getpid()
    try:
        yield lambda pid: multiprocess.mark_process_dead(pid, str(path))
    finally:
        values.ValueClass, _parent = before
        if given:
            _empty(path)
        else:
            del os.environ[MULTIPROC_DIR]
            shutil.rmtree(path, ignore_errors=True)


def _empty(path: Path) -> None:
    for file in path.glob("*.db"):
        file.unlink(missing_ok=True)


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
