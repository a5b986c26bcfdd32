// The explorer: one page, a view per path. Links are ordinary links (they work opened in a new tab); a click
// on one is handled here with the History API, so the back button walks the views.

import { ApiError, getJSON, getText, query } from "./api.js";
import { csv, download, duration, h, s, when } from "./dom.js";
import { draw, edgesCsv, exportPng, exportSvg } from "./graph.js";

const view = document.getElementById("view");
const PAGES = "/explorer";
let drawnBefore = null; // the positions of the last column graph drawn, for the re-centring animation
let refresh = null;

export const url = {
  home: () => "/",
  search: (q) => `${PAGES}/search${query({ q })}`,
  namespace: (name) => `${PAGES}/namespace${query({ name })}`,
  dataset: (namespace, name) => `${PAGES}/dataset${query({ namespace, name })}`,
  lineage: (namespace, dataset, field, direction, depth) =>
    `${PAGES}/lineage${query({ namespace, dataset, field, direction, depth })}`,
  impact: (id, field, depth) => `${PAGES}/impact${query({ id, field, depth })}`,
  job: (namespace, name) => `${PAGES}/job${query({ namespace, name })}`,
  run: (id) => `${PAGES}/runs/${encodeURIComponent(id)}`,
};

const v1 = "/api/v1";
const v2 = "/api/v2/openlineage";
const ex = "/api/explorer";
const seg = encodeURIComponent;

function link(href, ...children) {
  return h("a", { href }, ...children);
}

function state(value) {
  const text = value || "UNKNOWN";
  return h("span", { class: `state state-${text.toLowerCase()}` }, text);
}

function section(title, ...children) {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

function table(headers, rows, caption) {
  return h("table", {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))
      : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "none"))));
}

function show(title, ...children) {
  document.title = `${title} · lineage-server`;
  view.replaceChildren(h("h1", {}, title), ...children.filter((c) => c !== null && c !== undefined));
}

function problem(error) {
  const status = error instanceof ApiError ? error.status : null;
  const body = error instanceof ApiError ? error.body : null;
  return h("div", { class: "problem", role: "alert" },
    h("strong", {}, status ? `${status} ${body?.code || ""}` : "Error"), " ", error.message,
    body?.details ? h("pre", {}, JSON.stringify(body.details, null, 2)) : null);
}

function pretty(text) {
  try {
    return JSON.stringify(typeof text === "string" ? JSON.parse(text) : text, null, 2);
  } catch {
    return String(text);
  }
}

function facetList(facets) {
  const names = Object.keys(facets || {});
  if (!names.length) return h("p", { class: "empty" }, "No facets stored.");
  return h("div", { class: "facets" }, names.sort().map((name) =>
    h("details", {}, h("summary", {}, name), h("pre", {}, pretty(facets[name])))));
}

// --- home --------------------------------------------------------------------------------------------------

function parseMetrics(text) {
  const found = { accepted: 0, rejected: 0, reasons: {}, queue: null, duplicates: 0 };
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-z_]+)(\{([^}]*)\})?\s+([0-9.eE+-]+|NaN)/.exec(line);
    if (!match) continue;
    const [, name, , labels, raw] = match;
    const value = Number(raw);
    if (name === "lineage_events_accepted_total") found.accepted += value;
    else if (name === "lineage_events_duplicate_total") found.duplicates += value;
    else if (name === "lineage_queue_depth") found.queue = (found.queue || 0) + value;
    else if (name === "lineage_events_rejected_total") {
      found.rejected += value;
      const reason = /reason="([^"]*)"/.exec(labels || "")?.[1] || "unknown";
      found.reasons[reason] = (found.reasons[reason] || 0) + value;
    }
  }
  return found;
}

function healthPanel(now, before) {
  const seconds = before ? (now.at - before.at) / 1000 : 0;
  const rate = (a, b) => (before && seconds > 0 ? `${Math.max(0, ((a - b) / seconds) * 60).toFixed(1)}/min` : "—");
  const reasons = Object.entries(now.reasons).sort((a, b) => b[1] - a[1]).slice(0, 5);
  return h("div", { class: "health" },
    h("dl", { class: "figures" },
      h("div", {}, h("dt", {}, "Accepted"), h("dd", { "data-figure": "accepted" }, String(now.accepted)),
        h("dd", { class: "rate" }, rate(now.accepted, before?.accepted))),
      h("div", {}, h("dt", {}, "Rejected"), h("dd", { "data-figure": "rejected" }, String(now.rejected)),
        h("dd", { class: "rate" }, rate(now.rejected, before?.rejected))),
      h("div", {}, h("dt", {}, "Duplicates"), h("dd", {}, String(now.duplicates))),
      h("div", {}, h("dt", {}, "Queue depth"), h("dd", { "data-figure": "queue" }, now.queue === null ? "—" : String(now.queue)))),
    h("p", { class: "note" }, "Counted since the server started; rates over the last refresh (every 10 s)."),
    table(["Commonest rejection reasons", "events"], reasons.map(([r, n]) => [r, String(n)])));
}

