"""The Teradata store against a real server: `pytest -m teradata`, run when TERADATA_HOST is set.

Uses the scratch database TERADATA_DATABASE (with TERADATA_USER, TERADATA_PASSWORD, TERADATA_PORT). It must hold
no OL_* table when the suite starts: the suite creates them, and drops exactly those it created when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.dsn import Dialect, Dsn
from schemas.migrations import MIGRATIONS
from schemas.store import Direction, Page, WriteOutcome
from schemas.tables import TABLES
from schemas.teradata import qvci
from schemas.teradata import store as teradata
from schemas.teradata.store import TeradataStore
from tests.schemas.sql.test_ddl import SEED_DDL, SEED_KEYS
from tests.schemas.teradata.test_sql import real_batch
from tests.schemas.test_migrations import SEED_INDEXES, SEED_ROWS

pytestmark = [
    pytest.mark.teradata,
    pytest.mark.skipif(not os.environ.get("TERADATA_HOST"), reason="TERADATA_HOST is not set: no Teradata server"),
]


def live_dsn() -> Dsn:
    env = os.environ
    return Dsn(
        Dialect.TERADATA,
        host=env["TERADATA_HOST"],
        port=int(env.get("TERADATA_PORT", "1025")),
        user=env.get("TERADATA_USER", "demo_user"),
        password=env.get("TERADATA_PASSWORD", ""),
        database=env.get("TERADATA_DATABASE", "demo_user"),
    )


class Admin:
    """A plain autocommit session on the scratch database, for what the tests set up and check."""

    def __init__(self, dsn: Dsn) -> None:
        self.database = teradata.database_name(dsn)
        self.connection = teradata.driver_connect(dsn)()
        self.connection.autocommit = True

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if sql.startswith(("SELECT", "LOCKING")):
            return list(teradata.query(self.connection, sql, params))
        teradata.execute(self.connection, sql, params)
        return []

    def ol_tables(self) -> set[str]:
        rows = self.run(
            "SELECT TRIM(TableName) FROM DBC.TablesV WHERE UPPER(TRIM(DatabaseName)) = UPPER(?) AND TableKind = 'T'",
            (self.database,),
        )
        names = {t.name for t in TABLES}
        return {str(row[0]).upper() for row in rows} & names

    def drop_ol_tables(self) -> None:
        for name in self.ol_tables():
            self.run(f"DROP TABLE {self.database}.{name}")


@pytest.fixture(scope="module")
def admin() -> Iterator[Admin]:
    admin = Admin(live_dsn())
    if admin.ol_tables():
        admin.connection.close()
        pytest.skip(f"the scratch database {admin.database} already holds OL_* tables; use an empty one")
    yield admin
    admin.drop_ol_tables()
    admin.connection.close()


@pytest.fixture
def store(admin: Admin) -> Iterator[TeradataStore]:
    admin.drop_ol_tables()
    store = TeradataStore(live_dsn())
    yield store
    store.close()


def build_seed(admin: Admin) -> None:
    """The seed application's schema as its setup script created it, with rows written the way it wrote them."""
    db = admin.database
    for table, columns in SEED_DDL.items():
        admin.run(f"CREATE MULTISET TABLE {db}.{table} ({columns}) PRIMARY INDEX ({', '.join(SEED_KEYS[table])})")
    for name, (table, column) in SEED_INDEXES.items():
        admin.run(f"CREATE INDEX {name} ({column}) ON {db}.{table}")
    for table, row in SEED_ROWS.items():
        admin.run(f"INSERT INTO {db}.{table} VALUES ({', '.join('?' * len(row))})", row)


def test_create_upgrade_and_ingest_the_real_events(store: TeradataStore, admin: Admin) -> None:
    assert store.create_schema()
    assert store.schema_status().current and store.upgrade_schema() == []
    batch = real_batch()
    outcomes = store.write_batch(batch)
    assert outcomes.count(WriteOutcome.STORED) == len(batch) - 3
    assert store.write_batch(batch) == [WriteOutcome.DUPLICATE] * len(batch)
    edge = next(e for rows in batch for e in rows.column_edges)
    upstream = store.column_edges([edge.target_field_id], Direction.UPSTREAM)
    assert edge.lineage_id in {e.lineage_id for e in upstream}
    assert store.namespaces(Page(1000)).total >= 1


def test_upgrade_of_the_seed_database(store: TeradataStore, admin: Admin) -> None:
    build_seed(admin)
    assert store.upgrade_schema()
    assert store.schema_status().current and store.upgrade_schema() == []
    for table in SEED_ROWS:
        assert admin.run(f"SELECT COUNT(*) FROM {admin.database}.{table}")[0][0] == 1, table
    versions = admin.run(f"SELECT version_id FROM {admin.database}.OL_SCHEMA_VERSION ORDER BY 1")
    assert [v[0] for v in versions] == [m.version for m in MIGRATIONS]
    assert WriteOutcome.STORED in store.write_batch(real_batch())


def test_qvci_check() -> None:
    code, message = qvci.qvci_check(live_dsn())
    assert code in (qvci.ENABLED, qvci.DISABLED), message
