"""Ingestion throughput of the real server against a bare aiohttp handler, on the same machine and client.

    make bench          # or: .venv/bin/python -m pytest tests/bench -p no:cacheprovider -s
    .venv/bin/python -m pytest tests/bench/bench_ingest.py -p no:cacheprovider -s

A benchmark, not a test: it prints figures (and writes tests/bench/results/ingest.json) and fails only when
something breaks, never on timing. Each round measures, one after the other so that they share the machine's
mood: the bare handler (tests/bench/bare_server.py), `lineage serve --workers 1`, `--workers 2`, and the
batch endpoint with 100 events per request, each on SQLite and then on PostgreSQL. Then an open-loop run at
half the single-worker rate gives the acknowledgement latency (SQLite). Medians over the rounds are reported.

Every server is a subprocess on a fresh store with default settings: a SQLite file, or a new schema of a
database the benchmark creates on the tests' PostgreSQL server (tests/postgres.py) and drops at the end. The
receiver's CPU time is its process tree's; PostgreSQL's is that of the backends connected to the benchmark's
database (tests/bench/procs.py says why those). Without a server, the PostgreSQL column is skipped with the
reason printed. The load generator
(tests/bench/loadgen.py) is a process of its own, so the OS spreads the two cores over client and server.
Every body is a new event built from the complete samples of ../shared/events (tests/bench/bodies.py).

Knobs (environment): BENCH_ROUNDS (3), BENCH_DURATION (10 s), BENCH_WARMUP (2 s), BENCH_CONCURRENCY (16
connections), BENCH_BATCH_CONCURRENCY (4), BENCH_SERVER_ENV ("LINEAGE_BATCH_MAX_DELAY_MS=5,..." to try
settings), BENCH_TMPDIR (where the SQLite files go), BENCH_POSTGRES=0 (SQLite only).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.events import Accepted, prepare
from schemas import open_store
from schemas.dsn import parse_dsn
from schemas.rows import EventRows
from schemas.sql.memory import DEFAULT_LIMIT
from schemas.sql.upserts import WRITES
from tests.bench.bodies import load_templates, make_bodies
from tests.bench.procs import (
    Server,
    bench_database,
    fresh_store,
    run_load,
    serve_bare,
    serve_lineage,
    server_settings,
)
from tests.conftest import complete_event_files
from tests.postgres import TestDatabase

SINGLE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"
BATCH_SIZE = 100
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


ROUNDS = int(_setting("BENCH_ROUNDS", 3))
DURATION = _setting("BENCH_DURATION", 10)
WARMUP = _setting("BENCH_WARMUP", 2)
CONCURRENCY = int(_setting("BENCH_CONCURRENCY", 16))
BATCH_CONCURRENCY = int(_setting("BENCH_BATCH_CONCURRENCY", 4))


def server_env() -> dict[str, str]:
    pairs = [item.partition("=") for item in os.environ.get("BENCH_SERVER_ENV", "").split(",") if item.strip()]
    return {key.strip(): value.strip() for key, _, value in pairs}


def mapped_rows_per_event() -> float:
    """Rows the mapping produces per event (the event row included), averaged over the mix: every sample
    weighs the same, as the load generator cycles through them."""
    counts = []
    for body in make_bodies(load_templates(complete_event_files()), len(complete_event_files())):
        result = prepare(orjson.loads(body), body.decode(), strict=False, received_at="2024-01-01 00:00:00.000000")
        assert isinstance(result, Accepted), result
        counts.append(1 + sum(len(getattr(result.rows, f.name)) for f in fields(result.rows) if f.name != "event"))
    return statistics.fmean(counts)


def spec(server: Server, path: str, **mode: Any) -> dict[str, Any]:
    pool = mode.pop("pool", 45_000)
    return {
        "url": server.url(path),
        "templates": [str(p) for p in complete_event_files()],
        "pool": pool,
        "warmup": WARMUP,
        "duration": DURATION,
        **mode,
    }


def closed(server: Server, path: str = SINGLE, **extra: Any) -> dict[str, Any]:
    return run_load(spec(server, path, **{"mode": "closed", "concurrency": CONCURRENCY, **extra}), server)


def measure_round(env: Mapping[str, str], postgres: TestDatabase | None) -> dict[str, dict[str, Any]]:
    """One of each: bare handler; then one worker, two workers and the batch endpoint, each on SQLite then on
    PostgreSQL (names prefixed `pg_`), so that the two stores share the machine's mood. Stored figures are
    checked."""
    stores = [("", None)] + ([("pg_", postgres)] if postgres is not None else [])
    figures: dict[str, dict[str, Any]] = {}
    with serve_bare() as bare:
        figures["bare"] = closed(bare)
        figures["bare_batch"] = closed(bare, BATCH, concurrency=BATCH_CONCURRENCY, batch=BATCH_SIZE, pool=BATCH_POOL)
    figures["bare_batch"]["events_per_second"] = figures["bare_batch"]["per_second"] * BATCH_SIZE
    for workers in (1, 2):
        for prefix, store in stores:
            with serve_lineage(workers, env, store) as server:
                figures[f"{prefix}workers{workers}"] = result = closed(server)
            result["stored_events"] = server.rows["OL_EVENT"]
            result["table_rows"] = sum(server.rows.values())
    for prefix, store in stores:
        with serve_lineage(1, env, store) as server:
            figures[f"{prefix}batch"] = result = closed(
                server, BATCH, concurrency=BATCH_CONCURRENCY, batch=BATCH_SIZE, pool=BATCH_POOL
            )
        result["events_per_second"] = result["per_second"] * BATCH_SIZE
        result["stored_events"] = server.rows["OL_EVENT"]
    for run in figures.values():
        _add_cost(run)
    return figures


def _add_cost(run: dict[str, Any]) -> None:
    """CPU milliseconds per event acknowledged in the window, of the server and of the database processes; rows
    written to the store and rows left out (held already) per event."""
    events = run.get("events_per_second", run["per_second"])
    for cores in ("server_cpu", "database_cpu"):
        run[cores.replace("_cpu", "_cpu_ms_per_event")] = round(1000 * run[cores] / events, 3) if events else None
    for outcome, per_second in run.get("rows_per_second", {}).items():
        run[f"rows_{outcome}_per_event"] = round(per_second / events, 2) if events else None


# Each configuration, and the bare handler's run it is measured against (the same requests: single or batch).
CONFIGURATIONS = {
    "workers1": "bare",
    "workers2": "bare",
    "batch": "bare_batch",
    "pg_workers1": "bare",
    "pg_workers2": "bare",
    "pg_batch": "bare_batch",
}


def per_configuration(by: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """For each configuration: events/s, rows written and left out per event, server CPU per event, and events/s
    and CPU per event as multiples of the bare handler's on the same requests (medians of per-round ratios)."""
    rounds = _zip_rounds(by)
    found = {}
    for name, reference in CONFIGURATIONS.items():
        if name not in by:
            continue
        found[name] = {
            "reference": reference,
            "events_per_second": median(by[name], "events_per_second" if "batch" in name else "per_second"),
            "events_per_second_of_bare": statistics.median(_events(r[name]) / _events(r[reference]) for r in rounds),
            "rows_written_per_event": median(by[name], "rows_written_per_event"),
            "rows_left_out_per_event": median(by[name], "rows_left_out_per_event"),
            "server_cpu_ms_per_event": median(by[name], "server_cpu_ms_per_event"),
            "cpu_multiple_of_bare": statistics.median(
                r[name]["server_cpu_ms_per_event"] / r[reference]["server_cpu_ms_per_event"] for r in rounds
            ),
        }
    return found