async function home() {
  show("Lineage explorer", h("p", { class: "loading" }, "Loading…"));
  const [namespaces, runs] = await Promise.all([getJSON(`${v1}/namespaces`), getJSON(`${ex}/runs?limit=15`)]);
  const counted = await Promise.all(namespaces.namespaces.slice(0, 100).map(async (n) => {
    const [datasets, jobs] = await Promise.all([
      getJSON(`${v1}/namespaces/${seg(n.name)}/datasets?limit=1`),
      getJSON(`${v1}/namespaces/${seg(n.name)}/jobs?limit=1`),
    ]);
    return [n.name, String(datasets.totalCount), String(jobs.totalCount)];
  }));
  const health = h("div", {}, h("p", { class: "loading" }, "Reading /metrics…"));
  show("Lineage explorer",
    section("Namespaces", table(["Namespace", "Datasets", "Jobs"],
      counted.map(([name, d, j]) => [link(url.namespace(name), name), d, j]))),
    section("Latest runs", table(["Job", "State", "Started", "Duration"],
      runs.runs.map((r) => [link(url.job(r.namespace, r.jobName), r.jobName), state(r.state),
        link(url.run(r.id), when(r.startedAt || r.eventTime)), duration(r.durationMs)]))),
    section("Ingestion", health));
  let before = null;
  const sample = async () => {
    try {
      const now = { ...parseMetrics(await getText("/metrics")), at: Date.now() };
      health.replaceChildren(healthPanel(now, before));
      before = now;
    } catch (error) {
      health.replaceChildren(problem(error));
    }
  };
  await sample();
  refresh = setInterval(sample, 10000);
}

// --- namespace ---------------------------------------------------------------------------------------------

async function namespace(params) {
  const name = params.get("name");
  const base = `${v1}/namespaces/${seg(name)}`;
  const [datasets, jobs] = await Promise.all([getJSON(`${base}/datasets?limit=100`), getJSON(`${base}/jobs?limit=100`)]);
  const more = (shown, total) => (total > shown ? h("p", { class: "note" }, `${shown} of ${total} shown; search to find the others.`) : null);
  show(name,
    section(`Datasets (${datasets.totalCount})`, table(["Dataset", "Fields", "Updated"], datasets.datasets.map((d) =>
      [link(url.dataset(name, d.name), d.name), String(d.fields.length), when(d.updatedAt)])),
      more(datasets.datasets.length, datasets.totalCount)),
    section(`Jobs (${jobs.totalCount})`, table(["Job", "Latest run", "Updated"], jobs.jobs.map((j) =>
      [link(url.job(name, j.name), j.name), j.latestRun ? state(j.latestRun.state) : "—", when(j.updatedAt)])),
      more(jobs.jobs.length, jobs.totalCount)));
}

// --- search ------------------------------------------------------------------------------------------------

function fieldParts(nodeId) {
  // datasetField:<namespace>:<dataset>:<field>; the namespace may hold colons (teradata://host:1025).
  const rest = nodeId.slice("datasetField:".length);
  const last = rest.lastIndexOf(":");
  const field = rest.slice(last + 1);
  const head = rest.slice(0, last);
  const split = head.lastIndexOf(":");
  return { namespace: head.slice(0, split), dataset: head.slice(split + 1), field };
}

let searchToken = 0;

