"""Result values as the store's reads hold them, converted by psycopg as it reads each column: timestamps as
store text, decimals as float, a CHAR flag without its padding (the rules of schemas.sql.reads.read_value).

Converting after the fetch took one Python call per value of every row, and a traversal level reads thousands of
column edges of 16 values each, none of which needs converting: that loop cost more than the query. A loader
runs only for the columns of its type, and psycopg's own loaders, which these wrap, are C."""

from __future__ import annotations

from datetime import datetime

from psycopg import abc, postgres, pq
from psycopg.adapt import AdaptersMap, Loader
from psycopg.types.numeric import FloatLoader

from schemas.sql.reads import unpadded
from schemas.times import format_store_time


def _builtin(name: str) -> type[abc.Loader]:
    """psycopg's text loader of a built-in type (its C one, where psycopg has it)."""
    loader = postgres.adapters.get_loader(postgres.types[name].oid, pq.Format.TEXT)
    if loader is None:  # psycopg loads every built-in type
        raise LookupError(f"psycopg has no text loader for {name}")
    return loader


class _Wrapped(Loader):
    """A loader that converts what psycopg's loader of the same type (`wraps`) gives."""

    wraps: type[abc.Loader]

    def __init__(self, oid: int, context: abc.AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._inner = self.wraps(oid, context)


class _StoreTime(_Wrapped):
    def load(self, data: abc.Buffer) -> str:
        moment: datetime = self._inner.load(data)
        return format_store_time(moment)


class _Timestamp(_StoreTime):
    wraps = _builtin("timestamp")


class _Timestamptz(_StoreTime):
    wraps = _builtin("timestamptz")


class _Char(_Wrapped):
    wraps = _builtin("bpchar")

    def load(self, data: abc.Buffer) -> str:
        return unpadded(self._inner.load(data))


def register(adapters: AdaptersMap) -> None:
    """Read the store's types as schemas.sql.reads holds them, on a connection's (or cursor's) adapters."""
    adapters.register_loader("numeric", FloatLoader)
    for name, loader in (("timestamp", _Timestamp), ("timestamptz", _Timestamptz), ("bpchar", _Char)):
        adapters.register_loader(name, loader)
