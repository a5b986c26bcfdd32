"""Every per-level traversal read and every look-up by id finds its rows through an index on PostgreSQL: after
ANALYZE, at a size where the planner would rather scan a table that had no fitting index. A Seq Scan of an OL_*
table per BFS level is what turns a millisecond answer into seconds on a large graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from schemas.dsn import Dialect, parse_dsn
from schemas.postgresql.sql import pyformat, with_arrays
from schemas.postgresql.store import PostgresStore
from schemas.rows import FacetOwner
from schemas.sql import reads
from schemas.store import Direction
from tests.postgres import TestDatabase

ROWS = 20_000  # per table: far past the few pages where a sequential scan is cheapest

READS = {
    **{f"COLUMN_EDGES {d}": reads.COLUMN_EDGES[d] for d in Direction},
    **{f"DATASET_LINKS {d}": reads.DATASET_LINKS[d] for d in Direction},
    "JOB_LINKS_BY_DATASET": reads.JOB_LINKS_BY_DATASET,
    "JOB_LINKS_BY_JOB": reads.JOB_LINKS_BY_JOB,
    "FIELDS_BY_IDS": reads.FIELDS_BY_IDS,
    "FIELDS_OF_DATASETS": reads.FIELDS_OF_DATASETS,
    "NAMESPACES_BY_IDS": reads.NAMESPACES_BY_IDS,
    "DATASETS_BY_IDS": reads.DATASETS_BY_IDS,
    "DATASETS_BY_NAME_KEY": reads.DATASETS_BY_NAME_KEY,
    "DATASETS_IN_DATABASE": reads.DATASETS_IN_DATABASE,
    "DATASETS_OF_NAMESPACE": reads.DATASETS_OF_NAMESPACE,
    "JOBS_BY_IDS": reads.JOBS_BY_IDS,
    "JOBS_OF_NAMESPACE": reads.JOBS_OF_NAMESPACE,
    "RUNS_BY_IDS": reads.RUNS_BY_IDS,
    "RUNS_OF_JOB": reads.RUNS_OF_JOB,
    "RUNS_WRITING": reads.RUNS_WRITING,
    "FACETS": reads.FACETS,
    "ENTITY_FACETS": reads.ENTITY_FACETS,
    "FACETS_NAMED": reads.FACETS_NAMED,
    "COLUMN_EDGES_INTO": reads.COLUMN_EDGES_INTO,
    "LATEST_RUNS": reads.LATEST_RUNS,
    "RUN_IO": reads.RUN_IO,
    "RUN_EVENTS": reads.RUN_EVENTS,
    "DATASET_VERSIONS": reads.DATASET_VERSIONS,
    "DATASET_VERSIONS_BY_IDS": reads.DATASET_VERSIONS_BY_IDS,
    "CURRENT_DATASET_VERSIONS": reads.CURRENT_DATASET_VERSIONS,
    "STORED_EVENT_IDS": reads.STORED_EVENT_IDS,
    # A deep page of /events/lineage, both ways, and its count: through idx_ol_event_time.
    "EVENTS page newest first": reads.paged(Dialect.POSTGRESQL, reads.EVENTS, reads.EVENT_ORDER),
    "EVENTS page oldest first": reads.paged(Dialect.POSTGRESQL, reads.EVENTS, reads.EVENT_ORDER_OLDEST_FIRST),
    "EVENTS count": reads.counted(reads.EVENTS),
}
# One value per parameter a statement may name: ids of rows that exist (every text column holds `<column>-<n>`).
PARAMS: dict[str, Any] = {
    "ids": [
        "field_id-7",
        "dataset_id-7",
        "job_id-7",
        "run_id-7",
        "namespace_id-7",
        "event_id-7",
        "entity_id-7",
        "version_id-7",
    ],
    "names": ["facet_name-7"],
    "owner": FacetOwner.DATASET.value,
    "namespace_id": "namespace_id-7",
    "name_key": "name_key-7",
    "database_key": "database_key-7",
    "job_id": "job_id-7",
    "dataset_id": "dataset_id-7",
    "per_job": 10,
    "event_kind": "event_kind-7",
    "after": "2024-01-01 00:00:00",
    "before": "2024-12-31 00:00:00",
    "page_limit": 100,
    "page_offset": 15_000,
    "run_id": "run_id-7",
}


def _value(column: str, data_type: str, length: int | None) -> sql.Composable:
    """A value for row `g` of a filled table: distinct text per row, so that each id selects one row (a column too
    short for `<column>-<n>` gets the number alone)."""
    if data_type in ("character varying", "text"):
        if length is not None and length < len(column) + 8:
            return sql.SQL("g::text")
        return sql.SQL("{} || '-' || g").format(sql.Literal(column))
    if data_type == "character":
        return sql.Literal("Y")
    if data_type.startswith("timestamp"):
        return sql.SQL("now()")
    if data_type == "numeric":
        return sql.Literal(0.5)
    return sql.SQL("g")


@pytest.fixture(scope="module")
def conn(postgres_database: TestDatabase) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A schema with every OL_* table filled with ROWS rows, analyzed."""
    schema = postgres_database.new_schema()
    dsn = postgres_database.schema_dsn(schema)
    store = PostgresStore(parse_dsn(dsn))
    store.create_schema()
    store.close()
    with psycopg.connect(dsn, autocommit=True) as connection:
        columns: dict[str, list[tuple[str, str, int | None]]] = {}
        listed = (
            "SELECT table_name, column_name, data_type, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = %s"
        )
        for table, column, data_type, length in connection.execute(listed, (schema,)):
            columns.setdefault(table, []).append((column, data_type, length))
        for table, cols in columns.items():
            if table == "ol_schema_version":
                continue
            connection.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM generate_series(1, {}) AS g").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(sql.Identifier(c) for c, _, _ in cols),
                    sql.SQL(", ").join(_value(*column) for column in cols),
                    sql.Literal(ROWS),
                )
            )
        connection.execute("UPDATE ol_facet SET owner = %s", (FacetOwner.DATASET.value,))
        connection.execute("ANALYZE")
        yield connection
    postgres_database.drop_schema(schema)


def seq_scans(plan: dict[str, Any]) -> list[str]:
    """The OL_* tables a plan reads with a Seq Scan, walking every node."""
    found = (
        [plan["Relation Name"]] if plan["Node Type"] == "Seq Scan" and plan["Relation Name"].startswith("ol_") else []
    )
    for child in plan.get("Plans", []):
        found += seq_scans(child)
    return found


@pytest.mark.parametrize("name", READS)
def test_reads_use_indexes(conn: psycopg.Connection[tuple[Any, ...]], name: str) -> None:
    statement = pyformat(with_arrays(READS[name]))
    row = conn.execute("EXPLAIN (FORMAT JSON) " + statement, PARAMS).fetchone()
    assert row is not None
    plan = row[0][0]["Plan"]
    assert not seq_scans(plan), (name, plan)
