"""The server writes the sightings its writer memory holds (schemas.sql.memory) when no batch comes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import orjson

from tests.ingest.conftest import MakeClient
from tests.schemas.test_memory import repeated_events


def job_updated_at(tmp_path: Path) -> list[tuple[str]]:
    with sqlite3.connect(tmp_path / "lineage.db") as db:
        return db.execute("SELECT updated_at FROM OL_JOB").fetchall()


async def test_a_held_sighting_reaches_the_store_within_the_refresh_interval(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(LINEAGE_SIGHTING_REFRESH_SECONDS="1")
    first, again = repeated_events(0, runs=4)[::2][::3]  # START of two runs of one job, three seconds apart
    for event in (first, again):
        response = await client.post("/api/v1/lineage", data=orjson.dumps(event))
        assert response.status == 201, await response.text()
    assert job_updated_at(tmp_path) == [("2026-03-01 08:00:00.000000",)]  # the new run is stored, the sighting held
    deadline = time.monotonic() + 10
    while job_updated_at(tmp_path) != [("2026-03-01 08:00:03.000000",)]:
        assert time.monotonic() < deadline, job_updated_at(tmp_path)
        await asyncio.sleep(0.1)
    job = await client.get("/api/v1/namespaces/airflow/jobs/etl.step_0")
    assert (await job.json())["updatedAt"] == "2026-03-01T08:00:03.000000Z"
    metrics = (await (await client.get("/metrics")).text()).splitlines()
    assert any(line.startswith('lineage_store_rows_total{outcome="left_out"}') and not line.endswith(" 0.0")
               for line in metrics)  # fmt: skip
