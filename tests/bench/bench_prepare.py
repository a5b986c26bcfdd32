"""CPU per event of what the receiver does to a decoded body before the writer sees it: decode, check_event
(ingest.http.event_limits), element_texts (a batch's archived texts) and prepare (validate + map).

    .venv/bin/python -m pytest tests/bench/bench_prepare.py -p no:cacheprovider -s

One process, no HTTP, no store. The mix is the complete samples of ../shared/events made new
(tests/bench/bodies.py): BENCH_PREPARE_EVENTS single-event bodies, and the same number of events as batches of
100. Each step is timed on its own over all the events with time.process_time, BENCH_ROUNDS times; the median
per event is printed and written to tests/bench/results/prepare.json. A benchmark, not a test: it fails only
when something breaks (an event of the mix refused), never on timing.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import orjson
import pytest

from ingest.events import Accepted, prepare
from ingest.events.json_array import element_texts
from ingest.http.event_limits import EventLimits, check_event
from ingest.settings import HttpSettings
from tests.bench.bodies import load_templates, make_batches, make_bodies
from tests.conftest import complete_event_files

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
EVENTS = int(os.environ.get("BENCH_PREPARE_EVENTS", "3000"))
BATCH = 100
RECEIVED = "2024-01-01 00:00:00.000000"
_T = TypeVar("_T")
RESULTS = Path(__file__).resolve().parent / "results" / "prepare.json"


def cpu_us(work: Callable[[], object], events: int) -> float:
    """The median over ROUNDS of work's CPU time, in microseconds per event."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.process_time()
        work()
        rounds.append((time.process_time() - start) / events * 1e6)
    return statistics.median(rounds)


def decoded(bodies: list[bytes]) -> None:
    """Each body decoded and dropped, as the receiver holds one request's at a time: keeping thousands alive
    would time the garbage collector's walks over them instead."""
    for body in bodies:
        orjson.loads(body)
        body.decode()


def prepared(values: list[object], texts: list[str]) -> None:
    for value, text in zip(values, texts, strict=True):
        result = prepare(value, text, strict=False, received_at=RECEIVED, future_skew=300)
        assert isinstance(result, Accepted), result


def checked(values: list[object], limits: EventLimits) -> None:
    for value in values:
        check_event(value, limits)


def each(items: Iterable[_T], work: Callable[[_T], None]) -> None:
    for item in items:
        work(item)


def single(bodies: list[bytes], limits: EventLimits) -> dict[str, float]:
    values: list[object] = [orjson.loads(body) for body in bodies]
    texts = [body.decode() for body in bodies]
    figures = {
        "decode": cpu_us(lambda: decoded(bodies), len(bodies)),
        "check_event": cpu_us(lambda: checked(values, limits), len(bodies)),
        "prepare": cpu_us(lambda: prepared(values, texts), len(bodies)),
    }
    figures["total"] = sum(figures.values())
    return figures


def batches(bodies: list[bytes], limits: EventLimits) -> dict[str, float]:
    events = len(bodies) * BATCH
    arrays: list[list[object]] = [orjson.loads(body) for body in bodies]
    texts = [body.decode() for body in bodies]
    elements = [element_texts(text) for text in texts]
    figures = {
        "decode": cpu_us(lambda: decoded(bodies), events),
        # As the receiver calls it: with the decoded elements, which compact elements are compared with.
        "element_texts": cpu_us(lambda: [element_texts(t, a) for t, a in zip(texts, arrays, strict=True)], events),
        "element_texts_scanned": cpu_us(lambda: [element_texts(text) for text in texts], events),
        "check_event": cpu_us(lambda: each(arrays, lambda values: checked(values, limits)), events),
        "prepare": cpu_us(lambda: each(range(len(arrays)), lambda i: prepared(arrays[i], elements[i])), events),
    }
    figures["total"] = sum(v for k, v in figures.items() if k != "element_texts_scanned")  # the reference aside
    return figures


def test_prepare_cpu_per_event() -> None:
    paths = complete_event_files()
    if not paths:
        pytest.skip("../shared/events is absent")
    templates = load_templates(paths)
    http = HttpSettings()  # the limits a server runs with by default
    limits = EventLimits(http.max_event_datasets, http.max_event_fields)
    figures = {
        "single": single(make_bodies(templates, EVENTS), limits),
        f"batch{BATCH}": batches(make_batches(templates, EVENTS // BATCH, BATCH, seed=1), limits),
    }
    for mode, steps in figures.items():
        print(f"\n{mode} (CPU us/event, median of {ROUNDS} rounds of {EVENTS} events):")
        for step, value in steps.items():
            print(f"  {step:<14} {value:8.1f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({"rounds": ROUNDS, "events": EVENTS, **figures}, option=orjson.OPT_INDENT_2))
