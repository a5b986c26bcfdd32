"""ColumnLineageDatasetFacet -> column edges and dataset edges. Pure; part of ingest.events.mapping.

The facet (spec 1-2-0) maps each output field to the input fields it is computed from; each input field
carries a list of `transformations` (type DIRECT|INDIRECT, subtype, description, masking). Before 1-2-0
the transformation was said once per output field with `transformationType` (IDENTITY|MASKED) and
`transformationDescription`; 1-0-1 also allowed a free-text `transformation` on an input field. Those
deprecated forms still produce an edge when an input field has no `transformations`.

A transformation entry may carry the vendor key `x-confidence` (a number from 0 to 1): how sure a producer
that parses SQL is of the edge (the Teradata SQL extractor, ingest/populate/teradata, sets 0.95/0.85/0.70).
It becomes OL_COLUMN_LINEAGE.confidence_score; any other value, or none, leaves the score NULL.

The dataset-level `dataset` list names input fields that affect the whole output dataset (filters, joins,
sorts): each becomes one DatasetEdgeRow for the dataset carrying the facet, never one per output field.
The dataset carrying the facet is the target, whether the event lists it as an output or an input.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.events.json_read import as_list, as_map, identity, text
from schemas.rows import ColumnEdgeRow, DatasetEdgeRow, dataset_key, field_key, make_key
from schemas.tables import OL_COLUMN_LINEAGE

# Free text is cut to its column's width; the whole facet is kept verbatim in OL_FACET.
SUBTYPE = OL_COLUMN_LINEAGE.column("transformation_subtype").length
DESCRIPTION = OL_COLUMN_LINEAGE.column("transformation_description").length

# (type, subtype, description, masking)
Transformation = tuple[str | None, str | None, str | None, bool]

NO_TRANSFORMATION: Transformation = (None, None, None, False)

CONFIDENCE_KEY = "x-confidence"  # vendor key on a transformation entry: the edge's confidence_score

# Deprecated `transformationType` values in the 1-2-0 vocabulary: (type, subtype, masking).
# IDENTITY and MASKED are the two values the old spec defined. MASKED says only that no original data
# survives (a hash of PII, say), not how, so its subtype stays unknown. Producers also wrote the new
# words into the old field: a type keeps its place, a known subtype gets the type the spec gives it.
# Anything else is kept as the subtype with an unknown type, so no producer's word is lost.
DEPRECATED_TYPES: Mapping[str, tuple[str | None, str | None, bool]] = {
    "IDENTITY": ("DIRECT", "IDENTITY", False),
    "MASKED": ("DIRECT", None, True),
    "DIRECT": ("DIRECT", None, False),
    "INDIRECT": ("INDIRECT", None, False),
    "TRANSFORMATION": ("DIRECT", "TRANSFORMATION", False),
    "AGGREGATION": ("DIRECT", "AGGREGATION", False),
    "JOIN": ("INDIRECT", "JOIN", False),
    "GROUP_BY": ("INDIRECT", "GROUP_BY", False),
    "FILTER": ("INDIRECT", "FILTER", False),
    "SORT": ("INDIRECT", "SORT", False),
    "WINDOW": ("INDIRECT", "WINDOW", False),
    "CONDITIONAL": ("INDIRECT", "CONDITIONAL", False),
}


@dataclass(frozen=True, slots=True)
class Target:
    """The dataset carrying the facet, and the run (None outside a RunEvent) and time of the event."""

    namespace: str
    name: str
    dataset_id: str
    run_id: str | None
    event_time: str


@dataclass(frozen=True, slots=True)
class _Source:
    namespace: str
    name: str
    field: str
    dataset_id: str
    field_id: str


def deprecated_transformation(kind: object, description: object) -> Transformation:
    """The edge a pre-1-2-0 `transformationType` / `transformationDescription` pair stands for."""
    label = text(kind)
    if label is None:
        return (None, None, text(description, DESCRIPTION), False)
    known = DEPRECATED_TYPES.get(label.strip().upper())
    if known is None:
        return (None, label[:SUBTYPE], text(description, DESCRIPTION), False)
    return (known[0], known[1], text(description, DESCRIPTION), known[2])


def transformation(value: Mapping[str, Any]) -> Transformation:
    """One entry of `transformations`; empty strings read as not said (Spark sends `description: ""`).

    json_read.text, inlined: an edge reads three of these per input field."""
    kind, subtype, description = value.get("type"), value.get("subtype"), value.get("description")
    return (
        kind if isinstance(kind, str) and kind else None,
        subtype[:SUBTYPE] if isinstance(subtype, str) and subtype else None,
        description[:DESCRIPTION] if isinstance(description, str) and description else None,
        value.get("masking") is True,
    )


def confidence(value: Mapping[str, Any]) -> float | None:
    """The `x-confidence` of a transformation entry when it is a number from 0 to 1, else None."""
    score = value.get(CONFIDENCE_KEY)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        return None
    return round(float(score), 2)  # DECIMAL(3,2)


def _transformations(
    input_field: Mapping[str, Any], fallback: Transformation
) -> Iterator[tuple[Transformation, float | None]]:
    said = False
    for item in as_list(input_field.get("transformations")):
        if isinstance(item, dict):
            said = True
            yield transformation(item), None if CONFIDENCE_KEY not in item else confidence(item)
    if not said:
        legacy = text(input_field.get("transformation"), DESCRIPTION)  # 1-0-1: free text on the input field
        yield (fallback if fallback[2] is not None or legacy is None else (*fallback[:2], legacy, fallback[3])), None


def _flag(masking: bool) -> str:
    return "Y" if masking else "N"


class _Sources:
    """Input fields of one facet with their keys, each hashed once however often the facet names it."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str, str], _Source] = {}

    def get(self, value: object) -> _Source | None:
        ref = identity(value)
        field = as_map(value).get("field")
        if ref is None or not isinstance(field, str):
            return None
        key = (ref[0], ref[1], field)
        source = self._known.get(key)
        if source is None:
            source = self._known[key] = _Source(*key, dataset_key(*ref), field_key(*key))
        return source


