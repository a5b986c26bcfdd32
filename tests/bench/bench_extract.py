"""The SQL extractor's speed: statements per second through `Extractor.extract` on the tdsql corpora, and the
time for the longest statement (the 36,677-character, 402-column view of the visible corpus).

    make bench          # or: .venv/bin/python -m pytest tests/bench/bench_extract.py -p no:cacheprovider -s

CPU time of this process (`time.process_time`, one core: the extractor is single-threaded and pure), median
of BENCH_ROUNDS (5) rounds; each round reads every case of ../shared/tdsql/cases and
tests/ingest/populate/teradata/cases as its own script. "Typical" leaves the long statement out. Targets
(issue 11): at least 50 statements/s typical, the 35,000-character statement under 2 s. Prints figures and
writes tests/bench/results/extract.json; fails only when something breaks, never on timing.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import orjson

from ingest.populate.teradata.extract import extract_script
from tests.ingest.populate.teradata.scoring import Case
from tests.ingest.populate.teradata.test_corpus import OURS, SHARED, case_folders

RESULTS = Path(__file__).resolve().parent / "results" / "extract.json"
LONG = 30_000  # characters: a statement longer than this is "long", the rest "typical"


def _run(case: Case) -> tuple[int, float]:
    started = time.process_time()
    _, extractor = extract_script(
        case.sql,
        catalog=case.catalog,
        namespace="teradata://bench:1025",
        origin=case.name,
        event_time="2024-06-03T02:00:00.000Z",
        default_database=case.expected.get("default_database"),
    )
    return extractor.counts.statements, time.process_time() - started


def test_extractor_speed() -> None:
    cases = [Case.load(folder) for folder in case_folders(SHARED) + case_folders(OURS)]
    assert cases, "no tdsql case to measure"
    long_cases = [c for c in cases if len(c.sql) > LONG]
    typical = [c for c in cases if len(c.sql) <= LONG]
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    typical_rates: list[float] = []
    long_times: dict[str, list[float]] = {case.name: [] for case in long_cases}
    for _ in range(rounds):
        statements, seconds = 0, 0.0
        for case in typical:
            n, spent = _run(case)
            statements, seconds = statements + n, seconds + spent
        typical_rates.append(statements / seconds)
        for case in long_cases:
            long_times[case.name].append(_run(case)[1])
    figures = {
        "cases": len(cases),
        "typical_statements": sum(_run(c)[0] for c in typical),
        "typical_statements_per_cpu_second": round(statistics.median(typical_rates), 1),
        "long_statements": {
            case.name: {"chars": len(case.sql), "cpu_seconds": round(statistics.median(long_times[case.name]), 3)}
            for case in long_cases
        },
        "rounds": rounds,
    }
    print()
    print(
        f"extractor: {figures['typical_statements_per_cpu_second']} statements per CPU second over "
        f"{figures['typical_statements']} typical statements of {len(cases)} cases (target >= 50); medians of "
        f"{rounds} rounds"
    )
    for case in long_cases:
        median = statistics.median(long_times[case.name])
        print(f"extractor: {case.name}, {len(case.sql)} characters: {median:.3f} CPU s (target < 2 s)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