BATCH_POOL = 600  # requests of BATCH_SIZE events: 60,000 events


def measure_latency(env: Mapping[str, str], rate: float) -> dict[str, Any]:
    with serve_lineage(1, env) as server:
        run = run_load(spec(server, SINGLE, mode="open", rate=rate, pool=int(rate * (WARMUP + DURATION)) + 1), server)
    _add_cost(run)
    return run


REPEATS = 20  # new runs of every sample after its first event, for rows_by_kind


def rows_by_kind(postgres: TestDatabase | None) -> dict[str, dict[str, float]]:
    """Rows the writer sends per event, in-process, on each store, each event a batch of its own (a lone client):
    - `first_alone`: a sample's first event into an empty store: every row it maps to (the memory changes nothing);
    - `first_in_mix`: the samples' first events one after the other (they share namespaces and datasets);
    - `repeated`: REPEATS new runs of every sample after that (the same jobs and datasets), counting the held
      sightings the store writes at close;
    and `repeated_to_first` = repeated / first_alone, with the memory and without it (`_every_row`)."""
    templates = load_templates(complete_event_files())
    bodies = make_bodies(templates, len(templates) * (1 + REPEATS))  # the samples in one order, again and again
    rows = [_rows(body) for body in bodies]
    first, repeated = rows[: len(templates)], rows[len(templates) :]
    alone = statistics.fmean(sum(1 for w in WRITES for _ in w.params(r)) for r in first)
    found: dict[str, dict[str, float]] = {}
    for name, database in [("sqlite", None)] + ([("postgresql", postgres)] if postgres is not None else []):
        for memory, keys in (("", DEFAULT_LIMIT), ("_every_row", 0)):
            with tempfile.TemporaryDirectory(prefix="lineage-kinds-") as tmp, fresh_store(Path(tmp), database) as at:
                store = open_store(parse_dsn(at.dsn), memory_keys=keys)
                store.upgrade_schema()
                for event in first:
                    store.write_batch([event])
                in_mix = store.rows_written().written
                for event in repeated:
                    store.write_batch([event])
                store.close()  # the held sightings it writes count with the repeats
                again = store.rows_written().written - in_mix
            found[name + memory] = {
                "first_alone": round(alone, 2),
                "first_in_mix": round(in_mix / len(first), 2),
                "repeated": round(again / len(repeated), 2),
                "repeated_to_first": round(again / len(repeated) / alone, 3),
            }
    return found


