"""The ingest side's errors (subclasses of query.errors.HttpError, the one base) and the one middleware that
renders every error, aiohttp's own HTTP errors and anything unexpected in the one JSON error shape:
{"error": sentence, "message": the same sentence, "code": CODE, "details": [{"path", "message"}], "request_id"}.
`message` is there for Marquez's clients: its web UI shows an error's `code` and `message`."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ingest.logs import set_request_id
from query.errors import BadRequest, HttpError, NotFound
from schemas.store import StoreError, StoreUnavailable

logger = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)
# The handler's timeout, so that the receiver can lift it once the writer holds its events (see lift_deadline).
HANDLER_DEADLINE = web.RequestKey("handler_deadline", asyncio.Timeout)
HANDLER_TIMEOUT = 60.0  # seconds for a handler to produce its answer (DESIGN.md's write timeout)

# A caller's request id is echoed only when it is short and plain: it goes into logs and headers.
CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


# The request body (ingest.http.body.read_json): each refusal has its own status and stable code.
class UnsupportedMediaType(HttpError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class UnsupportedEncoding(HttpError):
    status = 415
    code = "UNSUPPORTED_ENCODING"


class PayloadTooLarge(HttpError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class DecompressedTooLarge(HttpError):
    status = 413
    code = "DECOMPRESSED_TOO_LARGE"


class RequestTimeout(HttpError):
    status = 408
    code = "REQUEST_TIMEOUT"


class EmptyBody(HttpError):
    status = 400
    code = "EMPTY_BODY"


class InvalidGzip(HttpError):
    status = 400
    code = "INVALID_GZIP"


class InvalidJson(HttpError):
    status = 400
    code = "INVALID_JSON"


class TooDeep(HttpError):
    status = 400
    code = "TOO_DEEP"


# The store, on reads (raised out of a query handler) and writes (ingest.http.receiver) alike.
class StoreDown(HttpError):
    """The store cannot be reached or is busy: the same request may succeed later."""

    status = 503
    code = "STORE_UNAVAILABLE"


class StoreFailed(HttpError):
    """The store raised an error that is not unavailability (closed at shutdown, a refused statement)."""

    status = 503
    code = "STORE_ERROR"


def store_refusal(exc: StoreError) -> HttpError:
    if isinstance(exc, StoreUnavailable):
        return StoreDown(f"the store cannot be reached: {exc}")
    return StoreFailed(f"the store failed: {exc}")


# What the middleware itself answers.
class MethodNotAllowed(HttpError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class HandlerTimeout(HttpError):
    status = 503
    code = "HANDLER_TIMEOUT"


class Internal(HttpError):
    """A bug of ours: logged with its traceback, answered without one."""

    status = 500
    code = "INTERNAL"


# aiohttp's own HTTP errors that reach the middleware: its router's. Their headers (Allow) are kept.
AIOHTTP_ERRORS: dict[int, type[HttpError]] = {404: NotFound, 405: MethodNotAllowed}


def error_middleware(retry_after_seconds: int, handler_timeout: float = HANDLER_TIMEOUT) -> Middleware:
    """The middleware that sets the request id and renders every error. Every 503 carries
    `Retry-After: retry_after_seconds` (LINEAGE_RETRY_AFTER_SECONDS) unless its error names its own; a handler
    that takes longer than `handler_timeout` seconds is answered 503 HANDLER_TIMEOUT."""
    retry_after = str(retry_after_seconds)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("X-Request-ID", "")
        # 32 hex digits, like uuid4().hex but cheaper: this runs for every request.
        request_id = given if given and CALLER_REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
        request[REQUEST_ID] = request_id
        set_request_id(request_id)  # every log line of this request's task carries it
        try:
            async with asyncio.timeout(handler_timeout) as deadline:
                request[HANDLER_DEADLINE] = deadline
                response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:  # a redirect is an answer, not an error
                raise
            response = _render(request, _from_aiohttp(request, exc), retry_after)
        except Exception as exc:
            response = _render(request, _as_http_error(request, exc, handler_timeout), retry_after)
        response.headers["X-Request-ID"] = request_id
        return response

    return middleware


def lift_deadline(request: web.Request) -> bool:
    """Lift the handler timeout of `request` (its answer must now wait for a commit); False when it has expired
    already, and the handler is being cancelled."""
    deadline = request.get(HANDLER_DEADLINE)
    if deadline is None:
        return True
    if deadline.expired():
        return False
    deadline.reschedule(None)
    return True


def _from_aiohttp(request: web.Request, exc: web.HTTPException) -> HttpError:
    error_class = AIOHTTP_ERRORS.get(exc.status)
    if error_class is None:  # no handler of ours raises aiohttp's errors: one that does is a bug
        return _unexpected(request, exc)
    kept = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
    return error_class(exc.reason, headers=kept)


def _as_http_error(request: web.Request, exc: Exception, handler_timeout: float) -> HttpError:
    if isinstance(exc, HttpError):
        return exc
    if isinstance(exc, StoreError):
        logger.warning("%s %s: %s", request.method, request.path, exc)
        return store_refusal(exc)
    if isinstance(exc, ConnectionError):  # the client left mid-request: nobody reads an answer, no bug to log
        logger.info(
            "%s %s: the client closed the connection before the request was complete", request.method, request.path
        )
        return BadRequest("the connection closed before the request was complete")
    if isinstance(exc, TimeoutError):
        logger.error("%s %s took longer than %s s to answer", request.method, request.path, handler_timeout)
        return HandlerTimeout(f"no answer within {handler_timeout:g} s; retry later")
    return _unexpected(request, exc)


def _unexpected(request: web.Request, exc: Exception) -> Internal:
    logger.error("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return Internal("internal error")


def _render(request: web.Request, error: HttpError, retry_after: str) -> web.Response:
    return error_response(error, request.get(REQUEST_ID, ""), retry_after)


def error_response(error: HttpError, request_id: str, retry_after: str) -> web.Response:
    """The one error shape for `error`; a 503 carries `Retry-After: retry_after` unless the error names its own.
    Also used below the app (ingest.http.connections), where no middleware runs."""
    body: dict[str, Any] = {
        **error.fields,
        "error": error.message,
        "message": error.message,
        "code": error.code,
        "details": [{"path": path, "message": text} for path, text in error.details],
        "request_id": request_id,
    }
    headers = error.headers
    if error.status == 503:
        headers = {"Retry-After": retry_after, **headers}
    return json_bytes(orjson.dumps(body), error.status, headers)


def json_bytes(body: bytes, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """The answer web.json_response would send for the JSON text `body`, without its round trip through str: the
    ingestion endpoints' answers and every error."""
    return web.Response(body=body, status=status, headers=headers, content_type="application/json", charset="utf-8")
