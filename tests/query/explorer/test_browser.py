"""The explorer in a real browser against a real server: what is drawn equals what the API answers.

Every test watches the page's console and fails on an error or a failed request, and leaves a screenshot of
its view with the run's artifacts.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.ingest.processes import Server, environment, get, serving
from tests.query.explorer.conftest import load

DEMO = "teradata://demo-td:1025"
KEY = "explorer-test-key-0123456789"
Problems = list[str]


def api(server: Server, path: str) -> Any:
    status, _, body = get(server.url + path)
    assert status == 200, (path, body[:300])
    return json.loads(body)


@pytest.fixture
def problems(page: Page) -> Iterator[Problems]:
    found: Problems = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            found.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: found.append(f"request failed: {request.url}"))
    page.on("response", lambda r: found.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield found
    assert found == []


def lineage_url(namespace: str, dataset: str, field: str, depth: int = 5, direction: str = "both") -> str:
    query = urllib.parse.urlencode(
        {"namespace": namespace, "dataset": dataset, "field": field, "direction": direction, "depth": depth}
    )
    return f"/explorer/lineage?{query}"


def explorer_graph(server: Server, namespace: str, dataset: str, field: str, depth: int = 5) -> Any:
    query = urllib.parse.urlencode({"namespace": namespace, "dataset": dataset, "field": field, "maxDepth": depth})
    return api(server, f"/api/explorer/column-lineage?{query}")


def check_drawn(page: Page, answer: Any) -> None:
    """The drawing holds exactly the answer's nodes and edges, with its labels and styles."""
    graph = answer["graph"]
    expect(page.locator("svg.lineage-graph[data-ready=true]")).to_be_visible()
    drawn_nodes = page.locator("svg.lineage-graph .node")
    assert sorted(drawn_nodes.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted(
        n["fieldId"] for n in graph["nodes"]
    )
    drawn_edges = page.locator("svg.lineage-graph .edges path.edge")
    pairs = drawn_edges.evaluate_all("els => els.map(e => [e.dataset.source, e.dataset.target, e.dataset.type])")
    assert sorted(map(tuple, pairs)) == sorted(
        (e["sourceFieldId"], e["targetFieldId"], e["transformationType"] or "") for e in graph["edges"]
    )
    for kind in ("DIRECT", "INDIRECT"):
        styled = page.locator(f"svg.lineage-graph .edges path.edge.type-{kind.lower()}").count()
        assert styled == sum(1 for e in graph["edges"] if e["transformationType"] == kind)
    masked = sum(1 for e in graph["edges"] if any(t["masking"] for t in e["transformations"]))
    assert page.locator("svg.lineage-graph .edges path.edge.masked").count() == masked
    labels = page.locator("svg.lineage-graph .box-label").all_text_contents()
    names = {n["dataset"]["name"] for n in graph["nodes"]}
    assert all(any(name.startswith(label.rstrip("…")) for name in names) for label in labels), labels
    assert len(labels) == len(answer["layout"]["boxes"])
    expect(page.locator("svg.lineage-graph .node.start")).to_have_count(1)


def test_home_shows_namespaces_runs_and_ingestion(served: Server, page: Page, problems: Problems, shots: Path) -> None:
    page.goto(served.url + "/")
    expect(page.get_by_role("heading", name="Namespaces")).to_be_visible()
    expect(page.locator("[data-figure=accepted]")).to_be_visible()
    namespaces = api(served, "/api/v1/namespaces")["namespaces"]
    table = page.get_by_role("region", name="Namespaces").locator("tbody tr")
    expect(table).to_have_count(len(namespaces))
    runs = api(served, "/api/explorer/runs?limit=15")["runs"]
    expect(page.get_by_role("region", name="Latest runs").locator("tbody tr")).to_have_count(len(runs))
    accepted = served.metric("lineage_events_accepted_total")
    assert float(page.locator("[data-figure=accepted]").inner_text()) >= accepted
    page.screenshot(path=shots / "home.png", full_page=True)


def test_column_lineage_draws_the_api_answer(served: Server, page: Page, problems: Problems, shots: Path) -> None:
    answer = explorer_graph(served, DEMO, "FACT.SALES_DAILY", "total_amount")
    assert answer["graph"]["edges"], "the demo's revenue has upstream lineage"
    page.goto(served.url + lineage_url(DEMO, "FACT.SALES_DAILY", "total_amount"))
    check_drawn(page, answer)
    page.screenshot(path=shots / "column-lineage.png", full_page=True)


def test_hover_highlights_the_path_and_a_click_recentres(served: Server, page: Page, problems: Problems) -> None:
    start = lineage_url(DEMO, "FACT.SALES_DAILY", "total_amount")
    page.goto(served.url + start)
    expect(page.locator("svg.lineage-graph[data-ready=true]")).to_be_visible()
    other = page.locator("svg.lineage-graph .node:not(.start)").first
    target_id = other.get_attribute("data-id")
    other.hover()
    assert page.locator("svg.lineage-graph path.edge.on-path").count() >= 1
    other.click()
    expect(page.locator(f"svg.lineage-graph .node.start[data-id='{target_id}']")).to_be_visible()
    assert "field=" in page.url and page.url != served.url + start
    page.go_back()
    expect(page).to_have_url(served.url + start)
    expect(page.locator("svg.lineage-graph .node.start")).not_to_have_attribute("data-id", target_id or "")


def test_direction_and_depth_controls(served: Server, page: Page, problems: Problems) -> None:
    page.goto(served.url + lineage_url(DEMO, "STG_SALES.ORDERS_CLEAN", "order_id"))
    page.get_by_label("Direction").select_option("downstream")
    expect(page).to_have_url(re.compile("direction=downstream"))
    answer = explorer_graph(served, DEMO, "STG_SALES.ORDERS_CLEAN", "order_id")
    query = urllib.parse.urlencode({"namespace": DEMO, "dataset": "STG_SALES.ORDERS_CLEAN", "field": "order_id",
                                    "direction": "downstream", "maxDepth": 5})  # fmt: skip
    downstream = api(served, f"/api/explorer/column-lineage?{query}")
    check_drawn(page, downstream)
    assert len(downstream["graph"]["nodes"]) <= len(answer["graph"]["nodes"])
    page.get_by_label("Depth").fill("1")
    page.get_by_label("Depth").dispatch_event("change")
    expect(page).to_have_url(re.compile("depth=1"))


def test_exports(served: Server, page: Page, problems: Problems, tmp_path: Path) -> None:
    page.goto(served.url + lineage_url(DEMO, "FACT.SALES_DAILY", "total_amount"))
    expect(page.locator("svg.lineage-graph[data-ready=true]")).to_be_visible()
    answer = explorer_graph(served, DEMO, "FACT.SALES_DAILY", "total_amount")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export edges (CSV)").click()
    lines = Path(csv_download.value.path()).read_text().strip().splitlines()
    transformations = sum(max(1, len(e["transformations"])) for e in answer["graph"]["edges"])
    assert len(lines) == 1 + transformations
    with page.expect_download() as svg_download:
        page.get_by_role("button", name="Export SVG").click()
    svg = Path(svg_download.value.path()).read_text()
    assert svg.startswith("<svg") and svg.count('<path class="edge ') == len(answer["graph"]["edges"])
    with page.expect_download() as png_download:
        page.get_by_role("button", name="Export PNG").click()
    assert Path(png_download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shared_events_draw_as_the_api_answers(served: Server, page: Page, problems: Problems) -> None:
    drawn = 0
    for ns in api(served, "/api/v1/namespaces")["namespaces"]:
        if ns["name"] == DEMO:
            continue
        datasets = api(served, f"/api/v1/namespaces/{urllib.parse.quote(ns['name'], safe='')}/datasets?limit=100")
        for d in datasets["datasets"]:
            for f in d["fields"][:3]:
                answer = explorer_graph(served, ns["name"], d["name"], f["name"], depth=3)
                if not answer["graph"]["edges"]:
                    continue
                page.goto(served.url + lineage_url(ns["name"], d["name"], f["name"], depth=3))
                check_drawn(page, answer)
                drawn += 1
    assert drawn >= 3, "the shared events hold column lineage"


def test_deep_links_to_every_view(served: Server, page: Page, problems: Problems, shots: Path) -> None:
    overview = api(served, f"/api/explorer/dataset?namespace={urllib.parse.quote(DEMO)}&dataset=FACT.SALES_DAILY")
    job = overview["writers"][0]
    run = overview["runs"][0]
    views = {
        "dataset": f"/explorer/dataset?{urllib.parse.urlencode({'namespace': DEMO, 'name': 'FACT.SALES_DAILY'})}",
        "impact": f"/explorer/impact?{urllib.parse.urlencode({'id': overview['dataset']['id'], 'depth': 3})}",
        "job": f"/explorer/job?{urllib.parse.urlencode({'namespace': job['namespace'], 'name': job['name']})}",
        "run": f"/explorer/runs/{urllib.parse.quote(run['id'])}",
        "search": "/explorer/search?q=order",
        "namespace": f"/explorer/namespace?{urllib.parse.urlencode({'name': DEMO})}",
    }
    for name, path in views.items():
        page.goto(served.url + path)
        expect(page.locator("main h1")).not_to_have_text("Something went wrong")
        expect(page.locator("main h2").first).to_be_visible()
        page.screenshot(path=shots / f"{name}.png", full_page=True)
    page.goto(served.url + views["dataset"])
    expect(page.get_by_role("region", name="Schema").locator("tbody tr")).to_have_count(
        len(overview["dataset"]["fields"])
    )
    expect(page.locator("svg.lineage-graph .node")).to_have_count(
        len(
            api(
                served,
                f"/api/explorer/table-lineage?namespace={urllib.parse.quote(DEMO)}&dataset=FACT.SALES_DAILY&maxDepth=2",
            )["graph"]["nodes"]
        )  # fmt: skip
    )
    page.goto(served.url + views["run"])
    events = api(served, f"/api/explorer/runs/{urllib.parse.quote(run['id'])}/events")
    expect(page.locator("details.event")).to_have_count(events["totalCount"])


def test_search_as_you_type(served: Server, page: Page, problems: Problems) -> None:
    page.goto(served.url + "/explorer/search")
    box = page.get_by_label("Datasets, fields and jobs whose name contains")
    box.press_sequentially("order_")
    expect(page).to_have_url(re.compile("q=order_"))
    fields = api(served, "/api/v1/search?q=order_&filter=field&limit=50")["results"]
    expect(page.get_by_role("region", name=f"Fields ({len(fields)})").locator("li")).to_have_count(len(fields))
    box.fill("")
    box.press_sequentially("%%")
    expect(page.get_by_role("region", name="Datasets (0)")).to_be_visible()
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name="Namespaces")).to_be_visible()