async function search(params) {
  const q = params.get("q") || "";
  const input = h("input", { id: "search-q", type: "search", value: q, autocomplete: "off",
    placeholder: "at least 2 characters; % and _ match themselves" });
  const results = h("div", { id: "search-results", "aria-live": "polite" });
  show("Search", h("form", { role: "search", onsubmit: (e) => e.preventDefault() },
    h("label", { for: "search-q" }, "Datasets, fields and jobs whose name contains"), input), results);
  const run = async (text) => {
    const token = ++searchToken;
    if (text.trim().length < 2) {
      results.replaceChildren(h("p", { class: "empty" }, "Type at least 2 characters."));
      return;
    }
    const [main, fields] = await Promise.all([
      getJSON(`${v1}/search${query({ q: text, limit: 50 })}`),
      getJSON(`${v1}/search${query({ q: text, limit: 50, filter: "field" })}`),
    ]);
    if (token !== searchToken) return; // a later keystroke's answer wins
    const datasets = main.results.filter((r) => r.type === "DATASET");
    const jobs = main.results.filter((r) => r.type === "JOB");
    results.replaceChildren(
      section(`Datasets (${datasets.length})`, h("ul", { class: "hits" }, datasets.map((r) =>
        h("li", {}, link(url.dataset(r.namespace, r.name), r.name), h("span", { class: "ns" }, r.namespace))))),
      section(`Fields (${fields.results.length})`, h("ul", { class: "hits" }, fields.results.map((r) => {
        const p = fieldParts(r.nodeId);
        return h("li", {}, link(url.lineage(p.namespace, p.dataset, p.field), `${p.dataset}.${p.field}`),
          h("span", { class: "ns" }, p.namespace));
      }))),
      section(`Jobs (${jobs.length})`, h("ul", { class: "hits" }, jobs.map((r) =>
        h("li", {}, link(url.job(r.namespace, r.name), r.name), h("span", { class: "ns" }, r.namespace))))));
  };
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      history.replaceState(null, "", url.search(input.value));
      run(input.value).catch((error) => results.replaceChildren(problem(error)));
    }, 150);
  });
  input.focus();
  input.setSelectionRange(q.length, q.length);
  await run(q);
}

// --- dataset -----------------------------------------------------------------------------------------------

function graphBox(title, svg, ...extra) {
  return h("figure", { class: "graph" }, h("div", { class: "canvas" }, svg), h("figcaption", {}, title), ...extra);
}

async function dataset(params) {
  const namespace = params.get("namespace");
  const name = params.get("name");
  const found = await getJSON(`${ex}/dataset${query({ namespace, dataset: name })}`);
  const d = found.dataset;
  const [marquez, tables] = await Promise.all([
    getJSON(`${v1}/namespaces/${seg(namespace)}/datasets/${seg(name)}`),
    getJSON(`${ex}/table-lineage${query({ namespace, dataset: name, maxDepth: 2 })}`),
  ]);
  const svg = s("svg", { class: "lineage-graph", role: "img", "aria-label": `table lineage of ${d.name}` });
  show(d.name,
    h("p", { class: "subtitle" }, d.namespace, d.description ? ` — ${d.description}` : ""),
    h("p", { class: "actions" }, link(url.impact(d.id, null, 3), "Impact analysis (everything downstream)")),
    section("Schema", table(["#", "Field", "Type", "Description", ""], d.fields.map((f) => [
      String(f.ordinalPosition), f.name, f.type || "—", f.description || "",
      link(url.lineage(d.namespace, d.name, f.name), "column lineage")]))),
    section("Facets", facetList(marquez.facets)),
    section("Jobs", table(["Writes it", "Reads it"], [[
      h("ul", {}, found.writers.map((j) => h("li", {}, link(url.job(j.namespace, j.name), j.name)))),
      h("ul", {}, found.readers.map((j) => h("li", {}, link(url.job(j.namespace, j.name), j.name))))]])),
    section("Recent runs", table(["Job", "State", "Started", "Duration"], found.runs.map((r) => [
      link(url.job(r.namespace, r.jobName), r.jobName), state(r.state), link(url.run(r.id), when(r.startedAt)),
      duration(r.durationMs)]))),
    section("Table lineage", graphBox(tables.truncated ? "Truncated: more datasets than the node cap" :
      "Two levels upstream and downstream; click a dataset to open it", svg)));
  draw(svg, tables.graph, tables.layout, {
    key: (n) => n.id,
    ends: (e) => [e.source, e.target],
    label: (n) => n.name,
    nodeName: (n) => `dataset ${n.name} in ${n.namespace}`,
    edgeTitle: (e) => `${e.kinds.join(", ")} lineage`,
    start: d.id,
    onPick: (n) => navigate(url.dataset(n.namespace, n.name)),
  });
}

// --- column lineage ----------------------------------------------------------------------------------------

const LEGEND = [
  ["type-direct subtype-identity", "DIRECT / IDENTITY"],
  ["type-direct subtype-transformation", "DIRECT / TRANSFORMATION"],
  ["type-direct subtype-aggregation", "DIRECT / AGGREGATION"],
  ["type-indirect", "INDIRECT (join, filter, group by, sort, window, conditional)"],
  ["masked", "masked"],
];

