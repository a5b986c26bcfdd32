"""Log lines in text and JSON carry the request id inside a request, serialise exceptions and never secrets."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpClient

from ingest.http.errors import error_middleware
from ingest.logs import (
    _SECRETS,
    AccessLogger,
    Throttle,
    configure_logging,
    current_request_id,
    redact,
    reset_request_id,
    set_request_id,
)

logger = logging.getLogger("tests.logs")


class Configure(Protocol):
    def __call__(self, fmt: str, level: str = "info") -> io.StringIO: ...


@pytest.fixture
def configure() -> Iterator[Configure]:
    """configure_logging into a StringIO; the root logger's handlers and level are restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def go(fmt: str, level: str = "info") -> io.StringIO:
        stream = io.StringIO()
        configure_logging(level, fmt, stream)
        return stream

    yield go
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[Any]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


async def logging_handler(request: web.Request) -> web.Response:
    logger.info("handling %s", request.path, extra={"dataset": "db.table", "rows": 3, "opaque": object()})
    return web.json_response({})


def logging_app() -> web.Application:
    app = web.Application(middlewares=[error_middleware(retry_after_seconds=1)])
    app.router.add_route("*", "/items", logging_handler)
    return app


async def test_json_lines_carry_the_request_id_inside_a_request_only(
    configure: Configure, aiohttp_client: AiohttpClient
) -> None:
    stream = configure("json")
    client = await aiohttp_client(logging_app())
    logger.info("before")
    response = await client.get("/items", headers={"X-Request-ID": "req-42"})
    assert response.status == 200
    logger.info("after")

    before, inside, after = (line for line in json_lines(stream) if line["logger"] == "tests.logs")
    assert inside["message"] == "handling /items"
    assert inside["request_id"] == "req-42"
    assert inside["level"] == "INFO"
    assert inside["dataset"] == "db.table" and inside["rows"] == 3
    assert "opaque" not in inside  # not JSON-serialisable: left out, the line still written
    assert "request_id" not in before and "request_id" not in after
    assert inside["time"].endswith("Z")
    assert datetime.fromisoformat(inside["time"]).utcoffset() is not None


async def test_text_lines_carry_the_request_id_or_a_dash(configure: Configure, aiohttp_client: AiohttpClient) -> None:
    stream = configure("text")
    client = await aiohttp_client(logging_app())
    logger.warning("outside")
    await client.get("/items", headers={"X-Request-ID": "req-7"})
    lines = [line for line in stream.getvalue().splitlines() if " tests.logs " in line]
    assert lines[0].endswith(" WARNING tests.logs [-]: outside")
    assert lines[1].endswith(" INFO tests.logs [req-7]: handling /items")


def test_the_request_id_is_scoped_to_its_context(configure: Configure) -> None:
    stream = configure("json")
    token = set_request_id("abc")
    try:
        assert current_request_id() == "abc"
        logger.info("inside")
    finally:
        reset_request_id(token)
    assert current_request_id() is None
    logger.info("outside")
    inside, outside = json_lines(stream)
    assert inside["request_id"] == "abc" and "request_id" not in outside


def test_exceptions_are_serialised(configure: Configure) -> None:
    json_stream = configure("json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    (line,) = json_lines(json_stream)
    assert line["level"] == "ERROR" and line["message"] == "it failed"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].endswith("ValueError: boom")

    text_stream = configure("text")
    try:
        raise KeyError("missing")
    except KeyError:
        logger.exception("again")
    assert "[-]: again\nTraceback (most recent call last):" in text_stream.getvalue()
    assert "KeyError: 'missing'" in text_stream.getvalue()
    assert json_stream.getvalue().count("\n") == 1  # the earlier handler was replaced, not kept


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_never_written(configure: Configure, fmt: str) -> None:
    stream = configure(fmt)
    logger.info("POST /api/v1/lineage Authorization: Bearer xyz")
    logger.info("headers %s", {"Authorization": "Bearer xyz", "Accept": "*/*"})
    logger.warning("cannot reach teradata://dbc:hunter2@td.example:1025/lineage", extra={"dsn": "pg://u:hunter2@h/db"})
    try:
        raise RuntimeError("login failed with TERADATA_PASSWORD=hunter2")
    except RuntimeError:
        logger.exception("start-up")
    written = stream.getvalue()
    assert "xyz" not in written and "hunter2" not in written
    assert "Accept" in written and "td.example:1025" in written


