"""The layout of a lineage graph for the explorer: pure, computed by the server, drawn by the browser.

Nodes are grouped (a field's group is its dataset; a table graph's node is its own group) and placed in layers
by their signed distance from the start: upstream to the left (-1, -2, ...), downstream to the right. Inside a
layer a group's nodes stay together, one box per group and layer. The order of the boxes, and of the nodes in a
box, is chosen to reduce edge crossings: barycenter sweeps (Sugiyama's heuristic) left to right and back, keeping
the order with the fewest crossings counted exactly (a Fenwick tree per pair of adjacent layers, O(E log V)).

The answer is in pixels, so that every browser draws the same picture and a test can compare it with the API.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Geometry, in CSS pixels: a box is HEADER tall plus ROW per node; boxes of a layer are GAP_Y apart.
BOX_WIDTH = 240
LAYER_GAP = 120
HEADER = 28
ROW = 22
GAP_Y = 18
MARGIN = 16
SWEEPS = 8  # pairs of sweeps at most; the order stops improving well before on real graphs


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    group: str  # the box it is drawn in: its dataset
    label: str


@dataclass(frozen=True, slots=True)
class Box:
    group: str
    layer: int
    x: int
    y: int
    width: int
    height: int
    nodes: tuple[str, ...]  # top to bottom


@dataclass(frozen=True, slots=True)
class Layout:
    positions: dict[str, tuple[int, int]]  # node id -> (x, y) of its row's top left corner
    layers: dict[str, int]  # node id -> signed distance from the start
    boxes: list[Box]
    width: int
    height: int
    crossings: int  # edge crossings between adjacent layers in the order chosen


def layers_of(nodes: Sequence[Node], edges: Iterable[tuple[str, str]], starts: Iterable[str]) -> dict[str, int]:
    """Signed distance from the starts: a breadth-first walk against the edges gives -1, -2, ... (upstream), one
    along them +1, +2, ... (downstream). A node met both ways keeps the nearer (upstream on a tie); a node no walk
    reaches (a graph of several parts) goes to layer 0."""
    ids = {n.id for n in nodes}
    into: dict[str, list[str]] = defaultdict(list)
    out: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        if source in ids and target in ids:
            out[source].append(target)
            into[target].append(source)
    start_ids = [s for s in starts if s in ids]
    found: dict[str, int] = dict.fromkeys(start_ids, 0)
    for step, neighbours in ((-1, into), (1, out)):
        distance = dict.fromkeys(start_ids, 0)
        queue = deque(start_ids)
        while queue:
            node = queue.popleft()
            for far in neighbours[node]:
                if far not in distance:
                    distance[far] = distance[node] + step
                    queue.append(far)
        for node, layer in distance.items():
            if node not in found or abs(layer) < abs(found[node]):
                found[node] = layer
    return {n.id: found.get(n.id, 0) for n in nodes}


def _crossings(upper: list[str], lower: list[str], edges: list[tuple[str, str]]) -> int:
    """Crossings of the edges between two adjacent layers in the given orders (Barth, Jünger, Mutzel 2002)."""
    top = {n: i for i, n in enumerate(upper)}
    bottom = {n: i for i, n in enumerate(lower)}
    pairs = sorted((top[s], bottom[t]) for s, t in edges if s in top and t in bottom)
    size = len(lower) + 1
    tree = [0] * (size + 1)
    count = 0
    for seen, (_, position) in enumerate(pairs):
        # Edges seen so far ending strictly right of `position` cross this one.
        total, index = 0, position + 1
        while index > 0:
            total += tree[index]
            index -= index & -index
        count += seen - total
        index = position + 1
        while index <= size:
            tree[index] += 1
            index += index & -index
    return count


class _Orderer:
    """The node order of every layer, boxes kept together, improved by barycenter sweeps."""

    def __init__(self, nodes: Sequence[Node], layers: dict[str, int], edges: list[tuple[str, str]]) -> None:
        self.group = {n.id: n.group for n in nodes}
        self.layer_ids = sorted(set(layers.values()))
        self.order: dict[int, list[str]] = {layer: [] for layer in self.layer_ids}
        for n in nodes:  # first-found order to begin with, boxes together
            self.order[layers[n.id]].append(n.id)
        for layer in self.layer_ids:
            self.order[layer] = self._boxed(self.order[layer], {n: float(i) for i, n in enumerate(self.order[layer])})
        self.neighbours: dict[str, list[str]] = defaultdict(list)
        self.between: dict[int, list[tuple[str, str]]] = defaultdict(list)  # layer L -> edges from L to L+1
        for source, target in edges:
            ls, lt = layers[source], layers[target]
            if abs(ls - lt) == 1:
                self.neighbours[source].append(target)
                self.neighbours[target].append(source)
                self.between[min(ls, lt)].append((source, target) if ls < lt else (target, source))

    def _boxed(self, ids: list[str], weight: dict[str, float]) -> list[str]:
        """`ids` sorted by weight, each group's nodes kept together at the mean weight of the group."""
        members: dict[str, list[str]] = defaultdict(list)
        for n in ids:
            members[self.group[n]].append(n)
        groups = sorted(members, key=lambda g: sum(weight[n] for n in members[g]) / len(members[g]))
        return [n for g in groups for n in sorted(members[g], key=lambda n: weight[n])]

    def crossings(self) -> int:
        return sum(
            _crossings(self.order[layer], self.order[layer + 1], self.between[layer])
            for layer in self.layer_ids
            if layer + 1 in self.order
        )

    def _sweep(self, layers: list[int], reference: int) -> None:
        for layer in layers:
            fixed = self.order.get(layer + reference)
            if not fixed:
                continue
            position = {n: i for i, n in enumerate(fixed)}
            current = self.order[layer]
            weight: dict[str, float] = {}
            for i, n in enumerate(current):
                near = [position[m] for m in self.neighbours[n] if m in position]
                weight[n] = sum(near) / len(near) if near else float(i)
            self.order[layer] = self._boxed(current, weight)

    def run(self) -> int:
        best = {layer: list(ids) for layer, ids in self.order.items()}
        fewest = self.crossings()
        for _ in range(SWEEPS):
            if fewest == 0:
                break
            self._sweep(self.layer_ids[1:], -1)
            self._sweep(self.layer_ids[-2::-1], 1)
            count = self.crossings()
            if count >= fewest:
                break
            fewest, best = count, {layer: list(ids) for layer, ids in self.order.items()}
        self.order = best
        return fewest


