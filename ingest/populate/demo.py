"""`lineage populate demo`: a small medallion warehouse (SRC -> STG -> DIM -> FACT) as OpenLineage events.

The events are what an Airflow deployment running Teradata SQL would send: one START and one COMPLETE per
task run, COMPLETE carrying schema, columnLineage (field-level and dataset-level) and SQL facets. They go
through the same path as files (ingest.writing.batches.BatchWriter). Run ids and times are
fixed, so a second run writes nothing: every event is a DUPLICATE.

The graph has fans (ORDERS_CLEAN.order_id feeds three tables), diamonds (FACT.SALES_BY_COUNTRY.total_amount
is reached through FACT.SALES_DAILY and DIM.CUSTOMER) and a cycle (DIM.CUSTOMER.lifetime_value comes from
FACT.CUSTOMER_LTV, which reads DIM.CUSTOMER).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ingest.writing.batches import AfterCommit, BatchWriter, WriteReport
from schemas.store import Store

NAMESPACE = "teradata://demo-td:1025"
JOB_NAMESPACE = "demo-airflow"
PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets"
START = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # the nightly load, fixed so that reruns are duplicates
RUN_IDS = uuid.UUID("5f0c2d7e-2b8e-4c55-9d3b-2f6a4c1e7a10")  # uuid5 namespace of the demo's run ids

# dataset -> (field, Teradata type) in column order
TABLES: Mapping[str, Sequence[tuple[str, str]]] = {
    "SRC_SALES.ORDERS": (
        ("order_id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("product_id", "INTEGER"),
        ("order_ts", "TIMESTAMP(0)"),
        ("amount", "DECIMAL(18,2)"),
        ("status", "VARCHAR(20)"),
    ),
    "SRC_SALES.CUSTOMERS": (
        ("customer_id", "INTEGER"),
        ("name", "VARCHAR(200)"),
        ("email", "VARCHAR(320)"),
        ("country", "CHAR(2)"),
    ),
    "SRC_SALES.PRODUCTS": (("product_id", "INTEGER"), ("product_name", "VARCHAR(200)"), ("category", "VARCHAR(50)")),
    "STG_SALES.ORDERS_CLEAN": (
        ("order_id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("product_id", "INTEGER"),
        ("order_date", "DATE"),
        ("amount", "DECIMAL(18,2)"),
    ),
    "STG_SALES.CUSTOMERS_CLEAN": (
        ("customer_id", "INTEGER"),
        ("customer_name", "VARCHAR(200)"),
        ("email_hash", "CHAR(64)"),
        ("country", "CHAR(2)"),
    ),
    "DIM.CUSTOMER": (
        ("customer_key", "INTEGER"),
        ("customer_name", "VARCHAR(200)"),
        ("email_hash", "CHAR(64)"),
        ("country", "CHAR(2)"),
        ("lifetime_value", "DECIMAL(18,2)"),
    ),
    "DIM.PRODUCT": (("product_key", "INTEGER"), ("product_name", "VARCHAR(200)"), ("category", "VARCHAR(50)")),
    "FACT.SALES_DAILY": (
        ("order_date", "DATE"),
        ("customer_key", "INTEGER"),
        ("product_key", "INTEGER"),
        ("total_amount", "DECIMAL(18,2)"),
        ("order_count", "INTEGER"),
    ),
    "FACT.SALES_BY_COUNTRY": (("country", "CHAR(2)"), ("order_date", "DATE"), ("total_amount", "DECIMAL(18,2)")),
    "FACT.CUSTOMER_LTV": (("customer_key", "INTEGER"), ("ltv", "DECIMAL(18,2)")),
}

Input = tuple[str, str, str, str]  # (dataset, field, type DIRECT/INDIRECT, subtype)


@dataclass(frozen=True, slots=True)
class Step:
    """One Airflow task: reads `inputs`, writes `output`; `columns` maps output fields to their inputs."""

    job: str
    sql: str
    inputs: Sequence[str]
    output: str
    columns: Mapping[str, Sequence[Input]]
    whole: Sequence[Input] = ()  # dataset-level inputs (filters, joins) of the output


def _same(dataset: str, *fields: str) -> dict[str, Sequence[Input]]:
    return {f: [(dataset, f, "DIRECT", "IDENTITY")] for f in fields}


STEPS: Sequence[Step] = (
    Step(
        "stg_sales.load_orders_clean",
        "INSERT INTO STG_SALES.ORDERS_CLEAN SELECT order_id, customer_id, product_id, CAST(order_ts AS DATE), amount "
        "FROM SRC_SALES.ORDERS WHERE status <> 'CANCELLED'",
        ["SRC_SALES.ORDERS"],
        "STG_SALES.ORDERS_CLEAN",
        {
            **_same("SRC_SALES.ORDERS", "order_id", "customer_id", "product_id", "amount"),
            "order_date": [("SRC_SALES.ORDERS", "order_ts", "DIRECT", "TRANSFORMATION")],
        },
        [("SRC_SALES.ORDERS", "status", "INDIRECT", "FILTER")],
    ),
    Step(
        "stg_sales.load_customers_clean",
        "INSERT INTO STG_SALES.CUSTOMERS_CLEAN SELECT customer_id, TRIM(name), HASHROW(email), UPPER(country) "
        "FROM SRC_SALES.CUSTOMERS",
        ["SRC_SALES.CUSTOMERS"],
        "STG_SALES.CUSTOMERS_CLEAN",
        {
            "customer_id": [("SRC_SALES.CUSTOMERS", "customer_id", "DIRECT", "IDENTITY")],
            "customer_name": [("SRC_SALES.CUSTOMERS", "name", "DIRECT", "TRANSFORMATION")],
            "email_hash": [("SRC_SALES.CUSTOMERS", "email", "DIRECT", "TRANSFORMATION")],
            "country": [("SRC_SALES.CUSTOMERS", "country", "DIRECT", "TRANSFORMATION")],
        },
    ),
    Step(
        "dim.load_customer",
        "MERGE INTO DIM.CUSTOMER USING (SELECT c.*, l.ltv FROM STG_SALES.CUSTOMERS_CLEAN c "
        "LEFT JOIN FACT.CUSTOMER_LTV l ON l.customer_key = c.customer_id) s ON ...",
        ["STG_SALES.CUSTOMERS_CLEAN", "FACT.CUSTOMER_LTV"],
        "DIM.CUSTOMER",
        {
            "customer_key": [("STG_SALES.CUSTOMERS_CLEAN", "customer_id", "DIRECT", "IDENTITY")],
            **_same("STG_SALES.CUSTOMERS_CLEAN", "customer_name", "email_hash", "country"),
            "lifetime_value": [("FACT.CUSTOMER_LTV", "ltv", "DIRECT", "IDENTITY")],  # closes the cycle
        },
        [("FACT.CUSTOMER_LTV", "customer_key", "INDIRECT", "JOIN")],
    ),
    Step(
        "dim.load_product",
        "INSERT INTO DIM.PRODUCT SELECT product_id, product_name, category FROM SRC_SALES.PRODUCTS",
        ["SRC_SALES.PRODUCTS"],
        "DIM.PRODUCT",
        {
            "product_key": [("SRC_SALES.PRODUCTS", "product_id", "DIRECT", "IDENTITY")],
            **_same("SRC_SALES.PRODUCTS", "product_name", "category"),
        },
    ),
    Step(
        "fact.load_sales_daily",
        "INSERT INTO FACT.SALES_DAILY SELECT o.order_date, c.customer_key, p.product_key, SUM(o.amount), "
        "COUNT(o.order_id) FROM STG_SALES.ORDERS_CLEAN o JOIN DIM.CUSTOMER c ON c.customer_key = o.customer_id "
        "JOIN DIM.PRODUCT p ON p.product_key = o.product_id GROUP BY 1, 2, 3",
        ["STG_SALES.ORDERS_CLEAN", "DIM.CUSTOMER", "DIM.PRODUCT"],
        "FACT.SALES_DAILY",
        {
            "order_date": [("STG_SALES.ORDERS_CLEAN", "order_date", "DIRECT", "IDENTITY")],
            "customer_key": [("DIM.CUSTOMER", "customer_key", "DIRECT", "IDENTITY")],
            "product_key": [("DIM.PRODUCT", "product_key", "DIRECT", "IDENTITY")],
            "total_amount": [("STG_SALES.ORDERS_CLEAN", "amount", "DIRECT", "AGGREGATION")],
            "order_count": [("STG_SALES.ORDERS_CLEAN", "order_id", "DIRECT", "AGGREGATION")],
        },
        [
            ("STG_SALES.ORDERS_CLEAN", "customer_id", "INDIRECT", "JOIN"),
            ("STG_SALES.ORDERS_CLEAN", "product_id", "INDIRECT", "JOIN"),
        ],
    ),
    Step(
        "fact.load_sales_by_country",
        "INSERT INTO FACT.SALES_BY_COUNTRY SELECT c.country, s.order_date, SUM(s.total_amount) "
        "FROM FACT.SALES_DAILY s JOIN DIM.CUSTOMER c ON c.customer_key = s.customer_key GROUP BY 1, 2",
        ["FACT.SALES_DAILY", "DIM.CUSTOMER"],
        "FACT.SALES_BY_COUNTRY",
        {
            "country": [("DIM.CUSTOMER", "country", "DIRECT", "IDENTITY")],
            "order_date": [("FACT.SALES_DAILY", "order_date", "DIRECT", "IDENTITY")],
            "total_amount": [
                ("FACT.SALES_DAILY", "total_amount", "DIRECT", "AGGREGATION"),
                ("DIM.CUSTOMER", "customer_key", "INDIRECT", "JOIN"),
            ],
        },
    ),
    Step(
        "fact.load_customer_ltv",
        "INSERT INTO FACT.CUSTOMER_LTV SELECT c.customer_key, SUM(o.amount) FROM DIM.CUSTOMER c "
        "JOIN STG_SALES.ORDERS_CLEAN o ON o.customer_id = c.customer_key GROUP BY 1",
        ["DIM.CUSTOMER", "STG_SALES.ORDERS_CLEAN"],
        "FACT.CUSTOMER_LTV",
        {
            "customer_key": [("DIM.CUSTOMER", "customer_key", "DIRECT", "IDENTITY")],
            "ltv": [("STG_SALES.ORDERS_CLEAN", "amount", "DIRECT", "AGGREGATION")],
        },
        [("STG_SALES.ORDERS_CLEAN", "customer_id", "INDIRECT", "JOIN")],
    ),
)


def _facet(name: str, version: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{version}/{name}.json#/$defs/{name}", **body}


def _dataset(name: str, **facets: Any) -> dict[str, Any]:
    schema = _facet("SchemaDatasetFacet", "1-1-1", fields=[{"name": f, "type": t} for f, t in TABLES[name]])
    dataset_type = _facet("DatasetTypeDatasetFacet", "1-0-0", datasetType="TABLE")
    return {"namespace": NAMESPACE, "name": name, "facets": {"schema": schema, "datasetType": dataset_type, **facets}}


def _inputs(items: Sequence[Input]) -> list[dict[str, Any]]:
    return [
        {
            "namespace": NAMESPACE,
            "name": dataset,
            "field": field,
            "transformations": [{"type": kind, "subtype": subtype, "description": "", "masking": False}],
        }
        for dataset, field, kind, subtype in items
    ]


def _lineage(step: Step) -> dict[str, Any]:
    fields = {out: {"inputFields": _inputs(items)} for out, items in step.columns.items()}
    return _facet("ColumnLineageDatasetFacet", "1-2-0", fields=fields, dataset=_inputs(step.whole))


def step_events(step: Step, index: int) -> list[dict[str, Any]]:
    """The START and COMPLETE events of one task run."""
    run_id = str(uuid.uuid5(RUN_IDS, step.job))
    started = START + timedelta(minutes=10 * index)
    job_facets = {
        "jobType": _facet("JobTypeJobFacet", "2-0-3", processingType="BATCH", integration="AIRFLOW", jobType="TASK"),
        "sql": _facet("SQLJobFacet", "1-1-0", query=step.sql),
    }
    base = {"producer": PRODUCER, "schemaURL": SCHEMA_URL, "run": {"runId": run_id}}
    start = {
        **base,
        "eventType": "START",
        "eventTime": started.isoformat().replace("+00:00", "Z"),
        "job": {"namespace": JOB_NAMESPACE, "name": step.job, "facets": job_facets},
        "inputs": [{"namespace": NAMESPACE, "name": name} for name in step.inputs],
        "outputs": [{"namespace": NAMESPACE, "name": step.output}],
    }
    complete = {
        **base,
        "eventType": "COMPLETE",
        "eventTime": (started + timedelta(minutes=3)).isoformat().replace("+00:00", "Z"),
        "job": {"namespace": JOB_NAMESPACE, "name": step.job, "facets": job_facets},
        "inputs": [_dataset(name) for name in step.inputs],
        "outputs": [_dataset(step.output, columnLineage=_lineage(step))],
    }
    return [start, complete]


def demo_events() -> list[dict[str, Any]]:
    return [event for index, step in enumerate(STEPS) for event in step_events(step, index)]


def populate_demo(store: Store, *, strict: bool = False, after_commit: AfterCommit | None = None) -> WriteReport:
    """Write the demo's events through the ingestion path (one batch: they are few). Idempotent."""
    writer = BatchWriter(store, strict=strict, after_commit=after_commit)
    for event in demo_events():
        writer.add(f"{event['job']['name']} {event['eventType']}", event, orjson.dumps(event).decode())
    return writer.finish()