def _rows(body: bytes) -> EventRows:
    result = prepare(orjson.loads(body), body.decode(), strict=False, received_at="2024-01-01 00:00:00.000000")
    assert isinstance(result, Accepted), result
    return result.rows


def median(runs: list[dict[str, Any]], key: str) -> float:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else float("nan")


@pytest.mark.timeout(1200)
def test_ingest_throughput() -> None:
    started = time.perf_counter()
    env = server_env()
    rounds = []
    with bench_database() as postgres:
        settings = server_settings(postgres) if postgres is not None else None
        for number in range(ROUNDS):
            rounds.append(measure_round(env, postgres))
            _print_round(number, rounds[-1])
        kinds = rows_by_kind(postgres)
    by = {name: [r[name] for r in rounds] for name in rounds[0]}
    single = median(by["workers1"], "per_second")
    rate = single / 2
    latency = []
    for number in range(ROUNDS):
        latency.append(measure_latency(env, rate))
        print(f"latency round {number + 1}: {_brief(latency[-1])}")
    summary = _summary(by, latency, rate, env)
    summary["configurations"] = per_configuration(by)
    summary["rows_by_kind"] = kinds
    if settings is not None:
        summary["postgresql"] = _postgres_summary(by, settings)
    summary["runtime_seconds"] = round(time.perf_counter() - started, 1)
    _print_summary(summary)
    _print_configurations(summary)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    _check_sane(by, latency)


def _summary(
    by: dict[str, list[dict[str, Any]]], latency: list[dict[str, Any]], rate: float, env: Mapping[str, str]
) -> dict[str, Any]:
    bare, one, two, batch = (by[k] for k in ("bare", "workers1", "workers2", "batch"))
    ratio: Callable[[str], float] = lambda name: statistics.median(  # noqa: E731
        r[name]["per_second"] / r["bare"]["per_second"] for r in _zip_rounds(by)
    )
    mapped = mapped_rows_per_event()
    stored_rows = statistics.median(r["table_rows"] / r["stored_events"] for r in one)
    single = median(one, "per_second")
    return {
        "settings": {
            "rounds": ROUNDS,
            "duration_s": DURATION,
            "warmup_s": WARMUP,
            "concurrency": CONCURRENCY,
            "batch_concurrency": BATCH_CONCURRENCY,
            "server_env": dict(env),
            "cpus": os.cpu_count(),
        },
        "events_per_second": {
            "bare": median(bare, "per_second"),
            "workers1": single,
            "workers2": median(two, "per_second"),
        },
        "ratio_to_bare": {"workers1": ratio("workers1"), "workers2": ratio("workers2")},
        "closed_loop_latency_ms": {name: _latencies(by[name]) for name in ("bare", "workers1", "workers2")},
        # Server CPU per event: steadier than events/s when other work shares the machine.
        "server_cpu_ms_per_event": {name: median(by[name], "server_cpu_ms_per_event") for name in by},
        "cpu_ratio_to_bare": {
            name: median(by["bare"], "server_cpu_ms_per_event") / median(by[name], "server_cpu_ms_per_event")
            for name in ("workers1", "workers2")
        },
        "cores_used": {
            name: {"server": median(by[name], "server_cpu"), "client": median(by[name], "client_cpu")} for name in by
        },
        "open_loop": {
            "rate": round(rate, 1),
            "achieved": median(latency, "per_second"),
            "p50_ms": median(latency, "p50_ms"),
            "p99_ms": median(latency, "p99_ms"),
            "max_ms": median(latency, "max_ms"),
        },
        "batch": {
            "events_per_second": median(batch, "events_per_second"),
            "ratio_to_single": median(batch, "events_per_second") / single,
            "p50_ms": median(batch, "p50_ms"),
            "p99_ms": median(batch, "p99_ms"),
        },
        "rows": {
            "mapped_per_event": round(mapped, 2),
            "mapped_per_second": round(mapped * single, 1),
            "stored_per_event": round(stored_rows, 2),
            "stored_per_second": round(stored_rows * single, 1),
            "batch_mapped_per_second": round(mapped * median(batch, "events_per_second"), 1),
        },
        "runs": {**by, "latency": latency},
    }


