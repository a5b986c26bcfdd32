"""The rows every way in produces and every store writes: one dataclass per OL_* table.

Treated as immutable once built, though not `frozen`: a frozen dataclass sets each field through
object.__setattr__, which made building the twenty-odd rows of an event a large part of prepare()'s time.

The mapping (ingest.events.mapping) turns one OpenLineage event into one `EventRows`; a store's `write_batch`
writes many of them in one transaction. Values are plain: strings, ints, bools and None. Timestamps are
UTC text `YYYY-MM-DD HH:MM:SS.ffffff`, which sorts as time and binds as a timestamp in all three dialects.

Identities are derived, never allocated: `make_key` hashes the natural name of a thing, so two writers
that see the same dataset compute the same `dataset_id` without asking the database, and an upsert is
always by primary key.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

KEY_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in the names it joins


@lru_cache(maxsize=1 << 16)  # the same namespaces, datasets and fields recur in event after event
def make_key(*parts: str) -> str:
    """32 hex characters (128 bits of SHA-256) naming the joined parts; stable across processes and versions."""
    return hashlib.sha256(KEY_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:32]


# A UUID, bare or as its URN (RFC 9562 section 4): `urn:uuid:<u>` and `<u>` name the same run.
FOLDED_WIDTH = 4000  # schemas.tables.NAME, the width of every name column and of its folded copy

_UUID = re.compile(r"(?:urn:uuid:)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.IGNORECASE)


def is_uuid(text: str) -> bool:
    return _UUID.fullmatch(text) is not None


def run_key(run_id: str) -> str:
    """A run's id as stored: a UUID (bare or `urn:uuid:`) in lower case without the URN prefix, as UUIDs compare
    case-insensitively and the URN is the same UUID; other ids as given."""
    match = _UUID.fullmatch(run_id)
    return match.group(1).lower() if match else run_id


def fold(name: str) -> str:
    """A name as search and database look-ups compare it: Unicode case folding, done here and never by SQL.

    SQLite's LOWER folds ASCII only, and PostgreSQL's under the stores' byte-order collation too, so `ÉTÉ`
    would never meet `été`; a folded copy written beside the name compares the same on every backend. Cut to
    the name's width: folding can lengthen a text (`ß` folds to `ss`)."""
    return name.casefold()[:FOLDED_WIDTH]


def database_key(database: str) -> str:
    """The key of a database, whatever the case it is spelled in (OL_DATASET.database_key)."""
    return make_key("database", fold(database))


def name_database_key(name: str) -> str | None:
    """The database_key of a Teradata-style `database.table` name (its first dotted part); None without one."""
    database, dot, table = name.partition(".")
    return database_key(database) if dot and database and table else None


def namespace_key(namespace: str) -> str:
    return make_key("namespace", namespace)


def dataset_key(namespace: str, name: str) -> str:
    return make_key("dataset", namespace, name)


def field_key(namespace: str, dataset: str, field: str) -> str:
    return make_key("field", namespace, dataset, field)


def job_key(namespace: str, name: str) -> str:
    return make_key("job", namespace, name)


def content_uuid(*parts: str) -> str:
    """A UUID (version 5 bits, RFC 4122 variant) naming the joined parts: the same content, the same UUID.

    Versions (a dataset's facets, a job's inputs and outputs) are named by what they hold, so every writer and
    every reader derives the same version without asking the database."""
    digest = hashlib.sha256(KEY_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:32]
    return str(uuid.UUID(hex=digest, version=5))


class RunState(StrEnum):
    """The OpenLineage run cycle. A run never leaves a terminal state for START or RUNNING."""

    START = "START"  # the run began
    RUNNING = "RUNNING"  # the run is going on; carries metadata gathered so far
    COMPLETE = "COMPLETE"  # terminal: finished successfully
    FAIL = "FAIL"  # terminal: finished with an error
    ABORT = "ABORT"  # terminal: stopped before its end


TERMINAL_STATES = frozenset({RunState.COMPLETE, RunState.FAIL, RunState.ABORT})


