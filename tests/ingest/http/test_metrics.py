"""Metrics render in the Prometheus text format 0.0.4 with the names the server always had, the middleware records
every request on a real app, and the multiprocess set-up of `--workers N` makes and cleans its directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware
from pytest_aiohttp import AiohttpClient

from ingest.http.errors import InvalidJson, error_middleware
from ingest.http.metrics import (
    CONTENT_TYPE,
    MULTIPROC_DIR,
    ServerMetrics,
    metrics_middleware,
    multiprocess_mode,
    shared_across_workers,
)

NAMES = {
    "lineage_events_received_total",
    "lineage_events_accepted_total",
    "lineage_events_duplicate_total",
    "lineage_events_rejected_total",
    "lineage_batch_size_events",
    "lineage_commit_duration_seconds",
    "lineage_queue_depth",
    "lineage_queue_capacity",
    "lineage_store_rows_total",
    "lineage_http_requests_total",
    "lineage_http_request_duration_seconds",
}
PROCESS = {
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_start_time_seconds",
}

# The text format's lines, from the exposition format's grammar.
HELP = re.compile(r"# HELP (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?P<text>.*)")
TYPE = re.compile(r"# TYPE (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?P<kind>counter|gauge|histogram|summary|untyped)")
SAMPLE = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
LABEL = re.compile(r'(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\\n]|\\\\|\\"|\\n)*)"')


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a rendered page, checking each line against the grammar on the way."""
    assert text.endswith("\n")
    # A histogram's samples carry its name plus _bucket, _sum or _count; each follows its HELP and TYPE.
    declared: set[str] = set()
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP"):
            assert HELP.fullmatch(line), line
        elif line.startswith("# TYPE"):
            match = TYPE.fullmatch(line)
            assert match, line
            declared.add(match["name"])
        else:
            match = SAMPLE.fullmatch(line)
            assert match, line
            name = match["name"]
            assert {name, *(name.removesuffix(end) for end in ("_bucket", "_sum", "_count"))} & declared, line
            raw = match["labels"] or ""
            labels = [(m["name"], unescape(m["value"])) for m in LABEL.finditer(raw)]
            assert ",".join(m.group(0) for m in LABEL.finditer(raw)) == raw, line
            samples[(match["name"], frozenset(labels))] = float(match["value"])
    return samples


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def types(text: str) -> dict[str, str]:
    return {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE")}


def test_server_metrics_keep_their_names_and_add_the_process_collectors() -> None:
    metrics = ServerMetrics()
    metrics.events_received.labels("/api/v1/lineage/batch").inc(2)
    metrics.events_accepted.inc()
    metrics.events_duplicate.inc()
    metrics.events_rejected.labels("INVALID_EVENT").inc()
    metrics.batch_size.observe(2)
    metrics.commit_seconds.observe(0.004)
    metrics.queue_depth.set(5)
    text = metrics.render().decode()
    kinds = types(text)
    assert NAMES | PROCESS | {"python_info"} <= set(kinds)
    assert {kinds[name] for name in NAMES if name.endswith("_total")} == {"counter"}
    assert kinds["lineage_batch_size_events"] == kinds["lineage_commit_duration_seconds"] == "histogram"
    assert kinds["lineage_queue_depth"] == "gauge"
    assert not any(name.endswith("_created") for name in kinds), "no _created series: one shape in both modes"
    samples = parse(text)
    assert samples[key("lineage_events_received_total", endpoint="/api/v1/lineage/batch")] == 2
    assert samples[key("lineage_events_accepted_total")] == 1
    assert samples[key("lineage_events_rejected_total", reason="INVALID_EVENT")] == 1
    assert samples[key("lineage_batch_size_events_bucket", le="2.0")] == 1
    assert samples[key("lineage_batch_size_events_bucket", le="+Inf")] == 1
    assert samples[key("lineage_queue_depth")] == 5
    assert samples[key("process_cpu_seconds_total")] > 0


def test_two_servers_in_one_process_count_apart() -> None:
    first, second = ServerMetrics(), ServerMetrics()
    first.events_accepted.inc(3)
    assert parse(first.render().decode())[key("lineage_events_accepted_total")] == 3
    assert parse(second.render().decode())[key("lineage_events_accepted_total")] == 0


def test_shared_across_workers_makes_a_directory_and_removes_it() -> None:
    assert not multiprocess_mode()
    with shared_across_workers() as child_exit:
        path = Path(os.environ[MULTIPROC_DIR])
        assert path.is_dir() and multiprocess_mode()
        metrics = ServerMetrics()
        metrics.events_accepted.inc(4)
        metrics.queue_depth.set(2)
        samples = parse(metrics.render().decode())
        assert samples[key("lineage_events_accepted_total")] == 4  # read back from this process's file
        assert samples[key("lineage_queue_depth")] == 2
        assert samples[key("process_resident_memory_bytes")] > 0  # this process, as the sole "worker"
        child_exit(os.getpid())  # a dead worker: its live gauge goes, its counts stay
        samples = parse(metrics.render().decode())
        assert samples[key("lineage_events_accepted_total")] == 4
        assert key("lineage_queue_depth") not in samples
    assert not path.exists()
    assert not multiprocess_mode()


def test_a_given_directory_is_emptied_before_and_after(tmp_path: Path) -> None:
    given = tmp_path / "prometheus"
    given.mkdir()
    (given / "counter_1.db").write_bytes(b"left by an earlier run")
    os.environ[MULTIPROC_DIR] = str(given)
    try:
        with shared_across_workers():
            assert not (given / "counter_1.db").exists()
            ServerMetrics().events_accepted.inc()
            assert list(given.glob("counter_*.db"))
        assert given.is_dir() and not list(given.iterdir())
        assert os.environ[MULTIPROC_DIR] == str(given)
    finally:
        del os.environ[MULTIPROC_DIR]


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def bad(request: web.Request) -> web.Response:
    raise InvalidJson("the body is not valid JSON")


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


async def gone(request: web.Request) -> web.Response:
    raise web.HTTPFound("/items/1")


def metered_app(metrics: ServerMetrics, *middlewares: Middleware) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application(middlewares=middlewares)
    app.router.add_get("/items/{id}", ok)
    app.router.add_post("/bad", bad)
    app.router.add_get("/crash", crash)
    app.router.add_get("/moved", gone)
    app.router.add_get("/metrics", page)
    return app


async def test_middleware_outside_the_error_middleware_records_final_statuses(
    aiohttp_client: AiohttpClient,
) -> None:
    metrics = ServerMetrics()
    client = await aiohttp_client(metered_app(metrics, metrics_middleware(metrics), error_middleware(1)))
    assert (await client.get("/items/1")).status == 200
    assert (await client.get("/items/2")).status == 200
    assert (await client.get("/nowhere")).status == 404
    assert (await client.post("/bad")).status == 400
    assert (await client.get("/crash")).status == 500
    assert (await client.get("/moved", allow_redirects=False)).status == 302
    assert (await client.request("PROPFIND", "/items/1")).status == 405

    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    samples = parse(await response.text())
    requests = "lineage_http_requests_total"
    assert samples[key(requests, route="/items/{id}", method="GET", status="200")] == 2
    assert samples[key(requests, route="unmatched", method="GET", status="404")] == 1
    assert samples[key(requests, route="/bad", method="POST", status="400")] == 1
    assert samples[key(requests, route="/crash", method="GET", status="500")] == 1
    assert samples[key(requests, route="/moved", method="GET", status="302")] == 1
    assert samples[key(requests, route="unmatched", method="OTHER", status="405")] == 1
    seconds = "lineage_http_request_duration_seconds"
    assert samples[key(f"{seconds}_count", route="/items/{id}", method="GET")] == 2
    assert samples[key(f"{seconds}_bucket", route="/items/{id}", method="GET", le="+Inf")] == 2
    assert samples[key(f"{seconds}_sum", route="/items/{id}", method="GET")] > 0


async def test_middleware_records_exceptions_that_pass_through_it(aiohttp_client: AiohttpClient) -> None:
    metrics = ServerMetrics()
    # Inside the error middleware (the other order), exceptions reach this one and are re-raised.
    client = await aiohttp_client(metered_app(metrics, error_middleware(1), metrics_middleware(metrics)))
    assert (await client.post("/bad")).status == 400
    assert (await client.get("/crash")).status == 500
    assert (await client.get("/nowhere")).status == 404
    samples = parse(metrics.render().decode())
    requests = "lineage_http_requests_total"
    assert samples[key(requests, route="/bad", method="POST", status="400")] == 1
    assert samples[key(requests, route="/crash", method="GET", status="500")] == 1
    assert samples[key(requests, route="unmatched", method="GET", status="404")] == 1
