"""Our answer against the seed's, for one start: which edges differ, and why.

Both answers are sets of (source field id, target field id) pairs; the reference's names are turned into
ids with schemas.rows.field_key. Depth means the same in both: the reference keeps a path of at most
maxDepth edges from the start (its anchor rows have depth 1 and it recurses while depth < maxDepth); ours
keeps every edge met while expanding a node first seen at depth < maxDepth, so an edge whose far end is at
most maxDepth edges away. Without the reference's path check the two are the same set.

An edge only we return is classified as:
- `substring`: the exact path check (the reference with its node searched between `->` delimiters) finds it:
  the seed's substring search refused it because a longer name on the path contains the node's name;
- `cap`: the path would exceed 10,000 characters (cannot happen at depth 5 with Teradata's 128-character
  names, see `longest_path`), kept as a class so that a longer depth or name would show;
- `cycle`: even the exact check refuses it: its far end is on every path to its near end (an edge closing a
  cycle, back to the start or to an ancestor). We return such edges by design; the seed never did;
- `other`: none of these: look at it, it may be our bug.
An edge only the reference returns is `ours_missing`: our bug, always.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.rows import field_key
from tests.bench.query_reference import PATH_CAP, Pair

IdPair = tuple[str, str]


def id_pairs(ns: str, pairs: Iterable[Pair]) -> set[IdPair]:
    return {(field_key(ns, sd, sf), field_key(ns, td, tf)) for sd, sf, td, tf in pairs}


def _distances(start: str, pairs: Iterable[IdPair], downstream: bool) -> dict[str, int]:
    adjacent: dict[str, list[str]] = {}
    for src, tgt in pairs:
        near, far = (src, tgt) if downstream else (tgt, src)
        adjacent.setdefault(near, []).append(far)
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for far in adjacent.get(node, ()):
            if far not in dist:
                dist[far] = dist[node] + 1
                queue.append(far)
    return dist


def closes_cycle(start: str, edge: IdPair, pairs: set[IdPair]) -> bool:
    """Whether the edge's far end is no farther from the start than its near end, in one of the two walks:
    the necessary condition for its far end to lie on the path to its near end."""
    src, tgt = edge
    down = _distances(start, pairs, downstream=True)
    if src in down and tgt in down and down[tgt] <= down[src]:
        return True
    up = _distances(start, pairs, downstream=False)
    return src in up and tgt in up and up[src] <= up[tgt]


def longest_path(longest_name: int, max_depth: int) -> int:
    """The longest path string the seed can build: max_depth + 1 nodes `dataset.field` joined by `->`."""
    return (max_depth + 1) * longest_name + max_depth * 2


@dataclass
class Comparison:
    starts: int = 0
    equal: int = 0
    truncated: int = 0  # our answer hit the node cap: not compared
    differing_starts: Counter[str] = field(default_factory=Counter)  # class -> starts with such an edge
    differing_edges: Counter[str] = field(default_factory=Counter)  # class -> edges
    examples: dict[str, tuple[str, IdPair]] = field(default_factory=dict)  # class -> (start id, edge)

    def add(self, start: str, classes: dict[IdPair, str]) -> None:
        self.starts += 1
        if not classes:
            self.equal += 1
            return
        for kind in set(classes.values()):
            self.differing_starts[kind] += 1
        for edge, kind in classes.items():
            self.differing_edges[kind] += 1
            self.examples.setdefault(kind, (start, edge))


def classify(
    start: str, ours: set[IdPair], seed: set[IdPair], exact: set[IdPair] | None, path_cap_reached: bool
) -> dict[IdPair, str]:
    """Each differing edge with its class; `exact` is the exact-check reference (None: answers are equal)."""
    classes: dict[IdPair, str] = {edge: "ours_missing" for edge in (seed | (exact or set())) - ours}
    for edge in ours - seed:
        if exact is not None and edge in exact:
            classes[edge] = "substring"
        elif path_cap_reached:
            classes[edge] = "cap"
        elif closes_cycle(start, edge, ours):
            classes[edge] = "cycle"
        else:
            classes[edge] = "other"
    return classes


__all__ = ["PATH_CAP", "Comparison", "classify", "closes_cycle", "id_pairs", "longest_path"]
