"""Several writers at once on PostgreSQL: two `lineage serve` processes (each its own pool, as on two hosts) write
one schema concurrently, and the rows they leave are those of applying the same events one by one.

The events overlap on purpose: a few jobs and datasets shared by every run, the same fields with types and
descriptions that change over time, the same column edges seen by many runs, and every run's START, RUNNING and
COMPLETE (or FAIL) sent to receivers picked at random, in a shuffled order, so that a terminal state often
arrives before its START and at the other process. Some events go to both receivers at once (a client retrying
at another host). Every event's time is distinct: the merge rules order sightings by time, and a tie has no
order to follow (a tie goes to the later arrival). Every sighting of a dataset or field brings its values: a
NEWER column compares with the row's latest sighting, not with the time its value was seen, so a sighting
without a value that is newer than two sightings with values still depends on the order those arrive in.

The reference is a fresh schema of the same database written by PostgresStore directly, one event per batch, in
time order; a second schema gets the events in reverse order. All three schemas must hold the same rows in every
OL_* table (OL_EVENT.received_at aside: it is when each copy arrived).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psycopg
from psycopg import sql

from ingest.events import Accepted, prepare
from schemas.dsn import parse_dsn
from schemas.postgresql.store import PostgresStore
from schemas.store import WriteOutcome
from schemas.tables import OL_SCHEMA_VERSION, TABLES, Table
from tests.ingest.processes import Server, serving
from tests.postgres import TestDatabase

PRODUCER = "https://github.com/lineage-server/tests/writers"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
WAREHOUSE = "postgres://warehouse.example:5432"
HIVE = "hive://metastore.example:9083"
DATASETS = [f"public.table_{n}" for n in range(6)]
COLUMNS = ["id", "amount", "customer", "region"]
JOBS = [f"etl.step_{n}" for n in range(5)]
RUNS_PER_JOB = 16  # 80 runs, 3 events each: 240 events
SENDERS_PER_SERVER = 6
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RECEIVED = "2026-03-01 09:00:00.000000"
IGNORED = {"OL_EVENT": {"received_at"}}  # when this copy arrived: it differs per arrival by design


def facet(schema: str, **content: Any) -> dict[str, Any]:
    """A facet of the spec's `schema` (version/name), with `content`."""
    return {"_producer": PRODUCER, "_schemaURL": f"https://openlineage.io/spec/facets/{schema}.json", **content}


def dataset(name: str, seen: int, *, lineage_from: list[str] | None = None) -> dict[str, Any]:
    """A dataset with its schema (types and descriptions that change with `seen`), its name in Hive, and column
    lineage from the same-named columns of `lineage_from`."""
    fields = [
        {"name": c, "type": f"VARCHAR({10 + seen % 7})" if c != "id" else "BIGINT", "description": f"{c} v{seen % 3}"}
        for c in COLUMNS
    ]
    facets: dict[str, Any] = {
        "schema": facet("1-1-1/SchemaDatasetFacet", fields=fields),
        "documentation": facet("1-0-1/DocumentationDatasetFacet", description=f"{name} as of {seen % 4}"),
        "symlinks": facet(
            "1-0-1/SymlinksDatasetFacet", identifiers=[{"namespace": HIVE, "name": name, "type": "TABLE"}]
        ),
    }
    if lineage_from:
        subtype = "IDENTITY" if seen % 2 else "TRANSFORMATION"
        facets["columnLineage"] = facet(
            "1-2-0/ColumnLineageDatasetFacet",
            fields={
                c: {
                    "inputFields": [
                        {
                            "namespace": WAREHOUSE,
                            "name": source,
                            "field": c,
                            "transformations": [{"type": "DIRECT", "subtype": subtype}],
                        }
                        for source in lineage_from
                    ]
                }
                for c in COLUMNS
            },
        )
    return {"namespace": WAREHOUSE, "name": name, "facets": facets}


