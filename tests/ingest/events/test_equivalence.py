"""The answers of prepare() (and of the receiver's per-event check_event) pinned down: every sample of
../shared/events and thousands of mutations of each must give the rows, warnings and errors (paths, messages,
order) that the code gave when the golden file was written, so that a faster validator or mapping that
drifts from the full walker on any input is caught.

Cases: each sample event (each element of an array file; the whole file too), and each FACET__ fixture set in
an event built here, at its place. For every node of a case (every key and array item, at any depth) a
deterministic set of mutations: the node dropped or its key renamed, items added or repeated, and values of
the wrong type, empty, blank, long, placeholders, bad and naive times, non-UUIDs, nested garbage, chosen by a
generator seeded with the file and the node's path. Every case runs twice: lenient without a future bound,
and strict with a bound of zero seconds. The golden file holds, per case, one digest per node (all of its
mutations together), so it names no sample content.

    .venv/bin/python -m tests.ingest.events.test_equivalence   # rewrite the golden file (today's answers)
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.events import prepare
from ingest.http.event_limits import EventLimits, check_event
from query.errors import HttpError
from tests.conftest import event_files

GOLDEN = Path(__file__).with_name("equivalence_golden.json")
RECEIVED = "2026-01-01 00:00:00.000000"
LIMITS = EventLimits(max_datasets=3, max_fields=40)
UUID_UPPER = "3F5E83FA-3480-44FF-99C5-FF943904E5E8"
PICKED = 6  # value replacements tried per node, drawn from VALUES

Path_ = tuple[str | int, ...]
Mutation = Callable[[Any], Any]  # the node -> its replacement; DROP removes it

DROP = object()

# Replacement values: wrong types, empty and blank strings, long strings, template placeholders, bad, naive
# and far-future times, non-UUIDs, URNs, enum words, and nested garbage.
VALUES: dict[str, object] = {
    "null": None,
    "true": True,
    "zero": 0,
    "negative": -1,
    "fraction": 1.5,
    "whole-float": 3.0,
    "huge": 1e300,
    "empty": "",
    "blank": "  \t",
    "long": "x" * 4001,
    "long-65": "r" * 65,
    "placeholder": "{{ any(result) }}",
    "json-unit": "${json-unit.any-string}",
    "bad-time": "2024-02-30T00:00:00Z",
    "naive-time": "2024-01-01T00:00:00",
    "nano-time": "2024-01-01 10:00:00.123456789+01:00",
    "future-time": "9999-12-31T23:59:59Z",
    "not-uri": "not a uri",
    "token": "run_id",
    "urn": "urn:uuid:" + UUID_UPPER,
    "bad-token": "run id!",
    "enum-drop": "DROP",
    "enum-indirect": "INDIRECT",
    "state": "COMPLETE",
    "empty-list": [],
    "empty-object": {},
    "garbage-list": [None, 1, "a", {}, [], {"name": 1}],
    "garbage-object": {"a": {"b": [1, {"c": None}]}, "_deleted": False},
    "tombstone": {"_deleted": True},
    "named-blank": {"namespace": "", "name": " ", "field": 7},
    "deep-field": {"name": "n" * 3000, "fields": [{"name": "m" * 1500, "fields": [{"name": "ok"}]}]},
}


def _structural(node: object) -> Iterator[tuple[str, Mutation]]:
    yield "drop", lambda _: DROP
    if isinstance(node, dict):
        yield "add-tombstone", lambda value: {**value, "_deleted": True}
        yield "add-odd-key", lambda value: {**value, 'we"ird.key': {"x": [1]}, "p" * 600: {}}
        yield "nulls", lambda value: dict.fromkeys(value)
    if isinstance(node, list):
        yield "repeat-first", lambda value: value + value[:1]
        yield "reverse", lambda value: value[::-1]
    if isinstance(node, str):
        yield "upper", lambda value: value.upper()


def _renamed(key: str, new: str) -> Mutation:
    """A mutation of an object: its member `key` under the name `new`, in the same place."""
    return lambda value: {(new if name == key else name): item for name, item in value.items()}


def mutations(case: str, path: Path_, node: object) -> Iterator[tuple[Path_, str, Mutation]]:
    """(where, name, mutation) for one node: structural ones, renames of its key, PICKED seeded values."""
    for name, mutate in _structural(node):
        yield path, name, mutate
    if isinstance(path[-1], str):
        for name, new in (("rename-dotted", f"{path[-1]}.x y"), ("rename-long", "k" * 600)):
            yield path[:-1], name, _renamed(path[-1], new)
    rng = random.Random(f"{case}|{path!r}")
    for name in rng.sample(sorted(VALUES), PICKED):
        yield path, name, _fresh(VALUES[name])


def _fresh(value: object) -> Mutation:
    """A replacement by a new copy of value each time: no case shares a node with another."""
    text = orjson.dumps(value)
    return lambda _: orjson.loads(text)


def nodes(value: object, path: Path_ = ()) -> Iterator[tuple[Path_, object]]:
    """(path, node) for every node under value (every member and item, at any depth), depth first, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), item
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index), item
            yield from nodes(item, (*path, index))


