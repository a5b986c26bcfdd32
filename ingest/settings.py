"""Settings: one frozen dataclass, built once at start-up from the environment, then `.env`, then defaults.

`VARIABLES` is the one list of every setting; `lineage config` prints it and a test holds the operations
guide's Configuration table to it. A bad value raises SettingsError naming the variable and the value,
and start-up stops with that one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.dsn import Dialect, Dsn, parse_dsn

DEFAULT_STORE = "sqlite:///./lineage.db"


class SettingsError(ValueError):
    """A setting has a value the server cannot use; the message names the variable and the value."""


def _text(value: str) -> str:
    return value


def _optional(value: str) -> str | None:
    return value or None


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def cast(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("not an integer") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return cast


def _choice(*allowed: str) -> Callable[[str], str]:
    def cast(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value.lower()

    return cast


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _list(value: str) -> tuple[str, ...]:
    """Comma-separated; blanks around items and empty items are dropped."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _api_keys(value: str) -> tuple[str, ...]:
    keys = _list(value)
    if any(len(key) < 16 for key in keys):
        raise ValueError("every API key must be at least 16 characters long")
    return keys


def _origins(value: str) -> tuple[str, ...]:
    origins = _list(value)
    for origin in origins:
        if origin == "*":
            raise ValueError("'*' is not allowed: name each origin (https://host[:port])")
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
    return origins


def _redis_addr(value: str) -> str:
    if value:
        host, sep, port = value.rpartition(":")
        if not sep or not host:
            raise ValueError("expected host:port, or empty to disable the cache")
        _int_in(1, 65535)(port)
    return value


def _dsn(value: str) -> Dsn:
    return parse_dsn(value)


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    attr: str  # the Settings field it fills
    default: str | None  # None: unset unless given
    cast: Callable[[str], Any]
    meaning: str
    used_by: str
    legacy: str | None = None
    secret: bool = False


