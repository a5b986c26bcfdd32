"""docs/API.md lists every endpoint, and only endpoints that exist: its tables against the app's router."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.http.app import create_app
from ingest.settings import Settings
from schemas import open_store

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "API.md"
METHOD = re.compile(r"(GET|POST|PUT|DELETE|PATCH) (/\S*)")
BASE = re.compile(r"all GET\s+under `(/[^`]+)`")


def documented_routes(text: str) -> set[tuple[str, str]]:
    """(method, path) of the first cell of every table row: `METHOD /path`, or in a section that says "all GET
    under `/base`", a path relative to that base."""
    routes: set[tuple[str, str]] = set()
    for section in re.split(r"^## ", text, flags=re.M):
        base = BASE.search(section)
        for line in section.splitlines():
            cell = line.split(" | ", 1)[0] if line.startswith("| `") else ""
            for item in re.findall(r"`([^`]+)`", cell):
                found = METHOD.fullmatch(item)
                if found:
                    routes.add((found[1], found[2]))
                elif base and item.startswith("/"):
                    routes.add(("GET", base[1] + item))
    return routes


def test_every_route_of_the_app_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    settings = Settings.from_env({"LINEAGE_STORE": f"sqlite:///{tmp_path}/lineage.db"}, None)
    store = open_store(settings.store.dsn)
    try:
        app = create_app(settings, store)
        served = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD" and r.resource}
    finally:
        store.close()
    documented = documented_routes(API_DOC.read_text(encoding="utf-8"))
    assert ("GET", "/api/v1/jobs") in served and len(documented) > 30
    assert sorted(served - documented) == [], "routes docs/API.md does not list"
    assert sorted(documented - served) == [], "routes docs/API.md lists that the app does not serve"
