// Drawing a laid-out lineage graph as SVG. The server placed every node (query/explorer/layout.py); this
// module draws boxes, rows and edges, animates nodes from where they were, highlights the path from a node to
// the start, and exports the picture (SVG, PNG) and the edges (CSV).

import { csv, download, s } from "./dom.js";

const CURVE = 60;

function edgeClass(edge) {
  const type = (edge.transformationType || "unknown").toLowerCase();
  const subtypes = (edge.transformations || []).map((t) => (t.subtype || "").toLowerCase()).filter(Boolean);
  const masked = (edge.transformations || []).some((t) => t.masking);
  return ["edge", `type-${type}`, ...subtypes.map((st) => `subtype-${st}`), masked ? "masked" : ""]
    .filter(Boolean)
    .join(" ");
}

export function edgeTitle(edge) {
  const lines = (edge.transformations && edge.transformations.length ? edge.transformations : [{}]).map((t) => {
    const kind = [t.type || edge.transformationType || "unknown", t.subtype].filter(Boolean).join(" / ");
    return [kind, t.description, t.masking ? "masked" : ""].filter(Boolean).join(": ");
  });
  if (edge.confidenceScore !== null && edge.confidenceScore !== undefined) {
    lines.push(`confidence ${Number(edge.confidenceScore).toFixed(2)}`);
  }
  return `${edge.source} → ${edge.target}\n${lines.join("\n")}`;
}

