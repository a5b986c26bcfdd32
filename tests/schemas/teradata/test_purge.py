"""The purge's Teradata statements: driven through a recording connection (no Teradata server is reachable),
each parsed with sqlglot's Teradata dialect, each `?` given a value, the cut-off bound as a timestamp."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from schemas.migrations import MIGRATIONS, schema_catalog
from schemas.sql import purge as purge_sql
from schemas.teradata.store import TeradataStore
from tests.schemas.teradata.recording import Call, Row, Script
from tests.schemas.teradata.test_sql import DATABASE, DSN

BEFORE = "2026-05-31 12:00:00.000000"
KEYS = ["k1", "k2", "k3"]


class OldRows(Script):
    """A database where each purge finds three old keys once, still old in the transaction, each with one row to
    go everywhere; its first batch of key reads answers KEYS, the next none."""

    def __init__(self) -> None:
        super().__init__(DATABASE, schema_catalog(), versions=[m.version for m in MIGRATIONS])
        self.served: set[str] = set()

    def answer(self, call: Call) -> list[Row]:
        sql = call.sql.removeprefix("LOCKING ROW FOR ACCESS ")
        if " > ? ORDER BY " in sql:  # a batch of keys
            if sql in self.served:
                return []
            self.served.add(sql)
            return [(key,) for key in KEYS]
        if sql.startswith("SELECT COUNT(*) FROM"):
            return [(1,)]
        if "UNION ALL" in sql and "OL_RUN_INPUT" in sql:
            return [(key, "dataset") for key in KEYS]
        if sql.startswith("DELETE"):
            return [(1,)]
        if " IN (" in sql and sql.startswith(("SELECT run_id", "SELECT event_id", "SELECT lineage_id")):
            return [(key,) for key in KEYS]
        return super().answer(call)


def purge_calls(*, dry_run: bool) -> tuple[list[Call], dict[str, int], OldRows]:
    script = OldRows()
    store = TeradataStore(DSN, connect=script.connect, sleep=lambda _seconds: None)
    removed: dict[str, int] = {}
    for step in store.purge(BEFORE, edges=True, dry_run=dry_run):
        for label, count in step.items():
            removed[label] = removed.get(label, 0) + count
    purge_sql_calls = [
        c for c in script.calls if "OL_" in c.sql and "DBC." not in c.sql and "SCHEMA_VERSION" not in c.sql
    ]
    return purge_sql_calls, removed, script


CALLS, REMOVED, SCRIPT = purge_calls(dry_run=False)
DRY_CALLS, DRY_REMOVED, DRY_SCRIPT = purge_calls(dry_run=True)
STATEMENTS = sorted({call.sql for call in CALLS + DRY_CALLS})


def test_every_kind_is_purged_and_reported() -> None:
    assert set(REMOVED) == set(purge_sql.LABELS)
    assert REMOVED == DRY_REMOVED
    assert any(s.startswith(f"DELETE FROM {DATABASE}.OL_RUN_INPUT WHERE run_id IN (?, ?, ?)") for s in STATEMENTS)
    keys = f"LOCKING ROW FOR ACCESS SELECT TOP {purge_sql.PURGE_BATCH} run_id FROM {DATABASE}.OL_RUN "
    assert any(s.startswith(keys) for s in STATEMENTS)
    assert not any(s.startswith("DELETE") for s in {c.sql for c in DRY_CALLS}), "a dry run deletes nothing"
    assert SCRIPT.commits >= 4 and DRY_SCRIPT.commits == 0  # one transaction per batch (runs, events, 2 edge kinds)


@pytest.mark.parametrize("statement", STATEMENTS)
def test_every_purge_statement_parses_as_teradata(statement: str) -> None:
    text = statement.removeprefix("LOCKING ROW FOR ACCESS ")
    parsed = sqlglot.parse_one(text, read="teradata")
    # INSERT and UPDATE: the purge mark each step moves (schemas.sql.memory says why).
    assert isinstance(parsed, exp.Select | exp.Delete | exp.Union | exp.Insert | exp.Update), (type(parsed), statement)
    assert f" {DATABASE}.OL_" in f" {text}" or "FROM (" in text, statement
    assert ":before" not in text and ":last" not in text and "{ids}" not in text


def test_every_marker_gets_a_value_and_the_cut_off_is_a_timestamp() -> None:
    for call in CALLS + DRY_CALLS:
        for row in call.params:
            assert len(row) == call.sql.count("?"), call.sql
        if "CAST(? AS TIMESTAMP(6))" in call.sql and "OL_POPULATE_MARK" not in call.sql:
            assert BEFORE in call.params[0]
    assert all("< CAST(? AS TIMESTAMP(6))" in c.sql for c in CALLS if " > ? ORDER BY " in c.sql)
