"""Store addresses in SQLAlchemy's DSN form, parsed once at start-up.

`sqlite:///relative.db`, `sqlite:////absolute/path.db`, `postgresql://user:pw@host:5432/db`,
`teradata://user:pw@host:1025/database`. Anything else is a `ValueError` whose message names the problem.

A server DSN's query string is kept as `Dsn.options`, in order: a PostgreSQL store passes each pair to libpq as
a connection parameter (`?sslmode=require&connect_timeout=5`, `options=-csearch_path%3Dlineage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit


class Dialect(StrEnum):
    """The SQL dialects a store speaks; each has one backend module and one DDL rendering."""

    SQLITE = "sqlite"  # embedded file, the default store
    POSTGRESQL = "postgresql"  # for sites without Teradata
    TERADATA = "teradata"  # production


DEFAULT_PORTS = {Dialect.POSTGRESQL: 5432, Dialect.TERADATA: 1025}
SCHEME_ALIASES = {"postgres": Dialect.POSTGRESQL, "postgresql+psycopg": Dialect.POSTGRESQL}
# Query parameters whose value is as secret as the password: masked like it.
SECRET_OPTIONS = frozenset({"password", "sslpassword"})


@dataclass(frozen=True, slots=True)
class Dsn:
    dialect: Dialect
    path: str = ""  # sqlite: the database file, ":memory:" for a private in-memory database
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    database: str = ""
    options: tuple[tuple[str, str], ...] = ()  # the query string's (name, value) pairs, in order

    def masked(self) -> str:
        """The DSN as text with the password (and any secret parameter) replaced, fit for logs and `lineage config`."""
        if self.dialect is Dialect.SQLITE:
            return f"sqlite:///{self.path}"
        auth = self.user + (":***" if self.password else "")
        at = f"{auth}@" if auth else ""
        shown = [(name, "***" if name in SECRET_OPTIONS else value) for name, value in self.options]
        query = f"?{urlencode(shown, safe='*')}" if shown else ""
        return f"{self.dialect.value}://{at}{self.host}:{self.port}/{self.database}{query}"


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
    try:
        options = tuple(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise ValueError(f"the query string {parts.query!r} is not name=value pairs joined by &") from None
    return Dsn(
        dialect=dialect,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
        options=options,
    )


def _parse_sqlite(rest: str) -> Dsn:
    # sqlite:///x.db -> rest "/x.db" -> relative "x.db"; sqlite:////abs -> rest "//abs" -> "/abs".
    if not rest.startswith("/"):
        raise ValueError("a sqlite DSN has three slashes: sqlite:///relative.db or sqlite:////absolute.db")
    path = rest[1:].split("?", 1)[0]
    if not path:
        raise ValueError("the sqlite DSN names no file")
    return Dsn(dialect=Dialect.SQLITE, path=path)