function path(from, to, layout) {
  const x1 = from.x + layout.boxWidth;
  const y1 = from.y + layout.row / 2;
  const x2 = to.x;
  const y2 = to.y + layout.row / 2;
  const bend = Math.max(CURVE, Math.abs(x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
}

// The edges on some path between `node` and the start, following edge direction toward the start.
function pathToStart(node, start, edges) {
  const forward = new Map();
  const backward = new Map();
  for (const e of edges) {
    if (!forward.has(e.from)) forward.set(e.from, []);
    if (!backward.has(e.to)) backward.set(e.to, []);
    forward.get(e.from).push(e);
    backward.get(e.to).push(e);
  }
  const reach = (origin, step, far) => {
    const seen = new Set([origin]);
    const queue = [origin];
    while (queue.length) {
      for (const e of step.get(queue.shift()) || []) {
        if (!seen.has(e[far])) {
          seen.add(e[far]);
          queue.push(e[far]);
        }
      }
    }
    return seen;
  };
  const found = new Set();
  for (const [from, to] of [[node, start], [start, node]]) {
    const fromSide = reach(from, forward, "to");
    if (!fromSide.has(to)) continue;
    const toSide = reach(to, backward, "from");
    for (const e of edges) if (fromSide.has(e.from) && toSide.has(e.to)) found.add(e);
  }
  return found;
}

// Draws `graph` ({nodes, edges} with ids `key(node)`, ends `ends(edge)`) at `layout` into `svg`.
// options: start (node key), label(node), boxLabel(box), onPick(node), previous (positions drawn before).
export function draw(svg, graph, layout, options) {
  const { key, ends, label, onPick, start } = options;
  svg.replaceChildren();
  svg.setAttribute("width", layout.width);
  svg.setAttribute("height", layout.height);
  svg.setAttribute("viewBox", `0 0 ${layout.width} ${layout.height}`);
  const byKey = new Map(graph.nodes.map((n) => [key(n), n]));
  const edgeLayer = s("g", { class: "edges" });
  const boxLayer = s("g", { class: "boxes" });
  svg.append(s("title", {}, options.title || "lineage graph"), edgeLayer, boxLayer);

  const drawn = [];
  for (const edge of graph.edges) {
    const [from, to] = ends(edge);
    const a = layout.nodes[from];
    const b = layout.nodes[to];
    if (!a || !b) continue;
    const element = s("path", {
      class: edgeClass(edge),
      d: path(a, b, layout),
      "data-source": from,
      "data-target": to,
      "data-type": edge.transformationType || "",
    }, s("title", {}, options.edgeTitle ? options.edgeTitle(edge) : edgeTitle(edge)));
    edgeLayer.append(element);
    drawn.push({ from, to, element });
    if (edge.confidenceScore !== null && edge.confidenceScore !== undefined) {
      const mx = (a.x + layout.boxWidth + b.x) / 2;
      const my = (a.y + b.y + layout.row) / 2;
      edgeLayer.append(s("text", { class: "confidence", x: mx, y: my - 3, "text-anchor": "middle" },
        Number(edge.confidenceScore).toFixed(2)));
    }
  }

  const rows = new Map();
  for (const box of layout.boxes) {
    const group = s("g", { class: "box", "data-group": box.group });
    group.append(
      s("rect", { class: "box-back", x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }),
      s("text", { class: "box-label", x: box.x + 10, y: box.y + layout.header - 9 },
        clip(options.boxLabel ? options.boxLabel(box) : box.label, 23)),
    );
    for (const id of box.nodes) {
      const node = byKey.get(id);
      const at = layout.nodes[id];
      if (!node || !at) continue;
      const name = label(node);
      const full = options.nodeName ? options.nodeName(node) : name;
      const row = s("g", {
        class: `node${id === start ? " start" : ""}`,
        "data-id": id,
        tabindex: 0,
        role: "button",
        "aria-label": full,
      },
      s("rect", { x: at.x + 1, y: at.y, width: box.width - 2, height: layout.row }),
      s("text", { x: at.x + 12, y: at.y + layout.row - 7 }, clip(name, 27)),
      name.length > 27 || full !== name ? s("title", {}, full) : null);
      group.append(row);
      rows.set(id, row);
    }
    // The frame over the rows, so that their fill never hides it.
    group.append(s("rect", { class: "box-frame", x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }));
    boxLayer.append(group);
  }
  listen(svg, { byKey, drawn, start, onPick });
  animateFrom(options.previous, layout, rows, edgeLayer);
  return { positions: layout.nodes, rows, edges: drawn };
}

// One listener of each kind for the whole drawing (a large graph has thousands of rows): a click or Enter picks
// a node; hovering or focusing one highlights its path to the start.
function listen(svg, { byKey, drawn, start, onPick }) {
  const rowOf = (event) => event.target.closest?.(".node");
  const highlight = (row, on) => {
    for (const e of pathToStart(row.dataset.id, start, drawn)) e.element.classList.toggle("on-path", on);
    row.classList.toggle("hover", on);
  };
  const pick = (row) => onPick && onPick(byKey.get(row.dataset.id));
  // Every view draws into an svg of its own, so these listeners are added once per element.
  svg.addEventListener("click", (event) => {
    const row = rowOf(event);
    if (row) pick(row);
  });
  svg.addEventListener("keydown", (event) => {
    const row = rowOf(event);
    if (row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      pick(row);
    }
  });
  for (const [on, off] of [["mouseover", "mouseout"], ["focusin", "focusout"]]) {
    svg.addEventListener(on, (event) => {
      const row = rowOf(event);
      if (row && !row.contains(event.relatedTarget)) highlight(row, true);
    });
    svg.addEventListener(off, (event) => {
      const row = rowOf(event);
      if (row && !row.contains(event.relatedTarget)) highlight(row, false);
    });
  }
}

function clip(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// Nodes already on screen glide from their old place; the rest, and the edges, fade in.
function animateFrom(previous, layout, rows, edgeLayer) {
  if (!previous || window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
  for (const [id, row] of rows) {
    const before = previous[id];
    const now = layout.nodes[id];
    if (before) {
      const dx = before.x - now.x;
      const dy = before.y - now.y;
      if (dx || dy) {
        row.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "translate(0, 0)" }],
          { duration: 450, easing: "ease-out" });
      }
    } else {
      row.animate([{ opacity: 0 }, { opacity: 1 }], { duration: 450 });
    }
  }
  edgeLayer.animate([{ opacity: 0 }, { opacity: 1 }], { duration: 450 });
}

// --- export ------------------------------------------------------------------------------------------------

let styleText = null;

async function standalone(svg) {
  if (styleText === null) {
    const response = await fetch("/explorer/static/style.css");
    styleText = response.ok ? await response.text() : "";
  }
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("class", "lineage-graph export");
  copy.insertBefore(s("style", {}, styleText), copy.firstChild);
  copy.insertBefore(s("rect", { x: 0, y: 0, width: "100%", height: "100%", fill: "#ffffff" }), copy.children[1]);
  return new XMLSerializer().serializeToString(copy);
}

export async function exportSvg(svg, name) {
  download(`${name}.svg`, "image/svg+xml", await standalone(svg));
}

export async function exportPng(svg, name) {
  const text = await standalone(svg);
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Number(svg.getAttribute("width"));
    canvas.height = Number(svg.getAttribute("height"));
    canvas.getContext("2d").drawImage(image, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    download(`${name}.png`, "image/png", blob);
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function edgesCsv(graph) {
  const byId = new Map(graph.nodes.map((n) => [n.fieldId, n]));
  const rows = [["source_namespace", "source_dataset", "source_field", "target_namespace", "target_dataset",
    "target_field", "transformation_type", "transformation_subtype", "description", "masking", "confidence"]];
  for (const edge of graph.edges) {
    const from = byId.get(edge.sourceFieldId);
    const to = byId.get(edge.targetFieldId);
    for (const t of edge.transformations && edge.transformations.length ? edge.transformations : [{}]) {
      rows.push([from?.dataset.namespace, from?.dataset.name, from?.name, to?.dataset.namespace, to?.dataset.name,
        to?.name, t.type ?? edge.transformationType, t.subtype, t.description, t.masking ? "Y" : "N",
        edge.confidenceScore]);
    }
  }
  return csv(rows);
}
