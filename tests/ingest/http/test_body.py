"""ingest.http.body on a real in-process server: every refusal in the one error shape, limits held while reading.

The server runs as `lineage serve` runs it (auto_decompress=False: the body reader inflates gzip), and the
gzip cases run again with aiohttp's default (aiohttp inflates; the limits must hold all the same).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import io
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from ingest.http.body import BodyLimits, json_depth, read_json
from ingest.http.errors import error_middleware
from tests.conftest import EVENTS_DIR

KIB = 1024
LIMITS = BodyLimits(max_body_bytes=64 * KIB, max_decompressed_bytes=256 * KIB, max_json_depth=100, read_timeout=5.0)
SPARK_EVENT = EVENTS_DIR / "spark__cll_insert_complete__8.json"  # 39 KB, a logical plan inside

Client = TestClient[Any, Any]
Serve = Callable[..., Awaitable[Client]]
BOTH_MODES = pytest.mark.parametrize("aiohttp_inflates", [False, True], ids=["we-inflate", "aiohttp-inflates"])


@pytest.fixture
def serve(aiohttp_client: AiohttpClient) -> Serve:
    """Start a tiny app whose one POST route answers {"value", "size"} from read_json; closed after the test."""

    async def start(limits: BodyLimits = LIMITS, *, aiohttp_inflates: bool = False) -> Client:
        async def echo(request: web.Request) -> web.Response:
            value, body = await read_json(request, limits)
            return web.json_response({"value": value, "size": len(body)})

        app = web.Application(middlewares=[error_middleware(retry_after_seconds=1)])
        app.router.add_post("/", echo)
        if aiohttp_inflates:
            return await aiohttp_client(app)
        server = TestServer(app)
        await server.start_server(auto_decompress=False)  # as ingest.http.server runs the app
        return await aiohttp_client(server)

    return start


async def post(client: Client, data: Any, content_type: str | None = "application/json", **headers: str) -> Any:
    if content_type is not None:
        headers["Content-Type"] = content_type
    skip = () if content_type is not None else ("Content-Type",)
    return await client.post("/", data=data, headers=headers, skip_auto_headers=skip)


async def assert_error(response: Any, status: int, code: str) -> str:
    """The one error shape with this status and code; returns the sentence."""
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error", "message", "code", "details", "request_id"}
    assert body["code"] == code
    assert body["details"] == []
    assert body["request_id"] == response.headers["X-Request-ID"] != ""
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def nested(depth: int) -> bytes:
    """Arrays and objects alternating, `depth` levels deep: [{"a":[{"a":...1...}]}]."""
    opening = b"".join(b"[" if level % 2 == 0 else b'{"a":' for level in range(depth))
    closing = b"".join(b"]" if level % 2 == 0 else b"}" for level in reversed(range(depth)))
    return opening + b"1" + closing


# Accepted bodies


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        "Application/JSON",
        "application/vnd.openlineage.event+json",
        None,  # no Content-Type at all: taken as JSON
    ],
)
async def test_json_content_types_are_accepted(serve: Serve, content_type: str | None) -> None:
    client = await serve()
    response = await post(client, b'{"a": [1, "\xc3\xa9"]}', content_type)
    assert response.status == 200
    assert await response.json() == {"value": {"a": [1, "é"]}, "size": 16}


async def test_a_byte_order_mark_is_ignored(serve: Serve) -> None:
    client = await serve()
    response = await post(client, b"\xef\xbb\xbf[1]")
    assert await response.json() == {"value": [1], "size": 3}


@BOTH_MODES
@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "GZIP", "identity, gzip"])
async def test_a_gzip_event_decodes_as_the_plain_file(serve: Serve, aiohttp_inflates: bool, coding: str) -> None:
    client = await serve(aiohttp_inflates=aiohttp_inflates)
    plain = SPARK_EVENT.read_bytes()
    response = await post(client, gzip.compress(plain), **{"Content-Encoding": coding})
    assert response.status == 200, await response.text()
    assert await response.json() == {"value": orjson.loads(plain), "size": len(plain)}


async def test_identity_and_no_encoding_read_the_body_as_is(serve: Serve) -> None:
    client = await serve()
    for headers in ({}, {"Content-Encoding": "identity"}):
        response = await post(client, SPARK_EVENT.read_bytes(), **headers)
        assert (await response.json())["value"] == orjson.loads(SPARK_EVENT.read_bytes())


async def test_concatenated_gzip_members_are_one_body(serve: Serve) -> None:
    client = await serve()
    data = gzip.compress(b'{"a": [1, 2,') + gzip.compress(b' 3], "b": null}')
    response = await post(client, data, **{"Content-Encoding": "gzip"})
    assert await response.json() == {"value": {"a": [1, 2, 3], "b": None}, "size": 27}


async def test_a_chunked_body_within_the_limit_is_read_whole(serve: Serve) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(1000):
            yield b"12345678,"
        yield b"0]"

    response = await post(await serve(), chunks())
    assert response.status == 200
    assert (await response.json())["value"] == [12345678] * 1000 + [0]


# 415


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/octet-stream",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
    ],
)
async def test_other_content_types_are_415(serve: Serve, content_type: str) -> None:
    message = await assert_error(await post(await serve(), b"{}", content_type), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in message or "UTF-8" in message


async def test_a_form_content_type_says_how_to_fix_curl(serve: Serve) -> None:
    response = await post(await serve(), b"{}", "application/x-www-form-urlencoded")
    message = await assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "-H 'Content-Type: application/json'" in message


@pytest.mark.parametrize("coding", ["br", "zstd", "deflate", "compress", "gzip, gzip", "gzip, br"])
async def test_other_content_encodings_are_415(serve: Serve, coding: str) -> None:
    response = await post(await serve(), gzip.compress(b"{}"), **{"Content-Encoding": coding})
    message = await assert_error(response, 415, "UNSUPPORTED_ENCODING")
    assert "gzip" in message


# 413


async def test_a_content_length_over_the_limit_is_413(serve: Serve) -> None:
    client = await serve()
    body = b"[" + b"1," * (LIMITS.max_body_bytes // 2) + b"1]"
    message = await assert_error(await post(client, body), 413, "PAYLOAD_TOO_LARGE")
    assert "LINEAGE_MAX_BODY_BYTES=65536" in message and "the limit is 64 KiB" in message


async def test_an_announced_length_over_the_limit_is_refused_before_the_body_is_sent(serve: Serve) -> None:
    async def stalled() -> AsyncIterator[bytes]:
        yield b"["
        await asyncio.sleep(30)  # the answer must not wait for the rest
        yield b"]"

    client = await serve()
    headers = {"Content-Length": str(10**9)}
    response = await asyncio.wait_for(post(client, stalled(), **headers), timeout=5)
    message = await assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert message.startswith("the body is 953.7 MiB; the limit is 64 KiB")


async def test_a_chunked_body_over_the_limit_is_413(serve: Serve) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(200):  # 1.6 MB in all, far over 64 KiB
            yield b"1," * (4 * KIB)
            await asyncio.sleep(0)
        yield b"1]"

    message = await assert_error(await post(await serve(), chunks()), 413, "PAYLOAD_TOO_LARGE")
    assert "LINEAGE_MAX_BODY_BYTES=65536" in message


@BOTH_MODES
async def test_a_gzip_bomb_is_refused_while_inflating(serve: Serve, aiohttp_inflates: bool) -> None:
    client = await serve(aiohttp_inflates=aiohttp_inflates)
    bomb = gzip.compress(b"0" * (10 * 1024 * 1024))  # 10 MiB of zeros in about 10 KB
    assert len(bomb) < LIMITS.max_body_bytes
    tracemalloc.start()
    try:
        started = time.perf_counter()
        response = await post(client, bomb, **{"Content-Encoding": "gzip"})
        message = await assert_error(response, 413, "DECOMPRESSED_TOO_LARGE")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "LINEAGE_MAX_DECOMPRESSED_BYTES=262144" in message
    assert elapsed < 2.0
    # Never near the 10 MiB the bomb inflates to: the limit (256 KiB) and buffers. aiohttp's own inflating
    # reads further ahead (about 2.4 MiB here, whatever the bomb's size).
    assert peak < (4 if aiohttp_inflates else 1.5) * 1024 * 1024, peak


async def test_a_one_gigabyte_bomb_of_many_members_is_refused_quickly(serve: Serve) -> None:
    client = await serve(dataclasses.replace(LIMITS, max_body_bytes=4 * 1024 * KIB))
    bomb = gzip.compress(b" " * (1024 * KIB)) * 1024  # 1024 members of 1 MiB of blanks: 1 GiB inflated
    started = time.perf_counter()
    response = await post(client, io.BytesIO(bomb), **{"Content-Encoding": "gzip"})
    await assert_error(response, 413, "DECOMPRESSED_TOO_LARGE")
    assert time.perf_counter() - started < 2.0


async def test_a_gzip_body_just_under_the_inflated_limit_is_read(serve: Serve) -> None:
    data = b"[" + b" " * (LIMITS.max_decompressed_bytes - 3) + b"1]"
    response = await post(await serve(), gzip.compress(data), **{"Content-Encoding": "gzip"})
    assert await response.json() == {"value": [1], "size": LIMITS.max_decompressed_bytes}


# 400


@pytest.mark.parametrize("cut", ["the trailer", "half", "all but the header"])
async def test_a_truncated_gzip_stream_is_invalid_gzip(serve: Serve, cut: str) -> None:
    whole = gzip.compress(SPARK_EVENT.read_bytes())
    data = {"the trailer": whole[:-4], "half": whole[: len(whole) // 2], "all but the header": whole[:10]}[cut]
    message = await assert_error(await post(await serve(), data, **{"Content-Encoding": "gzip"}), 400, "INVALID_GZIP")
    assert "cut short" in message


@BOTH_MODES
async def test_a_body_that_is_not_gzip_is_invalid_gzip(serve: Serve, aiohttp_inflates: bool) -> None:
    client = await serve(aiohttp_inflates=aiohttp_inflates)
    response = await post(client, b'{"not": "gzip"}', **{"Content-Encoding": "gzip"})
    await assert_error(response, 400, "INVALID_GZIP")


async def test_garbage_after_the_last_gzip_member_is_invalid_gzip(serve: Serve) -> None:
    response = await post(await serve(), gzip.compress(b"[1]") + b"junk", **{"Content-Encoding": "gzip"})
    await assert_error(response, 400, "INVALID_GZIP")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"a": 1,}', "line 1 column 8"),
        (b'{"a": 1}\n\nx', "line 3 column 1"),
        (b'{"a": ', "unexpected end of data"),
        (b"NaN", "line 1 column 1"),
    ],
)
async def test_invalid_json_says_where(serve: Serve, body: bytes, where: str) -> None:
    message = await assert_error(await post(await serve(), body), 400, "INVALID_JSON")
    assert message.startswith("the body is not valid JSON") and where in message


@pytest.mark.parametrize("body", [b'{"name": "caf\xe9"}', b'["\xed\xa0\x80"]', b"\xff\xfe[\x001\x00]\x00"])
async def test_invalid_utf8_is_invalid_json(serve: Serve, body: bytes) -> None:
    message = await assert_error(await post(await serve(), body), 400, "INVALID_JSON")
    assert "not valid UTF-8" in message


@pytest.mark.parametrize("body", [b"", b"  \r\n\t ", b"\xef\xbb\xbf"])
async def test_an_empty_body_is_empty_body(serve: Serve, body: bytes) -> None:
    await assert_error(await post(await serve(), body), 400, "EMPTY_BODY")


async def test_an_empty_gzip_body_is_empty_body(serve: Serve) -> None:
    for data in (b"", gzip.compress(b"")):
        await assert_error(await post(await serve(), data, **{"Content-Encoding": "gzip"}), 400, "EMPTY_BODY")


@pytest.mark.parametrize("depth", [LIMITS.max_json_depth - 1, LIMITS.max_json_depth])
async def test_nesting_up_to_the_limit_is_accepted(serve: Serve, depth: int) -> None:
    response = await post(await serve(), nested(depth))
    assert response.status == 200
    assert json_depth((await response.json())["value"], 1000) == depth


@pytest.mark.parametrize("depth", [LIMITS.max_json_depth + 1, 200, 1024, 1025, 5000])
async def test_nesting_past_the_limit_is_too_deep(serve: Serve, depth: int) -> None:
    message = await assert_error(await post(await serve(), nested(depth)), 400, "TOO_DEEP")
    assert "LINEAGE_MAX_JSON_DEPTH=100" in message


async def test_deep_gzip_nesting_is_too_deep(serve: Serve) -> None:
    data = gzip.compress(b"[" * 100_000 + b"]" * 100_000)  # 200 KB, inside the inflated limit
    response = await post(await serve(), data, **{"Content-Encoding": "gzip"})
    await assert_error(response, 400, "TOO_DEEP")


# 408


async def test_a_body_slower_than_the_read_timeout_is_408(serve: Serve) -> None:
    client = await serve(dataclasses.replace(LIMITS, read_timeout=0.2))

    async def slow() -> AsyncIterator[bytes]:
        yield b"["
        await asyncio.sleep(1.0)
        yield b"1]"

    started = time.perf_counter()
    message = await assert_error(await post(client, slow()), 408, "REQUEST_TIMEOUT")
    assert time.perf_counter() - started < 1.0
    assert "0.2 seconds" in message


# The depth measure itself


@pytest.mark.parametrize(
    ("value", "depth"),
    [
        (1, 0),
        ("[[[", 0),
        ([], 1),
        ({}, 1),
        ([1, [2, [3]], {}], 3),
        ({"a": [{"b": {}}], "c": [[[[]]]]}, 5),
        (orjson.loads(SPARK_EVENT.read_bytes()), 11),
    ],
)
def test_json_depth_counts_nested_arrays_and_objects(value: object, depth: int) -> None:
    assert json_depth(value, 1000) == depth


def test_json_depth_stops_past_the_limit() -> None:
    assert json_depth(orjson.loads(nested(900)), 10) == 11
