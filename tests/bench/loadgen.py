"""An HTTP load generator, run as its own process so that it and the server under test each get a core.

    python tests/bench/loadgen.py SPEC.json

SPEC holds the URL, the bodies to send (tests.bench.bodies), the mode and its timing. Every body is built
before the clock starts. `closed` keeps `concurrency` keep-alive connections busy; `open` sends at a fixed
`rate` whatever the answers do, and times each request from when it was due, not from when it left, so a
stalled server shows up in the latency instead of slowing the load. Only requests due (open) or completed
(closed) in the `duration` after `warmup` count. The figures go to stdout as one JSON object.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

if __package__ in (None, ""):  # run as a script: make `tests.bench` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bodies import BodySource, body_source

HEADERS = {"Content-Type": "application/json"}


@dataclass(slots=True)
class Tally:
    """What happened inside the measured window."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of 2xx answers only
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, status: int, latency: float) -> None:
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.latencies.append(latency)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> int:
    async with session.post(url, data=body, headers=HEADERS) as response:
        await response.read()
        return response.status


def _mark_window(warmup: float, duration: float) -> asyncio.Event:
    """Tell the parent, on stdout, when the measured window starts and ends (it samples the server's CPU); the
    event is set once the end is told, so that a run whose last answer came early still tells it."""
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    loop.call_later(warmup, _say, b"start")
    loop.call_later(warmup + duration, _end, ended)
    return ended


def _end(ended: asyncio.Event) -> None:
    _say(b"end")
    ended.set()


def _say(word: bytes) -> None:
    sys.stdout.buffer.write(word + b"\n")
    sys.stdout.buffer.flush()


async def run_closed(url: str, source: BodySource, concurrency: int, warmup: float, duration: float) -> Tally:
    tally = Tally()
    start = time.perf_counter()
    _mark_window(warmup, duration)
    window = (start + warmup, start + warmup + duration)

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            sent = time.perf_counter()
            if sent >= window[1]:
                return
            body = source.next()
            try:
                status = await _post(session, url, body)
            except aiohttp.ClientError as exc:
                if window[0] <= time.perf_counter() < window[1]:
                    tally.errors[type(exc).__name__] += 1
                continue
            done = time.perf_counter()
            if window[0] <= done < window[1]:
                tally.add(status, done - sent)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return tally


async def run_open(url: str, source: BodySource, rate: float, warmup: float, duration: float) -> Tally:
    tally = Tally()
    total = int(rate * (warmup + duration))
    measured_from = int(rate * warmup)
    tasks: set[asyncio.Task[None]] = set()

    async def one(session: aiohttp.ClientSession, index: int, due: float, body: bytes) -> None:
        try:
            status = await _post(session, url, body)
        except aiohttp.ClientError as exc:
            if index >= measured_from:
                tally.errors[type(exc).__name__] += 1
            return
        if index >= measured_from:
            tally.add(status, time.perf_counter() - due)

    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        ended = _mark_window(warmup, duration)
        for index in range(total):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(session, index, due, source.next()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        await ended.wait()  # the last request is due just before the window ends, and may be answered before it
    return tally


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(tally: Tally, duration: float, cpu_seconds: float, wall_seconds: float) -> dict[str, Any]:
    return {
        "ok": tally.ok,
        "per_second": tally.ok / duration,
        "statuses": {str(status): n for status, n in sorted(tally.statuses.items())},
        "errors": dict(tally.errors),
        "p50_ms": _ms(percentile(tally.latencies, 0.50)),
        "p99_ms": _ms(percentile(tally.latencies, 0.99)),
        "max_ms": _ms(max(tally.latencies, default=None)),
        "client_cpu": cpu_seconds / wall_seconds,  # 1.0: the client used a whole core and may be the bottleneck
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def main(spec_path: str) -> None:
    spec = orjson.loads(Path(spec_path).read_bytes())
    source = body_source(
        [Path(p) for p in spec["templates"]], spec["pool"], batch=spec.get("batch", 0), seed=spec.get("seed", 0)
    )
    warmup, duration = float(spec["warmup"]), float(spec["duration"])
    cpu, wall = time.process_time(), time.perf_counter()
    if spec["mode"] == "closed":
        tally = asyncio.run(run_closed(spec["url"], source, int(spec["concurrency"]), warmup, duration))
    else:
        tally = asyncio.run(run_open(spec["url"], source, float(spec["rate"]), warmup, duration))
    result = summary(tally, duration, time.process_time() - cpu, time.perf_counter() - wall)
    result["sent"] = source.used
    result["wrapped"] = source.wrapped
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main(sys.argv[1])
