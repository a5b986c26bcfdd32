"""Request bodies for the benchmarks: the sample events made new, each with a fresh runId and its own eventTime.

Each sample is serialised once with two markers; a body is the sample's pieces joined around a uuid4 and a
timestamp, so that every body is a new event (a new event_id) rather than a retry of a stored one. Samples
without a run (DatasetEvent, JobEvent) differ by eventTime alone. All bodies are built up front.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

RUN_MARK = "@@RUN_ID@@"
TIME_MARK = "@@EVENT_TIME@@"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class Template:
    """One sample event with its runId and eventTime replaced by markers, cut into the pieces around them."""

    def __init__(self, event: dict[str, Any]) -> None:
        event = {**event, "eventTime": TIME_MARK}
        if isinstance(event.get("run"), dict) and "runId" in event["run"]:
            event["run"] = {**event["run"], "runId": RUN_MARK}
        text = orjson.dumps(event)
        marks = sorted((text.index(mark.encode()), mark) for mark in (RUN_MARK, TIME_MARK) if mark.encode() in text)
        self._pieces: list[bytes] = []
        self._slots: list[str] = [mark for _, mark in marks]  # which value goes after each piece but the last
        at = 0
        for position, mark in marks:
            self._pieces.append(text[at:position])
            at = position + len(mark)
        self._pieces.append(text[at:])

    def render(self, event_time: str) -> bytes:
        values = {TIME_MARK: event_time.encode()}
        if RUN_MARK in self._slots:
            values[RUN_MARK] = str(uuid.uuid4()).encode()
        parts = [self._pieces[0]]
        for slot, piece in zip(self._slots, self._pieces[1:], strict=True):
            parts += (values[slot], piece)
        return b"".join(parts)


def load_templates(paths: list[Path]) -> list[Template]:
    return [Template(orjson.loads(path.read_bytes())) for path in paths]


def event_time(index: int) -> str:
    """A distinct, increasing eventTime per body: 37 ms apart from 2024-01-01."""
    moment = EPOCH + timedelta(milliseconds=37 * index)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_bodies(templates: list[Template], count: int, *, seed: int = 0) -> list[bytes]:
    """`count` single-event bodies cycling through the samples in a shuffled order, every one a new event."""
    order = list(range(len(templates)))
    random.Random(seed).shuffle(order)
    return [templates[order[i % len(order)]].render(event_time(i)) for i in range(count)]


def make_batches(templates: list[Template], count: int, size: int, *, seed: int = 0) -> list[bytes]:
    """`count` JSON arrays of `size` events each, with the same mix and freshness as make_bodies."""
    events = make_bodies(templates, count * size, seed=seed)
    return [b"[" + b",".join(events[i * size : (i + 1) * size]) + b"]" for i in range(count)]


class BodySource:
    """Hands out the pre-built bodies in order; after the last it starts again and counts the wrap."""

    def __init__(self, bodies: list[bytes]) -> None:
        self._bodies = bodies
        self.used = 0
        self.wrapped = 0

    def next(self) -> bytes:
        body = self._bodies[self.used % len(self._bodies)]
        self.used += 1
        if self.used % len(self._bodies) == 0:
            self.wrapped += 1
        return body


def body_source(paths: list[Path], pool: int, *, batch: int = 0, seed: int = 0) -> BodySource:
    templates = load_templates(paths)
    bodies = make_batches(templates, pool, batch, seed=seed) if batch else make_bodies(templates, pool, seed=seed)
    return BodySource(bodies)