async function lineage(params) {
  const namespace = params.get("namespace");
  const dataset = params.get("dataset");
  const field = params.get("field");
  const direction = params.get("direction") || "both";
  const depth = params.get("depth") || "3";
  const answer = await getJSON(`${ex}/column-lineage${query({ namespace, dataset, field, direction, maxDepth: depth })}`);
  performance.mark("lineage-answered");
  const directionControl = h("select", { id: "direction" },
    ["both", "upstream", "downstream"].map((w) => h("option", { value: w, selected: w === answer.direction }, w)));
  const depthControl = h("input", { id: "depth", type: "number", min: 1, max: 20, value: answer.maxDepth });
  const apply = () => navigate(url.lineage(namespace, dataset, field, directionControl.value, depthControl.value));
  directionControl.addEventListener("change", apply);
  depthControl.addEventListener("change", apply);
  const svg = s("svg", { class: "lineage-graph", role: "img", "aria-label": `column lineage of ${dataset}.${field}` });
  const name = `${answer.dataset.name}.${answer.fieldName}`.replace(/[^\w.-]+/g, "_");
  const g = answer.graph;
  show(`${answer.dataset.name}.${answer.fieldName}`,
    h("p", { class: "subtitle" }, answer.dataset.namespace, " · ",
      link(url.dataset(answer.dataset.namespace, answer.dataset.name), "dataset"), " · ",
      link(url.impact(answer.dataset.id, answer.fieldName, answer.maxDepth), "impact analysis")),
    h("div", { class: "controls" },
      h("label", { for: "direction" }, "Direction"), directionControl,
      h("label", { for: "depth" }, "Depth"), depthControl,
      h("button", { type: "button", onclick: () => exportSvg(svg, name) }, "Export SVG"),
      h("button", { type: "button", onclick: () => exportPng(svg, name) }, "Export PNG"),
      h("button", { type: "button", onclick: () => download(`${name}-edges.csv`, "text/csv", edgesCsv(g)) },
        "Export edges (CSV)")),
    answer.truncated ? h("p", { class: "truncated", role: "status" },
      "Truncated: the graph reached the server's node cap; lower the depth or start nearer.") : null,
    h("p", { class: "summary", id: "graph-summary" },
      `${g.nodes.length} fields, ${g.edges.length} edges. Click a field to re-centre on it; hover one to see its path to the start.`),
    graphBox("Column lineage", svg,
      h("ul", { class: "legend", "aria-label": "edge styles" }, LEGEND.map(([cls, text]) =>
        h("li", {}, s("svg", { width: 36, height: 10, "aria-hidden": "true" },
          s("path", { class: `edge ${cls}`, d: "M2,5 L34,5" })), text)))));
  const drawn = draw(svg, g, answer.layout, {
    key: (n) => n.fieldId,
    ends: (e) => [e.sourceFieldId, e.targetFieldId],
    label: (n) => n.name,
    nodeName: (n) => `${n.dataset.name}.${n.name}${n.metadata?.columnType ? ` (${n.metadata.columnType})` : ""}`,
    boxLabel: (b) => b.label,
    start: answer.fieldId,
    previous: drawnBefore,
    title: `column lineage of ${answer.dataset.name}.${answer.fieldName}`,
    onPick: (n) => navigate(url.lineage(n.dataset.namespace, n.dataset.name, n.name, directionControl.value,
      depthControl.value)),
  });
  drawnBefore = drawn.positions;
  // Ready once the browser has laid the drawing out and can paint it: what the explorer benchmark times.
  requestAnimationFrame(() => {
    performance.mark("lineage-drawn");
    svg.dataset.ready = "true";
  });
}

// --- impact ------------------------------------------------------------------------------------------------

