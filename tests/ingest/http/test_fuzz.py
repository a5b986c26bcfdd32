"""Fuzzing a real `lineage serve` process with generated bad requests, from a fixed seed (the same requests on
every run): mutated events (a built-in seed set, and the real events of ../shared/events), bad gzip, bad headers,
and broken HTTP framing over raw sockets. Whatever arrives, the server answers below 500, every 4xx in the one
JSON error shape, and every event it acknowledged is in the store. Issue 14, acceptance 2.

Each test names its count; together they send FUZZ_TOTAL requests or more (fewer in a clone without
../shared, whose test then skips). A case that fails is reported with its seed and its number, so that it can be
generated again alone (`cases(seed)[number]`).
"""

from __future__ import annotations

import asyncio
import gzip
import random
import re
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import complete_event_files, load_event
from tests.ingest.processes import Server, column, get, serving

SEED = 14  # issue 14; fixed, so that CI sends the same requests every run
KEY = "fuzz-key-0123456789abcdef"
SINGLE, BATCH = "/api/v1/lineage", "/api/v1/lineage/batch"
ERROR_FIELDS = frozenset({"error", "code", "details", "request_id"})
CODE = re.compile(r"[A-Z][A-Z_]+")
MAX_DECOMPRESSED = 2**20  # the server's LINEAGE_MAX_DECOMPRESSED_BYTES here: a gzip bomb costs little
CONCURRENCY = 16
RAW_TIMEOUT = 3.0  # seconds a raw exchange waits for an answer; a request the server still waits on has none
COUNTS = {"builtin": 3000, "shared": 3000, "gzip": 1500, "headers": 1500, "framing": 2000}
FUZZ_TOTAL = 10_000
assert sum(COUNTS.values()) >= FUZZ_TOTAL

PRODUCER = "https://github.com/lineage-server/tests/fuzz"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"
FACETS = "https://openlineage.io/spec/facets/"
NAMESPACE = "teradata://td.example.com:1025"


def builtin_seeds() -> list[dict[str, Any]]:
    """Valid events of each type, with the facets the mapping reads (schema, column lineage)."""
    schema = {
        "_producer": PRODUCER,
        "_schemaURL": f"{FACETS}1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "fields": [{"name": "id", "type": "INTEGER"}, {"name": "amount", "type": "DECIMAL(18,2)"}],
    }
    lineage = {
        "_producer": PRODUCER,
        "_schemaURL": f"{FACETS}1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
        "fields": {
            "amount": {
                "inputFields": [
                    {
                        "namespace": NAMESPACE,
                        "name": "sales.orders",
                        "field": "amount",
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                    }
                ]
            }
        },
    }
    return [
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-05-01T10:00:00.000Z",
            "producer": PRODUCER,
            "schemaURL": f"{SPEC}RunEvent",
            "run": {"runId": "", "facets": {}},
            "job": {"namespace": "fuzz", "name": "load_orders", "facets": {}},
            "inputs": [{"namespace": NAMESPACE, "name": "sales.orders", "facets": {"schema": schema}}],
            "outputs": [
                {"namespace": NAMESPACE, "name": "mart.orders", "facets": {"schema": schema, "columnLineage": lineage}}
            ],
        },
        {
            "eventTime": "2024-05-01T10:00:00+02:00",
            "producer": PRODUCER,
            "schemaURL": f"{SPEC}DatasetEvent",
            "dataset": {"namespace": NAMESPACE, "name": "mart.customers", "facets": {"schema": schema}},
        },
        {
            "eventTime": "2024-05-01T10:00:00Z",
            "producer": PRODUCER,
            "schemaURL": f"{SPEC}JobEvent",
            "job": {"namespace": "fuzz", "name": "nightly", "facets": {}},
            "inputs": [{"namespace": NAMESPACE, "name": "sales.orders"}],
            "outputs": [],
        },
    ]


