"""The explorer's layout: layers by signed distance, boxes kept together, fewer crossings, exact counts."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from query.explorer.layout import BOX_WIDTH, HEADER, LAYER_GAP, ROW, Node, _crossings, layers_of, layout


def nodes(*specs: str) -> list[Node]:
    """`group.name` specs as nodes whose id is the spec."""
    return [Node(spec, spec.split(".")[0], spec.split(".")[1]) for spec in specs]


def brute_crossings(upper: list[str], lower: list[str], edges: list[tuple[str, str]]) -> int:
    top = {n: i for i, n in enumerate(upper)}
    bottom = {n: i for i, n in enumerate(lower)}
    count = 0
    for (a, b), (c, d) in itertools.combinations(edges, 2):
        if (top[a] - top[c]) * (bottom[b] - bottom[d]) < 0:
            count += 1
    return count


def test_upstream_goes_left_and_downstream_right() -> None:
    graph = nodes("src.a", "mid.b", "start.c", "out.d", "out2.e")
    edges = [("src.a", "mid.b"), ("mid.b", "start.c"), ("start.c", "out.d"), ("out.d", "out2.e")]
    placed = layout(graph, edges, ["start.c"])
    assert placed.layers == {"src.a": -2, "mid.b": -1, "start.c": 0, "out.d": 1, "out2.e": 2}
    xs = [placed.positions[n][0] for n in ("src.a", "mid.b", "start.c", "out.d", "out2.e")]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert xs[1] - xs[0] == BOX_WIDTH + LAYER_GAP
    assert placed.width == 2 * 16 + 5 * BOX_WIDTH + 4 * LAYER_GAP


def test_a_node_met_both_ways_keeps_the_nearer_side() -> None:
    # a -> start -> b -> c -> a: a is 1 upstream and 3 downstream.
    graph = nodes("x.a", "x.start", "y.b", "y.c")
    edges = [("x.a", "x.start"), ("x.start", "y.b"), ("y.b", "y.c"), ("y.c", "x.a")]
    assert layers_of(graph, edges, ["x.start"]) == {"x.a": -1, "x.start": 0, "y.b": 1, "y.c": -2}


def test_unreached_nodes_sit_in_the_start_layer() -> None:
    graph = nodes("a.x", "b.y")
    assert layers_of(graph, [], ["a.x"]) == {"a.x": 0, "b.y": 0}


def test_a_datasets_fields_share_one_box_per_layer() -> None:
    graph = nodes("s.a", "s.b", "s.c", "t.x", "t.y", "u.z")
    edges = [("s.a", "t.x"), ("s.b", "t.y"), ("s.c", "t.x"), ("u.z", "t.y")]
    placed = layout(graph, edges, ["t.x", "t.y"])
    boxes = {(b.group, b.layer): b for b in placed.boxes}
    assert set(boxes) == {("s", -1), ("u", -1), ("t", 0)}
    assert sorted(boxes["s", -1].nodes) == ["s.a", "s.b", "s.c"]
    for box in placed.boxes:
        assert box.height == HEADER + ROW * len(box.nodes)
        for i, node in enumerate(box.nodes):
            assert placed.positions[node] == (box.x, box.y + HEADER + ROW * i)
    # Boxes of one layer never overlap.
    left = sorted((b for b in placed.boxes if b.layer == -1), key=lambda b: b.y)
    assert left[0].y + left[0].height < left[1].y


def test_the_sweeps_untangle_a_crossing_order() -> None:
    # Found order puts a1 over a2 and b2 over b1, while a1 -> b1 and a2 -> b2: one crossing, which the sweep
    # removes by ordering the right layer after the left.
    graph = [Node("a1", "a1", "a1"), Node("a2", "a2", "a2"), Node("b2", "b2", "b2"), Node("b1", "b1", "b1")]
    edges = [("a1", "b1"), ("a2", "b2")]
    placed = layout(graph, edges, ["a1", "a2"])
    assert placed.crossings == 0
    assert placed.positions["b1"][1] < placed.positions["b2"][1]


def test_a_large_graph_is_placed_with_fewer_crossings_than_found() -> None:
    rng = random.Random(7)
    graph = [Node(f"d{layer}_{i}.f", f"d{layer}_{i // 4}", "f") for layer in range(5) for i in range(40)]
    by_layer = [[n.id for n in graph[layer * 40 : (layer + 1) * 40]] for layer in range(5)]
    edges = [(rng.choice(by_layer[k]), rng.choice(by_layer[k + 1])) for k in range(4) for _ in range(80)]
    found_order = sum(brute_crossings(by_layer[k], by_layer[k + 1], [e for e in edges if e[0] in by_layer[k]])
                      for k in range(4))  # fmt: skip
    placed = layout(graph, edges, by_layer[0])
    assert placed.crossings < found_order
    assert set(placed.positions) == {n.id for n in graph}


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=20),
       st.randoms(use_true_random=False))  # fmt: skip
def test_the_crossing_count_is_exact(upper_size: int, lower_size: int, pairs: list[tuple[int, int]],
                                     rng: random.Random) -> None:  # fmt: skip
    upper = [f"u{i}" for i in range(upper_size)]
    lower = [f"l{i}" for i in range(lower_size)]
    rng.shuffle(upper)
    edges = [(f"u{a % upper_size}", f"l{b % lower_size}") for a, b in pairs]
    assert _crossings(upper, lower, edges) == brute_crossings(upper, lower, edges)


def test_an_empty_graph_has_an_empty_layout() -> None:
    placed = layout([], [], [])
    assert placed.boxes == [] and placed.positions == {}