PORT = _int_in(1, 65535)
DEPTH = _int_in(1, 1000)

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "TERADATA_HOST",
        "teradata_host",
        None,
        _optional,
        "Teradata host; when set and LINEAGE_STORE is not, the store is Teradata",
        "store, populate",
        "TD_HOST",
    ),
    Variable("TERADATA_USER", "teradata_user", "demo_user", _text, "Teradata user", "store, populate", "TD_USER"),
    Variable(
        "TERADATA_PASSWORD",
        "teradata_password",
        None,
        _optional,
        "Teradata password; never logged",
        "store, populate",
        "TD_PASSWORD",
        secret=True,
    ),
    Variable(
        "TERADATA_DATABASE",
        "teradata_database",
        "demo_user",
        _text,
        "database holding the OL_* tables",
        "store, populate",
        "TD_DATABASE",
    ),
    Variable("TERADATA_PORT", "teradata_port", "1025", PORT, "Teradata port", "store, populate"),
    Variable("API_PORT", "api_port", "8080", PORT, "HTTP port the server listens on", "serve", "PORT"),
    Variable(
        "REDIS_ADDR",
        "redis_addr",
        "localhost:6379",
        _redis_addr,
        "query cache as host:port; unreachable means no cache; empty disables it",
        "query",
    ),
    Variable("REDIS_PASSWORD", "redis_password", None, _optional, "Redis password", "query", secret=True),
    Variable("REDIS_DB", "redis_db", "0", _int_in(0, 1_000_000), "Redis database number", "query"),
    Variable(
        "VALIDATION_MAX_DEPTH_LIMIT",
        "validation_max_depth_limit",
        "20",
        DEPTH,
        "largest lineage maxDepth accepted",
        "query",
    ),
    Variable(
        "VALIDATION_DEFAULT_MAX_DEPTH",
        "validation_default_max_depth",
        "5",
        DEPTH,
        "lineage maxDepth when none is given",
        "query",
    ),
    Variable(
        "VALIDATION_MIN_MAX_DEPTH",
        "validation_min_max_depth",
        "1",
        DEPTH,
        "smallest lineage maxDepth accepted",
        "query",
    ),
    Variable(
        "LINEAGE_STORE",
        "store",
        None,
        _dsn,
        f"where the OL_* tables live, as a DSN; default {DEFAULT_STORE}, or Teradata when TERADATA_HOST is set",
        "serve, ingest, schema",
    ),
    Variable(
        "LINEAGE_VALIDATION",
        "validation",
        "lenient",
        _choice("lenient", "strict"),
        "lenient keeps a standard facet that breaks its schema, with a warning; strict rejects the event",
        "serve, ingest",
    ),
    Variable(
        "LINEAGE_HOST", "host", "127.0.0.1", _text, "address the server binds; 0.0.0.0 for every interface", "serve"
    ),
    Variable(
        "LINEAGE_LOG_LEVEL",
        "log_level",
        "info",
        _choice("debug", "info", "warning", "error"),
        "log level",
        "serve, ingest, schema",
    ),
    Variable(
        "LINEAGE_LOG_FORMAT",
        "log_format",
        "text",
        _choice("text", "json"),
        "text, or json for one JSON object per log line",
        "serve",
    ),
    Variable(
        "LINEAGE_WORKERS",
        "workers",
        "1",
        _int_in(1, 64),
        "server processes sharing the port (SO_REUSEPORT); `lineage serve --workers` overrides",
        "serve",
    ),
    Variable(
        "LINEAGE_API_KEYS",
        "api_keys",
        "",
        _api_keys,
        "comma-separated keys accepted as `Authorization: Bearer <key>`; several allow rotation; "
        "empty leaves ingestion open",
        "serve",
        secret=True,
    ),
    Variable(
        "LINEAGE_PROTECT_READS", "protect_reads", "false", _bool, "true: read endpoints need an API key too", "serve"
    ),
    Variable(
        "LINEAGE_CORS_ORIGINS",
        "cors_origins",
        "",
        _origins,
        "comma-separated origins allowed to call the API from a browser; empty disables CORS",
        "serve",
    ),
    Variable(
        "LINEAGE_BATCH_MAX_EVENTS",
        "batch_max_events",
        "500",
        _int_in(1, 100_000),
        "events written in one transaction at most",
        "serve",
    ),
    Variable(
        "LINEAGE_BATCH_MAX_DELAY_MS",
        "batch_max_delay_ms",
        "2",
        _int_in(0, 10_000),
        "how long the writer waits for more events once one is queued",
        "serve",
    ),
    Variable(
        "LINEAGE_QUEUE_MAX_EVENTS",
        "queue_max_events",
        "10000",
        _int_in(1, 10_000_000),
        "events waiting to be written at most; beyond it requests get 503 with Retry-After",
        "serve",
    ),
    Variable(
        "LINEAGE_RETRY_AFTER_SECONDS", "retry_after_seconds", "1", _int_in(1, 3600), "the Retry-After of a 503", "serve"
    ),
    Variable(
        "LINEAGE_MAX_BODY_BYTES",
        "max_body_bytes",
        "16777216",
        _int_in(1024, 2**31),
        "largest request body as sent (compressed or not); beyond it 413",
        "serve",
    ),
    Variable(
        "LINEAGE_MAX_DECOMPRESSED_BYTES",
        "max_decompressed_bytes",
        "67108864",
        _int_in(1024, 2**32),
        "largest body after gunzip, checked while inflating; beyond it 413",
        "serve",
    ),
    Variable(
        "LINEAGE_MAX_JSON_DEPTH",
        "max_json_depth",
        "100",
        _int_in(8, 1000),
        "deepest JSON nesting accepted; deeper is 400",
        "serve",
    ),
    Variable(
        "LINEAGE_MAX_BATCH_EVENTS",
        "max_batch_events",
        "1000",
        _int_in(1, 100_000),
        "most events in one batch request; more is 413",
        "serve",
    ),
    Variable(
        "LINEAGE_MAX_NODES",
        "max_nodes",
        "10000",
        _int_in(1, 10_000_000),
        "nodes one lineage answer may hold; beyond it the answer stops with truncated: true",
        "query",
    ),
    Variable(
        "LINEAGE_MAX_PAGE_SIZE",
        "max_page_size",
        "1000",
        _int_in(1, 100_000),
        "largest `limit` a list or search accepts",
        "query",
    ),
    Variable(
        "LINEAGE_MAX_DATABASE_DATASETS",
        "max_database_datasets",
        "1000",
        _int_in(1, 1_000_000),
        "datasets a database-level lineage starts from at most",
        "query",
    ),
    Variable(
        "LINEAGE_CACHE_TTL_SECONDS",
        "cache_ttl_seconds",
        "300",
        _int_in(1, 86_400),
        "how long a cached lineage answer lives in Redis",
        "query",
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    teradata_host: str | None
    teradata_user: str
    teradata_password: str | None
    teradata_database: str
    teradata_port: int
    api_port: int
    redis_addr: str
    redis_password: str | None
    redis_db: int
    validation_max_depth_limit: int
    validation_default_max_depth: int
    validation_min_max_depth: int
    store: Dsn
    validation: str
    host: str
    log_level: str
    log_format: str
    workers: int
    api_keys: tuple[str, ...]
    protect_reads: bool
    cors_origins: tuple[str, ...]
    batch_max_events: int
    batch_max_delay_ms: int
    queue_max_events: int
    retry_after_seconds: int
    max_body_bytes: int
    max_decompressed_bytes: int
    max_json_depth: int
    max_batch_events: int
    max_nodes: int
    max_page_size: int
    max_database_datasets: int
    cache_ttl_seconds: int
    sources: Mapping[str, str]  # variable name -> where its value came from

    @property
    def strict(self) -> bool:
        return self.validation == "strict"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
        """Read every variable; SettingsError names the first bad one with its value."""
        layers: list[tuple[str, Mapping[str, str]]] = [("environment", os.environ if environ is None else environ)]
        if env_file is not None and env_file.is_file():
            layers.append((str(env_file), read_env_file(env_file)))
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for var in VARIABLES:
            raw, source = _lookup(var, layers)
            sources[var.name] = source
            values[var.attr] = None if raw is None else _cast(var, raw)
        if values["store"] is None:
            values["store"], sources["LINEAGE_STORE"] = _default_store(values)
        _check_depths(values)
        return cls(**values, sources=sources)

    def effective(self) -> list[tuple[str, str, str]]:
        """(variable, value as text with secrets masked, source) for every variable, for `lineage config`."""
        rows = []
        for var in VARIABLES:
            value = getattr(self, var.attr)
            if isinstance(value, Dsn):
                text = value.masked()
            elif value is None or value == ():
                text = ""
            elif isinstance(value, tuple):
                text = ", ".join("***" if var.secret else item for item in value)
            else:
                text = "***" if var.secret else str(value)
            rows.append((var.name, text, self.sources[var.name]))
        return rows


def _lookup(var: Variable, layers: list[tuple[str, Mapping[str, str]]]) -> tuple[str | None, str]:
    for label, env in layers:
        for name in (var.name, var.legacy):
            if name is not None and name in env:
                return env[name], label if name == var.name else f"{label} ({name})"
    return var.default, "default"


def _cast(var: Variable, raw: str) -> Any:
    try:
        return var.cast(raw.strip())
    except ValueError as exc:
        shown = "***" if var.secret else raw
        raise SettingsError(f"{var.name}={shown!r}: {exc}") from None


def _default_store(values: Mapping[str, Any]) -> tuple[Dsn, str]:
    if values["teradata_host"]:
        dsn = Dsn(
            Dialect.TERADATA,
            host=values["teradata_host"],
            port=values["teradata_port"],
            user=values["teradata_user"],
            password=values["teradata_password"] or "",
            database=values["teradata_database"],
        )
        return dsn, "TERADATA_HOST"
    return parse_dsn(DEFAULT_STORE), "default"


def _check_depths(values: Mapping[str, Any]) -> None:
    low, default, high = (values[f"validation_{k}"] for k in ("min_max_depth", "default_max_depth", "max_depth_limit"))
    if not low <= default <= high:
        raise SettingsError(
            f"VALIDATION_DEFAULT_MAX_DEPTH={default!r}: must lie between VALIDATION_MIN_MAX_DEPTH={low} "
            f"and VALIDATION_MAX_DEPTH_LIMIT={high}"
        )


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments, blank lines, an `export ` prefix and surrounding quotes allowed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