async function impact(params) {
  const id = params.get("id");
  const field = params.get("field") || "";
  const depth = params.get("depth") || "3";
  const answer = await getJSON(`${v2}/impact/${seg(id)}${query({ fieldName: field, maxDepth: depth })}`);
  const rows = [["depth", "kind", "namespace", "dataset", "field"],
    ...answer.datasets.map((d) => [d.depth, "dataset", d.namespace, d.name, ""]),
    ...answer.fields.map((f) => [f.depth, "field", f.namespace, f.dataset, f.name])];
  const depthControl = h("input", { id: "impact-depth", type: "number", min: 1, max: 20, value: answer.maxDepth });
  depthControl.addEventListener("change", () => navigate(url.impact(id, field, depthControl.value)));
  show(`Impact of ${field ? `${id}.${field}` : id}`,
    h("div", { class: "controls" }, h("label", { for: "impact-depth" }, "Depth"), depthControl,
      h("button", { type: "button", onclick: () => download("impact.csv", "text/csv", csv(rows)) }, "Export CSV")),
    answer.truncated ? h("p", { class: "truncated", role: "status" }, "Truncated at the server's node cap.") : null,
    section("By depth", table(["Depth", "Datasets", "Fields"],
      answer.byDepth.map((b) => [String(b.depth), String(b.datasetCount), String(b.fieldCount)]))),
    section(`Datasets (${answer.datasets.length})`, table(["Depth", "Dataset", "Namespace"],
      answer.datasets.map((d) => [String(d.depth), link(url.dataset(d.namespace, d.name), d.name), d.namespace]))),
    section(`Fields (${answer.fields.length})`, table(["Depth", "Field", "Namespace"],
      answer.fields.map((f) => [String(f.depth), link(url.lineage(f.namespace, f.dataset, f.name),
        `${f.dataset}.${f.name}`), f.namespace]))));
}

// --- job and run -------------------------------------------------------------------------------------------

async function job(params) {
  const namespace = params.get("namespace");
  const name = params.get("name");
  const base = `${v1}/namespaces/${seg(namespace)}/jobs/${seg(name)}`;
  const [j, runs] = await Promise.all([getJSON(base), getJSON(`${base}/runs?limit=50`)]);
  const io = (ids) => h("ul", {}, ids.map((d) => h("li", {}, link(url.dataset(d.namespace, d.name), d.name))));
  show(j.name,
    h("p", { class: "subtitle" }, j.namespace, j.description ? ` — ${j.description}` : ""),
    section("Inputs and outputs", table(["Reads", "Writes"], [[io(j.inputs), io(j.outputs)]])),
    section("Facets", facetList(j.facets)),
    section(`Runs (${runs.totalCount})`, table(["Run", "State", "Started", "Ended", "Duration", "Facets"],
      runs.runs.map((r) => [link(url.run(r.id), r.id), state(r.state), when(r.startedAt), when(r.endedAt),
        duration(r.durationMs), String(Object.keys(r.facets || {}).length)]))));
}

async function run(id) {
  const [r, events] = await Promise.all([getJSON(`${v1}/jobs/runs/${seg(id)}`), getJSON(`${ex}/runs/${seg(id)}/events`)]);
  const jobRef = r.jobVersion || {};
  show(`Run ${id}`,
    h("p", { class: "subtitle" }, "job ", link(url.job(jobRef.namespace, jobRef.name), jobRef.name || "?"), " · ",
      state(r.state), " · ", duration(r.durationMs)),
    section("Facets", facetList(r.facets)),
    section(`Events received (${events.totalCount})`, events.events.map((e) =>
      h("details", { class: "event" }, h("summary", {}, `${when(e.eventTime)} · ${e.eventId}`),
        h("pre", {}, pretty(e.payload))))));
}

// --- routing -----------------------------------------------------------------------------------------------

async function render() {
  clearInterval(refresh);
  refresh = null;
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  if (path !== `${PAGES}/lineage`) drawnBefore = null;
  try {
    if (path === "/" || path === PAGES || path === `${PAGES}/`) await home();
    else if (path === `${PAGES}/search`) await search(params);
    else if (path === `${PAGES}/namespace`) await namespace(params);
    else if (path === `${PAGES}/dataset`) await dataset(params);
    else if (path === `${PAGES}/lineage`) await lineage(params);
    else if (path === `${PAGES}/impact`) await impact(params);
    else if (path === `${PAGES}/job`) await job(params);
    else if (path.startsWith(`${PAGES}/runs/`)) await run(decodeURIComponent(path.slice(`${PAGES}/runs/`.length)));
    else show("Not found", h("p", {}, "No view at this address. "), link("/", "Home"));
  } catch (error) {
    show("Something went wrong", problem(error));
  }
  document.body.dataset.view = path;
}

export function navigate(href) {
  if (href !== location.pathname + location.search) history.pushState(null, "", href);
  render();
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download") || event.button !== 0 || event.metaKey || event.ctrlKey
    || event.shiftKey || event.altKey) return;
  const target = new URL(a.href, location.href);
  if (target.origin !== location.origin || !(target.pathname === "/" || target.pathname.startsWith(PAGES))) return;
  event.preventDefault();
  navigate(target.pathname + target.search);
});

document.getElementById("quick-search").addEventListener("submit", (event) => {
  event.preventDefault();
  navigate(url.search(document.getElementById("quick-q").value));
});

window.addEventListener("popstate", render);
render();
