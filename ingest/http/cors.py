"""CORS for the origins LINEAGE_CORS_ORIGINS names; off when it names none.

Authentication is a bearer key, never a cookie, so credentials are never allowed and `*` is never sent.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ingest.http.typedefs import SETTINGS

ALLOW_HEADERS = "Authorization, Content-Type, Content-Encoding, X-Request-ID"
ALLOW_METHODS = "GET, POST, OPTIONS"
MAX_AGE = "600"


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    origins = request.app[SETTINGS].http.cors_origins
    origin = request.headers.get("Origin")
    allowed = origin is not None and origin in origins
    preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    if preflight and allowed:
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    else:
        response = await handler(request)
    if allowed and origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After, X-Cache"
    if origins:
        response.headers.add("Vary", "Origin")
    return response
