"""OpenLineage RunEvents for the statements the extractor read. Pure.

One COMPLETE RunEvent per data-moving statement: job facets `sql` (dialect teradata) and `jobType` (BATCH,
TERADATA, QUERY); run facets `teradata` (the QueryID, SessionID, UserName, file and statement the caller
named) and, when the statement did not parse, `extractionError`; inputs and outputs named `DATABASE.TABLE`
in the catalog's spelling; `columnLineage` on the output.

Confidence travels on each transformation entry as the vendor key `x-confidence` (a number 0..1;
OpenLineage allows extra properties), which ingest.events.column_lineage stores as
OL_COLUMN_LINEAGE.confidence_score. Dataset-level (`dataset`) entries carry it too, for readers of the
events; the store keeps dataset-level edges without a score.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.events.column_lineage import CONFIDENCE_KEY
from ingest.populate.teradata.classify import Direct, Indirect, confidence
from ingest.populate.teradata.lineage import ColumnFlow, Source

PRODUCER = "https://github.com/lineage-server/lineage-server/tree/main/ingest/populate/teradata"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets"
RUN_FACET_URL = f"{PRODUCER}/events.py#/$defs/TeradataRunFacet"
RUN_IDS = uuid.UUID("3b2c4f8e-6a1d-5e7f-9c0b-1d2e3f4a5b6c")  # uuid5 namespace of the extractor's run ids


def run_id(run_key: str) -> str:
    """The run id for a stable key (file and statement, namespace and QueryID): reading again is idempotent."""
    return str(uuid.uuid5(RUN_IDS, run_key))


@dataclass(frozen=True, slots=True)
class Written:
    """One dataset a statement wrote: its columns' flows (in the order written) and its row-level inputs."""

    dataset: str
    columns: Sequence[tuple[str, ColumnFlow]]
    rows: Mapping[tuple[Source, Indirect], bool]


def facet(name: str, version: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{version}/{name}.json#/$defs/{name}", **body}


def _transformation(kind: str, subtype: str, masking: bool, score: float) -> dict[str, Any]:
    return {"type": kind, "subtype": subtype, "description": "", "masking": masking, CONFIDENCE_KEY: score}


def column_lineage(namespace: str, written: Written) -> dict[str, Any]:
    """The ColumnLineageDatasetFacet: `fields` names every written column (an empty `inputFields` where a
    column has no column-level source), `dataset` holds the row-level inputs once."""
    fields: dict[str, Any] = {}
    for column, flow in written.columns:
        entries: dict[Source, list[dict[str, Any]]] = {}
        for source, (subtype, masking, weak) in flow.direct.items():
            entries.setdefault(source, []).append(
                _transformation("DIRECT", subtype.name, masking, confidence(subtype, weak))
            )
        for (source, kind), weak in flow.indirect.items():
            entries.setdefault(source, []).append(
                _transformation("INDIRECT", kind.value, False, confidence(kind, weak))
            )
        fields[column] = {"inputFields": [_input(namespace, source, items) for source, items in entries.items()]}
    rows: dict[Source, list[dict[str, Any]]] = {}
    for (source, kind), weak in written.rows.items():
        rows.setdefault(source, []).append(_transformation("INDIRECT", kind.value, False, confidence(kind, weak)))
    dataset = [_input(namespace, source, items) for source, items in rows.items()]
    return facet("ColumnLineageDatasetFacet", "1-2-0", fields=fields, dataset=dataset)


def _input(namespace: str, source: Source, transformations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"namespace": namespace, "name": source[0], "field": source[1], "transformations": transformations}


def run_event(
    *,
    namespace: str,
    job_name: str,
    run_key: str,
    event_time: str,
    sql: str,
    inputs: Sequence[str],
    written: Sequence[Written],
    outputs: Sequence[str] = (),
    run_facet: Mapping[str, object] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A COMPLETE RunEvent. `written` are outputs with column lineage, `outputs` further ones without
    (a statement that did not parse); `error` adds the ExtractionErrorRunFacet."""
    run_facets: dict[str, Any] = {}
    if run_facet:
        run_facets["teradata"] = {"_producer": PRODUCER, "_schemaURL": RUN_FACET_URL, **run_facet}
    if error is not None:
        run_facets["extractionError"] = facet(
            "ExtractionErrorRunFacet",
            "1-1-2",
            totalTasks=1,
            failedTasks=1,
            errors=[{"errorMessage": error, "task": sql[:200]}],
        )
    job_facets = {
        "sql": facet("SQLJobFacet", "1-1-0", query=sql, dialect="teradata"),
        "jobType": facet("JobTypeJobFacet", "2-0-3", processingType="BATCH", integration="TERADATA", jobType="QUERY"),
    }
    output_items: list[dict[str, Any]] = [
        {"namespace": namespace, "name": w.dataset, "facets": {"columnLineage": column_lineage(namespace, w)}}
        for w in written
    ]
    output_items.extend({"namespace": namespace, "name": name} for name in outputs)
    return {
        "eventType": "COMPLETE",
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id(run_key), "facets": run_facets},
        "job": {"namespace": namespace, "name": job_name, "facets": job_facets},
        "inputs": [{"namespace": namespace, "name": name} for name in inputs],
        "outputs": output_items,
    }


def edge_counts(written: Sequence[Written]) -> dict[str, int]:
    """Edges by `TYPE/SUBTYPE` as a reader of the facet counts them (dataset entries once per column)."""
    counts: dict[str, int] = {}
    for w in written:
        for _, flow in w.columns:
            for subtype, _, _ in flow.direct.values():
                key = f"DIRECT/{Direct(subtype).name}"
                counts[key] = counts.get(key, 0) + 1
            for _, kind in flow.indirect:
                key = f"INDIRECT/{kind.value}"
                counts[key] = counts.get(key, 0) + 1
        for _, kind in w.rows:
            key = f"INDIRECT/{kind.value}"
            counts[key] = counts.get(key, 0) + len(w.columns)
    return counts
