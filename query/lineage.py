"""Lineage traversal: an exact breadth-first search over the store, one store call per level.

A walk keeps a visited set (node -> depth of its first sighting), so cycles and diamonds end and never
multiply rows. Level k asks the store for every edge touching the frontier (the nodes first seen at level
k-1) in one call, whose IN lists the store chunks. The edges of the result are every edge met while
expanding a node at depth < maxDepth: for UPSTREAM the edges into such a node, for DOWNSTREAM the edges out
of it; BOTH is the union of the two walks (not an undirected walk, which would pull in siblings).

A node cap bounds the work: once `max_nodes` nodes are known, new nodes are dropped with their edges and the
result says `truncated`.

Three graphs are walked: fields (OL_COLUMN_LINEAGE), datasets (column edges grouped by dataset pair, plus
OL_COLUMN_LINEAGE_DATASET and runs' inputs -> outputs), and Marquez's dataset/job graph (runs' inputs and
outputs). Everything here is synchronous: handlers run a whole walk in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from operator import attrgetter
from typing import Generic, NamedTuple, TypeVar

from schemas.store import ColumnEdge, DatasetLink, Direction, JobLink, Store

E = TypeVar("E")


class Way(StrEnum):
    """Which edges a lineage request follows from its start."""

    UPSTREAM = "upstream"  # toward the sources of the start
    DOWNSTREAM = "downstream"  # toward what is computed from the start
    BOTH = "both"  # the union of the two

    @property
    def directions(self) -> tuple[Direction, ...]:
        if self is Way.UPSTREAM:
            return (Direction.UPSTREAM,)
        if self is Way.DOWNSTREAM:
            return (Direction.DOWNSTREAM,)
        return (Direction.UPSTREAM, Direction.DOWNSTREAM)


@dataclass(slots=True)
class Walk(Generic[E]):
    """What a traversal found: nodes with the depth they were first met at, edges once each, in found order."""

    depths: dict[str, int] = field(default_factory=dict)
    edges: dict[Hashable, E] = field(default_factory=dict)
    truncated: bool = False

    def merge(self, other: Walk[E]) -> None:
        """Take in a walk that filled this walk's own `edges` (walk(..., edges=self.edges)): its nodes and flag."""
        for node, level in other.depths.items():
            if level < self.depths.get(node, level + 1):
                self.depths[node] = level
        self.truncated = self.truncated or other.truncated


@dataclass(frozen=True, slots=True)
class Steps(Generic[E]):
    """How to walk one direction of one graph: fetch the edges of a frontier, and read an edge's far end."""

    fetch: Callable[[list[str]], Sequence[E]]  # one store call for the whole frontier
    far: Callable[[E], str]  # the end the edge leads to (the other is in the frontier)
    key: Callable[[E], Hashable]  # the edge's identity: the same edge met twice is kept once


def walk(
    starts: Iterable[str], max_depth: int, steps: Steps[E], max_nodes: int, edges: dict[Hashable, E] | None = None
) -> Walk[E]:
    """Breadth-first from `starts` to `max_depth` levels; at most `max_nodes` nodes (starts included). The edges
    found are added to `edges` when given (so that the walks of several directions share one dict)."""
    # Locals, not attribute look-ups, in the loop: a large answer runs it for tens of thousands of edges.
    depths = {node: 0 for node in starts}
    edges = {} if edges is None else edges
    truncated = False
    fetch, far_of, key_of = steps.fetch, steps.far, steps.key
    frontier = list(depths)
    for level in range(1, max_depth + 1):
        if not frontier:
            break
        next_frontier: list[str] = []
        for edge in fetch(frontier):
            far = far_of(edge)
            if far not in depths:
                if len(depths) >= max_nodes:
                    truncated = True
                    continue
                depths[far] = level
                next_frontier.append(far)
            edges.setdefault(key_of(edge), edge)
        frontier = next_frontier
    return Walk(depths, edges, truncated)


def walk_ways(
    starts: Sequence[str], way: Way, max_depth: int, max_nodes: int, steps: Callable[[Direction], Steps[E]]
) -> Walk[E]:
    """One walk per direction of `way`, merged; the cap holds for the union."""
    result: Walk[E] = Walk(depths={node: 0 for node in starts})
    for direction in way.directions:
        budget = max(max_nodes - len(result.depths) + len(starts), len(starts))
        result.merge(walk(starts, max_depth, steps(direction), budget, result.edges))
    return result


# --- the field graph ----------------------------------------------------------------------------------------


# attrgetter, not a lambda: it runs in C, twice per edge met.
_SOURCE_FIELD: Callable[[ColumnEdge], str] = attrgetter("source_field_id")
_TARGET_FIELD: Callable[[ColumnEdge], str] = attrgetter("target_field_id")
_LINEAGE_ID: Callable[[ColumnEdge], Hashable] = attrgetter("lineage_id")


def field_steps(store: Store, direction: Direction) -> Steps[ColumnEdge]:
    far = _SOURCE_FIELD if direction is Direction.UPSTREAM else _TARGET_FIELD
    return Steps(lambda ids: store.column_edges(ids, direction), far, _LINEAGE_ID)


def column_lineage(store: Store, field_ids: Sequence[str], way: Way, max_depth: int, max_nodes: int) -> FieldGraph:
    """The column-level lineage of the fields (their ids: schemas.rows.field_key)."""
    found = walk_ways(field_ids, way, max_depth, max_nodes, lambda d: field_steps(store, d))
    return FieldGraph.of(found)