def replaced(value: Any, path: Path_, mutate: Mutation) -> Any:
    """A copy of value with the node at path mutated (DROP: removed); only the spine is copied."""
    if not path:
        return mutate(value)
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    new = replaced(value[head], rest, mutate) if rest else mutate(value[head])
    if new is DROP:
        del copy[head]
    else:
        copy[head] = new
    return copy


def answer(value: object) -> bytes:
    """The canonical rendering of everything the server derives from one decoded value."""
    parts: list[object] = []
    payload = orjson.dumps(value).decode()
    try:
        check_event(value, LIMITS)
        parts.append("within limits")
    except HttpError as exc:
        parts.append([type(exc).__name__, exc.message])
    for strict, skew in ((False, None), (True, 0)):
        try:
            result: object = prepare(value, payload, strict=strict, received_at=RECEIVED, future_skew=skew)
            parts.append([type(result).__name__, result])
        except Exception as exc:  # a crash is an answer too: it must stay the same (or be fixed on purpose)
            parts.append(["raised", type(exc).__name__, str(exc)])
    return orjson.dumps(parts)


def case_values(path: Path) -> Iterator[tuple[str, object]]:
    """The cases of one sample file: the value itself, each element of an array, a FACET__ fixture in place."""
    value = orjson.loads(path.read_bytes())
    if path.name.startswith("FACET__"):
        yield path.name, _facet_event(value)
        return
    yield path.name, value
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield f"{path.name}[{index}]", element


def _facet_event(facets: dict[str, Any]) -> dict[str, Any]:
    """A facet fixture set where its facets sit: `parent` among the run's facets, others on an output."""
    run_facets = {k: v for k, v in facets.items() if k == "parent"}
    dataset_facets = {k: v for k, v in facets.items() if k != "parent"}
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-01-01T00:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8", "facets": run_facets},
        "job": {"namespace": "ns", "name": "job"},
        "inputs": [{"namespace": "ns", "name": "in"}],
        "outputs": [{"namespace": "ns", "name": "out", "facets": dataset_facets}],
    }


def digests(case: str, value: object) -> list[str]:
    """The case's own answer, then one digest per node over all of that node's mutations, in walk order."""
    out = [hashlib.sha256(answer(value)).hexdigest()[:16]]
    if isinstance(value, list):
        return out  # an array is refused whole; its elements are cases of their own
    for path, node in nodes(value):
        hasher = hashlib.sha256()
        for where, name, mutate in mutations(case, path, node):
            hasher.update(name.encode() + b"\0" + answer(replaced(value, where, mutate)) + b"\0")
        out.append(hasher.hexdigest()[:16])
    return out


def node_paths(value: object) -> list[str]:
    return ["(the case itself)"] + [".".join(map(str, path)) for path, _ in nodes(value)]


def all_digests() -> dict[str, list[str]]:
    return {case: digests(case, value) for path in event_files() for case, value in case_values(path)}


def _golden() -> dict[str, list[str]]:
    golden: dict[str, list[str]] = orjson.loads(GOLDEN.read_bytes())
    return golden


@pytest.mark.parametrize("path", event_files(), ids=lambda p: p.name)
def test_prepare_answers_as_when_the_golden_file_was_written(path: Path) -> None:
    golden = _golden()
    for case, value in case_values(path):
        assert case in golden, f"{case}: no golden digests (a new sample? rewrite the golden file on the old code)"
        got = digests(case, value)
        if got != golden[case]:
            paths = node_paths(value)
            wrong = [paths[i] for i, (a, b) in enumerate(zip(got, golden[case], strict=False)) if a != b]
            pytest.fail(f"{case}: {len(wrong)} of {len(got)} nodes answer differently, first: {wrong[:10]}")


def test_every_sample_has_its_golden_digests() -> None:
    files = event_files()
    cases = {case for path in files for case, _ in case_values(path)}
    assert cases == set(_golden()), "samples and golden file disagree: rewrite it on the old code"


if __name__ == "__main__":
    GOLDEN.write_bytes(orjson.dumps(all_digests(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
