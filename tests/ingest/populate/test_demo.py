"""`lineage populate demo`: valid events, through the writer, idempotent, and a graph with fans, diamonds, a cycle."""

from __future__ import annotations

from pathlib import Path

from ingest.populate.demo import NAMESPACE, demo_events, populate_demo
from query.lineage import Way, column_lineage
from schemas.rows import field_key
from schemas.sqlite.store import SqliteStore


def test_demo_is_valid_idempotent_and_has_a_cycle(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "demo.db")
    try:
        store.create_schema()
        first = populate_demo(store, strict=True)
        assert (first.committed, first.duplicate, first.rejected, first.failed) == (len(demo_events()), 0, [], [])
        second = populate_demo(store)
        assert (second.committed, second.duplicate) == (0, len(demo_events()))
        ltv = field_key(NAMESPACE, "DIM.CUSTOMER", "lifetime_value")
        cycle = column_lineage(store, [ltv], Way.UPSTREAM, 10, 1000)
        assert {(n.dataset, n.field) for n in cycle.nodes} >= {("FACT.CUSTOMER_LTV", "ltv")}
        fan = column_lineage(store, [field_key(NAMESPACE, "STG_SALES.ORDERS_CLEAN", "amount")], Way.DOWNSTREAM, 1, 99)
        assert {p.first.target_dataset for p in fan.pairs} == {"FACT.SALES_DAILY", "FACT.CUSTOMER_LTV"}
    finally:
        store.close()