def test_protected_reads_ask_for_the_key_once(tmp_path: Path, page: Page, problems: Problems) -> None:
    env = {"LINEAGE_API_KEYS": KEY, "LINEAGE_PROTECT_READS": "true", "REDIS_ADDR": ""}
    load(environment(tmp_path, **env), tmp_path)
    with serving(tmp_path, LINEAGE_API_KEYS=KEY, LINEAGE_PROTECT_READS="true", REDIS_ADDR="") as server:
        page.goto(server.url + "/")
        dialog = page.get_by_role("dialog", name="API key needed")
        expect(dialog).to_be_visible()
        page.get_by_role("textbox", name="API key").fill(KEY)
        page.get_by_role("button", name="Use key").click()
        expect(page.get_by_role("heading", name="Namespaces")).to_be_visible()
        page.reload()
        expect(page.get_by_role("heading", name="Namespaces")).to_be_visible()
        expect(dialog).not_to_be_visible()


def test_keyboard_recentres(served: Server, page: Page, problems: Problems) -> None:
    page.goto(served.url + lineage_url(DEMO, "FACT.SALES_DAILY", "total_amount"))
    expect(page.locator("svg.lineage-graph[data-ready=true]")).to_be_visible()
    other = page.locator("svg.lineage-graph .node:not(.start)").first
    target_id = other.get_attribute("data-id")
    other.focus()
    assert page.locator("svg.lineage-graph path.edge.on-path").count() >= 1
    page.keyboard.press("Enter")
    expect(page.locator(f"svg.lineage-graph .node.start[data-id='{target_id}']")).to_be_visible()


def test_a_truncated_answer_says_so(tmp_path: Path, page: Page, problems: Problems) -> None:
    load(environment(tmp_path, REDIS_ADDR=""), tmp_path)
    with serving(tmp_path, LINEAGE_MAX_NODES="3", REDIS_ADDR="") as server:
        answer = explorer_graph(server, DEMO, "FACT.SALES_BY_COUNTRY", "total_amount")
        assert answer["truncated"]
        page.goto(server.url + lineage_url(DEMO, "FACT.SALES_BY_COUNTRY", "total_amount"))
        expect(page.get_by_role("status")).to_contain_text("Truncated")
        check_drawn(page, answer)