def _postgres_summary(by: dict[str, list[dict[str, Any]]], settings: dict[str, str]) -> dict[str, Any]:
    """PostgreSQL's figures beside SQLite's, and the issue's two targets as medians of per-round ratios."""
    names = ("workers1", "workers2", "batch")
    rounds = _zip_rounds(by)

    def ratio(over: str, under: str) -> float:
        return statistics.median(_events(r[over]) / _events(r[under]) for r in rounds)

    return {
        "server": settings,
        "events_per_second": {name: median(by[f"pg_{name}"], "per_second") for name in names[:2]}
        | {"batch": median(by["pg_batch"], "events_per_second")},
        "receiver_cpu_ms_per_event": {name: median(by[f"pg_{name}"], "server_cpu_ms_per_event") for name in names},
        "database_cpu_ms_per_event": {name: median(by[f"pg_{name}"], "database_cpu_ms_per_event") for name in names},
        "database_cores": {name: median(by[f"pg_{name}"], "database_cpu") for name in names},
        "workers1_to_sqlite": ratio("pg_workers1", "workers1"),
        "workers2_to_workers1": ratio("pg_workers2", "pg_workers1"),
        "batch_to_sqlite": ratio("pg_batch", "batch"),
    }


def _events(run: dict[str, Any]) -> float:
    value: float = run.get("events_per_second", run["per_second"])
    return value