def shared_seeds() -> list[dict[str, Any]]:
    """The complete single events of ../shared/events (skips without them, except under CI)."""
    return [e for path in complete_event_files() if isinstance(e := load_event(path.name), dict)]


# --- what a case is, and how it is judged --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    what: str  # how it was made, for the report
    path: str = SINGLE
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    raw: bytes | None = None  # sent as is over a socket instead
    half_close: bool = False  # raw: shut the write side after sending (a truncated request then gets EOF)


@dataclass
class Verdicts:
    sent: int = 0
    answered: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)  # event ids of 2xx single-event answers
    wrong: list[str] = field(default_factory=list)

    def judge(self, number: int, case: Case, status: int, content_type: str, body: bytes) -> None:
        self.answered += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        problem = _problem(status, content_type, body, case.method)
        if problem:
            self.wrong.append(f"case {number} ({case.what}): {status} {problem}: {body[:300]!r}")
        elif 200 <= status < 300 and case.path == SINGLE and case.method == "POST":
            self.acknowledged.add(orjson.loads(body)["event_id"])


def _problem(status: int, content_type: str, body: bytes, method: str) -> str | None:
    if status >= 500:
        return "a 5xx"
    if status < 400 or method == "HEAD":  # an answer to HEAD has no body, by definition
        return None
    if not content_type.startswith("application/json"):
        return f"not JSON ({content_type})"
    try:
        error = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(error, dict) or not ERROR_FIELDS <= set(error):
        return "not the one error shape"
    details = error["details"]
    if not (isinstance(error["error"], str) and error["error"] and CODE.fullmatch(str(error["code"]))):
        return "no sentence or code"
    if not isinstance(details, list) or any(not isinstance(d, dict) or set(d) != {"path", "message"} for d in details):
        return "details not [{path, message}]"
    return None


# --- mutations -----------------------------------------------------------------------------------------------

BAD_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    1.5e308,
    "",
    " ",
    "\x00",
    "\u202e",
    "ÉTÉ" * 3,
    "x" * 5000,
    [],
    {},
    [None],
    {"a": None},
    "2024-13-45T99:99:99Z",
    "not-a-uuid",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59Z",
)


def bad_value(rng: random.Random) -> Any:
    """One of BAD_VALUES, as a new object (never one shared between two places of an event)."""
    return orjson.loads(orjson.dumps(rng.choice(BAD_VALUES)))


