"""Reading a POST body as JSON under limits: size on the wire, size once inflated, nesting depth, time.

`read_json` reads `request.content` itself, chunk by chunk, so these limits apply and not aiohttp's
`client_max_size` (that one only bounds `request.read()`, `.json()` and `.post()`). Every refusal is an
HttpError subclass from ingest.http.errors, rendered by the error middleware in the one JSON error shape.

Accepted: Content-Type `application/json` (no charset, or charset utf-8), `application/<x>+json`, or no
Content-Type at all (some clients omit it; the body must still be JSON). Content-Encoding `identity`,
`gzip` or `x-gzip` (one coding; several gzip members back to back are read as one body); anything else
is 415. A UTF-8 byte order mark before the JSON is ignored (RFC 8259 section 8.1 allows it).

The server should run with `auto_decompress=False` so that gzip is inflated here, under
max_decompressed_bytes, and a truncated stream is caught. When aiohttp inflated the body already (its
default, as in tests), the same limits still hold: the wire size is aiohttp's count of compressed
bytes, and the inflated bytes are counted here as they arrive.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson
from aiohttp import hdrs, web
from aiohttp.http_exceptions import ContentEncodingError

from ingest.http.budget import COST_PER_BYTE, TICKET, Ticket, off_loop
from ingest.http.errors import (
    DecompressedTooLarge,
    EmptyBody,
    InvalidGzip,
    InvalidJson,
    PayloadTooLarge,
    RequestTimeout,
    TooDeep,
    UnsupportedEncoding,
    UnsupportedMediaType,
)
from query.errors import BadRequest, HttpError

GZIP_CODINGS = frozenset({"gzip", "x-gzip"})
UTF8_NAMES = frozenset({"utf-8", "utf8"})
PLAIN_JSON = frozenset({"application/json", "application/json; charset=utf-8"})
BOM = b"\xef\xbb\xbf"
ORJSON_MAX_DEPTH = 1024  # orjson refuses deeper nesting itself ("depth limit exceeded")
_CONTAINERS = (dict, list)
_ALL_BUT_OPENINGS = bytes(set(range(256)) - set(b"{["))  # deleted by translate, so that `{` and `[` are left


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_body_bytes: int  # as sent on the wire (compressed or not); LINEAGE_MAX_BODY_BYTES
    max_decompressed_bytes: int  # after gunzip; LINEAGE_MAX_DECOMPRESSED_BYTES
    max_json_depth: int  # deepest nesting of arrays/objects; LINEAGE_MAX_JSON_DEPTH
    read_timeout: float = 15.0  # seconds to receive the whole body


async def read_json(request: web.Request, limits: BodyLimits) -> tuple[object, bytes]:
    """The decoded JSON value and the (decompressed) body bytes. Raises HttpError subclasses.

    Headers are checked before a byte is read: a wrong Content-Type or Content-Encoding is 415, a
    Content-Length over max_body_bytes is 413. Then the body is read within read_timeout (else 408),
    counting wire bytes (413 PAYLOAD_TOO_LARGE) and inflated bytes (413 DECOMPRESSED_TOO_LARGE) as
    chunks arrive, so no more than the limits is ever held. Then 400 for an empty body, a bad gzip
    stream, invalid UTF-8 or JSON, or nesting deeper than max_json_depth. A large body is decoded on the
    app's prepare pool (ingest.http.budget), not on the event loop.
    """
    body = await read_body(request, limits)
    return await off_loop(request, len(body), decode_json, body, limits.max_json_depth), body


async def read_body(request: web.Request, limits: BodyLimits) -> bytes:
    """The body as read_json reads it, every limit checked and the memory budget charged, not yet decoded."""
    _check_content_type(request)
    gzipped = _gzipped(request)
    length = request.content_length
    if length is not None and length > limits.max_body_bytes:
        raise PayloadTooLarge(
            f"the body is {_size(length)}; the limit is {_size(limits.max_body_bytes)} "
            f"(LINEAGE_MAX_BODY_BYTES={limits.max_body_bytes}): send fewer events per request, or raise the limit"
        )
    ticket = request.get(TICKET)
    if request.content.is_eof():
        # The whole body came with the headers (most single events do): reading it never waits, so no timer.
        body = await _read_body(request, limits, gzipped, ticket)
    else:
        try:
            async with asyncio.timeout(limits.read_timeout):
                body = await _read_body(request, limits, gzipped, ticket)
        except TimeoutError:
            raise RequestTimeout(
                f"the body did not arrive within {limits.read_timeout:g} seconds; send it faster or in smaller requests"
            ) from None
    if body.startswith(BOM):
        body = body[len(BOM) :]
    if not body.strip():
        raise EmptyBody("the body is empty; send a JSON document")
    if ticket is not None:
        ticket.charge_values(body)
    return body


def _check_content_type(request: web.Request) -> None:
    raw = request.headers.get(hdrs.CONTENT_TYPE, "")
    if raw in PLAIN_JSON or not raw.strip():
        return  # what nearly every client sends, accepted without parsing; absent: taken as JSON, the body decides
    mimetype = request.content_type.lower()
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        hint = ""
        if mimetype == "application/x-www-form-urlencoded":
            hint = " (curl -d sends this type: add -H 'Content-Type: application/json')"
        raise UnsupportedMediaType(f"the Content-Type is {mimetype}{hint}; send the body as application/json")
    charset = request.charset
    if charset is not None and charset.lower() not in UTF8_NAMES:
        raise UnsupportedMediaType(
            f"the Content-Type names charset {charset}; send JSON encoded as UTF-8 (charset=utf-8, or no charset)"
        )


def _gzipped(request: web.Request) -> bool:
    """True for a gzip body, False for an uncompressed one; 415 for any other Content-Encoding."""
    header = request.headers.get(hdrs.CONTENT_ENCODING, "")
    if not header:
        return False
    codings = [c for c in (part.strip().lower() for part in header.split(",")) if c and c != "identity"]
    if len(codings) > 1:
        raise UnsupportedEncoding(
            f"the body has several content codings ({header.strip()}); send it gzip-compressed once, or uncompressed"
        )
    if codings and codings[0] not in GZIP_CODINGS:
        raise UnsupportedEncoding(
            f"the Content-Encoding {codings[0]} is not supported; send the body uncompressed or with "
            "Content-Encoding: gzip"
        )
    return bool(codings)


async def _read_body(request: web.Request, limits: BodyLimits, gzipped: bool, ticket: Ticket | None) -> bytes:
    if not request.body_exists:
        return b""
    stream = request.content
    length = request.content_length
    if not gzipped and length is not None:
        # The common case, checked against the limit already: one read, no chunk loop.
        if ticket is not None:
            ticket.charge(COST_PER_BYTE * length)
        try:
            return await stream.readexactly(length)
        except asyncio.IncompleteReadError:
            raise BadRequest("the body ended before its Content-Length; send the whole body again") from None
    # aiohttp inflates gzip itself unless the server runs with auto_decompress=False; it then counts the
    # compressed bytes in total_compressed_bytes and hands over inflated ones.
    inflated_upstream = stream.total_compressed_bytes is not None
    sink: _Gunzip | _Plain = _Gunzip(limits) if gzipped and not inflated_upstream else _Plain(limits, gzipped)
    charged = 0
    try:
        while chunk := await stream.readany():
            if stream.total_raw_bytes > limits.max_body_bytes:
                raise PayloadTooLarge(
                    f"the body is larger than {_size(limits.max_body_bytes)}, the limit "
                    f"(LINEAGE_MAX_BODY_BYTES={limits.max_body_bytes}): send fewer events per request, "
                    "or raise the limit"
                )
            sink.feed(chunk)
            if ticket is not None:  # charged as it grows, so that no more than the budget is ever inflated
                ticket.charge(COST_PER_BYTE * (sink.size - charged))
                charged = sink.size
    except web.RequestPayloadError as exc:  # aiohttp's inflating failed, or the framing is broken
        if isinstance(exc.__cause__, ContentEncodingError):
            raise _corrupt_gzip() from None
        raise BadRequest(f"the body could not be read ({exc}); send the whole body again") from None
    if stream.total_raw_bytes == 0:
        return b""
    return sink.finish()


class _Plain:
    """An uncompressed body (or one aiohttp inflated already): collected as it arrives."""

    def __init__(self, limits: BodyLimits, gzipped: bool) -> None:
        self._limit = limits.max_decompressed_bytes if gzipped else None
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._limit is not None and self._size > self._limit:
            raise _too_large_inflated(self._limit)
        self._parts.append(chunk)

    @property
    def size(self) -> int:
        return self._size

    def finish(self) -> bytes:
        return b"".join(self._parts)


class _Gunzip:
    """Inflates gzip members as chunks arrive, never producing more than the limit plus one byte.

    zlib's decompressobj stops at the end of a member; the bytes after it (unused_data) start the next.
    """

    def __init__(self, limits: BodyLimits) -> None:
        self._limit = limits.max_decompressed_bytes
        self._member = _gzip_member()
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        while data:
            if self._member.eof:
                self._member = _gzip_member()
            try:
                out = self._member.decompress(data, self._limit - self._size + 1)
            except zlib.error:
                raise _corrupt_gzip() from None
            self._size += len(out)
            if self._size > self._limit:
                raise _too_large_inflated(self._limit)
            self._parts.append(out)
            # At a member's end, the bytes after it start the next member.
            data = self._member.unused_data if self._member.eof else self._member.unconsumed_tail

    @property
    def size(self) -> int:
        return self._size

    def finish(self) -> bytes:
        if not self._member.eof:
            raise InvalidGzip(
                "the gzip stream ends before its last member does: the body was cut short or is not gzip; "
                "send the whole gzip output"
            )
        return b"".join(self._parts)


def _gzip_member() -> Any:  # zlib's Decompress type has no public name before Python 3.12
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)


def _corrupt_gzip() -> InvalidGzip:
    return InvalidGzip(
        "the body is not a valid gzip stream although Content-Encoding says gzip; "
        "send the gzip output unchanged, or drop the Content-Encoding header"
    )


def _too_large_inflated(limit: int) -> DecompressedTooLarge:
    return DecompressedTooLarge(
        f"the gzip body inflates to more than {_size(limit)}, the limit "
        f"(LINEAGE_MAX_DECOMPRESSED_BYTES={limit}): send fewer events per request, or raise the limit"
    )


def decode_json(body: bytes, max_depth: int) -> object:
    """The JSON value of a body read by read_body; InvalidJson or TooDeep (400) otherwise. Any thread."""
    try:
        value: object = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _decode_error(body, exc, max_depth) from None
    if _may_nest_deeper(body, max_depth) and json_depth(value, max_depth) > max_depth:
        raise _too_deep(max_depth)
    return value


def _may_nest_deeper(body: bytes, max_depth: int) -> bool:
    """False when the body holds too few opening brackets (those inside strings included) to nest deeper than
    max_depth, as most events do: counting them in C costs a fraction of walking the decoded value."""
    return len(body.translate(None, _ALL_BUT_OPENINGS)) > max_depth


def _decode_error(body: bytes, exc: orjson.JSONDecodeError, max_depth: int) -> HttpError:
    if "depth" in exc.msg or "recursion" in exc.msg:  # orjson's own cap, beyond ORJSON_MAX_DEPTH levels
        return _too_deep(max_depth)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as bad:
        return InvalidJson(
            f"the body is not valid UTF-8 (byte {bad.start} is {body[bad.start : bad.start + 1]!r}); "
            "send JSON encoded as UTF-8"
        )
    where = f"line {exc.lineno} column {exc.colno} (char {exc.pos})"
    return InvalidJson(f"the body is not valid JSON: {exc.msg} at {where}")


def _too_deep(max_depth: int) -> TooDeep:
    return TooDeep(
        f"the JSON nests arrays and objects more than {max_depth} levels deep, the limit "
        f"(LINEAGE_MAX_JSON_DEPTH={max_depth}): flatten the document, or raise the limit"
    )


def json_depth(value: object, limit: int) -> int:
    """How deep arrays and objects nest in a decoded JSON value (a scalar is 0, `[]` is 1), counted
    level by level; stops and answers limit + 1 as soon as that is exceeded.

    Measured on the decoded value because that is cheaper than scanning the bytes with strings removed
    (in CPython the byte scan costs about twice as much on a 40 KB Spark event)."""
    level: list[Any] = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return depth
        children = chain.from_iterable([node.values() if type(node) is dict else node for node in level])
        level = [child for child in children if type(child) in _CONTAINERS]
    return depth


def _size(count: int) -> str:
    """A byte count for a sentence: 16 MiB, 1.5 KiB, 900 bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"
