"""API keys: `Authorization: Bearer <key>` compared in constant time against every configured key.

Several keys may be configured at once so that a key can be rotated without downtime: add the new key,
move the producers over, remove the old one. With no keys configured, ingestion is open.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from ingest.http.typedefs import SETTINGS
from query.errors import HttpError
from query.explorer.routes import is_public

# Liveness and readiness probes stay open: orchestrators call them without credentials.
OPEN_PATHS = frozenset({"/health", "/ready"})


class MissingKey(HttpError):
    status = 401
    code = "UNAUTHORIZED"


class WrongKey(HttpError):
    status = 403
    code = "FORBIDDEN"


def key_matches(given: str, keys: tuple[str, ...]) -> bool:
    """True when `given` equals one of `keys`. Every key is compared, so timing says nothing of which."""
    candidate = given.encode("utf-8")
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key.encode("utf-8"))
    return found


def needs_key(request: web.Request, protect_reads: bool) -> bool:
    if request.path in OPEN_PATHS or request.method == "OPTIONS":
        return False
    if request.method in ("GET", "HEAD") and is_public(request.path):
        return False  # the explorer's shell and static files: it asks for the key before reading data
    return request.method not in ("GET", "HEAD") or protect_reads


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if settings.http.api_keys and needs_key(request, settings.http.protect_reads):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MissingKey(
                "an API key is required: send `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": 'Bearer realm="lineage"'},
            )
        if not key_matches(token.strip(), settings.http.api_keys):
            raise WrongKey("the API key is not valid")
    return await handler(request)