def column_edges(facet: Mapping[str, Any], target: Target) -> tuple[list[ColumnEdgeRow], list[DatasetEdgeRow]]:
    """Every edge the facet states, in its order; the caller dedupes by lineage_id."""
    sources = _Sources()
    fields: list[ColumnEdgeRow] = []
    for output_field, entry in as_map(facet.get("fields")).items():
        if isinstance(entry, dict):
            fields.extend(_field_edges(output_field, entry, target, sources))
    dataset: list[DatasetEdgeRow] = []
    for item in as_list(facet.get("dataset")):
        source = sources.get(item)
        if source is not None:
            dataset.extend(_dataset_edge(source, t, target) for t, _ in _transformations(item, NO_TRANSFORMATION))
    return fields, dataset


def _field_edges(
    output_field: str, entry: Mapping[str, Any], target: Target, sources: _Sources
) -> Iterator[ColumnEdgeRow]:
    fallback = deprecated_transformation(entry.get("transformationType"), entry.get("transformationDescription"))
    target_field_id = field_key(target.namespace, target.name, output_field)
    for item in as_list(entry.get("inputFields")):
        source = sources.get(item)
        if source is None:
            continue
        for (kind, subtype, description, masking), score in _transformations(item, fallback):
            yield ColumnEdgeRow(
                lineage_id=make_key(
                    source.field_id, target_field_id, kind or "", subtype or "", description or "", _flag(masking)
                ),
                run_id=target.run_id,
                source_namespace=source.namespace,
                source_dataset=source.name,
                source_field=source.field,
                source_dataset_id=source.dataset_id,
                source_field_id=source.field_id,
                target_namespace=target.namespace,
                target_dataset=target.name,
                target_field=output_field,
                target_dataset_id=target.dataset_id,
                target_field_id=target_field_id,
                transformation_type=kind,
                transformation_subtype=subtype,
                transformation_description=description,
                masking=masking,
                confidence_score=score,
                event_time=target.event_time,
            )


def _dataset_edge(source: _Source, value: Transformation, target: Target) -> DatasetEdgeRow:
    kind, subtype, description, masking = value
    return DatasetEdgeRow(
        lineage_id=make_key(
            source.field_id, target.dataset_id, kind or "", subtype or "", description or "", _flag(masking)
        ),
        run_id=target.run_id,
        source_namespace=source.namespace,
        source_dataset=source.name,
        source_field=source.field,
        source_dataset_id=source.dataset_id,
        source_field_id=source.field_id,
        target_namespace=target.namespace,
        target_dataset=target.name,
        target_dataset_id=target.dataset_id,
        transformation_type=kind,
        transformation_subtype=subtype,
        transformation_description=description,
        masking=masking,
        event_time=target.event_time,
    )
