"""The query layer's settings: `settings.query` and `settings.cache` of ingest.settings.Settings are these
dataclasses themselves. Query never reads the environment: each field that a variable sets says so in its
metadata (keys `env`, `meaning`, `used_by`, optional `low`/`high` for integers, `cast`, `secret`), plain
data that ingest.settings turns into its variable table. A field without `env` is a constant."""

from __future__ import annotations

from dataclasses import dataclass, field

_DEPTH = {"low": 1, "high": 1000, "used_by": "query"}


@dataclass(frozen=True, slots=True)
class QueryConfig:
    """Bounds of every query parameter."""

    min_depth: int = field(
        default=1,
        metadata={"env": "VALIDATION_MIN_MAX_DEPTH", "meaning": "smallest lineage maxDepth accepted", **_DEPTH},
    )
    default_depth: int = field(
        default=5,
        metadata={"env": "VALIDATION_DEFAULT_MAX_DEPTH", "meaning": "lineage maxDepth when none is given", **_DEPTH},
    )
    max_depth: int = field(
        default=20,
        metadata={"env": "VALIDATION_MAX_DEPTH_LIMIT", "meaning": "largest lineage maxDepth accepted", **_DEPTH},
    )
    database_default_depth: int = 3  # /lineage/database/{name} without maxDepth, as the seed application did
    max_nodes: int = field(
        default=10_000,
        metadata={
            "env": "LINEAGE_MAX_NODES",
            "meaning": "nodes one lineage answer may hold; beyond it the answer stops with truncated: true",
            "used_by": "query",
            "low": 1,
            "high": 10_000_000,
        },
    )
    max_page_size: int = field(
        default=1_000,
        metadata={
            "env": "LINEAGE_MAX_PAGE_SIZE",
            "meaning": "largest `limit` a list or search accepts",
            "used_by": "query",
            "low": 1,
            "high": 100_000,
        },
    )
    max_database_datasets: int = field(
        default=1_000,
        metadata={
            "env": "LINEAGE_MAX_DATABASE_DATASETS",
            "meaning": "datasets a database-level lineage starts from at most",
            "used_by": "query",
            "low": 1,
            "high": 1_000_000,
        },
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
        metadata={
            "env": "REDIS_ADDR",
            "meaning": "query cache as host:port; unreachable means no cache; empty disables it",
            "used_by": "query",
            "cast": redis_addr,
        },
    )
    password: str | None = field(
        default=None,
        metadata={"env": "REDIS_PASSWORD", "meaning": "Redis password", "used_by": "query", "secret": True},
    )
    db: int = field(
        default=0,
        metadata={
            "env": "REDIS_DB",
            "meaning": "Redis database number",
            "used_by": "query",
            "low": 0,
            "high": 1_000_000,
        },
    )
    ttl_seconds: int = field(  # an entry also expires by age, whatever the generation
        default=300,
        metadata={
            "env": "LINEAGE_CACHE_TTL_SECONDS",
            "meaning": "how long a cached lineage answer lives in Redis",
            "used_by": "query",
            "low": 1,
            "high": 86_400,
        },
    )
    timeout_seconds: float = 0.2  # connect and socket timeout: a dead Redis costs at most this per try
    retry_after_seconds: float = 5.0  # after a failure Redis is left alone this long (doubling up to 60 s)