def fresh(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with a new run id (each request a new event), drawn from rng."""
    copy: dict[str, Any] = orjson.loads(orjson.dumps(event))
    if isinstance(copy.get("run"), dict):
        copy["run"]["runId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return copy


def slots(value: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every member of every object and array in value."""
    if isinstance(value, dict):
        for key, member in value.items():
            yield value, key
            yield from slots(member, (*trail, key))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield value, index
            yield from slots(member, (*trail, index))


def mutate_value(rng: random.Random, event: dict[str, Any]) -> tuple[Any, str]:
    """The event changed in one place: a member dropped, replaced by a bad value, or a stray one added."""
    found = list(slots(event))
    container, key = rng.choice(found)
    kind = rng.randrange(3)
    if kind == 0:
        del container[key]
        return event, f"drop {key!r}"
    if kind == 1:
        container[key] = bad_value(rng)
        return event, f"set {key!r}"
    target = container[key] if isinstance(container[key], dict) else event
    target[rng.choice(["_x", "facets", "run", "eventType", "inputs", "\x00", "é"])] = bad_value(rng)
    return event, f"add under {key!r}"


def mutate_text(rng: random.Random, text: bytes) -> tuple[bytes, str]:
    """The serialised event broken as text."""
    kind = rng.randrange(8)
    at = rng.randrange(len(text))
    if kind == 0:
        return text[:at], "truncated"
    if kind == 1:
        return text[:at] + bytes([rng.randrange(256)]) + text[at:], "a byte inserted"
    if kind == 2:
        return text[:at] + b"\xff\xfe" + text[at:], "invalid UTF-8"
    if kind == 3:
        return b"\xef\xbb\xbf" + text, "a byte-order mark"
    if kind == 4:
        return text + rng.choice([b",", b"}", b" garbage", b"\x00", b"{}"]), "trailing bytes"
    if kind == 5:
        key = rng.choice([b'"eventType": "START", ', b'"eventTime": 123456789012345678901234567890, '])
        return b"{" + key + text[1:], "a duplicate key"
    if kind == 6:
        depth = rng.choice([99, 101, 150, 5000])
        return text[:-1] + b', "deep": ' + b"[" * depth + b"]" * depth + b"}", f"nested {depth} deep"
    return text.replace(b":", b":NaN,", 1) if rng.random() < 0.5 else text.replace(b'"', b"'", 3), "not JSON"


def event_case(rng: random.Random, seeds: list[dict[str, Any]], what: str) -> Case:
    event = fresh(rng, rng.choice(seeds))
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    roll = rng.random()
    if roll < 0.5:
        mutated, how = mutate_value(rng, event)
        for _ in range(rng.randrange(3)):
            mutated, more = mutate_value(rng, mutated)
            how += f", {more}"
        return Case(f"{what}: {how}", body=orjson.dumps(mutated), headers=auth)
    if roll < 0.8:
        body, how = mutate_text(rng, orjson.dumps(event))
        return Case(f"{what}: {how}", body=body, headers=auth)
    if roll < 0.9:  # a batch: good and mutated events mixed, or not an array of events at all
        batch: list[Any] = [fresh(rng, rng.choice(seeds)) for _ in range(rng.randrange(1, 6))]
        batch[rng.randrange(len(batch))] = mutate_value(rng, fresh(rng, rng.choice(seeds)))[0]
        if rng.random() < 0.2:
            batch.append(bad_value(rng))
        return Case(f"{what}: batch", path=BATCH, body=orjson.dumps(batch), headers=auth)
    shape = rng.choice([[event], "event", 1, None, {"events": [event]}])
    path = rng.choice([SINGLE, BATCH])
    return Case(f"{what}: {type(shape).__name__} to {path}", path=path, body=orjson.dumps(shape), headers=auth)


def gzip_case(rng: random.Random, seeds: list[dict[str, Any]]) -> Case:
    plain = orjson.dumps(fresh(rng, rng.choice(seeds)))
    packed = gzip.compress(plain, mtime=0)
    kinds: list[tuple[str, Callable[[], bytes]]] = [
        ("valid", lambda: packed),
        ("truncated", lambda: packed[: rng.randrange(1, len(packed))]),
        ("a flipped byte", lambda: _flip(rng, packed)),
        ("trailing garbage", lambda: packed + b"garbage"),
        ("twice", lambda: gzip.compress(packed, mtime=0)),
        ("not gzip", lambda: plain),
        ("zlib, not gzip", lambda: zlib.compress(plain)),
        ("magic only", lambda: b"\x1f\x8b\x08\x00" + bytes(rng.randrange(256) for _ in range(30))),
        ("a bomb", lambda: gzip.compress(b"[" + b" " * (MAX_DECOMPRESSED + rng.randrange(1, 4096)) + b"]", mtime=0)),
        ("of non-JSON", lambda: gzip.compress(b"\x00" * rng.randrange(1, 9000), mtime=0)),
        ("empty", lambda: b""),
    ]
    name, make = rng.choice(kinds)
    encoding = rng.choice(["gzip"] * 6 + ["GZIP", "x-gzip", "gzip, gzip", "deflate", "br", "identity", "gzip;q=1"])
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Content-Encoding": encoding}
    return Case(f"gzip {name}, Content-Encoding {encoding}", body=make(), headers=headers)


def _flip(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]


CONTENT_TYPES = (
    "text/plain",
    "application/xml",
    "application/json; charset=latin-1",
    "application/json;charset=utf-16",
    "",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/vnd.x+json",
    "application/json; charset=UTF-8",
    "APPLICATION/JSON",
    "application/json; charset",
)
AUTHORIZATIONS = (
    None,
    "Bearer",
    "Bearer ",
    f"Bearer  {KEY}",
    f"bearer {KEY}",
    f"Basic {KEY}",
    "Bearer wrong-key-0123456789",
    f"Bearer {KEY}x",
    f"Bearer {KEY[:-1]}",
    "Bearer " + "k" * 6000,
    f"Token {KEY}",
    f"Bearer {KEY}, Bearer {KEY}",
)
PATHS = (
    SINGLE,
    BATCH,
    "/api/v1/lineage/",
    "/api/v1/lineage?x=1",
    "/api/v1/lineage/batch/x",
    "//api/v1/lineage",
    "/api/v1/%6Cineage",
    "/api/v1/lineage%00",
    "/api/v1/../v1/lineage",
    "/" + "a" * 4000,
    "/api/v2/openlineage/x",
)


def header_case(rng: random.Random, seeds: list[dict[str, Any]]) -> Case:
    body = orjson.dumps(fresh(rng, rng.choice(seeds)))
    headers: dict[str, str] = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    kind = rng.randrange(5)
    if kind == 0:
        headers["Content-Type"] = rng.choice(CONTENT_TYPES)
        what = f"Content-Type {headers['Content-Type']!r}"
    elif kind == 1:
        auth = rng.choice(AUTHORIZATIONS)
        if auth is None:
            del headers["Authorization"]
        else:
            headers["Authorization"] = auth
        what = f"Authorization {str(auth)[:40]!r}"
    elif kind == 2:
        method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        return Case(f"{method} {SINGLE}", body=body if method != "GET" else b"", headers=headers, method=method)
    elif kind == 3:
        path = rng.choice(PATHS)
        return Case(f"path {path[:40]!r}", path=path, body=body, headers=headers)
    else:
        headers.update(
            rng.choice(
                [
                    {"X-Request-ID": "x" * 500},
                    {"X-Request-ID": "../../etc/passwd"},
                    {"Expect": "100-continue"},
                    {"Accept-Encoding": "gzip;q=2, *;q=-1"},
                    {"Origin": "https://evil.example.com"},
                    {"Connection": "close, upgrade", "Upgrade": "websocket"},
                    {"Content-Language": "é" * 100},
                    {"X-Forwarded-For": "1.2.3.4, " * 200},
                ]
            )
        )
        what = f"headers {sorted(headers)}"
    return Case(what, body=body, headers=headers)


def _head(method: str, path: str, fields: list[tuple[bytes, bytes]], version: bytes = b"HTTP/1.1") -> bytes:
    return (
        method.encode()
        + b" "
        + path.encode()
        + b" "
        + version
        + b"\r\n"
        + b"".join(k + b": " + v + b"\r\n" for k, v in fields)
    )


def framing_case(rng: random.Random, seeds: list[dict[str, Any]]) -> Case:
    """Broken HTTP/1.1, written by hand over a raw socket."""
    body = orjson.dumps(fresh(rng, rng.choice(seeds)))
    base = [
        (b"Host", b"127.0.0.1"),
        (b"Content-Type", b"application/json"),
        (b"Authorization", f"Bearer {KEY}".encode()),
    ]
    length = [(b"Content-Length", str(len(body)).encode())]
    kind = rng.randrange(10)
    if kind == 0:  # one header line mangled (never Content-Length: a larger one would only make the server wait)
        fields = list(base)
        at = rng.randrange(len(fields))
        name, value = fields[at]
        junk = rng.choice([b"\x00", b"\r", b"\n ", b"\x7f", b"\xc3\xa9", b" ", b":", b"\t"])
        fields[at] = (name + junk, value) if rng.random() < 0.5 else (name, value[:3] + junk + value[3:])
        return Case("a header line mangled", raw=_head("POST", SINGLE, fields + length) + b"\r\n" + body)
    if kind == 1:  # a header folded over two lines (obs-fold), the key on the second
        fields = [*base[:2], (b"Authorization", b"Bearer\r\n " + KEY.encode())]
        return Case("a folded Authorization", raw=_head("POST", SINGLE, fields + length) + b"\r\n" + body)
    if kind == 2:
        extra = rng.choice([[(b"Content-Length", str(len(body)).encode())], [(b"Transfer-Encoding", b"chunked")]])
        return Case(
            "a duplicate or conflicting length", raw=_head("POST", SINGLE, base + length + extra) + b"\r\n" + body
        )
    if kind == 3:  # chunked, with a chunk-size line broken
        cut = rng.randrange(1, len(body))
        size = rng.choice(
            [format(cut, "x"), "zz", "-1", format(cut, "x") + ";\x00", format(cut - 1, "x"), " " + format(cut, "x")]
        )
        chunks = (
            f"{size}\r\n".encode() + body[:cut] + b"\r\n" + format(len(body) - cut, "x").encode() + b"\r\n" + body[cut:]
        )
        te = [(b"Transfer-Encoding", rng.choice([b"chunked", b"chunked, chunked", b"gzip, chunked", b"CHUNKED"]))]
        return Case(
            f"chunked, size {size!r}", raw=_head("POST", SINGLE, base + te) + b"\r\n" + chunks + b"\r\n0\r\n\r\n"
        )
    if kind == 4:  # cut anywhere, then the write side closed: the server sees the end of the stream
        whole = _head("POST", SINGLE, base + length) + b"\r\n" + body
        return Case("truncated, then closed", raw=whole[: rng.randrange(1, len(whole))], half_close=True)
    if kind == 5:
        big = [(b"X-Big", b"a" * rng.choice([8000, 8191, 9000, 70000]))]
        return Case("an oversized header", raw=_head("POST", SINGLE, base + big + length) + b"\r\n" + body)
    if kind == 6:
        many = [(f"X-{i}".encode(), b"1") for i in range(rng.choice([120, 129, 500]))]
        return Case("many headers", raw=_head("POST", SINGLE, base + many + length) + b"\r\n" + body)
    if kind == 7:
        line = rng.choice(
            [
                b"POST  /api/v1/lineage HTTP/1.1",
                b"post /api/v1/lineage HTTP/1.1",
                b"POST /api/v1/lineage HTTP/2.0",
                b"POST /api/v1/lineage HTTP/1.1 extra",
                b"PRI * HTTP/2.0",
                b"POST http://evil/api/v1/lineage HTTP/1.1",
                b"POST /api/v1/lineage",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                b"P\x00ST /api/v1/lineage HTTP/1.1",
                b"POST /" + b"a" * 9000 + b" HTTP/1.1",
            ]
        )
        return Case(
            f"request line {line[:30]!r}",
            raw=line + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in base + length) + b"\r\n" + body,
        )
    if kind == 8:  # a good request, then a broken one pipelined on the same connection
        good = _head("POST", SINGLE, base + length) + b"\r\n" + body
        return Case(
            "pipelined good then garbage", raw=good + bytes(rng.randrange(1, 256) for _ in range(40)) + b"\r\n\r\n"
        )
    version = rng.choice([b"HTTP/1.0", b"HTTP/0.9", b"HTTP/1.2", b"HTTP/1.01", b"http/1.1"])
    return Case(f"version {version!r}", raw=_head("POST", SINGLE, base + length, version) + b"\r\n" + body)


