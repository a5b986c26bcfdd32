"""Every error path of the server, through the real app: each answers the one JSON error shape with its status,
code and headers; the codes of these paths, the codes of the code and docs/API.md's table are the same set."""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from ingest.http.app import create_app
from ingest.http.errors import HANDLER_TIMEOUT
from ingest.http.typedefs import BATCHER, BODY_LIMITS
from ingest.settings import Settings
from query.errors import HttpError
from schemas.rows import EventRows
from schemas.sqlite.store import SqliteStore
from schemas.store import NamespaceInfo, Page, Paged, StoreError, StoreUnavailable, WriteOutcome

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "API.md"
ERROR_FIELDS = frozenset({"error", "message", "code", "details", "request_id"})
BATCH_FIELDS = frozenset({"status", "summary", "failed_events", "duplicates"})
READY_FIELDS = frozenset({"status", "checks"})
SINGLE, BATCH = "/api/v1/lineage", "/api/v1/lineage/batch"
NAMESPACES = "/api/v2/openlineage/namespaces"  # the read the faulty store can fail
RETRY_AFTER = "7"  # LINEAGE_RETRY_AFTER_SECONDS of every server here: not the default, so it is seen to be read
KEY = "k" * 20
POISON = "poison-job"  # an event of a job by this name is refused by the store, even alone
WAIT = 10.0  # seconds at most that a test waits for the writer or a held read


