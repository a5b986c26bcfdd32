"""Settings: frozen dataclasses, built once at start-up from the environment, then `.env`, then defaults.

Settings holds one group per part of the server: `store`, `http`, `query` and `cache` (the last two are
query.config's own QueryConfig and CacheConfig), plus the two variables every command reads. Each field a
variable sets carries the variable in its metadata (query.config.variable); `VARIABLES`, the one list of
every setting, is derived from those fields, so a default is written once, on its field. `lineage config`
prints the list and a test holds the operations guide's Configuration table to it. A bad value raises
SettingsError naming the variable and the value, and start-up stops with that one line. The design's
`populate` group arrives with its first variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from query.config import CacheConfig, QueryConfig, variable
from schemas.dsn import Dialect, Dsn, parse_dsn
from schemas.sql.memory import DEFAULT_LIMIT, DEFAULT_REFRESH_SECONDS

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


TERADATA = "store, populate"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where the OL_* tables live. The Teradata variables form the DSN when LINEAGE_STORE is not set."""

    dsn: Dsn = field(
        metadata=variable(
            "LINEAGE_STORE",
            f"where the OL_* tables live, as a DSN; default {DEFAULT_STORE}, or Teradata when TERADATA_HOST is set",
            "serve, ingest, schema",
            cast=parse_dsn,
        )
    )
    teradata_host: str | None = field(
        default=None,
        metadata=variable(
            "TERADATA_HOST",
            "Teradata host; when set and LINEAGE_STORE is not, the store is Teradata",
            TERADATA,
            legacy="TD_HOST",
        ),
    )
    teradata_user: str = field(
        default="demo_user", metadata=variable("TERADATA_USER", "Teradata user", TERADATA, legacy="TD_USER")
    )
    teradata_password: str | None = field(
        default=None,
        metadata=variable(
            "TERADATA_PASSWORD", "Teradata password; never logged", TERADATA, legacy="TD_PASSWORD", secret=True
        ),
    )
    teradata_database: str = field(
        default="demo_user",
        metadata=variable("TERADATA_DATABASE", "database holding the OL_* tables", TERADATA, legacy="TD_DATABASE"),
    )
    teradata_port: int = field(
        default=1025, metadata=variable("TERADATA_PORT", "Teradata port", TERADATA, low=1, high=65535)
    )
    write_memory_keys: int = field(
        default=DEFAULT_LIMIT,
        metadata=variable(
            "LINEAGE_WRITE_MEMORY_KEYS",
            "rows whose last write each process remembers, so that unchanged ones are not written again; 0 writes "
            "every row of every event",
            "serve, ingest, populate",
            low=0,
            high=10_000_000,
        ),
    )
    sighting_refresh_seconds: int = field(
        default=int(DEFAULT_REFRESH_SECONDS),
        metadata=variable(
            "LINEAGE_SIGHTING_REFRESH_SECONDS",
            "a newer sighting of an unchanged row (its updated_at, an edge's last_seen_at and run) is written "
            "within this many seconds, once however often it was seen",
            "serve, ingest, populate",
            low=1,
            high=3600,
        ),
    )


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The server: where it listens, who may call it, how much a request may carry, how writes are batched."""

    host: str = field(
        default="127.0.0.1",
        metadata=variable("LINEAGE_HOST", "address the server binds; 0.0.0.0 for every interface", "serve"),
    )
    api_port: int = field(
        default=8080,
        metadata=variable("API_PORT", "HTTP port the server listens on", "serve", legacy="PORT", low=1, high=65535),
    )
    workers: int = field(
        default=1,
        metadata=variable(
            "LINEAGE_WORKERS",
            "server processes sharing the port (SO_REUSEPORT); `lineage serve --workers` overrides",
            "serve",
            low=1,
            high=64,
        ),
    )
    log_format: str = field(
        default="text",
        metadata=variable(
            "LINEAGE_LOG_FORMAT",
            "text, or json for one JSON object per log line",
            "serve",
            cast=_choice("text", "json"),
        ),
    )
    api_keys: tuple[str, ...] = field(
        default=(),
        metadata=variable(
            "LINEAGE_API_KEYS",
            "comma-separated keys accepted as `Authorization: Bearer <key>`; several allow rotation; "
            "empty leaves ingestion open",
            "serve",
            secret=True,
            cast=_api_keys,
        ),
    )
    protect_reads: bool = field(
        default=False, metadata=variable("LINEAGE_PROTECT_READS", "true: read endpoints need an API key too", "serve")
    )
    cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=variable(
            "LINEAGE_CORS_ORIGINS",
            "comma-separated origins allowed to call the API from a browser; empty disables CORS",
            "serve",
            cast=_origins,
        ),
    )
    batch_max_events: int = field(
        default=500,
        metadata=variable(
            "LINEAGE_BATCH_MAX_EVENTS", "events written in one transaction at most", "serve", low=1, high=100_000
        ),
    )
    batch_max_delay_ms: int = field(
        default=2,
        metadata=variable(
            "LINEAGE_BATCH_MAX_DELAY_MS",
            "how long the writer waits for more events once one is queued",
            "serve",
            low=0,
            high=10_000,
        ),
    )
    queue_max_events: int = field(
        default=10_000,
        metadata=variable(
            "LINEAGE_QUEUE_MAX_EVENTS",
            "events waiting to be written at most; beyond it requests get 503 with Retry-After",
            "serve",
            low=1,
            high=10_000_000,
        ),
    )
    retry_after_seconds: int = field(
        default=1,
        metadata=variable("LINEAGE_RETRY_AFTER_SECONDS", "the Retry-After of a 503", "serve", low=1, high=3600),
    )
    max_body_bytes: int = field(
        default=16 * 2**20,
        metadata=variable(
            "LINEAGE_MAX_BODY_BYTES",
            "largest request body as sent (compressed or not); beyond it 413",
            "serve",
            low=1024,
            high=2**31,
        ),
    )
    max_decompressed_bytes: int = field(
        default=32 * 2**20,  # fits LINEAGE_MAX_INFLIGHT_BYTES: a typical event of this size decodes to ~450 MiB
        metadata=variable(
            "LINEAGE_MAX_DECOMPRESSED_BYTES",
            "largest body after gunzip, checked while inflating; beyond it 413",
            "serve",
            low=1024,
            high=2**32,
        ),
    )
    max_json_depth: int = field(
        default=100,
        metadata=variable(
            "LINEAGE_MAX_JSON_DEPTH", "deepest JSON nesting accepted; deeper is 400", "serve", low=8, high=1000
        ),
    )
    max_batch_events: int = field(
        default=1000,
        metadata=variable(
            "LINEAGE_MAX_BATCH_EVENTS", "most events in one batch request; more is 413", "serve", low=1, high=100_000
        ),
    )
    max_inflight_bytes: int = field(
        default=1 << 30,
        metadata=variable(
            "LINEAGE_MAX_INFLIGHT_BYTES",
            "memory all ingestion requests being read, decoded or queued may hold together, as estimated from "
            "their bodies (docs/SECURITY.md); beyond it 503 QUEUE_FULL, a body that alone exceeds it 413",
            "serve",
            low=2**20,
            high=2**40,
        ),
    )
    max_event_datasets: int = field(
        default=10_000,
        metadata=variable(
            "LINEAGE_MAX_EVENT_DATASETS",
            "most inputs and outputs one event may name; more is 413 TOO_MANY_DATASETS",
            "serve",
            low=1,
            high=10_000_000,
        ),
    )
    max_event_fields: int = field(
        default=100_000,
        metadata=variable(
            "LINEAGE_MAX_EVENT_FIELDS",
            "most schema and column-lineage fields one event may name; more is 413 TOO_MANY_FIELDS",
            "serve",
            low=1,
            high=100_000_000,
        ),
    )


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """What the server removes as it ages; `lineage purge --older-than DAYS` does the same on demand."""

    days: int = field(
        default=0,
        metadata=variable(
            "LINEAGE_RETENTION_DAYS",
            "runs and raw events older than this many days are removed every hour, in small batches; 0 keeps "
            "everything",
            "serve",
            low=0,
            high=36_500,
        ),
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the commands read, by group. Build it with from_env(); `dataclasses.replace` for overrides."""

    store: StoreSettings
    http: HttpSettings
    query: QueryConfig
    cache: CacheConfig
    retention: RetentionSettings
    sources: Mapping[str, str]  # variable name -> where its value came from
    validation: str = field(
        default="lenient",
        metadata=variable(
            "LINEAGE_VALIDATION",
            "lenient keeps a standard facet that breaks its schema, with a warning; strict rejects the event",
            "serve, ingest",
            cast=_choice("lenient", "strict"),
        ),
    )
    max_future_skew: int = field(
        default=86_400,
        metadata=variable(
            "LINEAGE_MAX_FUTURE_SKEW",
            "seconds an eventTime may lie ahead of the server's clock; a later event is refused (400 INVALID_EVENT)",
            "serve, ingest",
            low=0,
            high=10 * 366 * 86_400,
        ),
    )
    log_level: str = field(
        default="info",
        metadata=variable(
            "LINEAGE_LOG_LEVEL", "log level", "serve, ingest, schema", cast=_choice("debug", "info", "warning", "error")
        ),
    )

    @property
    def strict(self) -> bool:
        return self.validation == "strict"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
        """Read every variable; SettingsError names the first bad one with its value."""
        layers: list[tuple[str, Mapping[str, str]]] = [("environment", os.environ if environ is None else environ)]
        if env_file is not None and env_file.is_file():
            layers.append((str(env_file), read_env_file(env_file)))
        values: dict[str | None, dict[str, Any]] = {group: {} for group in (None, *GROUPS)}
        sources: dict[str, str] = {}
        for var in VARIABLES:
            raw, source = _lookup(var, layers)
            sources[var.name] = source
            values[var.group][var.attr] = var.value if raw is None else _cast(var, raw, source)
        store = values["store"]
        if store["dsn"] is None:
            store["dsn"], sources["LINEAGE_STORE"] = _default_store(store)
        _check_depths(values["query"], sources)
        groups = {name: group(**values[name]) for name, group in GROUPS.items()}
        return cls(**groups, **values[None], sources=sources)

    def effective(self) -> list[tuple[str, str, str]]:
        """(variable, value as text with secrets masked, source) for every variable, for `lineage config`."""
        rows = []
        for var in VARIABLES:
            value = getattr(self if var.group is None else getattr(self, var.group), var.attr)
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


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable, read off the metadata of the field it sets."""

    name: str
    group: str | None  # the Settings group holding the field; None for a field of Settings itself
    attr: str  # the field it fills
    default: str | None  # as an operator writes it; None: unset unless given
    value: Any  # the field's default value, used when the variable is unset
    cast: Callable[[str], Any]
    meaning: str
    used_by: str
    legacy: str | None = None
    secret: bool = False


def _variables(owner: type[Any], group: str | None) -> list[Variable]:
    hints = get_type_hints(owner)
    return [_variable(f, hints[f.name], group) for f in fields(owner) if "env" in f.metadata]


def _variable(f: Field[Any], hint: Any, group: str | None) -> Variable:
    meta = f.metadata
    value = None if f.default is MISSING else f.default
    return Variable(
        name=meta["env"],
        group=group,
        attr=f.name,
        default=_as_text(value),
        value=value,
        cast=meta.get("cast") or _standard_cast(hint, meta),
        meaning=meta["meaning"],
        used_by=meta["used_by"],
        legacy=meta.get("legacy"),
        secret=meta.get("secret", False),
    )


def _standard_cast(hint: Any, meta: Mapping[str, Any]) -> Callable[[str], Any]:
    if hint is int:
        return _int_in(meta["low"], meta["high"])
    if hint is bool:
        return _bool
    if hint is str:
        return _text
    if hint == str | None:
        return _optional
    raise TypeError(f"{meta['env']}: no standard cast for {hint}; give `cast` in its metadata")


def _as_text(value: Any) -> str | None:
    """A default as the variable would spell it: `false`, `a,b`, `` for an empty list."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


