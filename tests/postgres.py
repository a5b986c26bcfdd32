"""The real PostgreSQL server of the test machines (127.0.0.1:5432, trust auth): a database per test session, a
schema per test, and the skip-or-fail rule.

`TEST_POSTGRES_DSN` names the server as a DSN whose database exists (default: the `test` database as `root`,
then as `postgres`). When no server answers, PostgreSQL tests skip with the reason, except under CI=true, where
they fail: CI's machine runs PostgreSQL, so a skip there would hide a broken setup.

The fixtures (tests/conftest.py) use `TestDatabase`: `postgres_database` creates one uniquely named database for
the session and drops it at the end; `postgres_dsn` gives each test a fresh schema in it, as a DSN whose `options`
parameter puts that schema first on the search_path, so any store, CLI or server process given the DSN works in
it alone. Process tests (tests/ingest) take `postgres_dsn` the same way.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

CANDIDATES = ("postgresql://root@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test")


def _answers(dsn: str) -> str | None:
    """None when `dsn` accepts a connection, else why not."""
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]


def find_server() -> tuple[str | None, str]:
    """(the administrative DSN, "") when a server answers (its database exists), else (None, why not)."""
    given = os.environ.get("TEST_POSTGRES_DSN")
    reasons = []
    for dsn in (given,) if given else CANDIDATES:
        reason = _answers(dsn)
        if reason is None:
            return dsn, ""
        reasons.append(f"{dsn}: {reason}")
    return None, "no PostgreSQL server answers (" + "; ".join(reasons) + ")"


def server_dsn() -> str:
    """The administrative DSN (its database exists); skips, or fails under CI=true, when none answers."""
    dsn, message = find_server()
    if dsn is not None:
        return dsn
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true and {message}")
    pytest.skip(message)


@dataclass(frozen=True)
class TestDatabase:
    """One database of the test session on the server of `admin` (a DSN to an existing database)."""

    admin: str
    name: str

    __test__ = False  # not a test class, whatever pytest thinks of its name

    @classmethod
    def create(cls, admin: str) -> TestDatabase:
        database = cls(admin, f"lineage_test_{uuid.uuid4().hex[:12]}")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
        return database

    def drop(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))

    @property
    def dsn(self) -> str:
        """The DSN of this database, with the admin DSN's user and host."""
        base, _, _ = self.admin.rpartition("/")
        return f"{base}/{self.name}"

    def new_schema(self) -> str:
        """A fresh, empty schema; its name."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        return name

    def drop_schema(self, name: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))

    def schema_dsn(self, schema: str) -> str:
        """The DSN of `schema` in this database: a libpq `options` parameter sets the search_path."""
        return f"{self.dsn}?options={quote(f'-csearch_path={schema}', safe='')}"