class EventKind(StrEnum):
    """The three top-level event types of the OpenLineage spec."""

    RUN = "RunEvent"  # a run of a job changed state; carries job, run, inputs and outputs
    DATASET = "DatasetEvent"  # metadata about one dataset, outside any run
    JOB = "JobEvent"  # metadata about one job and its inputs/outputs, outside any run


class FacetOwner(StrEnum):
    """What a stored facet belongs to; `entity_id` of a FacetRow is that thing's key."""

    DATASET = "dataset"  # dataset facets: entity_id is dataset_id
    JOB = "job"  # job facets: entity_id is job_id
    RUN = "run"  # run facets: entity_id is run_id
    INPUT = "input"  # inputFacets of a run's input: entity_id is make_key(run_id, dataset_id)
    OUTPUT = "output"  # outputFacets of a run's output: entity_id is make_key(run_id, dataset_id)


@dataclass(slots=True)
class NamespaceRow:
    """OL_NAMESPACE. Inserted once; later events change nothing but created_at, which keeps the earliest sighting."""

    namespace_id: str  # namespace_key(namespace_uri)
    namespace_uri: str


@dataclass(slots=True)
class DatasetRow:
    """OL_DATASET. created_at is the first sighting, updated_at the latest; None values never erase."""

    dataset_id: str  # dataset_key(namespace, name)
    namespace_id: str
    name: str
    source_type: str | None  # datasetType facet (TABLE, VIEW, ...), else None
    description: str | None  # documentation facet, else None
    is_active: bool | None  # False after a DROP lifecycle change, True after CREATE/OVERWRITE, None: no news
    event_time: str


@dataclass(slots=True)
class FieldRow:
    """OL_DATASET_FIELD: one per schema field; nested fields flattened to dotted paths."""

    field_id: str  # field_key(namespace, dataset name, field_name)
    dataset_id: str
    field_name: str  # dotted path for nested fields: "address.city"
    field_type: str | None
    field_description: str | None
    ordinal_position: int  # 1-based, depth-first over the flattened schema
    event_time: str


@dataclass(slots=True)
class JobRow:
    """OL_JOB. A parent job named by a ParentRunFacet gets its own row too."""

    job_id: str  # job_key(namespace, name)
    namespace_id: str
    name: str
    job_type: str | None  # jobType facet's jobType (QUERY, COMMAND, DAG, TASK, JOB, ...), else None
    description: str | None  # documentation facet, else None
    parent_job_id: str | None
    event_time: str


@dataclass(slots=True)
class RunRow:
    """OL_RUN. The store merges rows of one run: state follows the run cycle, None values never erase.

    A parent run named by a ParentRunFacet gets a row with state None, so its children can be joined to it
    before (or without) its own events.
    """

    run_id: str  # run_key(the event's run.runId)
    job_id: str
    state: RunState | None  # None: an OTHER event or a parent stub; leaves the stored state alone
    event_time: str
    nominal_start_time: str | None
    nominal_end_time: str | None
    producer: str | None
    schema_url: str | None
    parent_run_id: str | None
    parent_job_id: str | None
    root_run_id: str | None
    root_job_id: str | None


@dataclass(slots=True)
class RunDatasetRow:
    """OL_RUN_INPUT or OL_RUN_OUTPUT: the run read or wrote the dataset. Accumulates over a run."""

    run_id: str
    dataset_id: str


@dataclass(slots=True)
class ColumnEdgeRow:
    """OL_COLUMN_LINEAGE: one edge per (input field, output field, transformation).

    The same edge seen again (another run, another event) is the same row: discovered_at keeps the first
    sighting, last_seen_at and run_id follow the latest.
    """

    lineage_id: str  # make_key of source and target field ids and the transformation's four values
    run_id: str | None  # None for lineage carried by a DatasetEvent or JobEvent
    source_namespace: str
    source_dataset: str
    source_field: str
    source_dataset_id: str
    source_field_id: str
    target_namespace: str
    target_dataset: str
    target_field: str
    target_dataset_id: str
    target_field_id: str
    transformation_type: str | None  # DIRECT, INDIRECT, or None when the producer did not say
    transformation_subtype: str | None  # IDENTITY, TRANSFORMATION, AGGREGATION, JOIN, FILTER, ...
    transformation_description: str | None
    masking: bool
    confidence_score: float | None  # None for lineage a producer reported; set by SQL-parsing population
    event_time: str


