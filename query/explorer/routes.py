"""The explorer's pages: one HTML shell for every view, its static files, and its JSON (query.explorer.api).

The views are addressed by path (`/`, `/explorer/search`, `/explorer/lineage`, ...): the shell is served for
each, and its script draws the view the path names, so deep links and the back button work. The shell and the
static files hold no data, so they stay open when reads are protected: the page asks for the key, then sends
it with every read (ingest.http.auth consults `is_public`).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from query.explorer import api

STATIC = Path(__file__).resolve().parent / "static"
PAGES = "/explorer"
ASSETS = f"{PAGES}/static"
# Everything is served from here: no CDN, no inline script or style, frames refused.
POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def is_public(path: str) -> bool:
    """The shell and its static files: no data, no key needed."""
    return path in ("/", PAGES) or path.startswith(PAGES + "/")


async def shell(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC / "index.html",
        headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def setup_explorer(app: web.Application) -> None:
    app.router.add_routes(api.routes())
    app.router.add_static(ASSETS, STATIC, append_version=False)
    app.router.add_get("/", shell)
    app.router.add_get(PAGES, shell)
    app.router.add_get(PAGES + "/{view:.*}", shell)