# The groups are the fields of Settings typed as dataclasses; `sources` is not one.
GROUPS: dict[str, type[Any]] = {
    name: hint for name, hint in get_type_hints(Settings).items() if hasattr(hint, "__dataclass_fields__")
}
VARIABLES: tuple[Variable, ...] = (
    *(var for name, group in GROUPS.items() for var in _variables(group, name)),
    *_variables(Settings, None),
)


def _lookup(var: Variable, layers: list[tuple[str, Mapping[str, str]]]) -> tuple[str | None, str]:
    for label, env in layers:
        for name in (var.name, var.legacy):
            if name is not None and name in env:
                return env[name], label if name == var.name else f"{label} ({name})"
    return None, "default"


def _cast(var: Variable, raw: str, source: str) -> Any:
    try:
        return var.cast(raw.strip())
    except ValueError as exc:
        shown = "***" if var.secret else raw
        raise SettingsError(f"{var.name}={shown!r}: {exc} ({_origin(source)})") from None


def _origin(source: str) -> str:
    """Where a value came from, for an error: `from the environment`, `from .env`, `from the environment (PORT)`."""
    return f"from the {source}" if source.startswith("environment") else f"from {source}"


def _default_store(store: Mapping[str, Any]) -> tuple[Dsn, str]:
    if store["teradata_host"]:
        dsn = Dsn(
            Dialect.TERADATA,
            host=store["teradata_host"],
            port=store["teradata_port"],
            user=store["teradata_user"],
            password=store["teradata_password"] or "",
            database=store["teradata_database"],
        )
        return dsn, "TERADATA_HOST"
    return parse_dsn(DEFAULT_STORE), "default"


def _check_depths(query: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    low, default, high = query["min_depth"], query["default_depth"], query["max_depth"]
    if not low <= default <= high:
        origins = ", ".join(
            f"{name} {_origin(sources[name])}"
            for name in ("VALIDATION_DEFAULT_MAX_DEPTH", "VALIDATION_MIN_MAX_DEPTH", "VALIDATION_MAX_DEPTH_LIMIT")
            if sources[name] != "default"
        )
        raise SettingsError(
            f"VALIDATION_DEFAULT_MAX_DEPTH={default!r}: must lie between VALIDATION_MIN_MAX_DEPTH={low} "
            f"and VALIDATION_MAX_DEPTH_LIMIT={high} ({origins})"
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
