"""Metrics render in the Prometheus text format 0.0.4; the middleware records every request on a real app."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.typedefs import Middleware
from pytest_aiohttp import AiohttpClient

from ingest.http.errors import InvalidJson, error_middleware
from ingest.http.metrics import (
    CONTENT_TYPE,
    Counter,
    Gauge,
    Histogram,
    Registry,
    ServerMetrics,
    metrics_handler,
    metrics_middleware,
)

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
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP"):
            assert HELP.fullmatch(line), line
        elif line.startswith("# TYPE"):
            assert TYPE.fullmatch(line), line
        else:
            match = SAMPLE.fullmatch(line)
            assert match, line
            raw = match["labels"] or ""
            labels = [(m["name"], unescape(m["value"])) for m in LABEL.finditer(raw)]
            assert ",".join(m.group(0) for m in LABEL.finditer(raw)) == raw, line
            samples[(match["name"], frozenset(labels))] = float(match["value"])
    return samples


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def test_counter_renders_help_type_and_samples_exactly() -> None:
    registry = Registry()
    plain = registry.register(Counter("jobs_total", "Jobs run.\nSecond line \\ here."))
    labelled = registry.register(Counter("errors_total", "Errors.", ["reason"]))
    plain.inc()
    plain.inc(2)
    labelled.inc(reason="A")
    labelled.inc(3, reason="B")
    labelled.inc(reason="A")
    assert registry.render() == (
        "# HELP jobs_total Jobs run.\\nSecond line \\\\ here.\n"
        "# TYPE jobs_total counter\n"
        "jobs_total 3\n"
        "# HELP errors_total Errors.\n"
        "# TYPE errors_total counter\n"
        'errors_total{reason="A"} 2\n'
        'errors_total{reason="B"} 3\n'
    )
    assert labelled.value(reason="B") == 3


def test_an_unused_unlabelled_counter_shows_zero_and_an_empty_registry_nothing() -> None:
    registry = Registry()
    assert registry.render() == ""
    registry.register(Counter("x_total", "X."))
    registry.register(Counter("y_total", "Y.", ["kind"]))
    assert (
        registry.render()
        == "# HELP x_total X.\n# TYPE x_total counter\nx_total 0\n# HELP y_total Y.\n# TYPE y_total counter\n"
    )


def test_label_values_are_escaped() -> None:
    registry = Registry()
    counter = registry.register(Counter("odd_total", "Odd labels.", ["value"]))
    nasty = 'back\\slash "quoted"\nnewline'
    counter.inc(value=nasty)
    text = registry.render()
    assert 'odd_total{value="back\\\\slash \\"quoted\\"\\nnewline"} 1\n' in text
    assert parse(text)[key("odd_total", value=nasty)] == 1


def test_labels_must_match_the_declaration() -> None:
    counter = Counter("c_total", "C.", ["a", "b"])
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(a="1")
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(a="1", c="2")
    with pytest.raises(ValueError, match="cannot decrease"):
        counter.inc(-1, a="1", b="2")
    with pytest.raises(ValueError, match="invalid metric name"):
        Counter("1bad", "Bad.")
    with pytest.raises(ValueError, match="reserved"):
        Histogram("h", "H.", [1], ["le"])
    with pytest.raises(ValueError, match="increasing"):
        Histogram("h", "H.", [2, 1])
    registry = Registry()
    registry.register(Counter("dup_total", "D."))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Gauge("dup_total", "D."))


def test_gauge_set_and_callback() -> None:
    registry = Registry()
    temperature = registry.register(Gauge("temperature", "Degrees.", ["room"]))
    temperature.set(21.5, room="a")
    temperature.set(19, room="a")
    depth = [0]
    queue = registry.register(Gauge.callback("queue_depth", "Queued.", lambda: depth[0]))
    depth[0] = 7
    samples = parse(registry.render())
    assert samples[key("temperature", room="a")] == 19
    assert samples[key("queue_depth")] == 7
    depth[0] = 3
    assert parse(registry.render())[key("queue_depth")] == 3
    assert queue.value() == 3
    with pytest.raises(ValueError, match="unlabelled"):
        temperature.set_function(lambda: 1)


def test_a_failing_gauge_callback_drops_only_its_sample(caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry()
    registry.register(Gauge.callback("broken", "Broken.", lambda: 1 / 0))
    registry.register(Counter("fine_total", "Fine."))
    text = registry.render()
    assert "fine_total 0\n" in text and "\nbroken " not in text
    assert "broken could not be read" in caplog.text


def test_histogram_buckets_are_cumulative_and_inf_equals_count() -> None:
    registry = Registry()
    histogram = registry.register(Histogram("latency_seconds", "Latency.", [0.1, 1, 5], ["route"]))
    values = (0.05, 0.1, 0.5, 1, 3, 7, 100)
    for value in values:
        histogram.observe(value, route="/a")
    histogram.observe(0.2, route="/b")
    text = registry.render()
    assert text.splitlines()[:8] == [
        "# HELP latency_seconds Latency.",
        "# TYPE latency_seconds histogram",
        'latency_seconds_bucket{route="/a",le="0.1"} 2',  # a value equal to a bound falls in that bucket
        'latency_seconds_bucket{route="/a",le="1.0"} 4',
        'latency_seconds_bucket{route="/a",le="5.0"} 5',
        'latency_seconds_bucket{route="/a",le="+Inf"} 7',
        f'latency_seconds_sum{{route="/a"}} {sum(values)!r}',
        'latency_seconds_count{route="/a"} 7',
    ]
    samples = parse(text)
    assert samples[key("latency_seconds_bucket", route="/b", le="0.1")] == 0
    assert samples[key("latency_seconds_bucket", route="/b", le="1.0")] == 1
    assert (
        samples[key("latency_seconds_bucket", route="/b", le="+Inf")]
        == samples[key("latency_seconds_count", route="/b")]
    )
    assert histogram.count(route="/a") == 7


def test_an_unlabelled_histogram_renders_before_any_observation() -> None:
    registry = Registry()
    registry.register(Histogram("size", "Size.", [1, 10]))
    assert registry.render().splitlines()[2:] == [
        'size_bucket{le="1.0"} 0',
        'size_bucket{le="10.0"} 0',
        'size_bucket{le="+Inf"} 0',
        "size_sum 0",
        "size_count 0",
    ]


def test_server_metrics_declare_every_name_with_the_lineage_prefix() -> None:
    metrics = ServerMetrics()
    metrics.events_received.inc(2, endpoint="/api/v1/lineage/batch")
    metrics.events_accepted.inc()
    metrics.events_duplicate.inc()
    metrics.events_rejected.inc(reason="INVALID_EVENT")
    metrics.batch_size.observe(2)
    metrics.commit_seconds.observe(0.004)
    metrics.queue_depth.set_function(lambda: 5)
    names = {line.split()[2] for line in metrics.render().splitlines() if line.startswith("# TYPE")}
    assert names == {
        "lineage_events_received_total",
        "lineage_events_accepted_total",
        "lineage_events_duplicate_total",
        "lineage_events_rejected_total",
        "lineage_batch_size_events",
        "lineage_commit_duration_seconds",
        "lineage_queue_depth",
        "lineage_http_requests_total",
        "lineage_http_request_duration_seconds",
    }
    samples = parse(metrics.render())
    assert samples[key("lineage_events_rejected_total", reason="INVALID_EVENT")] == 1
    assert samples[key("lineage_batch_size_events_bucket", le="2.0")] == 1
    assert samples[key("lineage_queue_depth")] == 5


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def bad(request: web.Request) -> web.Response:
    raise InvalidJson("the body is not valid JSON")


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


async def gone(request: web.Request) -> web.Response:
    raise web.HTTPFound("/items/1")


def metered_app(metrics: ServerMetrics, *middlewares: Middleware) -> web.Application:
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/items/{id}", ok)
    app.router.add_post("/bad", bad)
    app.router.add_get("/crash", crash)
    app.router.add_get("/moved", gone)
    app.router.add_get("/metrics", metrics_handler(metrics))
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
    requests = metrics.requests
    assert requests.value(route="/bad", method="POST", status="400") == 1
    assert requests.value(route="/crash", method="GET", status="500") == 1
    assert requests.value(route="unmatched", method="GET", status="404") == 1