def run_events(job: str, run: int, start: datetime, pick: random.Random) -> list[dict[str, Any]]:
    """START, RUNNING and COMPLETE (one run in five: FAIL) of one run of `job`, a millisecond apart."""
    sources = pick.sample(DATASETS, 2)
    target = pick.choice([d for d in DATASETS if d not in sources])
    run_id = str(uuid.UUID(int=pick.getrandbits(128), version=4))
    parent = facet(
        "1-1-0/ParentRunFacet",
        run={"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, job))},
        job={"namespace": "airflow", "name": "nightly"},
    )
    end = "FAIL" if run % 5 == 4 else "COMPLETE"
    events = []
    for step, state in enumerate(("START", "RUNNING", end)):
        seen = run * 3 + step
        events.append(
            {
                "eventType": state,
                "eventTime": (start + timedelta(milliseconds=step)).isoformat(),
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": run_id, "facets": {"parent": parent}},
                "job": {"namespace": "airflow", "name": job},
                "inputs": [dataset(source, seen) for source in sources],
                "outputs": [dataset(target, seen, lineage_from=sources)],
            }
        )
    return events


def overlapping_events(seed: int) -> list[dict[str, Any]]:
    """Every run of every job, in time order: runs start 10 ms apart, so each event's time is its own."""
    pick = random.Random(seed)
    events = []
    for run in range(RUNS_PER_JOB):
        for index, job in enumerate(JOBS):
            start = T0 + timedelta(milliseconds=10 * (run * len(JOBS) + index))
            events.extend(run_events(job, run, start, pick))
    return events


# --- sending to the receivers ------------------------------------------------------------------------------


async def send_all(plan: list[tuple[str, bytes]]) -> list[tuple[int, Any]]:
    """POST every (receiver url, body) of the plan, SENDERS_PER_SERVER at a time per receiver; each answer."""
    answers: list[tuple[int, Any]] = []
    queues: dict[str, asyncio.Queue[bytes]] = {}
    for url, body in plan:
        queues.setdefault(url, asyncio.Queue()).put_nowait(body)

    async def sender(session: aiohttp.ClientSession, url: str) -> None:
        queue = queues[url]
        while not queue.empty():
            body = queue.get_nowait()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                answers.append((response.status, await response.json()))

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        senders = [sender(session, url) for url in queues for _ in range(SENDERS_PER_SERVER)]
        await asyncio.wait_for(asyncio.gather(*senders), 90)
    return answers


def arrival_plan(events: list[dict[str, Any]], servers: list[Server], pick: random.Random) -> list[tuple[str, bytes]]:
    """Each event to a receiver picked at random (one in eight to both, as a client retrying elsewhere), the
    whole plan shuffled: a run's events reach different processes in any order."""
    plan: list[tuple[str, bytes]] = []
    for event in events:
        body = orjson.dumps(event)
        chosen = servers if pick.random() < 1 / 8 else [pick.choice(servers)]
        plan.extend((f"{server.url}/api/v1/lineage", body) for server in chosen)
    pick.shuffle(plan)
    return plan


# --- the one-by-one reference and the rows compared -----------------------------------------------------------


def apply_one_by_one(dsn: str, events: list[dict[str, Any]]) -> None:
    """Each event in its own batch, in the order given, as the server's path prepares it."""
    store = PostgresStore(parse_dsn(dsn))
    try:
        store.create_schema()
        for event in events:
            prepared = prepare(event, orjson.dumps(event).decode(), strict=False, received_at=RECEIVED)
            assert isinstance(prepared, Accepted), prepared
            assert store.write_batch([prepared.rows]) == [WriteOutcome.STORED]
    finally:
        store.close()


def compared_tables() -> Iterator[Table]:
    return (table for table in TABLES if table is not OL_SCHEMA_VERSION)


def table_rows(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every OL_* table but the schema history, by plain SQL, ordered by all its columns."""
    found = {}
    with psycopg.connect(dsn) as conn:
        for table in compared_tables():
            names = [c.name for c in table.columns if c.name not in IGNORED.get(table.name, set())]
            columns = sql.SQL(", ").join(map(sql.Identifier, names))
            name = sql.Identifier(table.name.lower())  # created unquoted: PostgreSQL folds the name
            query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(columns, name, columns)
            found[table.name] = conn.execute(query).fetchall()
    return found


def differences(expected: dict[str, list[tuple[Any, ...]]], actual: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    """For each table whose rows differ, its name and the first rows that differ (empty when all are equal)."""
    found = []
    for table, rows in expected.items():
        if rows != actual[table]:
            only_expected = [row for row in rows if row not in actual[table]][:2]
            only_actual = [row for row in actual[table] if row not in rows][:2]
            found.append(f"{table}: expected {only_expected}, found {only_actual}")
    return found


def test_two_receivers_write_overlapping_events_as_one_by_one_does(
    tmp_path: Path, postgres_database: TestDatabase, postgres_dsn: str
) -> None:
    seed = random.randrange(2**32)  # in every failure message: overlapping_events(seed) and its plan again
    events = overlapping_events(seed)
    with (
        serving(tmp_path, LINEAGE_STORE=postgres_dsn, log_name="a.log") as a,
        serving(tmp_path, LINEAGE_STORE=postgres_dsn, log_name="b.log") as b,
    ):
        plan = arrival_plan(events, [a, b], random.Random(seed))
        answers = asyncio.run(send_all(plan))
        assert a.stop() == 0, a.log_text()
        assert b.stop() == 0, b.log_text()
    statuses = sorted({status for status, _ in answers})
    assert statuses in ([201], [200, 201]), (seed, [answer for answer in answers if answer[0] not in (200, 201)][:3])
    assert len(answers) == len(plan)
    assert sum(status == 201 for status, _ in answers) == len(events), seed

    concurrent = table_rows(postgres_dsn)
    assert len(concurrent["OL_EVENT"]) == len(events)
    for order in (events, events[::-1]):
        schema = postgres_database.new_schema()
        try:
            apply_one_by_one(postgres_database.schema_dsn(schema), order)
            differing = differences(table_rows(postgres_database.schema_dsn(schema)), concurrent)
            assert not differing, (seed, differing)
        finally:
            postgres_database.drop_schema(schema)
