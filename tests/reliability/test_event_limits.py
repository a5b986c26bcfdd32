"""Per-event limits on datasets and fields (issue 14: one event of 420,000 inputs took seconds of validation and
nineteen to write): 413 with the limit's name, and in a batch only the element over the limit fails."""

from __future__ import annotations

import orjson

from ingest.http.event_limits import EventLimits, check_event
from tests.reliability.conftest import MakeServer, run_event


async def test_an_event_over_the_dataset_limit_is_413_naming_it(make_server: MakeServer) -> None:
    client, _ = await make_server(LINEAGE_MAX_EVENT_DATASETS="10")
    response = await client.post("/api/v1/lineage", data=orjson.dumps(run_event(inputs=10, outputs=1)))
    body = await response.json()
    assert response.status == 413 and body["code"] == "TOO_MANY_DATASETS"
    assert "LINEAGE_MAX_EVENT_DATASETS" in body["error"] and "11 datasets" in body["error"]
    assert (await client.post("/api/v1/lineage", data=orjson.dumps(run_event(inputs=9, outputs=1)))).status == 201


async def test_in_a_batch_only_the_element_over_a_limit_fails(make_server: MakeServer) -> None:
    client, _ = await make_server(LINEAGE_MAX_EVENT_FIELDS="5")
    wide = run_event()
    fields = [{"name": f"c{i}", "type": "INTEGER", "fields": [{"name": "nested", "type": "INTEGER"}]} for i in range(3)]
    wide["outputs"][0]["facets"] = {"schema": {"_producer": "p", "_schemaURL": "s", "fields": fields}}
    response = await client.post("/api/v1/lineage/batch", data=orjson.dumps([run_event(), wide]))
    body = await response.json()
    assert response.status == 200 and body["status"] == "partial_success", body
    [failed] = body["failed_events"]
    assert failed["index"] == 1 and failed["retriable"] is False and "LINEAGE_MAX_EVENT_FIELDS" in failed["reason"]


def test_counting_ignores_what_is_not_of_the_spec_s_shape() -> None:
    """Validation says what is wrong with such an event; counting must not fail on it (the fuzz test found
    an integer where inputFields belongs)."""
    limits = EventLimits(max_datasets=10, max_fields=10)
    lineage = {"fields": {"a": {"inputFields": 3}, "b": 7, "c": {"inputFields": [1, 2]}}, "dataset": "x"}
    odd = [
        {"inputs": "x", "outputs": [1, None, {"facets": 5}]},
        {"outputs": [{"facets": {"schema": {"fields": [{"fields": 3}, 4]}, "columnLineage": lineage}}]},
        {"dataset": {"facets": {"schema": "x", "columnLineage": []}}},
        [],
        None,
    ]
    for value in odd:
        check_event(value, limits)
