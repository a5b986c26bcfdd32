"""The query layer's settings: `settings.query` and `settings.cache` of ingest.settings.Settings are these
dataclasses themselves. Query never reads the environment: each field that a variable sets says so in its
metadata (`variable(...)`, plain data), which ingest.settings turns into its variable table. A field without
a variable is a constant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def variable(
    env: str,
    meaning: str,
    used_by: str,
    *,
    legacy: str | None = None,
    secret: bool = False,
    cast: Callable[[str], Any] | None = None,
    low: int | None = None,
    high: int | None = None,
) -> dict[str, Any]:
    """A settings field's metadata: the environment variable that sets it (`legacy`: an older name still read),
    what it means and which commands read it. Integers give `low` and `high`; a field whose type has no
    standard cast gives `cast`. Every group of ingest.settings.Settings spells its variables with this."""
    meta: dict[str, Any] = {"env": env, "meaning": meaning, "used_by": used_by, "legacy": legacy, "secret": secret}
    if cast is not None:
        meta["cast"] = cast
    if low is not None:
        meta |= {"low": low, "high": high}
    return meta


def _depth(env: str, meaning: str) -> dict[str, Any]:
    return variable(env, meaning, "query", low=1, high=1000)


@dataclass(frozen=True, slots=True)
class QueryConfig:
    """Bounds of every query parameter."""

    min_depth: int = field(
        default=1,
        metadata=_depth("VALIDATION_MIN_MAX_DEPTH", "smallest lineage maxDepth accepted"),
    )
    default_depth: int = field(
        default=5,
        metadata=_depth("VALIDATION_DEFAULT_MAX_DEPTH", "lineage maxDepth when none is given"),
    )
    max_depth: int = field(
        default=20,
        metadata=_depth("VALIDATION_MAX_DEPTH_LIMIT", "largest lineage maxDepth accepted"),
    )
    database_default_depth: int = 3  # /lineage/database/{name} without maxDepth, as the seed application did
    max_nodes: int = field(
        default=10_000,
        metadata=variable(
            "LINEAGE_MAX_NODES",
            "nodes one lineage answer may hold; beyond it the answer stops with truncated: true",
            "query",
            low=1,
            high=10_000_000,
        ),
    )
    max_page_size: int = field(
        default=1_000,
        metadata=variable(
            "LINEAGE_MAX_PAGE_SIZE", "largest `limit` a list or search accepts", "query", low=1, high=100_000
        ),
    )
    max_database_datasets: int = field(
        default=1_000,
        metadata=variable(
            "LINEAGE_MAX_DATABASE_DATASETS",
            "datasets a database-level lineage starts from at most",
            "query",
            low=1,
            high=1_000_000,
        ),
    )

    def __post_init__(self) -> None:
        if not 1 <= self.min_depth <= self.default_depth <= self.max_depth:
            raise ValueError("depth bounds must satisfy 1 <= min_depth <= default_depth <= max_depth")
        if self.max_nodes < 1 or self.max_page_size < 1 or self.max_database_datasets < 1:
            raise ValueError("max_nodes, max_page_size and max_database_datasets must be positive")


def redis_addr(value: str) -> str:
    """`host:port`, or empty for no cache. ValueError otherwise."""
    if value:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("expected host:port, or empty to disable the cache")
    return value


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """Redis for the lineage cache. An empty address disables the cache."""

    addr: str = field(
        default="localhost:6379",
        metadata=variable(
            "REDIS_ADDR",
            "query cache as host:port; unreachable means no cache; empty disables it",
            "query",
            cast=redis_addr,
        ),
    )
    password: str | None = field(
        default=None,
        metadata=variable("REDIS_PASSWORD", "Redis password", "query", secret=True),
    )
    db: int = field(
        default=0,
        metadata=variable("REDIS_DB", "Redis database number", "query", low=0, high=1_000_000),
    )
    ttl_seconds: int = field(  # an entry also expires by age, whatever the generation
        default=300,
        metadata=variable(
            "LINEAGE_CACHE_TTL_SECONDS", "how long a cached lineage answer lives in Redis", "query", low=1, high=86_400
        ),
    )
    timeout_seconds: float = 0.2  # connect and socket timeout: a dead Redis costs at most this per try
    retry_after_seconds: float = 5.0  # after a failure Redis is left alone this long (doubling up to 60 s)
