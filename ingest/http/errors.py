"""One exception hierarchy and the middleware that turns it, and aiohttp's own HTTP errors, into the one
JSON error shape: {"error": sentence, "code": CODE, "details": [{"path", "message"}], "request_id"}."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from ingest.logs import set_request_id

logger = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)
HANDLER_TIMEOUT = 60.0  # seconds for a handler to produce its answer (DESIGN.md's write timeout)

# A caller's request id is echoed only when it is short and plain: it goes into logs and headers.
CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error the client should see: its status, a stable code, a sentence, and per-path details."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, details: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.headers: dict[str, str] = {}  # sent with the error: Retry-After, WWW-Authenticate


# The request body (ingest.http.body.read_json): each refusal has its own status and stable code.
class UnsupportedMediaType(ApiError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class UnsupportedEncoding(ApiError):
    status = 415
    code = "UNSUPPORTED_ENCODING"


class PayloadTooLarge(ApiError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class DecompressedTooLarge(ApiError):
    status = 413
    code = "DECOMPRESSED_TOO_LARGE"


class RequestTimeout(ApiError):
    status = 408
    code = "REQUEST_TIMEOUT"


class EmptyBody(ApiError):
    code = "EMPTY_BODY"


class InvalidGzip(ApiError):
    code = "INVALID_GZIP"


class InvalidJson(ApiError):
    code = "INVALID_JSON"


class TooDeep(ApiError):
    code = "TOO_DEEP"


def error_body(request: web.Request, message: str, code: str, details: Sequence[tuple[str, str]] = ()) -> Any:
    return {
        "error": message,
        "code": code,
        "details": [{"path": path, "message": text} for path, text in details],
        "request_id": request.get(REQUEST_ID, ""),
    }


def _foreign(exc: Exception) -> tuple[int, str, str, list[tuple[str, str]]] | None:
    """(status, code, message, details) of another package's client error (query.errors.QueryError: query
    may not import ingest, so it is matched by shape), None for anything else."""
    status, code = getattr(exc, "status", None), getattr(exc, "code", None)
    if isinstance(status, int) and 400 <= status < 600 and isinstance(code, str):
        return status, code, str(getattr(exc, "message", exc)), list(getattr(exc, "details", ()))
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-ID", "")
    # 32 hex digits, like uuid4().hex but cheaper: this runs for every request.
    request_id = given if CALLER_REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
    request[REQUEST_ID] = request_id
    set_request_id(request_id)  # every log line of this request's task carries it
    try:
        async with asyncio.timeout(HANDLER_TIMEOUT):
            response = await handler(request)
    except TimeoutError:
        logger.error("%s %s took longer than %s s to answer", request.method, request.path, HANDLER_TIMEOUT)
        message = f"no answer within {HANDLER_TIMEOUT:g} s; retry later"
        response = web.json_response(
            error_body(request, message, "HANDLER_TIMEOUT"), status=503, headers={"Retry-After": "1"}
        )
    except ApiError as exc:
        response = web.json_response(
            error_body(request, exc.message, exc.code, exc.details), status=exc.status, headers=exc.headers
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, f"HTTP_{exc.status}")
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
        response = web.json_response(error_body(request, exc.reason, code), status=exc.status, headers=kept)
    except Exception as exc:
        foreign = _foreign(exc)
        if foreign is not None:
            status, code, message, details = foreign
            response = web.json_response(error_body(request, message, code, details), status=status)
        else:
            logger.exception("unexpected error on %s %s", request.method, request.path)
            response = web.json_response(error_body(request, "internal error", "INTERNAL"), status=500)
    response.headers["X-Request-ID"] = request_id
    return response