def test_redact_keeps_ordinary_text() -> None:
    assert redact("POST /api/v1/lineage 200 1.2ms") == "POST /api/v1/lineage 200 1.2ms"
    assert redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: [REDACTED]"
    assert redact("api_key=k1,k2 and more") == "api_key=[REDACTED] and more"


SECRET_PIECES = [
    "Authorization",
    "pRoXy-AUTHORIZATION",
    "BEARER",
    "basic",
    "PassWord",
    "passwd",
    "PWD",
    "ApiKeys",
    "api_KEY",
    "api-key",
    "Secret",
    "TOKEN",
    "postgresql://",
    "user",
    ":",
    "=",
    "@",
    " ",
    '"',
    "'",
    "x9",
    "/",
    "\n",
    "K",
    "ſ",
    "ı",
    "é",
]


@given(st.lists(st.sampled_from(SECRET_PIECES), max_size=12))
def test_redact_skips_the_patterns_only_where_they_find_nothing(pieces: list[str]) -> None:
    """The look for the patterns' words before the patterns (the common case, cheaply) changes no output: the
    pieces are the words in mixed case, what follows them in a secret, and characters IGNORECASE equates with
    ASCII letters (the Kelvin sign, the long s, the dotless i)."""
    text = "".join(pieces)
    expected = text
    for pattern, replacement in _SECRETS:
        expected = pattern.sub(replacement, expected)
    assert redact(text) == expected


def test_bad_level_or_format_is_named(configure: Configure) -> None:
    with pytest.raises(ValueError, match="'loud'"):
        configure("text", "loud")
    with pytest.raises(ValueError, match="'xml'"):
        configure("xml")
    stream = configure("text", "warning")
    logger.info("hidden")
    logger.warning("shown")
    assert "hidden" not in stream.getvalue() and "shown" in stream.getvalue()


async def test_access_log_has_no_headers_nor_query_strings(configure: Configure, aiohttp_client: AiohttpClient) -> None:
    stream = configure("json")
    server = TestServer(logging_app())
    # Started here: the fixture's server_kwargs do not reach the runner.
    await server.start_server(access_log=logging.getLogger("lineage.access"), access_log_class=AccessLogger)
    client: TestClient[web.Request, None] = await aiohttp_client(server)
    response = await client.post(
        "/items?api_key=abc&q=%0Aforged",
        headers={"Authorization": "Bearer xyz", "X-Request-ID": "req-9"},
        data=b"{}",
    )
    assert response.status == 200
    access: list[Any] = []
    for _ in range(100):  # the line is written after the response is sent
        access = [line for line in json_lines(stream) if line["logger"] == "lineage.access"]
        if access:
            break
        await asyncio.sleep(0.01)
    (line,) = access
    assert line["message"].startswith("POST /items 200 ")
    assert line["method"] == "POST" and line["path"] == "/items" and line["status"] == 200
    assert line["request_id"] == "req-9" and line["duration_ms"] >= 0
    written = stream.getvalue()
    assert "xyz" not in written and "abc" not in written and "forged" not in written


def test_throttle_writes_a_few_lines_a_period_then_counts_what_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    throttle = Throttle(lines=2, period=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="tests.logs"):
        written = [throttle.log(logger, logging.WARNING, "flood %d", n) for n in range(10)]
        assert written == [True, True] + [False] * 8
        now[0] = 60.0  # the next period
        assert throttle.log(logger, logging.WARNING, "flood %d", 10)
    messages = [r.getMessage() for r in caplog.records if r.name == "tests.logs"]
    assert messages == ["flood 0", "flood 1", "flood 10 (and 8 more like it not logged)"]