def _zip_rounds(by: dict[str, list[dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    return [{name: runs[i] for name, runs in by.items()} for i in range(len(by["bare"]))]


def _latencies(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {"p50": median(runs, "p50_ms"), "p99": median(runs, "p99_ms")}


def _brief(run: dict[str, Any]) -> str:
    return (
        f"{run['per_second']:8.1f}/s  p50 {run['p50_ms']} ms  p99 {run['p99_ms']} ms  "
        f"statuses {run['statuses']}  errors {run['errors']}  cpu server {run['server_cpu']} "
        f"client {run['client_cpu']:.2f}  server CPU {run['server_cpu_ms_per_event']} ms/event"
        + (f"  database CPU {run['database_cpu_ms_per_event']} ms/event" if run["database_cpu"] else "")
    )


def _print_round(number: int, figures: dict[str, dict[str, Any]]) -> None:
    print(f"\nround {number + 1}")
    for name, run in figures.items():
        print(f"  {name:11} {_brief(run)}")


def _print_summary(summary: dict[str, Any]) -> None:
    eps, ratio, lat, batch, rows = (
        summary[k] for k in ("events_per_second", "ratio_to_bare", "open_loop", "batch", "rows")
    )
    print("\ningestion benchmark (medians of", summary["settings"]["rounds"], "runs)")
    print(f"  bare aiohttp + orjson      {eps['bare']:8.1f} events/s")
    print(f"  lineage serve --workers 1  {eps['workers1']:8.1f} events/s  ratio {ratio['workers1']:.2f} (target 0.6)")
    print(f"  lineage serve --workers 2  {eps['workers2']:8.1f} events/s  ratio {ratio['workers2']:.2f}")
    cost, cpu_ratio = summary["server_cpu_ms_per_event"], summary["cpu_ratio_to_bare"]
    print(
        f"  server CPU per event: bare {cost['bare']} ms, workers1 {cost['workers1']} ms "
        f"(ratio {cpu_ratio['workers1']:.2f}), workers2 {cost['workers2']} ms, batch {cost['batch']} ms"
    )
    print(
        f"  open loop at {lat['rate']}/s: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms (target < 25 ms), "
        f"achieved {lat['achieved']:.1f}/s"
    )
    print(
        f"  batch of {BATCH_SIZE}: {batch['events_per_second']:.1f} events/s, "
        f"{batch['ratio_to_single']:.2f}x single (target 3x)"
    )
    print(
        f"  rows: {rows['mapped_per_event']} mapped per event -> {rows['mapped_per_second']} rows/s; "
        f"{rows['stored_per_event']} net new table rows per event -> {rows['stored_per_second']} rows/s"
    )
    if "postgresql" in summary:
        _print_postgres(summary)
    print(f"  runtime {summary['runtime_seconds']} s; summary in {RESULTS}")


def _print_postgres(summary: dict[str, Any]) -> None:
    pg = summary["postgresql"]
    sqlite = summary["events_per_second"] | {"batch": summary["batch"]["events_per_second"]}
    receiver, database = pg["receiver_cpu_ms_per_event"], pg["database_cpu_ms_per_event"]
    print("  PostgreSQL beside SQLite: events/s, CPU ms per event of the receiver and of the PostgreSQL backends")
    for name, label in (("workers1", "--workers 1"), ("workers2", "--workers 2"), ("batch", f"batch of {BATCH_SIZE}")):
        print(
            f"    {label:12} PostgreSQL {pg['events_per_second'][name]:8.1f}/s, receiver {receiver[name]} ms, "
            f"PostgreSQL {database[name]} ms | SQLite {sqlite[name]:8.1f}/s, "
            f"server {summary['server_cpu_ms_per_event'][name]} ms"
        )
    one, two = pg["workers1_to_sqlite"], pg["workers2_to_workers1"]
    print(f"    target: PostgreSQL 1 worker / SQLite 1 worker {one:.2f} (>= 0.7: {'met' if one >= 0.7 else 'MISSED'})")
    print(f"    target: PostgreSQL 2 workers / 1 worker {two:.2f} (>= 1.3: {'met' if two >= 1.3 else 'MISSED'})")
    print(f"    PostgreSQL {pg['server']}")


def _print_configurations(summary: dict[str, Any]) -> None:
    print("  each configuration against the bare handler on the same requests (medians of per-round ratios):")
    print("    configuration   events/s  of bare  rows written/event  left out/event  server CPU ms/event  x bare")
    for name, c in summary["configurations"].items():
        print(
            f"    {name:14} {c['events_per_second']:9.1f}  {c['events_per_second_of_bare']:7.3f}  "
            f"{c['rows_written_per_event']:18}  {c['rows_left_out_per_event']:14}  "
            f"{c['server_cpu_ms_per_event']:19}  {c['cpu_multiple_of_bare']:6.2f}"
        )
    print("  rows the writer sends per event, in-process, one event a batch (first event of a sample / new runs):")
    for name, kinds in summary["rows_by_kind"].items():
        print(
            f"    {name:22} first alone {kinds['first_alone']:6}  first in the mix {kinds['first_in_mix']:6}  "
            f"repeated {kinds['repeated']:6}  repeated/first {kinds['repeated_to_first']} (target <= 0.333)"
        )


def _check_sane(by: dict[str, list[dict[str, Any]]], latency: list[dict[str, Any]]) -> None:
    """Only breakage fails: requests that were not answered 2xx, or fewer events stored than acknowledged."""
    for name, runs in {**by, "latency": latency}.items():
        for run in runs:
            assert run["ok"] > 0, (name, run)
            assert not run["errors"], (name, run["errors"])
            assert all(200 <= int(status) < 300 for status in run["statuses"]), (name, run["statuses"])
            if "stored_events" in run:
                acknowledged = run["ok"] * (BATCH_SIZE if name.endswith("batch") else 1)
                assert run["stored_events"] >= acknowledged, (name, run)
