"""The query layer's settings, filled by the app factory from ingest.settings.Settings (query never reads
the environment itself)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueryConfig:
    """Bounds of every query parameter. Depths come from VALIDATION_*, the rest from LINEAGE_* settings."""

    min_depth: int = 1  # VALIDATION_MIN_MAX_DEPTH
    default_depth: int = 5  # VALIDATION_DEFAULT_MAX_DEPTH
    max_depth: int = 20  # VALIDATION_MAX_DEPTH_LIMIT
    database_default_depth: int = 3  # /lineage/database/{name} without maxDepth, as the seed application did
    max_nodes: int = 10_000  # LINEAGE_MAX_NODES: a traversal stops there and answers truncated: true
    max_page_size: int = 1_000  # LINEAGE_MAX_PAGE_SIZE: largest `limit` of a list or search
    max_database_datasets: int = 1_000  # LINEAGE_MAX_DATABASE_DATASETS: datasets a database-level lineage starts from

    def __post_init__(self) -> None:
        if not 1 <= self.min_depth <= self.default_depth <= self.max_depth:
            raise ValueError("depth bounds must satisfy 1 <= min_depth <= default_depth <= max_depth")
        if self.max_nodes < 1 or self.max_page_size < 1 or self.max_database_datasets < 1:
            raise ValueError("max_nodes, max_page_size and max_database_datasets must be positive")


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """Redis for the lineage cache. An empty address disables the cache."""

    addr: str = ""  # REDIS_ADDR, host:port
    password: str | None = None  # REDIS_PASSWORD
    db: int = 0  # REDIS_DB
    ttl_seconds: int = 300  # LINEAGE_CACHE_TTL_SECONDS: an entry also expires by age, whatever the generation
    timeout_seconds: float = 0.2  # connect and socket timeout: a dead Redis costs at most this per try
    retry_after_seconds: float = 5.0  # after a failure Redis is left alone this long (doubling up to 60 s)