@dataclass(frozen=True, slots=True)
class Transformation:
    type: str | None  # DIRECT, INDIRECT or unknown
    subtype: str | None
    description: str | None
    masking: bool
    confidence_score: float | None


class FieldPair(NamedTuple):
    """All edges between one source field and one target field: one per transformation. NamedTuples here and
    in FieldNode: a large answer builds thousands of each."""

    source_field_id: str
    target_field_id: str
    edges: tuple[ColumnEdge, ...]

    @property
    def first(self) -> ColumnEdge:
        return self.edges[0]

    @property
    def transformations(self) -> list[Transformation]:
        return [
            Transformation(
                e.transformation_type,
                e.transformation_subtype,
                e.transformation_description,
                e.masked,
                None if e.confidence_score is None else float(e.confidence_score),
            )
            for e in self.edges
        ]


class FieldNode(NamedTuple):
    field_id: str
    dataset_id: str
    namespace: str
    dataset: str
    field: str
    depth: int


@dataclass(frozen=True, slots=True)
class FieldGraph:
    nodes: list[FieldNode]  # in the order found; a start without edges is still a node (its names unknown here)
    pairs: list[FieldPair]
    truncated: bool

    @staticmethod
    def of(found: Walk[ColumnEdge]) -> FieldGraph:
        touching: dict[str, ColumnEdge] = {}  # field id -> an edge at that field: it carries the field's names
        grouped: dict[tuple[str, str], list[ColumnEdge]] = {}
        for e in found.edges.values():
            source, target = e.source_field_id, e.target_field_id
            touching[source] = touching[target] = e
            same = grouped.get((source, target))
            if same is None:
                grouped[source, target] = [e]
            else:
                same.append(e)
        nodes = [_field_node(fid, touching[fid], depth) for fid, depth in found.depths.items() if fid in touching]
        pairs = [_new_pair((source, target, tuple(edges))) for (source, target), edges in grouped.items()]
        return FieldGraph(nodes, pairs, found.truncated)


def _field_node(field_id: str, e: ColumnEdge, depth: int) -> FieldNode:
    if e.source_field_id == field_id:
        return _new_node((field_id, e.source_dataset_id, e.source_namespace, e.source_dataset, e.source_field, depth))
    return _new_node((field_id, e.target_dataset_id, e.target_namespace, e.target_dataset, e.target_field, depth))


# A large answer builds thousands of nodes and pairs: casting the tuple with tuple.__new__ skips the NamedTuple's
# Python-level __new__, which showed in the query benchmark; the field order is the class's.
_new_node: Callable[[tuple[str, str, str, str, str, int]], FieldNode] = partial(tuple.__new__, FieldNode)
_new_pair: Callable[[tuple[str, str, tuple[ColumnEdge, ...]]], FieldPair] = partial(tuple.__new__, FieldPair)


# --- the dataset graph --------------------------------------------------------------------------------------


def _link_key(link: DatasetLink) -> Hashable:
    return (
        link.source_dataset_id,
        link.target_dataset_id,
        link.kind,
        link.transformation_type,
        link.transformation_subtype,
        link.job_id,
    )


def dataset_steps(store: Store, direction: Direction) -> Steps[DatasetLink]:
    far: Callable[[DatasetLink], str] = attrgetter(
        "source_dataset_id" if direction is Direction.UPSTREAM else "target_dataset_id"
    )
    return Steps(lambda ids: store.dataset_links(ids, direction), far, _link_key)


def table_lineage(
    store: Store, dataset_ids: Sequence[str], way: Way, max_depth: int, max_nodes: int
) -> Walk[DatasetLink]:
    """Dataset-level lineage: column edges, dataset-level edges and run inputs -> outputs, joined."""
    return walk_ways(dataset_ids, way, max_depth, max_nodes, lambda d: dataset_steps(store, d))


# --- Marquez's dataset/job graph ----------------------------------------------------------------------------

DATASET_NODE = "dataset:"
JOB_NODE = "job:"


@dataclass(frozen=True, slots=True)
class IoStep:
    """A run input or output met from one of its ends (`near`: `dataset:<id>` or `job:<id>`)."""

    near: str
    link: JobLink

    @property
    def far(self) -> str:
        if self.near.startswith(DATASET_NODE):
            return JOB_NODE + self.link.job_id
        return DATASET_NODE + self.link.dataset_id

    @property
    def key(self) -> Hashable:
        return (self.link.job_id, self.link.dataset_id, self.link.role)


def _io_fetch(store: Store) -> Callable[[list[str]], Sequence[IoStep]]:
    def fetch(keys: list[str]) -> list[IoStep]:
        datasets = [k.removeprefix(DATASET_NODE) for k in keys if k.startswith(DATASET_NODE)]
        jobs = [k.removeprefix(JOB_NODE) for k in keys if k.startswith(JOB_NODE)]
        steps: list[IoStep] = []
        if datasets:
            steps.extend(IoStep(DATASET_NODE + link.dataset_id, link) for link in store.job_links(datasets))
        if jobs:
            steps.extend(IoStep(JOB_NODE + link.job_id, link) for link in store.job_links(jobs, of_jobs=True))
        return steps

    return fetch


def job_graph(store: Store, start: str, depth: int, max_nodes: int) -> Walk[IoStep]:
    """Marquez's lineage: datasets and jobs connected by runs' inputs and outputs, both ways, `depth` job hops
    (each hop is dataset -> job -> dataset: two levels). `start` is `dataset:<id>` or `job:<id>`."""
    steps: Steps[IoStep] = Steps(_io_fetch(store), lambda s: s.far, lambda s: s.key)
    return walk([start], 2 * depth, steps, max_nodes)
