"""A year of generated history: jobs that ran every day, each run reading one table and writing another with
column lineage, as OpenLineage events through the real pipeline (ingest.events.prepare).

`CURRENT` jobs run every day up to the end; the `RETIRED` job stopped RETIRED_AFTER days before it, so its
datasets are not current: their last run, and every edge they have, is older than a 30-day cut-off.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ingest.events import Accepted, prepare
from schemas.rows import EventRows, dataset_key, field_key
from schemas.store import Store
from schemas.times import format_store_time

NS = "teradata://history.example:1025"
JOB_NS = "history"
PRODUCER = "https://github.com/lineage-server/tests/history"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
CURRENT = ("load_orders", "load_customers", "load_payments", "load_items")
RETIRED = "load_legacy"
RETIRED_AFTER = 120  # days before the end: the retired job's last run
DAYS = 365
COLUMNS = ("id", "amount", "updated_at")


def tables(job: str) -> tuple[str, str]:
    """The job's input and output table."""
    name = job.removeprefix("load_")
    return f"raw.{name}", f"silver.{name}"


def facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"https://openlineage.io/spec/facets/1-0-0/{kind}.json", **fields}


def schema() -> dict[str, Any]:
    return facet("SchemaDatasetFacet", fields=[{"name": c, "type": "VARCHAR"} for c in COLUMNS])


def lineage(source: str) -> dict[str, Any]:
    return facet(
        "ColumnLineageDatasetFacet",
        fields={
            c: {"inputFields": [{"namespace": NS, "name": source, "field": c, "transformations": []}]} for c in COLUMNS
        },
    )


def run_events(job: str, when: datetime) -> list[dict[str, Any]]:
    """START and COMPLETE of one run of `job` at `when` (ten minutes apart)."""
    source, target = tables(job)
    run_id = str(uuid.uuid4())
    events = []
    for state, at in (("START", when), ("COMPLETE", when + timedelta(minutes=10))):
        events.append(
            {
                "eventType": state,
                "eventTime": at.isoformat().replace("+00:00", "Z"),
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": run_id, "facets": {}},
                "job": {"namespace": JOB_NS, "name": job, "facets": {}},
                "inputs": [{"namespace": NS, "name": source, "facets": {"schema": schema()}}],
                "outputs": [
                    {
                        "namespace": NS,
                        "name": target,
                        "facets": {"schema": schema(), "columnLineage": lineage(source)},
                        "outputFacets": {"outputStatistics": facet("OutputStatisticsOutputDatasetFacet", rowCount=7)},
                    }
                ],
            }
        )
    return events


def history_events(end: datetime, days: int = DAYS, jobs: tuple[str, ...] = CURRENT) -> Iterator[dict[str, Any]]:
    """Every event of the year before `end`, oldest first: each current job daily, the retired one until it stopped."""
    for day in range(days, 0, -1):
        when = end - timedelta(days=day)
        for job in jobs:
            yield from run_events(job, when)
        if day > RETIRED_AFTER:
            yield from run_events(RETIRED, when)


def as_rows(events: Iterator[dict[str, Any]]) -> Iterator[EventRows]:
    received = format_store_time(datetime.now(UTC))
    for value in events:
        result = prepare(value, orjson.dumps(value).decode(), strict=False, received_at=received)
        assert isinstance(result, Accepted), result
        yield result.rows


def write_history(
    store: Store, end: datetime, days: int = DAYS, batch: int = 500, jobs: tuple[str, ...] = CURRENT
) -> int:
    """Write the year into `store`; the number of events."""
    pending: list[EventRows] = []
    written = 0
    for rows in as_rows(history_events(end, days, jobs)):
        pending.append(rows)
        if len(pending) == batch:
            written += len(store.write_batch(pending))
            pending = []
    if pending:
        written += len(store.write_batch(pending))
    return written


def dataset_ids(jobs: tuple[str, ...]) -> list[str]:
    return [dataset_key(NS, name) for job in jobs for name in tables(job)]


def field_ids(jobs: tuple[str, ...]) -> list[str]:
    return [field_key(NS, name, c) for job in jobs for name in tables(job) for c in COLUMNS]
