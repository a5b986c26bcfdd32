"""Events produced by the real openlineage-python client, as a producer would send them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import parent_run, schema_dataset
from openlineage.client.transport.file import FileConfig, FileTransport

PRODUCER = "https://github.com/lineage-server/tests"
NAMESPACE = "teradata://td.example:1025"


def run_events(job_name: str = "etl.load_orders") -> list[RunEvent]:
    """A START and a COMPLETE of one run: schema on both sides, column lineage, a parent run."""
    run_id = str(uuid.uuid4())
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=str(uuid.uuid4())), job=parent_run.Job(namespace="airflow", name="nightly")
    )
    source = InputDataset(
        NAMESPACE,
        "SRC.ORDERS",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields("ORDER_ID", "INTEGER"),
                    schema_dataset.SchemaDatasetFacetFields("AMOUNT", "DECIMAL(12,2)"),
                ]
            )
        },
    )
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "ORDER_ID": cl.Fields(
                inputFields=[
                    cl.InputField(NAMESPACE, "SRC.ORDERS", "ORDER_ID", [cl.Transformation("DIRECT", "IDENTITY")])
                ]
            ),
            "AMOUNT_USD": cl.Fields(
                inputFields=[
                    cl.InputField(NAMESPACE, "SRC.ORDERS", "AMOUNT", [cl.Transformation("DIRECT", "TRANSFORMATION")])
                ]
            ),
        }
    )
    target = OutputDataset(
        NAMESPACE,
        "STG.ORDERS",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields("ORDER_ID", "INTEGER"),
                    schema_dataset.SchemaDatasetFacetFields("AMOUNT_USD", "DECIMAL(12,2)"),
                ]
            ),
            "columnLineage": lineage,
        },
    )
    job = Job(namespace="airflow", name=job_name)
    return [
        RunEvent(
            eventType=state,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=run_id, facets={"parent": parent}),
            job=job,
            producer=PRODUCER,
            inputs=[source],
            outputs=[target],
        )
        for state in (RunState.START, RunState.COMPLETE)
    ]


def write_event_file(path: Path, jobs: int = 3) -> int:
    """Emit START and COMPLETE for `jobs` jobs through the client's FileTransport; the count written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(path), append=True)))
    events = [event for n in range(jobs) for event in run_events(f"etl.load_{n}")]
    for event in events:
        client.emit(event)
    return len(events)