@dataclass(slots=True)
class DatasetEdgeRow:
    """OL_COLUMN_LINEAGE_DATASET: an input field that affects the whole output dataset.

    ColumnLineageDatasetFacet's dataset-level `dataset` list (filters, joins, sorts): stored once per
    output dataset rather than copied onto every output field.
    """

    lineage_id: str  # make_key of source field id, target dataset id and the transformation's four values
    run_id: str | None
    source_namespace: str
    source_dataset: str
    source_field: str
    source_dataset_id: str
    source_field_id: str
    target_namespace: str
    target_dataset: str
    target_dataset_id: str
    transformation_type: str | None
    transformation_subtype: str | None
    transformation_description: str | None
    masking: bool
    event_time: str


@dataclass(slots=True)
class SymlinkRow:
    """OL_DATASET_SYMLINK: another name of the same dataset (a Hive table for a file path, say)."""

    symlink_id: str  # make_key(dataset_id, symlink_namespace, symlink_name)
    dataset_id: str
    symlink_namespace: str
    symlink_name: str
    symlink_type: str | None  # TABLE, LOCATION, ...
    symlink_dataset_id: str  # dataset_key(symlink_namespace, symlink_name): resolves the other name
    event_time: str


@dataclass(slots=True)
class FacetRow:
    """OL_FACET: the latest value of one facet of one entity.

    payload None is a tombstone: the facet was sent with `_deleted: true`. A row only replaces a stored
    one whose event_time is not later, so events arriving out of order keep the newest value.
    """

    owner: FacetOwner
    entity_id: str
    facet_name: str
    payload: str | None  # the facet as JSON text, verbatim
    event_time: str


@dataclass(slots=True)
class DatasetVersionRow:
    """OL_DATASET_VERSION: one distinct content (the facets an event carried) of one dataset.

    Content-addressed: the same facets seen again are the same row (created_at keeps the first sighting,
    updated_at the latest, run_id the latest run that carried them), so a dataset gets a new version exactly
    when an event carries facets it has not carried before."""

    version_id: str  # content_uuid(dataset_id, the facets as canonical JSON)
    dataset_id: str
    run_id: str | None  # the run of the event; None for a DatasetEvent or JobEvent
    payload: str  # the facets as JSON text
    event_time: str


@dataclass(slots=True)
class EventRow:
    """OL_EVENT: the raw event archive. Its id is the event's identity: the same event twice is one row."""

    event_id: str  # SHA-256 hex of the event's canonical JSON (sorted keys, no whitespace)
    event_kind: EventKind
    event_type: str | None  # RunEvent's eventType (START, ..., OTHER), None for the others
    event_time: str
    producer: str
    schema_url: str | None
    run_id: str | None
    job_id: str | None
    dataset_id: str | None  # DatasetEvent's dataset
    payload: str  # the event as JSON text
    received_at: str


@dataclass(slots=True)
class EventRows:
    """Everything one event writes. A store writes all of it or, for a duplicate event, none of it."""

    event: EventRow
    namespaces: tuple[NamespaceRow, ...] = ()
    datasets: tuple[DatasetRow, ...] = ()
    fields: tuple[FieldRow, ...] = ()
    jobs: tuple[JobRow, ...] = ()
    runs: tuple[RunRow, ...] = ()
    inputs: tuple[RunDatasetRow, ...] = ()
    outputs: tuple[RunDatasetRow, ...] = ()
    column_edges: tuple[ColumnEdgeRow, ...] = ()
    dataset_edges: tuple[DatasetEdgeRow, ...] = ()
    symlinks: tuple[SymlinkRow, ...] = ()
    facets: tuple[FacetRow, ...] = ()
    dataset_versions: tuple[DatasetVersionRow, ...] = ()
