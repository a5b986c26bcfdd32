"""The writer's memory (schemas.sql.memory): rows the store holds are left out, and the rows end as if every row had
been written.

The equivalence tests write the same events, in the same arrival order and batches, to two SQLite stores: one with
the memory (flushed at random moments, sometimes a memory of a few keys only) and one that writes every row. After
the last flush every OL_* table must hold the same rows. The events repeat a few jobs and datasets over many runs
(what the memory is for), their content changes now and then, and they arrive shuffled, so that older sightings
come after newer ones. Then what the module docstring promises about restarts, other writers and purges.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from ingest.events import Accepted, prepare
from schemas.dsn import parse_dsn
from schemas.postgresql.store import PostgresStore
from schemas.rows import EventRows
from schemas.sql.memory import DEFAULT_REFRESH_SECONDS, WriteMemory
from schemas.sql.params import Params
from schemas.sql.rules import Write
from schemas.sql.upserts import WRITES
from schemas.sqlite.store import SqliteStore
from schemas.tables import OL_SCHEMA_VERSION, TABLES

PRODUCER = "https://github.com/lineage-server/tests/memory"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
NS = "postgres://warehouse.example:5432"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RECEIVED = "2026-03-01 09:00:00.000000"
COLUMNS = ("id", "amount", "region")


def _facet(schema: str, **content: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"https://openlineage.io/spec/facets/{schema}.json", **content}


def _dataset(name: str, version: int, sources: list[str]) -> dict[str, Any]:
    """A dataset whose schema, documentation and lineage change only with `version`."""
    fields = [{"name": c, "type": f"VARCHAR({10 + version})", "description": f"{c} v{version}"} for c in COLUMNS]
    facets: dict[str, Any] = {
        "schema": _facet("1-1-1/SchemaDatasetFacet", fields=fields),
        "documentation": _facet("1-0-1/DocumentationDatasetFacet", description=f"{name} v{version}"),
    }
    if sources:
        subtype = "IDENTITY" if version % 2 else "TRANSFORMATION"
        edges = [{"namespace": NS, "name": s, "field": c, "transformations": [{"type": "DIRECT", "subtype": subtype}]}
                 for s in sources for c in COLUMNS]  # fmt: skip
        facets["columnLineage"] = _facet(
            "1-2-0/ColumnLineageDatasetFacet", fields={c: {"inputFields": edges} for c in COLUMNS}
        )
    return {"namespace": NS, "name": name, "facets": facets}


def repeated_events(seed: int, runs: int = 40) -> list[dict[str, Any]]:
    """`runs` runs of three jobs over four datasets, START and COMPLETE each, with distinct times; a dataset's
    content moves to a new version (and sometimes back) one sighting in eight."""
    pick = random.Random(seed)
    versions = {f"public.t{n}": 0 for n in range(4)}
    events = []
    for run in range(runs):
        job = f"etl.step_{run % 3}"
        names = sorted(versions)
        sources, target = names[run % 3 : run % 3 + 1], names[3]
        for name in versions:
            if pick.random() < 1 / 8:
                versions[name] = pick.choice([versions[name] + 1, max(versions[name] - 1, 0)])
        run_id = str(uuid.UUID(int=pick.getrandbits(128), version=4))
        for step, state in enumerate(("START", "COMPLETE")):
            moment = T0 + timedelta(seconds=run, milliseconds=step)
            events.append({
                "eventType": state,
                "eventTime": moment.isoformat(),
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": run_id},
                "job": {"namespace": "airflow", "name": job, "facets": {
                    "sql": _facet("1-0-1/SQLJobFacet", query=f"INSERT INTO {target} SELECT * FROM {sources[0]}")}},
                "inputs": [_dataset(s, versions[s], []) for s in sources],
                "outputs": [_dataset(target, versions[target], sources)],
            })  # fmt: skip
    return events


def rows_of(events: list[dict[str, Any]]) -> list[EventRows]:
    prepared = [prepare(e, orjson.dumps(e).decode(), strict=False, received_at=RECEIVED) for e in events]
    assert all(isinstance(p, Accepted) for p in prepared)
    return [p.rows for p in prepared if isinstance(p, Accepted)]


def table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        return {
            t.name: sorted(conn.execute(f"SELECT * FROM {t.name}").fetchall(), key=repr)
            for t in TABLES
            if t is not OL_SCHEMA_VERSION
        }


def opened(path: Path, *, limit: int) -> SqliteStore:
    store = SqliteStore(path)
    store.upgrade_schema()
    store.remember(limit=limit, refresh=DEFAULT_REFRESH_SECONDS)
    return store


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    yield tmp_path / "memory.db", tmp_path / "every-row.db"


def _batches(rows: list[EventRows], pick: random.Random) -> Iterator[list[EventRows]]:
    at = 0
    while at < len(rows):
        size = pick.choice([1, 1, 2, 5, 17])
        yield rows[at : at + size]
        at += size


@pytest.mark.parametrize("limit", [100_000, 7])
@pytest.mark.parametrize("seed", range(6))
def test_the_rows_are_those_of_writing_every_row(stores: tuple[Path, Path], seed: int, limit: int) -> None:
    pick = random.Random(seed)
    events = repeated_events(seed)
    order = list(range(len(events)))
    for i in range(len(order) - 1):  # near-sorted arrival: neighbours swap, and one event in ten comes late
        if pick.random() < 0.3:
            order[i], order[i + 1] = order[i + 1], order[i]
    late = pick.sample(order, len(order) // 10)
    order = [i for i in order if i not in late] + late
    rows = rows_of([events[i] for i in order])
    remembering, every_row = opened(stores[0], limit=limit), opened(stores[1], limit=0)
    for batch in _batches(rows, pick):
        assert remembering.write_batch(batch) == every_row.write_batch(batch)
        if pick.random() < 0.2:
            remembering.flush_sightings()
    skipped = remembering.memory
    remembering.close()
    every_row.close()
    assert table_rows(stores[0]) == table_rows(stores[1])
    assert len(skipped) <= limit


class CountingStore(SqliteStore):
    """Counts the rows each batch sends, and keeps those of OL_COLUMN_LINEAGE."""

    sent: list[int]
    edges: list[Params]

    def _write_rows(self, conn: sqlite3.Connection, write: Write, rows: list[Params]) -> None:
        self.sent.append(len(rows))
        if write.table.name == "OL_COLUMN_LINEAGE":
            self.edges.extend(rows)
        super()._write_rows(conn, write, rows)


def test_an_edge_seen_by_every_event_of_a_batch_is_written_once_with_its_last_sighting(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    store = CountingStore(path)
    store.upgrade_schema()
    store.sent, store.edges = [], []
    runs = rows_of(repeated_events(0, runs=12)[::2][::3])  # 4 runs of one job, the same edges every time
    store.write_batch(runs)
    assert len(store.edges) == len({edge["lineage_id"] for edge in store.edges}) == len(COLUMNS) ** 2
    with closing(sqlite3.connect(path)) as conn:  # at once, not at a later flush
        seen = conn.execute("SELECT DISTINCT discovered_at, last_seen_at, run_id FROM OL_COLUMN_LINEAGE").fetchall()
    newest = runs[-1].event
    assert seen == [(runs[0].event.event_time, newest.event_time, newest.run_id)]
    store.close()


def test_a_repeated_event_of_a_known_job_writes_its_new_rows_only(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "lineage.db")
    store.upgrade_schema()
    first, again = rows_of(repeated_events(0, runs=4)[::2][::3])  # START of runs 0 and 3: the same job
    store.sent, store.edges = [], []
    store.write_batch([first])
    written_first, store.sent = sum(store.sent), []
    store.write_batch([again])
    # The event, its run and the run's input and output; nothing else (no run facets here).
    assert sum(store.sent) == 4 and written_first > 3 * 4
    store.close()


def test_close_writes_the_held_sightings(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    store = opened(path, limit=100_000)
    first, again = rows_of(repeated_events(0, runs=4)[::2][::3])
    store.write_batch([first])
    store.write_batch([again])
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT updated_at FROM OL_JOB").fetchall() == [(first.event.event_time,)]  # held
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT updated_at FROM OL_JOB").fetchall() == [(again.event.event_time,)]


def test_a_purge_by_another_process_is_noticed_before_anything_is_skipped(tmp_path: Path) -> None:
    """The writer remembers a run's input; another process purges the run; a late event of that run comes: its
    input must be written again, not skipped as stored."""
    path = tmp_path / "lineage.db"
    counts = _purged_then_written(opened(path, limit=100_000), lambda: opened(path, limit=100_000))
    with closing(sqlite3.connect(path)) as conn:
        assert [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED] == counts


def test_a_purge_by_another_process_is_noticed_on_postgresql(postgres_dsn: str) -> None:
    """The same on PostgreSQL, where the batch reads the purge mark under the advisory lock the purge takes."""

    def store() -> SqliteStore | PostgresStore:
        opened = PostgresStore(parse_dsn(postgres_dsn))
        opened.upgrade_schema()
        return opened

    counts = _purged_then_written(store(), store)
    with psycopg.connect(postgres_dsn) as conn:
        found = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone() for t in COUNTED]
        assert [row[0] for row in found if row is not None] == counts


COUNTED = ("OL_RUN_INPUT", "OL_RUN_OUTPUT", "OL_COLUMN_LINEAGE")
AnyStore = SqliteStore | PostgresStore


def _purged_then_written(
    writer: SqliteStore | PostgresStore, other: Callable[[], SqliteStore | PostgresStore]
) -> list[int]:
    """START written by `writer`, everything purged by a store of another process, then COMPLETE written by
    `writer`; the counts of COUNTED the rows must then hold."""
    start, complete = rows_of(repeated_events(0, runs=1))
    writer.write_batch([start])
    purger = other()
    removed: dict[str, int] = {}
    for step in purger.purge("2027-01-01 00:00:00.000000", edges=True):
        removed.update({k: removed.get(k, 0) + v for k, v in step.items()})
    purger.close()
    assert removed["runs"] == removed["run inputs"] == removed["run outputs"] == 1
    assert removed["column lineage edges"] == len(COLUMNS) ** 2  # every column from every column
    writer.write_batch([complete])
    writer.close()
    return [1, 1, len(COLUMNS) ** 2]


def test_a_restarted_writer_writes_every_row_it_meets_first(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    first, again = rows_of(repeated_events(0, runs=4)[::2][::3])
    store = opened(path, limit=100_000)
    store.write_batch([first])
    store.close()
    restarted = opened(path, limit=100_000)
    restarted.write_batch([again])
    with closing(sqlite3.connect(path)) as conn:  # written at once, not held: this process had not seen it
        assert conn.execute("SELECT updated_at FROM OL_JOB").fetchall() == [(again.event.event_time,)]
    restarted.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT updated_at FROM OL_JOB").fetchall() == [(again.event.event_time,)]


def test_a_flush_that_finds_nothing_held_is_not_due_again_at_once(tmp_path: Path) -> None:
    """A held sighting written early, because the key's content changed: the next flush finds nothing to write
    and must not stay due (it would scan the memory after every batch)."""
    clock = [0.0]
    store = opened(tmp_path / "lineage.db", limit=100_000)
    store._memory = WriteMemory(WRITES, refresh=5, clock=lambda: clock[0])
    first, again, third = (
        EventRows(rows.event, jobs=rows.jobs) for rows in rows_of(repeated_events(0, runs=7)[::2][::3])
    )  # runs 0, 3 and 6 of one job, the job alone
    store.write_batch([first])
    store.write_batch([again])  # the job's newer sighting is held
    store.write_batch([replace(third, jobs=tuple(replace(job, description="now documented") for job in third.jobs))])
    clock[0] += 10  # the held sighting went first, with the new content; nothing is held
    assert store.memory.flush_due()
    assert store.flush_sightings() == 0
    assert not store.memory.flush_due()
    store.close()


def test_long_content_is_kept_as_a_digest_and_still_recognised(tmp_path: Path) -> None:
    store = opened(tmp_path / "lineage.db", limit=100_000)
    first, again = (
        EventRows(rows.event, jobs=tuple(replace(job, description="d" * 3000) for job in rows.jobs))
        for rows in rows_of(repeated_events(0, runs=4)[::2][::3])
    )
    store.write_batch([first])
    (entry,) = store.memory._entries.values()
    assert isinstance(entry.content, int)  # a hash, not 3000 characters: a key costs little
    store.write_batch([again])
    assert store.rows_written().left_out == 1  # the same long content, seen later: held, not written
    store.close()
