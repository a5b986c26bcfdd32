"""The `Store` protocol every backend implements, and the errors a store raises.

Stores are synchronous: SQLite and the Teradata driver block, so callers that live on an event loop run
them in a thread (the batcher owns one writer thread; the query layer uses the default executor).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, NamedTuple, Protocol, TypeVar

from schemas.dsn import Dialect
from schemas.rows import EventRows

T = TypeVar("T")


# --- what the reads return: field order is the SELECT order (schemas.sql.reads.select_list) ----------------


class Direction(StrEnum):
    """Which way an edge is followed from the nodes already found."""

    UPSTREAM = "upstream"  # toward sources: edges whose target is a known node
    DOWNSTREAM = "downstream"  # toward consumers: edges whose source is a known node


class SearchKind(StrEnum):
    DATASET = "dataset"
    FIELD = "field"
    JOB = "job"


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    items: list[T]
    total: int  # rows matching, all pages together


# --- result types: field order is the SELECT order ------------------------------------------------------


class ColumnEdge(NamedTuple):
    """One OL_COLUMN_LINEAGE row as traversal reads it. A NamedTuple, not a dataclass: a lineage answer can
    hold thousands of edges, and a tuple is built from a row far more cheaply than a frozen dataclass."""

    lineage_id: str
    source_field_id: str
    target_field_id: str
    source_dataset_id: str
    target_dataset_id: str
    source_namespace: str
    source_dataset: str
    source_field: str
    target_namespace: str
    target_dataset: str
    target_field: str
    transformation_type: str | None
    transformation_subtype: str | None
    transformation_description: str | None
    masking: str | None  # 'Y' or 'N'
    confidence_score: float | None

    @property
    def masked(self) -> bool:
        return self.masking == "Y"


@dataclass(frozen=True, slots=True)
class DatasetLink:
    source_dataset_id: str
    target_dataset_id: str
    kind: str  # 'column' (OL_COLUMN_LINEAGE), 'dataset' (OL_COLUMN_LINEAGE_DATASET) or 'run' (a run's input -> output)
    transformation_type: str | None
    transformation_subtype: str | None
    job_id: str | None  # the job whose runs made a RUN link


@dataclass(frozen=True, slots=True)
class JobLink:
    job_id: str
    dataset_id: str
    role: str  # 'input' (the job's runs read the dataset) or 'output' (they wrote it)


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    namespace_id: str
    uri: str
    description: str | None
    spec_version: str | None
    created_at: str | None


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    dataset_id: str
    namespace_id: str
    namespace_uri: str
    name: str
    description: str | None
    source_type: str | None
    created_at: str | None
    updated_at: str | None
    is_active: str | None  # 'N' after a DROP


@dataclass(frozen=True, slots=True)
class FieldInfo:
    field_id: str
    dataset_id: str
    name: str
    type: str | None
    description: str | None
    ordinal_position: int | None
    nullable: str | None  # 'Y', 'N' or unknown


@dataclass(frozen=True, slots=True)
class JobInfo:
    job_id: str
    namespace_id: str
    namespace_uri: str
    name: str
    description: str | None
    job_type: str | None
    created_at: str | None
    updated_at: str | None
    parent_job_id: str | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    job_id: str
    job_name: str
    namespace_uri: str
    state: str | None  # START, RUNNING, COMPLETE, FAIL, ABORT; None for a parent stub
    event_time: str | None  # when the run entered its state
    nominal_start_time: str | None
    nominal_end_time: str | None
    created_at: str | None
    started_at: str | None
    ended_at: str | None
    last_event_time: str | None
    producer: str | None


@dataclass(frozen=True, slots=True)
class EventInfo:
    event_id: str
    event_time: str | None
    payload: str  # the event as received


@dataclass(frozen=True, slots=True)
class FacetInfo:
    owner: str
    entity_id: str
    facet_name: str
    payload: str | None  # None: deleted


@dataclass(frozen=True, slots=True)
class DatasetVersionInfo:
    version_id: str
    dataset_id: str
    run_id: str | None  # the latest run whose event carried this content
    payload: str | None  # the dataset's facets as that event carried them (JSON text)
    created_at: str | None  # first sighting
    updated_at: str | None  # latest sighting


@dataclass(frozen=True, slots=True)
class RunIo:
    run_id: str
    dataset_id: str
    role: str  # 'input' or 'output'


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str  # a SearchKind value
    item_id: str
    name: str
    namespace_uri: str
    dataset_name: str | None  # a field's dataset
    updated_at: str | None


class CountKind(StrEnum):
    """What the usage statistics count."""

    RUN_EVENTS = "run_events"  # OL_EVENT rows of run events, by event_time, grouped by event type
    DATASETS = "datasets"  # OL_DATASET rows, by created_at
    JOBS = "jobs"  # OL_JOB rows, by created_at
    SOURCES = "sources"  # OL_NAMESPACE rows that hold a dataset, by created_at (Marquez makes a source per one)


@dataclass(frozen=True, slots=True)
class BucketCount:
    bucket: int  # index of the interval; -1 before the first
    event_type: str | None  # RUN_EVENTS: START, COMPLETE, ...; None for the other kinds
    count: int


@dataclass(frozen=True, slots=True)
class TimeWindow:
    after: str  # store-format UTC text, inclusive
    before: str  # inclusive


@dataclass(frozen=True, slots=True)
class PendingItem:
    """An item a population source has seen but could not finish (a DBQL query whose SQL text rows were not
    written yet); the next run picks it up whatever its window."""

    item_id: str  # DBQL: the QueryID
    item_time: str | None  # store-format UTC text: DBQL's CollectTimeStamp of its log row
    payload: str  # what the source knew of it (JSON), so that it can be finished from the rest alone


@dataclass(frozen=True, slots=True)
class SourceMark:
    """How far a population source has read: everything before `mark` is committed; `pending` is unfinished."""

    mark: str | None  # store-format UTC text; None: never run (or reset)
    pending: tuple[PendingItem, ...]


@dataclass(frozen=True, slots=True)
class SearchScope:
    """What narrows a search beyond its text (Marquez's /search parameters)."""

    namespace_uri: str | None = None  # only hits of this namespace
    updated: TimeWindow | None = None  # only hits last updated within the window
    newest_first: bool = False  # by updated_at, latest first, instead of by name


# --- the protocol ---------------------------------------------------------------------------------------


class StoreError(Exception):
    """A store could not do what was asked. The batch it was writing is rolled back whole."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is busy; the same call may succeed later (HTTP 503)."""


class WriteOutcome(StrEnum):
    """What `write_batch` did with one event of the batch."""

    STORED = "stored"  # new: every row of the event was written
    DUPLICATE = "duplicate"  # the same event (same event_id) was already stored; nothing was written


@dataclass(frozen=True, slots=True)
class Migration:
    version: int  # OL_SCHEMA_VERSION.version_id
    name: str  # a stable, human-readable name, recorded with the version
    schema_version: str  # OL_SCHEMA_VERSION.schema_version
    description: str


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    applied: tuple[Migration, ...]
    pending: tuple[Migration, ...]
    # Tables and columns a recorded migration made that the database lacks ("table OL_RUN", "column OL_RUN.x")
    missing: tuple[str, ...] = ()

    @property
    def current(self) -> bool:
        return not self.pending and not self.missing


class RowCounts(NamedTuple):
    """Rows sent to the database, and rows left out because the store held them already."""

    written: int
    left_out: int


class Store(Protocol):
    """An OL_* database. Every method is safe to call again after a StoreUnavailable."""

    @property
    def dialect(self) -> Dialect: ...

    def write_batch(self, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        """Write every event of the batch in one transaction; one outcome per event, in order.

        Idempotent: an event already stored (or twice in the batch) is DUPLICATE and writes nothing.
        On any error nothing of the batch is written and StoreError (or StoreUnavailable) is raised.
        """
        ...

    def schema_status(self) -> SchemaStatus: ...

    def create_schema(self) -> list[str]:
        """Create every table and index on an empty database; the statements run. No-op when current."""
        ...

    def upgrade_schema(self) -> list[str]:
        """Add whatever tables, columns and indexes are missing, record pending migrations; never drops."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a trivial query."""
        ...

    def purge(self, before: str, *, edges: bool = False, dry_run: bool = False) -> Iterator[dict[str, int]]:
        """Retention: remove what is older than `before` (store time text), one bounded batch per step.

        Each step reads a batch of keys (no write lock), then removes those still old in one short transaction,
        and yields the rows it removed by kind (schemas.sql.purge.LABELS); a writer waits at most one step. Runs go
        with their inputs, outputs and facets, then raw events; `edges` also removes lineage edges not seen since.
        Datasets, fields, jobs and namespaces always stay. `dry_run` counts the same rows and removes none.
        Idempotent: stopped midway, the next purge removes the rest."""
        ...

    def flush_sightings(self) -> int:
        """Write the newer sightings of unchanged rows the writer held back (schemas.sql.memory), in one
        transaction; how many rows. write_batch calls it once the last flush is `refresh` seconds old, the server
        between batches when none comes, and `close` before closing."""
        ...

    def rows_written(self) -> RowCounts:
        """Rows this store object sent to the database since it was opened, and rows of events it left out as
        held already (schemas.sql.memory); for the server's metrics and the benchmark."""
        ...

    def close(self) -> None:
        """Write what the writer holds back, then close. Idempotent."""
        ...

    # --- population progress (schemas.sql.marks) ------------------------------------------------------------

    def source_mark(self, source: str) -> SourceMark:
        """The watermark and pending items of a population source ("dbql teradata://host:1025")."""
        ...

    def advance_mark(
        self, source: str, mark: str | None, *, pending: Sequence[PendingItem] = (), finished: Sequence[str] = ()
    ) -> None:
        """In one transaction: move the mark to `mark` (never backwards; None leaves it), record `pending` items
        (one already pending keeps its first record) and forget the `finished` ones. Call it only after the events
        the run read are committed: a run that fails before leaves the mark where it was, and reads again."""
        ...

    def reset_mark(self, source: str) -> None:
        """Forget the source's mark and pending items (`--reset-watermark`); lineage rows are never touched."""
        ...

    # --- reads (schemas.sql.reads holds their SQL and result types) -----------------------------------------
    # Reads never wait long for the writer (SQLite: their own read-only connections under WAL). Every id list
    # may be of any length: a store chunks it. Unknown ids are simply absent from the result.

    def column_edges(self, field_ids: Sequence[str], direction: Direction) -> list[ColumnEdge]:
        """Active OL_COLUMN_LINEAGE rows whose target (UPSTREAM) or source (DOWNSTREAM) field is in field_ids."""
        ...

    def column_edges_into(self, dataset_ids: Sequence[str]) -> list[ColumnEdge]:
        """Active OL_COLUMN_LINEAGE rows whose target field belongs to one of the datasets."""
        ...

    def dataset_links(self, dataset_ids: Sequence[str], direction: Direction) -> list[DatasetLink]:
        """Dataset-to-dataset links touching dataset_ids on the near side: column edges and dataset edges grouped
        by dataset pair and transformation, and run input -> output pairs grouped by job."""
        ...

    def job_links(self, ids: Sequence[str], *, of_jobs: bool = False) -> list[JobLink]:
        """(job, dataset, role) of runs' inputs and outputs, distinct, for the dataset ids given (the job ids
        when of_jobs)."""
        ...

    def namespaces(self, page: Page) -> Paged[NamespaceInfo]:
        """Ordered by uri."""
        ...

    def namespaces_by_ids(self, namespace_ids: Sequence[str]) -> list[NamespaceInfo]: ...

    def datasets(self, namespace_id: str, page: Page) -> Paged[DatasetInfo]:
        """A namespace's datasets ordered by name."""
        ...

    def datasets_by_ids(self, dataset_ids: Sequence[str]) -> list[DatasetInfo]: ...

    def datasets_by_name(self, name: str) -> list[DatasetInfo]:
        """Every dataset with this exact name, in any namespace (OL_DATASET.name_key)."""
        ...

    def datasets_in_database(self, database: str, limit: int) -> list[DatasetInfo]:
        """Datasets named `<database>.<table>` (the database in any case, Unicode's rules), ordered by name, at
        most `limit`."""
        ...

    def fields(self, dataset_ids: Sequence[str]) -> list[FieldInfo]:
        """The datasets' fields, in no particular order."""
        ...

    def fields_by_ids(self, field_ids: Sequence[str]) -> list[FieldInfo]: ...

    def jobs(self, namespace_id: str, page: Page) -> Paged[JobInfo]:
        """A namespace's jobs ordered by name."""
        ...

    def jobs_by_ids(self, job_ids: Sequence[str]) -> list[JobInfo]: ...

    def jobs_listed(self, namespace_id: str | None, last_states: Sequence[str] | None, page: Page) -> Paged[JobInfo]:
        """Jobs of a namespace (every namespace when None), most recently updated first, as Marquez lists them.

        With `last_states`, only jobs whose latest run is in one of these OL_RUN states (`NEW` standing for a run
        without one) and jobs that have no run yet. `total` counts every job of the namespace whatever
        `last_states` says: Marquez's totalCount does so."""
        ...

    def runs(self, job_id: str, page: Page) -> Paged[RunInfo]:
        """A job's runs, newest first."""
        ...

    def runs_by_ids(self, run_ids: Sequence[str]) -> list[RunInfo]: ...

    def runs_writing(self, dataset_id: str, page: Page) -> list[RunInfo]:
        """Runs that wrote the dataset, newest first."""
        ...

    def recent_runs(self, page: Page) -> list[RunInfo]:
        """Runs of every job, those that entered their state last first."""
        ...

    def run_events(self, run_id: str, page: Page) -> Paged[EventInfo]:
        """The raw events received for a run, in eventTime order."""
        ...

    def facets(self, owner: str, entity_ids: Sequence[str], names: Sequence[str]) -> list[FacetInfo]:
        """The latest value of the named facets of the entities (OL_FACET); deleted ones have payload None."""
        ...

    def events(self, window: TimeWindow, page: Page, *, oldest_first: bool = False) -> Paged[EventInfo]:
        """Raw run events (OL_EVENT.event_kind RunEvent) whose eventTime lies in the window, newest first (oldest
        first when asked), through the index on (event_kind, event_time, event_id)."""
        ...

    def counts_in_buckets(self, kind: CountKind, bounds: Sequence[str]) -> list[BucketCount]:
        """Counts per bucket `i` of times in [bounds[i], bounds[i+1]) (store text, ascending); bucket -1 holds what
        lies before bounds[0] (not for run events). Run events are counted per event type; the others are the
        rows created (datasets, jobs, the namespaces that hold datasets). Buckets without rows are absent."""
        ...

    def entity_facets(self, owner: str, entity_ids: Sequence[str]) -> list[FacetInfo]:
        """Every stored facet (its latest value) of the entities; deleted ones have payload None."""
        ...

    def facets_named(self, names: Sequence[str]) -> list[FacetInfo]:
        """The named facets of every entity of every owner, live ones only (for the tags and sources lists)."""
        ...

    def latest_runs(self, job_ids: Sequence[str], per_job: int) -> list[RunInfo]:
        """Up to `per_job` runs of each job, newest first per job, in one statement for the whole list."""
        ...

    def run_io(self, run_ids: Sequence[str]) -> list[RunIo]:
        """The runs' inputs and outputs (every dataset a run's events named, accumulated over the run)."""
        ...

    def dataset_versions(self, dataset_id: str, page: Page) -> Paged[DatasetVersionInfo]:
        """A dataset's versions, newest (by first sighting) first."""
        ...

    def dataset_versions_by_ids(self, version_ids: Sequence[str]) -> list[DatasetVersionInfo]: ...

    def current_dataset_versions(self, dataset_ids: Sequence[str]) -> list[DatasetVersionInfo]:
        """Each dataset's version seen last (several when their latest sightings tie)."""
        ...

    def search(
        self, text: str, kinds: Sequence[SearchKind], page: Page, scope: SearchScope | None = None
    ) -> Paged[SearchHit]:
        """Datasets, fields and jobs whose name contains `text`, case-insensitively and literally (`%` and `_`
        match themselves), ordered by name."""
        ...
