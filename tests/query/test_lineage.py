"""The traversal against networkx, an independent reference, on random graphs in a real SQLite store.

Graphs mix chains, fans, diamonds, cycles, self-loops and parallel edges (two transformations between the
same fields). For every start, direction and depth the node set and the edge set must equal networkx's:
upstream to depth d = nodes within reverse distance d, and every edge into a node at distance < d.
"""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query.lineage import Way, column_lineage
from schemas.rows import ColumnEdgeRow, EventKind, EventRow, EventRows, dataset_key, field_key, make_key
from schemas.sqlite.store import SqliteStore

NS = "teradata://td:1025"
T = "2024-01-01 00:00:00.000000"
KINDS = [("DIRECT", "IDENTITY"), ("DIRECT", "AGGREGATION"), ("INDIRECT", "JOIN"), ("INDIRECT", "FILTER")]


def field_name(i: int) -> tuple[str, str]:
    return (f"DB{i % 3}.T{i % 7}", f"col{i}")


def edge_row(src: int, tgt: int, kind: tuple[str, str]) -> ColumnEdgeRow:
    (sd, sf), (td, tf) = field_name(src), field_name(tgt)
    sid, tid = field_key(NS, sd, sf), field_key(NS, td, tf)
    return ColumnEdgeRow(
        make_key(sid, tid, *kind), None, NS, sd, sf, dataset_key(NS, sd), sid, NS, td, tf, dataset_key(NS, td), tid,
        kind[0], kind[1], None, kind[1] == "FILTER", None, T,
    )  # fmt: skip


def random_graph(seed: int, nodes: int) -> nx.MultiDiGraph:
    rng = random.Random(seed)
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(nodes))
    for _ in range(rng.randint(nodes // 2, nodes * 3)):
        shape = rng.random()
        a, b = rng.randrange(nodes), rng.randrange(nodes)
        if shape < 0.15:  # fan out
            for c in rng.sample(range(nodes), min(4, nodes)):
                graph.add_edge(a, c, kind=rng.choice(KINDS))
        elif shape < 0.25:  # diamond a -> {b, c} -> d
            c, d = rng.randrange(nodes), rng.randrange(nodes)
            for u, v in ((a, b), (a, c), (b, d), (c, d)):
                graph.add_edge(u, v, kind=rng.choice(KINDS))
        else:
            graph.add_edge(a, b, kind=rng.choice(KINDS))  # includes self-loops and back edges (cycles)
    return graph


def write(store: SqliteStore, graph: nx.MultiDiGraph) -> None:
    edges = {}
    for u, v, data in graph.edges(data=True):
        row = edge_row(u, v, data["kind"])
        edges[row.lineage_id] = row
    event = EventRow(make_key(str(len(edges))), EventKind.RUN, None, T, "test", None, None, None, None, "{}", T)
    store.write_batch([EventRows(event=event, column_edges=tuple(edges.values()))])


def fid(i: int) -> str:
    return field_key(NS, *field_name(i))


def reference(graph: nx.MultiDiGraph, start: int, way: Way, depth: int) -> tuple[set[str], set[tuple[str, str, str]]]:
    nodes: set[str] = {fid(start)}
    edges: set[tuple[str, str, str]] = set()
    for reverse in {Way.UPSTREAM: [True], Way.DOWNSTREAM: [False], Way.BOTH: [True, False]}[way]:
        view = graph.reverse(copy=False) if reverse else graph
        dist = nx.single_source_shortest_path_length(view, start, cutoff=depth)
        nodes.update(fid(n) for n in dist)
        for u, v, data in graph.edges(data=True):
            near = v if reverse else u
            if near in dist and dist[near] < depth:
                edges.add((fid(u), fid(v), data["kind"][1]))
    return nodes, edges


@pytest.fixture
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graphs")


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), size=st.integers(2, 40))
def test_traversal_equals_networkx(fresh: Path, seed: int, size: int) -> None:
    graph = random_graph(seed, size)
    store = SqliteStore(fresh / f"g{seed}_{size}.db")
    try:
        store.create_schema()
        write(store, graph)
        rng = random.Random(seed)
        for start in rng.sample(range(size), min(4, size)):
            for way in Way:
                for depth in (1, 2, 3, 6):
                    found = column_lineage(store, [fid(start)], way, depth, 100_000)
                    expected_nodes, expected_edges = reference(graph, start, way, depth)
                    got_edges = [
                        (p.source_field_id, p.target_field_id, e.transformation_subtype)
                        for p in found.pairs
                        for e in p.edges
                    ]
                    assert len(got_edges) == len(set(got_edges)), "an edge was returned twice"
                    assert set(got_edges) == expected_edges
                    pairs = [(p.source_field_id, p.target_field_id) for p in found.pairs]
                    assert len(pairs) == len(set(pairs)), "a field pair was returned twice"
                    got_nodes = {n.field_id for n in found.nodes} | {fid(start)}
                    assert got_nodes == expected_nodes
                    assert not found.truncated
    finally:
        store.close()


def test_node_cap_answers_truncated(store: SqliteStore) -> None:
    chain = nx.MultiDiGraph()
    for i in range(50):
        chain.add_edge(i, i + 1, kind=KINDS[0])
    write(store, chain)
    found = column_lineage(store, [fid(0)], Way.DOWNSTREAM, 20, 10)
    assert found.truncated
    assert len({n.field_id for n in found.nodes} | {fid(0)}) == 10
    known = {n.field_id for n in found.nodes}
    assert all(p.source_field_id in known and p.target_field_id in known for p in found.pairs)


def test_one_store_call_per_level(store: SqliteStore) -> None:
    fan = nx.MultiDiGraph()
    for i in range(1, 1200):  # wider than one IN-list chunk
        fan.add_edge(0, i, kind=KINDS[0])
        fan.add_edge(i, 5000 + i % 7, kind=KINDS[1])
    write(store, fan)
    calls: list[int] = []
    original = store.column_edges

    def counting(ids: list[str], direction: object) -> object:
        calls.append(len(ids))
        return original(ids, direction)  # type: ignore[arg-type]

    store.column_edges = counting  # type: ignore[method-assign,assignment]
    found = column_lineage(store, [fid(0)], Way.DOWNSTREAM, 3, 100_000)
    assert calls == [1, 1199, 7]
    assert len(found.pairs) == 1199 * 2