class FaultyStore(SqliteStore):
    """A real SQLite store that a test can make fail: its namespaces() read raises `read_error` or waits for
    `release` (when `hold_reads`); write_batch() raises `write_error`, waits for `release` (when `hold_writes`),
    and refuses any batch holding an event of the POISON job."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.read_error: Exception | None = None
        self.write_error: Exception | None = None
        self.hold_reads = self.hold_writes = False
        self.writing = threading.Event()  # set once a held write has started
        self.release = threading.Event()

    def namespaces(self, page: Page) -> Paged[NamespaceInfo]:
        if self.read_error is not None:
            raise self.read_error
        if self.hold_reads:
            self.release.wait(WAIT)
        return super().namespaces(page)

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        if self.write_error is not None:
            raise self.write_error
        if self.hold_writes:
            self.writing.set()
            self.release.wait(WAIT)
        if any(POISON in rows.event.payload for rows in batch):
            raise StoreError("value too long for column OL_JOB.name")
        return super().write_batch(batch)


@dataclass
class Server:
    client: TestClient[web.Request, None]
    app: web.Application
    store: FaultyStore

    async def post(self, path: str, value: Any, **headers: str) -> ClientResponse:
        return await self.client.post(path, data=orjson.dumps(value), headers=headers)


Serve = Callable[..., Awaitable[Server]]
SendPath = Callable[[Serve], Awaitable[ClientResponse]]


@pytest.fixture
def serve(aiohttp_client: AiohttpClient, tmp_path: Path) -> Serve:
    """serve(handler_timeout=..., read_timeout=..., **env) -> the real app on a FaultyStore under tmp_path, with
    real settings from env, started as production starts it (aiohttp does not inflate bodies)."""

    async def start(handler_timeout: float = HANDLER_TIMEOUT, read_timeout: float = WAIT, **env: str) -> Server:
        path = tmp_path / "lineage.db"
        environ = {"LINEAGE_STORE": f"sqlite:///{path}", "LINEAGE_RETRY_AFTER_SECONDS": RETRY_AFTER, **env}
        settings = Settings.from_env(environ, None)
        store = FaultyStore(path)
        store.upgrade_schema()
        app = create_app(settings, store, handler_timeout=handler_timeout)
        app[BODY_LIMITS] = replace(app[BODY_LIMITS], read_timeout=read_timeout)
        server = TestServer(app)
        await server.start_server(auto_decompress=False)
        client: TestClient[web.Request, None] = await aiohttp_client(
            server, headers={"Content-Type": "application/json"}
        )
        return Server(client, app, store)

    return start


def event(job: str = "load", outputs: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A small valid COMPLETE RunEvent; each call is a new run, so a new event."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00.000Z",
        "producer": "https://github.com/lineage-server/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "tests", "name": job},
        "inputs": [],
        "outputs": [{"namespace": namespace, "name": name} for namespace, name in outputs],
    }


# --- the paths ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorPath:
    send: SendPath
    status: int
    code: str
    fields: frozenset[str]  # members of the body beside the error's own
    headers: Mapping[str, str] = field(default_factory=dict)  # sent with the error (503s: Retry-After, always)

    @property
    def name(self) -> str:
        return self.send.__name__


ERROR_PATHS: list[ErrorPath] = []


def error_path(
    status: int, code: str, fields: frozenset[str] = frozenset(), headers: Mapping[str, str] | None = None
) -> Callable[[SendPath], SendPath]:
    """Register the decorated coroutine as an error path: it sends a request, and answers the response."""

    def register(send: SendPath) -> SendPath:
        ERROR_PATHS.append(ErrorPath(send, status, code, fields, dict(headers or {})))
        return send

    return register


# The body (ingest.http.body)


@error_path(415, "UNSUPPORTED_MEDIA_TYPE")
async def a_text_body(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post(SINGLE, data=b"{}", headers={"Content-Type": "text/plain"})


@error_path(415, "UNSUPPORTED_ENCODING")
async def a_brotli_body(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post(SINGLE, data=b"{}", headers={"Content-Encoding": "br"})


@error_path(413, "PAYLOAD_TOO_LARGE")
async def a_body_over_the_limit(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_MAX_BODY_BYTES="2048")
    return await server.client.post(SINGLE, data=b" " * 4096 + b"{}")


@error_path(413, "DECOMPRESSED_TOO_LARGE")
async def a_gzip_bomb(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_MAX_DECOMPRESSED_BYTES="65536")
    bomb = gzip.compress(b" " * 1_000_000)
    return await server.client.post(SINGLE, data=bomb, headers={"Content-Encoding": "gzip"})


@error_path(413, "DECODED_TOO_LARGE")
async def a_body_that_alone_exceeds_the_memory_budget(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_MAX_INFLIGHT_BYTES=str(2**20))
    return await server.client.post(SINGLE, data=b"[" + b"{}," * 5000 + b"{}]")


@error_path(413, "TOO_MANY_DATASETS")
async def an_event_over_the_dataset_limit(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_MAX_EVENT_DATASETS="2")
    return await server.post(SINGLE, event(outputs=[("tests", "a"), ("tests", "b"), ("tests", "c")]))


@error_path(413, "TOO_MANY_FIELDS")
async def an_event_over_the_field_limit(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_MAX_EVENT_FIELDS="2")
    wide = event(outputs=[("tests", "wide")])
    fields = [{"name": f"c{i}", "type": "INTEGER"} for i in range(3)]
    wide["outputs"][0]["facets"] = {"schema": {"_producer": "p", "_schemaURL": "s", "fields": fields}}
    return await server.post(SINGLE, wide)


@error_path(408, "REQUEST_TIMEOUT")
async def a_body_slower_than_the_read_timeout(serve: Serve) -> ClientResponse:
    server = await serve(read_timeout=0.2)

    async def slow() -> AsyncIterator[bytes]:
        yield b"["
        await asyncio.sleep(1.0)
        yield b"]"

    return await server.client.post(SINGLE, data=slow())


@error_path(400, "EMPTY_BODY")
async def an_empty_body(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post(SINGLE, data=b"")


@error_path(400, "INVALID_GZIP")
async def a_body_that_is_not_gzip(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post(SINGLE, data=b"{}", headers={"Content-Encoding": "gzip"})


@error_path(400, "INVALID_JSON")
async def a_body_that_is_not_json(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post(SINGLE, data=b"{not json")


@error_path(400, "TOO_DEEP")
async def a_body_nested_too_deep(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post(SINGLE, data=b"[" * 200 + b"]" * 200)


# Ingestion (ingest.http.receiver, ingest.http.auth)


@error_path(401, "UNAUTHORIZED", headers={"WWW-Authenticate": 'Bearer realm="lineage"'})
async def no_api_key(serve: Serve) -> ClientResponse:
    return await (await serve(LINEAGE_API_KEYS=KEY)).post(SINGLE, event())


@error_path(403, "FORBIDDEN")
async def a_wrong_api_key(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_API_KEYS=KEY)
    return await server.post(SINGLE, event(), Authorization="Bearer not-the-key")


@error_path(400, "WRONG_SHAPE")
async def an_array_to_the_single_endpoint(serve: Serve) -> ClientResponse:
    return await (await serve()).post(SINGLE, [event()])


@error_path(400, "WRONG_SHAPE")
async def an_object_to_the_batch_endpoint(serve: Serve) -> ClientResponse:
    return await (await serve()).post(BATCH, event())


@error_path(413, "TOO_MANY_EVENTS")
async def a_batch_over_the_limit(serve: Serve) -> ClientResponse:
    return await (await serve(LINEAGE_MAX_BATCH_EVENTS="2")).post(BATCH, [event(), event(), event()])


@error_path(400, "INVALID_EVENT")
async def an_invalid_event(serve: Serve) -> ClientResponse:
    response = await (await serve()).post(SINGLE, {**event(), "run": {}})
    assert {"path": "run.runId", "message": "required"} in (await response.json())["details"]
    return response


@error_path(400, "WRONG_SHAPE")
async def a_batch_without_one_object(serve: Serve) -> ClientResponse:
    return await (await serve()).post(BATCH, [7, "an event"])


@error_path(422, "UNSTORABLE_EVENT")
async def an_event_the_store_refuses_even_alone(serve: Serve) -> ClientResponse:
    return await (await serve()).post(SINGLE, event(POISON))


@error_path(503, "QUEUE_FULL")
async def an_event_while_the_queue_is_full(serve: Serve) -> ClientResponse:
    server = await serve(LINEAGE_QUEUE_MAX_EVENTS="1", LINEAGE_BATCH_MAX_EVENTS="1")
    server.store.hold_writes = True
    writing = asyncio.create_task(server.post(SINGLE, event()))
    assert await asyncio.to_thread(server.store.writing.wait, WAIT)
    # Of two more, whichever reaches the queue first fills it and waits; the other is refused at once.
    more = {asyncio.create_task(server.post(SINGLE, event())) for _ in range(2)}
    [refused], [waiting] = await asyncio.wait(more, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    server.store.release.set()
    assert [r.status for r in await asyncio.gather(writing, waiting)] == [201, 201]  # queued events are kept
    return refused.result()


@error_path(503, "SHUTTING_DOWN")
async def an_event_once_the_writer_stopped(serve: Serve) -> ClientResponse:
    server = await serve()
    await server.app[BATCHER].stop(within=WAIT)  # what shutdown does before the store closes
    return await server.post(SINGLE, event())


@error_path(503, "STORE_UNAVAILABLE")
async def an_event_while_the_store_is_unavailable(serve: Serve) -> ClientResponse:
    server = await serve()
    server.store.write_error = StoreUnavailable("database is locked")
    return await server.post(SINGLE, event())


@error_path(503, "STORE_UNAVAILABLE")
async def a_batch_while_the_store_is_unavailable(serve: Serve) -> ClientResponse:
    server = await serve()
    server.store.write_error = StoreUnavailable("database is locked")
    return await server.post(BATCH, [event(), event()])


# Reads (query) and the middleware's own answers


@error_path(503, "STORE_UNAVAILABLE")
async def a_read_while_the_store_is_unavailable(serve: Serve) -> ClientResponse:
    server = await serve()
    server.store.read_error = StoreUnavailable("database is locked")
    return await server.client.get(NAMESPACES)


@error_path(503, "STORE_ERROR")
async def an_event_whose_write_raises_a_bug(serve: Serve) -> ClientResponse:
    server = await serve()
    server.store.write_error = RuntimeError("a parameter builder broke")  # not a StoreError: the writer survives
    return await server.post(SINGLE, event())


@error_path(503, "STORE_ERROR")
async def a_read_the_store_fails(serve: Serve) -> ClientResponse:
    server = await serve()
    server.store.read_error = StoreError("the SQLite store is closed")
    return await server.client.get(NAMESPACES)


@error_path(500, "INTERNAL")
async def a_read_that_crashes(serve: Serve) -> ClientResponse:
    server = await serve()
    server.store.read_error = RuntimeError("a bug")
    return await server.client.get(NAMESPACES)


@error_path(503, "HANDLER_TIMEOUT")
async def a_read_slower_than_the_handler_timeout(serve: Serve) -> ClientResponse:
    server = await serve(handler_timeout=0.2)
    server.store.hold_reads = True
    response = await server.client.get(NAMESPACES)
    server.store.release.set()  # the read's thread ends now, not after WAIT
    return response


@error_path(400, "BAD_REQUEST")
async def a_bad_query_parameter(serve: Serve) -> ClientResponse:
    response = await (await serve()).client.get("/api/v2/openlineage/lineage/db.t/c?maxDepth=99")
    assert (await response.json())["details"][0]["path"] == "maxDepth"
    return response


@error_path(404, "NOT_FOUND")
async def an_unknown_namespace(serve: Serve) -> ClientResponse:
    return await (await serve()).client.get(f"{NAMESPACES}/nowhere")


@error_path(409, "AMBIGUOUS_DATASET")
async def a_dataset_name_two_namespaces_share(serve: Serve) -> ClientResponse:
    server = await serve()
    for namespace in ("one", "two"):
        assert (await server.post(SINGLE, event(outputs=[(namespace, "db.shared")]))).status == 201
    return await server.client.get("/api/v2/openlineage/datasets/db.shared")


@error_path(404, "NOT_FOUND")
async def a_path_no_route_serves(serve: Serve) -> ClientResponse:
    return await (await serve()).client.get("/nowhere")


@error_path(405, "METHOD_NOT_ALLOWED", headers={"Allow": "GET,HEAD"})
async def a_method_the_route_does_not_take(serve: Serve) -> ClientResponse:
    return await (await serve()).client.post("/health")


@error_path(503, "NOT_READY", READY_FIELDS)
async def readiness_once_the_writer_stopped(serve: Serve) -> ClientResponse:
    server = await serve()
    await server.app[BATCHER].stop(within=WAIT)
    return await server.client.get("/ready")


@pytest.mark.parametrize("path", ERROR_PATHS, ids=lambda p: p.name)
async def test_every_error_path_answers_the_one_shape(serve: Serve, path: ErrorPath) -> None:
    response = await path.send(serve)
    body = await response.json()
    assert (response.status, body["code"]) == (path.status, path.code), body
    assert response.content_type == "application/json"
    assert set(body) == ERROR_FIELDS | path.fields
    assert isinstance(body["error"], str) and body["error"]
    assert all(set(detail) == {"path", "message"} for detail in body["details"]), body["details"]
    assert body["request_id"] == response.headers["X-Request-ID"] != ""
    expected = {**({"Retry-After": RETRY_AFTER} if path.status == 503 else {}), **path.headers}
    assert {name: response.headers.get(name) for name in expected} == expected
    if path.status != 503:
        assert "Retry-After" not in response.headers


async def test_an_unexpected_error_is_logged_with_its_traceback(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="ingest.http.errors"):
        response = await a_read_that_crashes(serve)
    assert response.status == 500 and "a bug" not in await response.text()
    [record] = [r for r in caplog.records if r.name == "ingest.http.errors"]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


# --- every code, three ways -----------------------------------------------------------------------------------


def subclasses(base: type[HttpError]) -> list[type[HttpError]]:
    return [c for sub in base.__subclasses__() for c in (sub, *subclasses(sub))]


def code_statuses() -> dict[str, int]:
    """{code: status} of every HttpError subclass the app's modules define (imported with create_app above;
    aiohttp's 404 and 405, INTERNAL and HANDLER_TIMEOUT are classes too); one status per code."""
    found: dict[str, set[int]] = {}
    for error_class in subclasses(HttpError):
        found.setdefault(error_class.code, set()).add(error_class.status)
    assert all(len(statuses) == 1 for statuses in found.values()), found
    return {code: statuses.pop() for code, statuses in found.items()}


def documented_codes() -> dict[str, int]:
    """{code: status} of docs/API.md's table of error codes."""
    text = API_DOC.read_text(encoding="utf-8")
    table = text.split("| code | status | when |", 1)[1].split("\n\n", 1)[0]
    return {code: int(status) for code, status in re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", table, flags=re.M)}


def test_the_documented_codes_are_the_codes_the_server_can_emit() -> None:
    assert documented_codes() == code_statuses()


def test_every_code_has_an_error_path_here() -> None:
    assert {(p.code, p.status) for p in ERROR_PATHS} == set(code_statuses().items())