def cases(seed: int, make: Callable[[random.Random], Case], count: int) -> list[Case]:
    rng = random.Random(seed)
    return [make(rng) for _ in range(count)]


# --- sending -------------------------------------------------------------------------------------------------


async def send_all(server: Server, generated: list[Case]) -> Verdicts:
    verdicts = Verdicts()
    limit = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=["Content-Type"]
    ) as session:

        async def one(number: int, case: Case) -> None:
            async with limit:
                verdicts.sent += 1
                if case.raw is not None:
                    answer = await raw_exchange(server.port, case)
                    if answer is not None:
                        verdicts.judge(number, case, *answer)
                    return
                try:
                    async with session.request(
                        case.method, server.url + case.path, data=case.body, headers=case.headers
                    ) as response:
                        body = await response.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    verdicts.wrong.append(f"case {number} ({case.what}): no answer: {exc!r}")
                    return
                verdicts.judge(number, case, response.status, response.headers.get("Content-Type", ""), body)

        await asyncio.gather(*(one(number, case) for number, case in enumerate(generated)))
    return verdicts


async def raw_exchange(port: int, case: Case) -> tuple[int, str, bytes] | None:
    """Send case.raw on a new connection; (status, content type, body) of the first answer, None when the
    server gave none (it closed, or still waits for the rest of a request it cannot finish)."""
    assert case.raw is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(case.raw)
        if case.half_close:
            writer.write_eof()
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RAW_TIMEOUT)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), RAW_TIMEOUT)
        return int(lines[0].split()[1]), headers.get("content-type", ""), body
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


