"""The openlineage-python client's own HTTP transports against `lineage serve`, as producers run them.

HttpTransport (requests, synchronous) and AsyncHttpTransport (httpx, a background thread that queues events
and sends them concurrently) each deliver every complete sample event of ../shared/events, gzip-compressed
and with an API key, plus the events the client itself builds; every one is acknowledged, then found in the
store; sending them again is acknowledged as duplicates and stores nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport.async_http import AsyncHttpConfig, AsyncHttpTransport
from openlineage.client.transport.http import HttpCompression, HttpConfig, HttpTransport

from ingest.events.mapping import event_id
from schemas.rows import run_key
from tests.conftest import complete_event_files, load_event
from tests.ingest.processes import Server, column, rows, serving
from tests.olclient import run_events

KEY = "client-transport-key-0123456789"
COMPLETION_SECONDS = 60.0  # the async transport's own wait; generous on a noisy machine


def transport_config(url: str) -> dict[str, Any]:
    """As a producer's openlineage.yml says it: gzip and an API key."""
    return {"url": url, "compression": "gzip", "auth": {"type": "api_key", "apiKey": KEY}, "timeout": 30.0}


def sample_events() -> list[dict[str, Any]]:
    """Every complete sample event, as the client serialises it (Serde drops nulls)."""
    return [Serde.to_dict(load_event(path.name)) for path in complete_event_files()]


def emit_raw(transport: HttpTransport | AsyncHttpTransport, event: dict[str, Any]) -> Any:
    """Emit a sample event as it is: the transports serialise with Serde.to_json, which takes a dict too."""
    return transport.emit(event)  # type: ignore[arg-type]  # typed for attrs events only


def send_sync(url: str, events: list[dict[str, Any]], built: list[Any]) -> list[int]:
    """HttpTransport: the status of each raw event (emit raises on a non-2xx); built events via the client."""
    transport = HttpTransport(HttpConfig.from_dict(transport_config(url)))
    assert transport.compression is HttpCompression.GZIP
    try:
        statuses = [emit_raw(transport, event).status_code for event in events]
        client = OpenLineageClient(transport=transport)
        for event in built:
            client.emit(event)
    finally:
        transport.close()
    return statuses


def send_async(url: str, events: list[dict[str, Any]], built: list[Any]) -> dict[str, int]:
    """AsyncHttpTransport: queue everything, wait until the worker has sent it all, close; its counters."""
    config = AsyncHttpConfig.from_dict({**transport_config(url), "max_concurrent_requests": 8})
    assert config.compression is HttpCompression.GZIP
    transport = AsyncHttpTransport(config)
    try:
        for event in events:
            emit_raw(transport, event)
        client = OpenLineageClient(transport=transport)
        for event in built:
            client.emit(event)
        assert transport.wait_for_completion(timeout=COMPLETION_SECONDS), transport.get_stats()
    finally:
        assert transport.close(timeout=COMPLETION_SECONDS)
    return dict(transport.get_stats())


def deliver(kind: str, server: Server, events: list[dict[str, Any]], built: list[Any]) -> list[int] | None:
    """Send through the transport `kind`; the per-event statuses when the transport tells them."""
    if kind == "http":
        return send_sync(server.url, events, built)
    stats = send_async(server.url, events, built)
    assert stats == {"pending": 0, "success": len(events) + len(built), "failed": 0}, server.log_text()
    return None


def expected_edges(events: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    """(source namespace, dataset, field, target namespace, dataset, field) of every Spark CLL facet."""
    edges: set[tuple[str, ...]] = set()
    for event in events:
        if not str(event.get("producer", "")).endswith("/integration/spark"):
            continue
        for output in event.get("outputs", []):
            facet = output.get("facets", {}).get("columnLineage", {})
            for target_field, entry in facet.get("fields", {}).items():
                for source in entry.get("inputFields", []):
                    edges.add(
                        (
                            source["namespace"],
                            source["name"],
                            source["field"],
                            output["namespace"],
                            output["name"],
                            target_field,
                        )
                    )
    return edges


@pytest.mark.parametrize("kind", ["http", "async_http"])
def test_the_client_transports_deliver_every_sample_event(tmp_path: Path, kind: str) -> None:
    events = sample_events()
    built = [event for n in range(3) for event in run_events(f"etl.client_{kind}_{n}")]
    with serving(tmp_path, LINEAGE_API_KEYS=KEY) as server:
        statuses = deliver(kind, server, events, built)
        assert statuses is None or statuses == [201] * len(events)
        assert server.metric("lineage_events_accepted_total") == len(events) + len(built)
        # A client that sends again (a retry) is acknowledged, and nothing is stored twice.
        statuses = deliver(kind, server, events, [])
        assert statuses is None or statuses == [200] * len(events)
        assert server.metric("lineage_events_duplicate_total") == len(events)
        assert server.stop() == 0, server.log_text()

    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(len(events) + len(built),)]
    stored = column(tmp_path, "SELECT event_id FROM OL_EVENT")
    assert {event_id(event) for event in events} <= stored
    runs = dict(rows(tmp_path, "SELECT run_id, event_type FROM OL_RUN"))
    for event in events:
        if "run" in event:
            assert run_key(event["run"]["runId"]) in runs
    for built_event in built:
        assert runs[run_key(built_event.run.runId)] == "COMPLETE"
    edges = expected_edges(events)
    assert len(edges) > 10
    found = rows(
        tmp_path,
        "SELECT source_namespace, source_dataset, source_field, target_namespace, target_dataset, target_field "
        "FROM OL_COLUMN_LINEAGE",
    )
    assert edges <= set(found)


def test_the_transport_without_the_key_is_refused(tmp_path: Path) -> None:
    """The key the transports send is what gets them in: without it, the same event is a 401."""
    config = transport_config("")
    del config["auth"]
    with serving(tmp_path, LINEAGE_API_KEYS=KEY) as server:
        transport = HttpTransport(HttpConfig.from_dict({**config, "url": server.url, "retry": {"total": 0}}))
        try:
            with pytest.raises(Exception, match="401"):
                emit_raw(transport, sample_events()[0])
        finally:
            transport.close()
    assert rows(tmp_path, "SELECT COUNT(*) FROM OL_EVENT") == [(0,)]
