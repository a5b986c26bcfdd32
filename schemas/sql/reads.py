"""What the query layer reads, as data: the result types, the SELECT statements, and paging per dialect.

The statements are written in the SQL that SQLite, PostgreSQL and Teradata share (`||`, LIKE ... ESCAPE,
CASE, UNION ALL, `:name` parameters which a PostgreSQL store rewrites to `%(name)s` and a Teradata
store to `?`), with two markers a store fills before running them:

- `{ids}` (or another `{name}`) is an IN list, expanded by `in_list` into `:ids_0, :ids_1, ...`; lists are
  chunked by the caller at `IN_LIST_VALUES` values (a SQLite store puts a json_each of one parameter there instead);
- paging is never written into a statement: `paged(dialect, statement, order)` wraps it in the one form each
  dialect has (LIMIT/OFFSET, or Teradata's QUALIFY ROW_NUMBER()).

Identifiers never come from input and every value is a bound parameter. A row's columns are listed from the
result type's fields (`select_list`), so `Type(*row)` builds it without positions written by hand.

Timestamps are the stores' UTC text (`YYYY-MM-DD HH:MM:SS.ffffff`); flags are the seed's 'Y'/'N'.

Rows written by the Teradata lineage application have NULL `*_field_id`/`*_dataset_id` columns in
OL_COLUMN_LINEAGE (it knew only names). Traversal looks edges up by those ids, and COLUMN_EDGES reads only rows
whose four ids are all set: `upgrade_schema` fills them (schemas.sql.backfill).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from schemas.dsn import Dialect
from schemas.rows import fold
from schemas.store import (
    ColumnEdge,
    CountKind,
    DatasetInfo,
    DatasetVersionInfo,
    Direction,
    EventInfo,
    FacetInfo,
    FieldInfo,
    JobInfo,
    NamespaceInfo,
    Page,
    RunInfo,
    SearchKind,
)
from schemas.times import format_store_time

IN_LIST_VALUES = 500  # values per IN list: SQLite before 3.32 binds at most 999 parameters per statement
Params = dict[str, Any]
T = TypeVar("T")


# --- statement helpers ------------------------------------------------------------------------------------


def select_list(kind: type[Any], exprs: Mapping[str, str] | None = None, prefix: str = "") -> str:
    """`a, b, c` for the fields of `kind`, in order; `exprs` gives an expression for a field that is no column."""
    given = exprs or {}
    named: tuple[str, ...] | None = getattr(kind, "_fields", None)  # a NamedTuple's; else a dataclass
    names = named if named is not None else [f.name for f in fields(kind)]
    return ", ".join(given.get(name, f"{prefix}{name}") for name in names)


def in_list(sql: str, lists: Mapping[str, Sequence[str]]) -> tuple[str, Params]:
    """Expand each `{name}` marker to `:name_0, :name_1, ...` and bind the values. Names come from code."""
    params: Params = {}
    markers: dict[str, str] = {}
    for name, values in lists.items():
        keys = [f"{name}_{i}" for i in range(len(values))]
        params.update(zip(keys, values, strict=True))
        markers[name] = ", ".join(":" + key for key in keys)
    return sql.format(**markers), params


def chunks(values: Sequence[str], size: int = IN_LIST_VALUES) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# The one place paging is written, per dialect. `order` names columns of the wrapped statement's result.
_PAGING = {
    Dialect.SQLITE: "SELECT * FROM ({statement}) q ORDER BY {order} LIMIT :page_limit OFFSET :page_offset",
    Dialect.POSTGRESQL: "SELECT * FROM ({statement}) q ORDER BY {order} LIMIT :page_limit OFFSET :page_offset",
    Dialect.TERADATA: (
        "SELECT * FROM ({statement}) q QUALIFY ROW_NUMBER() OVER (ORDER BY {order}) "
        "BETWEEN :page_first AND :page_last ORDER BY {order}"
    ),
}


def paged(dialect: Dialect, statement: str, order: str) -> str:
    return _PAGING[dialect].format(statement=statement, order=order)


def counted(statement: str) -> str:
    return f"SELECT COUNT(*) FROM ({statement}) q"  # noqa: S608 - statement is one of this module's constants


def page_params(page: Page) -> Params:
    return {
        "page_limit": page.limit,
        "page_offset": page.offset,
        "page_first": page.offset + 1,
        "page_last": page.offset + page.limit,
    }


def read_value(value: Any) -> Any:
    """A result value of a server database as this module's types hold it: timestamps as store text, decimals as
    float, and the trailing blanks of CHAR(1) flags (Teradata pads CHAR results in a UTF8 session) removed."""
    if isinstance(value, datetime):
        return format_store_time(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return unpadded(value)
    return value


def unpadded(text: str) -> str:
    """A CHAR(1) flag without the blanks a server pads it with; any other text as it is."""
    return text.rstrip(" ") if text.endswith(" ") and len(text.rstrip(" ")) <= 1 else text


def like_pattern(text: str) -> str:
    """A LIKE pattern (ESCAPE '\\') finding `text` literally in a folded name (schemas.rows.fold): `%` and `_` in
    it match themselves."""
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- statements -------------------------------------------------------------------------------------------

ACTIVE = "COALESCE(is_active, 'Y') = 'Y'"  # the seed's soft delete

# The near end's id matches the list; the other three ids must be set too (a seed row is not, until backfilled).
_HAS_IDS = (
    "source_field_id IS NOT NULL AND target_field_id IS NOT NULL AND source_dataset_id IS NOT NULL AND "
    "target_dataset_id IS NOT NULL"
)
COLUMN_EDGES = {
    Direction.UPSTREAM: f"SELECT {select_list(ColumnEdge)} FROM OL_COLUMN_LINEAGE "  # noqa: S608
    f"WHERE target_field_id IN ({{ids}}) AND {ACTIVE} AND {_HAS_IDS}",
    Direction.DOWNSTREAM: f"SELECT {select_list(ColumnEdge)} FROM OL_COLUMN_LINEAGE "  # noqa: S608
    f"WHERE source_field_id IN ({{ids}}) AND {ACTIVE} AND {_HAS_IDS}",
}

# The column edges into the datasets' fields: what Marquez lists as a dataset's `columnLineage`.
COLUMN_EDGES_INTO = (
    f"SELECT {select_list(ColumnEdge)} FROM OL_COLUMN_LINEAGE "  # noqa: S608
    f"WHERE target_dataset_id IN ({{ids}}) AND {ACTIVE} AND {_HAS_IDS}"
)

# The write template's duplicate check: which of the batch's event ids are stored already.
STORED_EVENT_IDS = "SELECT event_id FROM OL_EVENT WHERE event_id IN ({ids})"

_LINK_GROUP = "source_dataset_id, target_dataset_id, transformation_type, transformation_subtype"


def _links(near: str, far: str) -> str:
    """Dataset links whose `near` end is in {ids}: column edges, dataset edges and run input -> output pairs."""
    return (
        f"SELECT source_dataset_id, target_dataset_id, 'column' AS kind, transformation_type, "  # noqa: S608
        f"transformation_subtype, CAST(NULL AS VARCHAR(256)) AS job_id FROM OL_COLUMN_LINEAGE "
        f"WHERE {near}_dataset_id IN ({{ids}}) AND {ACTIVE} GROUP BY {_LINK_GROUP} "
        f"UNION ALL SELECT source_dataset_id, target_dataset_id, 'dataset', transformation_type, "
        f"transformation_subtype, CAST(NULL AS VARCHAR(256)) FROM OL_COLUMN_LINEAGE_DATASET "
        f"WHERE {near}_dataset_id IN ({{ids}}) GROUP BY {_LINK_GROUP} "
        f"UNION ALL SELECT i.dataset_id, o.dataset_id, 'run', CAST(NULL AS VARCHAR(20)), "
        f"CAST(NULL AS VARCHAR(50)), r.job_id FROM OL_RUN_INPUT i JOIN OL_RUN_OUTPUT o ON o.run_id = i.run_id "
        f"JOIN OL_RUN r ON r.run_id = i.run_id WHERE {far}.dataset_id IN ({{ids}}) "
        f"GROUP BY i.dataset_id, o.dataset_id, r.job_id"
    )


DATASET_LINKS = {
    Direction.UPSTREAM: _links("target", "o"),
    Direction.DOWNSTREAM: _links("source", "i"),
}


def _job_links(where: str) -> str:
    return (
        f"SELECT r.job_id, i.dataset_id, 'input' AS role FROM OL_RUN_INPUT i JOIN OL_RUN r "  # noqa: S608
        f"ON r.run_id = i.run_id WHERE {where.format(t='i')} GROUP BY r.job_id, i.dataset_id "
        f"UNION ALL SELECT r.job_id, o.dataset_id, 'output' FROM OL_RUN_OUTPUT o JOIN OL_RUN r "
        f"ON r.run_id = o.run_id WHERE {where.format(t='o')} GROUP BY r.job_id, o.dataset_id"
    )


JOB_LINKS_BY_DATASET = _job_links("{t}.dataset_id IN ({{ids}})")
JOB_LINKS_BY_JOB = _job_links("r.job_id IN ({{ids}})")

NAMESPACES = f"SELECT {select_list(NamespaceInfo, {'uri': 'namespace_uri AS uri'})} FROM OL_NAMESPACE"  # noqa: S608
NAMESPACES_BY_IDS = NAMESPACES + " WHERE namespace_id IN ({ids})"

_DATASET = select_list(DatasetInfo, {"namespace_uri": "n.namespace_uri"}, prefix="d.")
_DATASETS = f"SELECT {_DATASET} FROM OL_DATASET d JOIN OL_NAMESPACE n ON n.namespace_id = d.namespace_id"  # noqa: S608
DATASETS_OF_NAMESPACE = _DATASETS + " WHERE d.namespace_id = :namespace_id"
DATASETS_BY_IDS = _DATASETS + " WHERE d.dataset_id IN ({ids})"
DATASETS_BY_NAME_KEY = _DATASETS + " WHERE d.name_key = :name_key"
DATASETS_IN_DATABASE = _DATASETS + " WHERE d.database_key = :database_key"
DATASET_ORDER = "name, dataset_id"

_FIELD = select_list(
    FieldInfo, {"name": "field_name AS name", "type": "field_type AS type", "description": "field_description"}
)
FIELDS_OF_DATASETS = f"SELECT {_FIELD} FROM OL_DATASET_FIELD WHERE dataset_id IN ({{ids}})"  # noqa: S608
FIELDS_BY_IDS = f"SELECT {_FIELD} FROM OL_DATASET_FIELD WHERE field_id IN ({{ids}})"  # noqa: S608

_JOB = select_list(JobInfo, {"namespace_uri": "n.namespace_uri"}, prefix="j.")
_JOBS = f"SELECT {_JOB} FROM OL_JOB j JOIN OL_NAMESPACE n ON n.namespace_id = j.namespace_id"  # noqa: S608
ALL_JOBS = _JOBS
JOBS_OF_NAMESPACE = _JOBS + " WHERE j.namespace_id = :namespace_id"
JOBS_BY_IDS = _JOBS + " WHERE j.job_id IN ({ids})"
JOB_ORDER = "name, job_id"
JOB_RECENT_ORDER = "updated_at DESC, name, job_id"  # Marquez lists jobs most recently updated first

# A run's rank within its job, newest first: 1 is the job's latest run (the one v1 shows as latestRun). NULL times
# rank last on every dialect (PostgreSQL would sort them first in a DESC order).
_NEWEST_RUN = (
    "ROW_NUMBER() OVER (PARTITION BY r.job_id ORDER BY CASE WHEN r.last_event_time IS NULL THEN 1 ELSE 0 END, "
    "r.last_event_time DESC, r.run_id) AS run_rank"
)
_LAST_STATES = (
    "SELECT job_id, event_type FROM (SELECT r.job_id, r.event_type, "  # noqa: S608
    f"{_NEWEST_RUN} FROM OL_RUN r) x WHERE run_rank = 1"
)
# `{states}` holds OL_RUN states, `NEW` standing for a run without one; a job without runs is always listed.
JOBS_BY_LAST_STATE = (
    _JOBS + f" LEFT JOIN ({_LAST_STATES}) lr ON lr.job_id = j.job_id "
    "WHERE (lr.job_id IS NULL OR COALESCE(lr.event_type, 'NEW') IN ({states}))"
)
JOBS_IN_NAMESPACE = " AND j.namespace_id = :namespace_id"

_RUN = select_list(
    RunInfo,
    {"job_name": "j.name AS job_name", "namespace_uri": "n.namespace_uri", "state": "r.event_type AS state"},
    prefix="r.",
)
_RUNS = (
    f"SELECT {_RUN} FROM OL_RUN r JOIN OL_JOB j ON j.job_id = r.job_id "  # noqa: S608
    "JOIN OL_NAMESPACE n ON n.namespace_id = j.namespace_id"
)
RUNS_OF_JOB = _RUNS + " WHERE r.job_id = :job_id"
RUNS_BY_IDS = _RUNS + " WHERE r.run_id IN ({ids})"
RUNS_WRITING = _RUNS + " JOIN OL_RUN_OUTPUT o ON o.run_id = r.run_id WHERE o.dataset_id = :dataset_id"
RUN_ORDER = "last_event_time DESC, run_id"  # newest first, as Marquez lists runs
LATEST_RUNS = (
    f"SELECT {select_list(RunInfo)} FROM (SELECT {_RUN}, {_NEWEST_RUN} FROM OL_RUN r "  # noqa: S608
    "JOIN OL_JOB j ON j.job_id = r.job_id JOIN OL_NAMESPACE n ON n.namespace_id = j.namespace_id "
    "WHERE r.job_id IN ({ids})) q WHERE run_rank <= :per_job"
)
RUNS = _RUNS
RECENT_RUN_ORDER = "event_time DESC, run_id"  # across all jobs: idx_ol_run_time leads the sort

FACETS = (
    f"SELECT {select_list(FacetInfo)} FROM OL_FACET WHERE owner = :owner "  # noqa: S608
    "AND entity_id IN ({ids}) AND facet_name IN ({names})"
)
ENTITY_FACETS = f"SELECT {select_list(FacetInfo)} FROM OL_FACET WHERE owner = :owner AND entity_id IN ({{ids}})"  # noqa: S608
FACETS_NAMED = (
    f"SELECT {select_list(FacetInfo)} FROM OL_FACET WHERE facet_name IN ({{names}}) "  # noqa: S608
    "AND payload IS NOT NULL"
)

RUN_IO = (
    "SELECT run_id, dataset_id, 'input' AS role FROM OL_RUN_INPUT WHERE run_id IN ({ids}) "
    "UNION ALL SELECT run_id, dataset_id, 'output' FROM OL_RUN_OUTPUT WHERE run_id IN ({ids})"
)
RUN_EVENTS = f"SELECT {select_list(EventInfo)} FROM OL_EVENT WHERE run_id = :run_id"  # noqa: S608
RUN_EVENT_ORDER = "event_time, event_id"

_VERSION = select_list(DatasetVersionInfo, prefix="v.")
_VERSIONS = f"SELECT {_VERSION} FROM OL_DATASET_VERSION v"  # noqa: S608
DATASET_VERSIONS = _VERSIONS + " WHERE v.dataset_id = :dataset_id"
DATASET_VERSIONS_BY_IDS = _VERSIONS + " WHERE v.version_id IN ({ids})"
CURRENT_DATASET_VERSIONS = (
    _VERSIONS + " WHERE v.dataset_id IN ({ids}) AND v.updated_at = "  # noqa: S608
    "(SELECT MAX(w.updated_at) FROM OL_DATASET_VERSION w WHERE w.dataset_id = v.dataset_id)"
)
DATASET_VERSION_ORDER = "created_at DESC, version_id"

# Run events only, as Marquez's /events/lineage lists them (its UI reads `run` of each). Both orders follow the
# index on (event_kind, event_time, event_id) one way or the other, so a page costs its offset, not a sort.
EVENTS = (
    f"SELECT {select_list(EventInfo)} FROM OL_EVENT "  # noqa: S608
    "WHERE event_kind = :event_kind AND event_time >= :after AND event_time <= :before"
)
EVENT_ORDER = "event_time DESC, event_id DESC"
EVENT_ORDER_OLDEST_FIRST = "event_time ASC, event_id ASC"

# Usage statistics: rows counted per interval of time. `{buckets}` becomes a CASE over the bounds (bucket_case).
_COUNTED: dict[CountKind, tuple[str, str, str]] = {  # kind -> (table and condition, time column, type column)
    CountKind.RUN_EVENTS: ("OL_EVENT WHERE event_kind = :event_kind", "event_time", "event_type"),
    CountKind.DATASETS: ("OL_DATASET WHERE 1 = 1", "created_at", "CAST(NULL AS VARCHAR(20))"),
    CountKind.JOBS: ("OL_JOB WHERE 1 = 1", "created_at", "CAST(NULL AS VARCHAR(20))"),
    CountKind.SOURCES: (
        "OL_NAMESPACE n WHERE EXISTS (SELECT 1 FROM OL_DATASET d WHERE d.namespace_id = n.namespace_id)",
        "created_at",
        "CAST(NULL AS VARCHAR(20))",
    ),
}


def bucket_counts(kind: CountKind, bounds: int, *, before_first: bool) -> str:
    """Counts of `kind` per interval between `bounds` parameters `:bound_0` .. `:bound_<bounds-1>`: a CASE gives each
    row the index of its interval (-1 before the first bound when `before_first`), and the counts are grouped by it.
    Portable: plain comparisons of the time column with bound store-text values."""
    source, time, kind_column = _COUNTED[kind]
    last = bounds - 1
    whens = " ".join(f"WHEN {time} < :bound_{i + 1} THEN {i}" for i in range(last - 1))
    case = f"CASE WHEN {time} < :bound_0 THEN -1 {whens} ELSE {last - 1} END"
    low = "" if before_first else f" AND {time} >= :bound_0"
    return (
        f"SELECT bucket, event_type, COUNT(*) FROM (SELECT {case} AS bucket, {kind_column} AS event_type "  # noqa: S608
        f"FROM {source} AND {time} < :bound_{last}{low}) q GROUP BY bucket, event_type"
    )


_SEARCH_PARTS = {
    SearchKind.DATASET: "SELECT 'dataset' AS kind, d.dataset_id AS item_id, d.name AS name, n.namespace_uri, "
    "CAST(NULL AS VARCHAR(4000)) AS dataset_name, d.updated_at FROM OL_DATASET d JOIN OL_NAMESPACE n "
    "ON n.namespace_id = d.namespace_id WHERE d.name_fold LIKE :pattern ESCAPE '\\'",
    SearchKind.FIELD: "SELECT 'field' AS kind, f.field_id AS item_id, f.field_name AS name, n.namespace_uri, "
    "d.name AS dataset_name, f.updated_at FROM OL_DATASET_FIELD f JOIN OL_DATASET d ON d.dataset_id = f.dataset_id "
    "JOIN OL_NAMESPACE n "
    "ON n.namespace_id = d.namespace_id WHERE f.field_name_fold LIKE :pattern ESCAPE '\\'",
    SearchKind.JOB: "SELECT 'job' AS kind, j.job_id AS item_id, j.name AS name, n.namespace_uri, "
    "CAST(NULL AS VARCHAR(4000)) AS dataset_name, j.updated_at FROM OL_JOB j JOIN OL_NAMESPACE n "
    "ON n.namespace_id = j.namespace_id "
    "WHERE j.name_fold LIKE :pattern ESCAPE '\\'",
}
SEARCH_ORDER = "name, kind, item_id"


SEARCH_NEWEST_ORDER = "updated_at DESC, name, kind, item_id"


def search_statement(kinds: Sequence[SearchKind], *, by_namespace: bool = False, by_time: bool = False) -> str:
    """The union of the searched kinds' parts, in a fixed order; narrowed to `:namespace` and to updates within
    `:after`..`:before` when asked."""
    union = " UNION ALL ".join(_SEARCH_PARTS[kind] for kind in SearchKind if kind in kinds)
    conditions = [c for c, wanted in ((_IN_NAMESPACE, by_namespace), (_UPDATED_WITHIN, by_time)) if wanted]
    if not conditions:
        return union
    return f"SELECT * FROM ({union}) s WHERE {' AND '.join(conditions)}"  # noqa: S608 - constants only


_IN_NAMESPACE = "namespace_uri = :namespace"
_UPDATED_WITHIN = "updated_at >= :after AND updated_at <= :before"
