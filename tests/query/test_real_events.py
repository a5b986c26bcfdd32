"""Real producer events through ingest.events.prepare + write_batch: the column lineage of each output field
lists exactly the input fields and transformations the event carried (expectation computed from the JSON)."""

from __future__ import annotations

from typing import Any

import pytest

from query.lineage import Way, column_lineage
from schemas.rows import field_key
from schemas.sqlite.store import SqliteStore
from tests.conftest import load_event
from tests.query.conftest import ingest

FILES = [
    "spark__cll_insert_complete__8.json",
    "spark_dataproc__hive_insert_complete_symlinks_cll__4.json",
    "airflow__task_BQ.upload_complete_cll__line_03.json",
]


def expected_inputs(entry: dict[str, Any]) -> set[tuple[str, str, str, str | None, str | None]]:
    """(namespace, dataset, field, type, subtype) of each input field; the deprecated form when no list."""
    found = set()
    for item in entry.get("inputFields", []):
        transformations = item.get("transformations") or []
        if transformations:
            for t in transformations:
                found.add((item["namespace"], item["name"], item["field"], t.get("type"), t.get("subtype") or None))
        else:
            legacy = entry.get("transformationType")
            kind = {"IDENTITY": ("DIRECT", "IDENTITY"), "MASKED": ("DIRECT", None)}.get(legacy or "", (None, legacy))
            found.add((item["namespace"], item["name"], item["field"], *kind))
    return found


@pytest.mark.parametrize("name", FILES)
def test_output_field_lineage_is_what_the_event_said(store: SqliteStore, name: str) -> None:
    event = load_event(name)
    ingest(store, [event])
    checked = 0
    for output in event.get("outputs", []):
        facet = output.get("facets", {}).get("columnLineage", {})
        for field, entry in facet.get("fields", {}).items():
            start = field_key(output["namespace"], output["name"], field)
            graph = column_lineage(store, [start], Way.UPSTREAM, 1, 10_000)
            got = {
                (e.source_namespace, e.source_dataset, e.source_field, e.transformation_type, e.transformation_subtype)
                for p in graph.pairs
                for e in p.edges
            }
            assert got == expected_inputs(entry), f"{output['name']}.{field}"
            assert all(p.target_field_id == start for p in graph.pairs)
            checked += 1
    assert checked > 0