def layout(nodes: Sequence[Node], edges: Sequence[tuple[str, str]], starts: Iterable[str]) -> Layout:
    """Place `nodes` (edges between them by id; `starts` the nodes the lineage was asked for)."""
    if not nodes:
        return Layout({}, {}, [], 2 * MARGIN, 2 * MARGIN, 0)
    layers = layers_of(nodes, edges, starts)
    orderer = _Orderer(nodes, layers, [(s, t) for s, t in edges if s in layers and t in layers])
    crossings = orderer.run()
    first = orderer.layer_ids[0]
    heights: dict[int, int] = {}
    columns: dict[int, list[tuple[str, list[str]]]] = {}
    for layer in orderer.layer_ids:
        runs: list[tuple[str, list[str]]] = []
        for n in orderer.order[layer]:
            if runs and runs[-1][0] == orderer.group[n]:
                runs[-1][1].append(n)
            else:
                runs.append((orderer.group[n], [n]))
        columns[layer] = runs
        heights[layer] = sum(HEADER + ROW * len(ids) for _, ids in runs) + GAP_Y * (len(runs) - 1)
    tallest = max(heights.values())
    positions: dict[str, tuple[int, int]] = {}
    boxes: list[Box] = []
    for layer, runs in columns.items():
        x = MARGIN + (layer - first) * (BOX_WIDTH + LAYER_GAP)
        y = MARGIN + (tallest - heights[layer]) // 2  # each layer centred on the tallest
        for group, ids in runs:
            height = HEADER + ROW * len(ids)
            boxes.append(Box(group, layer, x, y, BOX_WIDTH, height, tuple(ids)))
            for i, n in enumerate(ids):
                positions[n] = (x, y + HEADER + ROW * i)
            y += height + GAP_Y
    count = orderer.layer_ids[-1] - first + 1
    width = 2 * MARGIN + count * BOX_WIDTH + (count - 1) * LAYER_GAP
    return Layout(positions, layers, boxes, width, tallest + 2 * MARGIN, crossings)
