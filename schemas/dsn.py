"""Store addresses in SQLAlchemy's DSN form, parsed once at start-up.

`sqlite:///relative.db`, `sqlite:////absolute/path.db`, `postgresql://user:pw@host:5432/db`,
`teradata://user:pw@host:1025/database`. Anything else is a `ValueError` whose message names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit


class Dialect(StrEnum):
    """The SQL dialects a store speaks; each has one backend module and one DDL rendering."""

    SQLITE = "sqlite"  # embedded file, the default store
    POSTGRESQL = "postgresql"  # for sites without Teradata
    TERADATA = "teradata"  # production


DEFAULT_PORTS = {Dialect.POSTGRESQL: 5432, Dialect.TERADATA: 1025}
SCHEME_ALIASES = {"postgres": Dialect.POSTGRESQL, "postgresql+psycopg": Dialect.POSTGRESQL}


@dataclass(frozen=True, slots=True)
class Dsn:
    dialect: Dialect
    path: str = ""  # sqlite: the database file, ":memory:" for a private in-memory database
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    database: str = ""

    def masked(self) -> str:
        """The DSN as text with the password replaced, fit for logs and `lineage config`."""
        if self.dialect is Dialect.SQLITE:
            return f"sqlite:///{self.path}"
        auth = self.user + (":***" if self.password else "")
        at = f"{auth}@" if auth else ""
        return f"{self.dialect.value}://{at}{self.host}:{self.port}/{self.database}"


def parse_dsn(text: str) -> Dsn:
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ValueError("expected scheme://..., for example sqlite:///./lineage.db")
    name = scheme.lower()
    try:
        dialect = SCHEME_ALIASES.get(name) or Dialect(name)
    except ValueError:
        raise ValueError(f"unknown scheme {scheme!r}; use sqlite, postgresql or teradata") from None
    if dialect is Dialect.SQLITE:
        return _parse_sqlite(rest)
    parts = urlsplit(f"//{rest}")
    try:
        port = parts.port or DEFAULT_PORTS[dialect]
    except ValueError:
        raise ValueError("the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise ValueError("a host is required")
    database = unquote(parts.path.lstrip("/"))
    if "/" in database:
        raise ValueError(f"database name {database!r} contains '/'")
    return Dsn(
        dialect=dialect,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
    )


def _parse_sqlite(rest: str) -> Dsn:
    # sqlite:///x.db -> rest "/x.db" -> relative "x.db"; sqlite:////abs -> rest "//abs" -> "/abs".
    if not rest.startswith("/"):
        raise ValueError("a sqlite DSN has three slashes: sqlite:///relative.db or sqlite:////absolute.db")
    path = rest[1:].split("?", 1)[0]
    if not path:
        raise ValueError("the sqlite DSN names no file")
    return Dsn(dialect=Dialect.SQLITE, path=path)
