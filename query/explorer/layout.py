"""The layout of a lineage graph for the explorer: pure, computed by the server, drawn by the browser.

Nodes are grouped (a field's group is its dataset; a table graph's node is its own group) and placed in layers
by their signed distance from the start: upstream to the left (-1, -2, ...), downstream to the right. Inside a
layer a group's nodes stay together, one box per group and layer. The order of the boxes, and of the nodes in a
box, is chosen to reduce edge crossings: barycenter sweeps (Sugiyama's heuristic) left to right and back, keeping
the order with the fewest crossings, counted exactly per pair of adjacent layers (O(E log E) each).

The answer is in pixels, so that every browser draws the same picture and a test can compare it with the API.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Geometry, in CSS pixels: a box is HEADER tall plus ROW per node; boxes of a layer are GAP_Y apart.
BOX_WIDTH = 200
LAYER_GAP = 90
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
    """Crossings of the edges between two adjacent layers in the given orders: with the edges sorted by their
    upper end, each one crosses the edges before it whose lower end lies strictly right of its own (Barth,
    Jünger, Mutzel 2002). The ends seen are kept sorted; bisect and insort run in C."""
    top = {n: i for i, n in enumerate(upper)}
    bottom = {n: i for i, n in enumerate(lower)}
    return _count(sorted((top[s], bottom[t]) for s, t in edges if s in top and t in bottom))


def _count(pairs: list[tuple[int, int]]) -> int:
    seen: list[int] = []
    count = 0
    for _, position in pairs:
        count += len(seen) - bisect_right(seen, position)
        insort(seen, position)
    return count


class _Orderer:
    """The node order of every layer, boxes kept together, improved by barycenter sweeps. Nodes are numbered
    once, so that the sweeps compare and look up integers."""

    def __init__(self, nodes: Sequence[Node], layers: dict[str, int], edges: list[tuple[str, str]]) -> None:
        self.ids = [n.id for n in nodes]
        number = {node: i for i, node in enumerate(self.ids)}
        groups: dict[str, int] = {}
        self.group = [groups.setdefault(n.group, len(groups)) for n in nodes]
        self.layer = [layers[node] for node in self.ids]
        self.layer_ids = sorted(set(self.layer))
        self.order: dict[int, list[int]] = {layer: [] for layer in self.layer_ids}
        for i, layer in enumerate(self.layer):  # first-found order to begin with, boxes together
            self.order[layer].append(i)
        self.position = [0] * len(self.ids)
        for layer in self.layer_ids:
            self._place(layer, self._boxed(self.order[layer], {i: float(k) for k, i in enumerate(self.order[layer])}))
        # Each node's neighbours in the layer to its left and to its right (edges that skip layers, or join
        # nodes of one layer, do not take part in the ordering).
        self.left: list[list[int]] = [[] for _ in self.ids]
        self.right: list[list[int]] = [[] for _ in self.ids]
        self.between: dict[int, list[tuple[int, int]]] = defaultdict(list)  # layer L -> edges from L to L+1
        for source, target in edges:
            s, t = number[source], number[target]
            ls, lt = self.layer[s], self.layer[t]
            if abs(ls - lt) == 1:
                low, high = (s, t) if ls < lt else (t, s)
                self.right[low].append(high)
                self.left[high].append(low)
                self.between[min(ls, lt)].append((low, high))

    def _place(self, layer: int, ordered: list[int]) -> None:
        self.order[layer] = ordered
        position = self.position
        for k, i in enumerate(ordered):
            position[i] = k

    def _boxed(self, ids: list[int], weight: dict[int, float]) -> list[int]:
        """`ids` sorted by weight, each group's nodes kept together at the mean weight of the group."""
        members: dict[int, list[int]] = defaultdict(list)
        for i in ids:
            members[self.group[i]].append(i)
        mean = {g: sum(weight[i] for i in m) / len(m) for g, m in members.items()}
        return [i for g in sorted(members, key=mean.__getitem__) for i in sorted(members[g], key=weight.__getitem__)]

    def crossings(self) -> int:
        position = self.position
        return sum(_count(sorted((position[s], position[t]) for s, t in edges)) for edges in self.between.values())

    def _sweep(self, layers: list[int], toward: list[list[int]]) -> None:
        """Reorder each of `layers` (in turn) by the mean position of its neighbours in `toward`."""
        at = self.position.__getitem__
        for layer in layers:
            weight: dict[int, float] = {}
            for k, i in enumerate(self.order[layer]):
                near = toward[i]
                weight[i] = sum(map(at, near)) / len(near) if near else float(k)
            self._place(layer, self._boxed(self.order[layer], weight))

    def run(self) -> int:
        best = {layer: list(ids) for layer, ids in self.order.items()}
        fewest = self.crossings()
        for _ in range(SWEEPS):
            if fewest == 0:
                break
            self._sweep(self.layer_ids[1:], self.left)
            self._sweep(self.layer_ids[-2::-1], self.right)
            count = self.crossings()
            if count >= fewest:
                break
            fewest, best = count, {layer: list(ids) for layer, ids in self.order.items()}
        for layer, ids in best.items():
            self._place(layer, ids)
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
        last = -1
        for i in orderer.order[layer]:
            if orderer.group[i] == last:
                runs[-1][1].append(orderer.ids[i])
            else:
                runs.append((nodes[i].group, [orderer.ids[i]]))
                last = orderer.group[i]
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