# --- the runs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    server: Server
    store_dir: Path  # where its SQLite store is


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One server for the module's runs, with API keys (the auth path is fuzzed too) and a small inflate limit."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    with serving(
        tmp_path,
        LINEAGE_LOG_LEVEL="warning",
        LINEAGE_API_KEYS=KEY,
        LINEAGE_MAX_DECOMPRESSED_BYTES=str(MAX_DECOMPRESSED),
    ) as running:
        yield Target(running, tmp_path)
        assert get(f"{running.url}/health")[0] == 200
        assert running.stop() == 0, running.log_text()[-3000:]
        log = running.log_text()
    assert "Traceback" not in log, log[:5000]
    assert KEY not in log


async def fuzz(target: Target, generated: list[Case]) -> Verdicts:
    verdicts = await send_all(target.server, generated)
    assert verdicts.sent == len(generated)
    assert not verdicts.wrong, f"{len(verdicts.wrong)} wrong answers (seed {SEED}):\n" + "\n".join(verdicts.wrong[:10])
    stored = column(target.store_dir, "SELECT event_id FROM OL_EVENT")
    missing = verdicts.acknowledged - stored
    assert not missing, f"{len(missing)} of {len(verdicts.acknowledged)} acknowledged events are not stored"
    return verdicts


async def test_mutated_builtin_events(target: Target) -> None:
    seeds = builtin_seeds()
    verdicts = await fuzz(target, cases(SEED, lambda rng: event_case(rng, seeds, "builtin"), COUNTS["builtin"]))
    assert verdicts.acknowledged and verdicts.statuses.get(400), verdicts.statuses  # both sides were reached


async def test_mutated_shared_events(target: Target) -> None:
    seeds = shared_seeds()
    assert len(seeds) > 10
    await fuzz(target, cases(SEED + 1, lambda rng: event_case(rng, seeds, "shared"), COUNTS["shared"]))


async def test_bad_gzip(target: Target) -> None:
    seeds = builtin_seeds()
    verdicts = await fuzz(target, cases(SEED + 2, lambda rng: gzip_case(rng, seeds), COUNTS["gzip"]))
    assert {400, 413, 415} <= set(verdicts.statuses), verdicts.statuses


async def test_bad_headers(target: Target) -> None:
    seeds = builtin_seeds()
    verdicts = await fuzz(target, cases(SEED + 3, lambda rng: header_case(rng, seeds), COUNTS["headers"]))
    assert {401, 403, 404, 405, 415} <= set(verdicts.statuses), verdicts.statuses


async def test_bad_framing_over_raw_sockets(target: Target) -> None:
    seeds = builtin_seeds()
    verdicts = await fuzz(target, cases(SEED + 4, lambda rng: framing_case(rng, seeds), COUNTS["framing"]))
    assert verdicts.statuses.get(400, 0) > COUNTS["framing"] // 4, verdicts.statuses
