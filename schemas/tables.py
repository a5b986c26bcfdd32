"""The one definition of the OL_* tables, from which every dialect's DDL is rendered.

The nine tables of the Teradata lineage application keep their names and every column (`since=1`, the
application's schema version 1); what OpenLineage events need beyond that arrived with migration 2, and
dataset versions (OL_DATASET_VERSION) with migration 5.
Names an event can carry are VARCHAR(4000) and never indexed as text: the `*_id` and `*_key` columns
hold `schemas.rows.make_key` hashes, and those are what indexes and joins use.

`primary_key` is the logical identity (PRIMARY KEY in SQLite and PostgreSQL, the MERGE match on
Teradata); `primary_index` is Teradata's row distribution, chosen for the access path, and `unique_pi`
says whether it is a UNIQUE PRIMARY INDEX.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColType(StrEnum):
    """Column types, rendered per dialect by schemas.sql.ddl."""

    VARCHAR = "VARCHAR"  # bounded text; `length` in characters
    CHAR = "CHAR"  # fixed text; the seed's Y/N flags
    INTEGER = "INTEGER"  # 32-bit integer
    DECIMAL = "DECIMAL"  # `length` is precision, `scale` the scale
    TIMESTAMP = "TIMESTAMP"  # `length` is fractional-second precision; values are UTC
    CLOB = "CLOB"  # unbounded text: verbatim JSON of events and facets


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColType
    length: int = 0
    scale: int = 0
    nullable: bool = True
    default: str | None = None  # a SQL literal, the same in every dialect
    since: int = 1  # the migration that added the column


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str, ...]
    since: int = 2


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    primary_index: tuple[str, ...]
    unique_pi: bool
    indexes: tuple[Index, ...] = ()
    since: int = 1

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")


NAME = 4000  # longest name stored without loss
ID = 64  # run ids, lineage ids, event ids, namespace ids (the seed's width)


def _vc(name: str, length: int, *, null: bool = True, since: int = 1, default: str | None = None) -> Column:
    return Column(name, ColType.VARCHAR, length, nullable=null, since=since, default=default)


def _ts(name: str, precision: int = 0, *, since: int = 1) -> Column:
    return Column(name, ColType.TIMESTAMP, precision, since=since)


def _flag(name: str, default: str) -> Column:
    return Column(name, ColType.CHAR, 1, default=f"'{default}'")


def _clob(name: str, *, since: int = 2) -> Column:
    return Column(name, ColType.CLOB, since=since)


OL_NAMESPACE = Table(
    "OL_NAMESPACE",
    (
        _vc("namespace_id", ID, null=False),
        _vc("namespace_uri", NAME, null=False),
        _vc("description", 2000),
        _vc("spec_version", 20, default="'2-0-2'"),
        _ts("created_at"),
    ),
    primary_key=("namespace_id",),
    primary_index=("namespace_id",),
    unique_pi=True,
)

OL_DATASET = Table(
    "OL_DATASET",
    (
        _vc("dataset_id", 256, null=False),
        _vc("namespace_id", ID, null=False),
        _vc("name", NAME, null=False),
        _vc("description", 2000),
        _vc("source_type", 50),
        _ts("created_at"),
        _ts("updated_at"),
        _flag("is_active", "Y"),
        _vc("name_key", 32, since=2),  # make_key(name): find a dataset by its name alone
        _vc("name_fold", NAME, since=4),  # schemas.rows.fold(name): what search compares, never indexed
        _vc("database_key", 32, since=4),  # schemas.rows.name_database_key(name): the datasets of one database
    ),
    primary_key=("dataset_id",),
    primary_index=("dataset_id",),
    unique_pi=True,
    indexes=(
        Index("idx_ol_dataset_ns", ("namespace_id",), since=1),
        Index("idx_ol_dataset_name_key", ("name_key",)),
        Index("idx_ol_dataset_db_key", ("database_key",), since=4),
    ),
)

OL_DATASET_FIELD = Table(
    "OL_DATASET_FIELD",
    (
        _vc("field_id", 512, null=False),
        _vc("dataset_id", 256, null=False),
        _vc("field_name", NAME, null=False),
        _vc("field_type", NAME),  # the seed's 256 widened: Spark struct types run long
        _vc("field_description", 2000),
        Column("ordinal_position", ColType.INTEGER),
        Column("nullable", ColType.CHAR, 1),
        _ts("created_at"),
        _ts("updated_at", since=2),
        _vc("field_name_fold", NAME, since=4),  # schemas.rows.fold(field_name): what search compares
    ),
    primary_key=("field_id",),
    primary_index=("dataset_id",),  # a dataset's fields are read together
    unique_pi=False,
    indexes=(Index("idx_ol_field_dataset", ("dataset_id",), since=1),),
)

OL_JOB = Table(
    "OL_JOB",
    (
        _vc("job_id", 256, null=False),
        _vc("namespace_id", ID, null=False),
        _vc("name", NAME, null=False),
        _vc("description", 2000),
        _vc("job_type", 50),
        _ts("created_at"),
        _ts("updated_at"),
        _vc("name_key", 32, since=2),
        _vc("parent_job_id", 256, since=2),
        _vc("name_fold", NAME, since=4),  # schemas.rows.fold(name): what search compares
    ),
    primary_key=("job_id",),
    primary_index=("job_id",),
    unique_pi=True,
    indexes=(Index("idx_ol_job_ns", ("namespace_id",), since=1), Index("idx_ol_job_name_key", ("name_key",))),
)

OL_RUN = Table(
    "OL_RUN",
    (
        _vc("run_id", ID, null=False),
        _vc("job_id", 256, null=False),
        _vc("event_type", 20),  # the run's state in the OpenLineage run cycle
        _ts("event_time", 6),  # when the run entered that state
        _ts("nominal_start_time", 6),  # the seed's TIMESTAMP(0) widened: nominal times keep microseconds
        _ts("nominal_end_time", 6),
        _vc("producer", 512),
        _vc("schema_url", 512),
        _ts("created_at"),
        _ts("started_at", 6, since=2),
        _ts("ended_at", 6, since=2),
        _ts("last_event_time", 6, since=2),
        _vc("parent_run_id", ID, since=2),
        _vc("parent_job_id", 256, since=2),
        _vc("root_run_id", ID, since=2),
        _vc("root_job_id", 256, since=2),
    ),
    primary_key=("run_id",),
    primary_index=("run_id",),
    unique_pi=True,
    indexes=(
        Index("idx_ol_run_job", ("job_id",), since=1),
        Index("idx_ol_run_time", ("event_time",), since=1),
        Index("idx_ol_run_type", ("event_type",), since=1),
        Index("idx_ol_run_parent", ("parent_run_id",)),
    ),
)


def _run_io(name: str, index: str) -> Table:
    return Table(
        name,
        (_vc("run_id", ID, null=False), _vc("dataset_id", 256, null=False)),
        primary_key=("run_id", "dataset_id"),
        primary_index=("run_id",),
        unique_pi=False,
        indexes=(Index(index, ("dataset_id",), since=1),),
    )


OL_RUN_INPUT = _run_io("OL_RUN_INPUT", "idx_ol_run_input_ds")
OL_RUN_OUTPUT = _run_io("OL_RUN_OUTPUT", "idx_ol_run_output_ds")

TRANSFORMATION = (
    _vc("transformation_type", 20),
    _vc("transformation_subtype", 50),
    _vc("transformation_description", 2000),
    _flag("masking", "N"),
)

OL_COLUMN_LINEAGE = Table(
    "OL_COLUMN_LINEAGE",
    (
        _vc("lineage_id", ID, null=False),
        _vc("run_id", ID),
        _vc("source_namespace", NAME, null=False),
        _vc("source_dataset", NAME, null=False),
        _vc("source_field", NAME, null=False),
        _vc("target_namespace", NAME, null=False),
        _vc("target_dataset", NAME, null=False),
        _vc("target_field", NAME, null=False),
        *TRANSFORMATION,
        Column("confidence_score", ColType.DECIMAL, 3, 2),
        _ts("discovered_at"),  # first sighting
        _flag("is_active", "Y"),
        _vc("source_dataset_id", 256, since=2),
        _vc("source_field_id", 512, since=2),
        _vc("target_dataset_id", 256, since=2),
        _vc("target_field_id", 512, since=2),
        _ts("last_seen_at", 6, since=2),
    ),
    primary_key=("lineage_id",),
    primary_index=("target_field_id",),  # upstream traversal reads by target; a NUSI serves downstream
    unique_pi=False,
    indexes=(
        Index("idx_ol_lineage_run", ("run_id",), since=1),
        Index("idx_ol_lineage_type", ("transformation_type",), since=1),
        Index("idx_ol_lineage_src_fid", ("source_field_id",)),
        Index("idx_ol_lineage_tgt_fid", ("target_field_id",)),
        Index("idx_ol_lineage_src_dsid", ("source_dataset_id",)),
        Index("idx_ol_lineage_tgt_dsid", ("target_dataset_id",)),
    ),
)

OL_SCHEMA_VERSION = Table(
    "OL_SCHEMA_VERSION",
    (
        Column("version_id", ColType.INTEGER, nullable=False),
        _vc("openlineage_spec_version", 20, null=False),
        _vc("schema_version", 20, null=False),
        _ts("applied_at"),
        _vc("description", 500),
        _vc("migration_name", 128, since=2),
    ),
    primary_key=("version_id",),
    primary_index=("version_id",),
    unique_pi=True,
)

OL_EVENT = Table(
    "OL_EVENT",
    (
        _vc("event_id", ID, null=False),
        _vc("event_kind", 20, null=False),
        _vc("event_type", 20),
        _ts("event_time", 6),
        _vc("producer", NAME),
        _vc("schema_url", NAME),
        _vc("run_id", ID),
        _vc("job_id", 256),
        _vc("dataset_id", 256),
        _ts("received_at", 6),
        _clob("payload"),
    ),
    primary_key=("event_id",),
    primary_index=("event_id",),
    unique_pi=True,
    indexes=(
        Index("idx_ol_event_run", ("run_id",)),
        Index("idx_ol_event_received", ("received_at",)),
        # The event listing (v1 /events/lineage, the stats) reads run events by time, in either order.
        Index("idx_ol_event_time", ("event_kind", "event_time", "event_id"), since=6),
    ),
    since=2,
)

OL_FACET = Table(
    "OL_FACET",
    (
        _vc("owner", 10, null=False),
        _vc("entity_id", 256, null=False),
        _vc("facet_name", 512, null=False),
        _clob("payload"),  # NULL: deleted by a `_deleted: true` facet
        _ts("event_time", 6),
    ),
    primary_key=("owner", "entity_id", "facet_name"),
    primary_index=("entity_id",),
    unique_pi=False,
    # Marquez's UI asks for /api/v1/tags on every page: the `tags` facets of all entities, found by name.
    indexes=(Index("idx_ol_facet_name", ("facet_name",), since=5),),
    since=2,
)

OL_DATASET_SYMLINK = Table(
    "OL_DATASET_SYMLINK",
    (
        _vc("symlink_id", ID, null=False),
        _vc("dataset_id", 256, null=False),
        _vc("symlink_namespace", NAME, null=False),
        _vc("symlink_name", NAME, null=False),
        _vc("symlink_type", 64),
        _vc("symlink_dataset_id", 256),  # dataset_key(symlink_namespace, symlink_name)
        _ts("created_at", 6),
    ),
    primary_key=("symlink_id",),
    primary_index=("dataset_id",),
    unique_pi=False,
    indexes=(Index("idx_ol_symlink_dataset", ("dataset_id",)), Index("idx_ol_symlink_target", ("symlink_dataset_id",))),
    since=2,
)

OL_COLUMN_LINEAGE_DATASET = Table(
    "OL_COLUMN_LINEAGE_DATASET",
    (
        _vc("lineage_id", ID, null=False),
        _vc("run_id", ID),
        _vc("source_namespace", NAME, null=False),
        _vc("source_dataset", NAME, null=False),
        _vc("source_field", NAME, null=False),
        _vc("source_dataset_id", 256, null=False),
        _vc("source_field_id", 512, null=False),
        _vc("target_namespace", NAME, null=False),
        _vc("target_dataset", NAME, null=False),
        _vc("target_dataset_id", 256, null=False),
        *TRANSFORMATION,
        _ts("discovered_at", 6),
        _ts("last_seen_at", 6),
    ),
    primary_key=("lineage_id",),
    primary_index=("target_dataset_id",),
    unique_pi=False,
    indexes=(
        Index("idx_ol_dslineage_src_fid", ("source_field_id",)),
        Index("idx_ol_dslineage_tgt", ("target_dataset_id",)),
        Index("idx_ol_dslineage_src_ds", ("source_dataset_id",)),  # downstream table lineage reads by source
    ),
    since=2,
)

# A population source's progress (migration 3): how far it has read (`lineage populate dbql`'s watermark per source),
# and the items it has seen but could not finish yet (a query whose SQL text rows DBQL had not written), which the
# next run picks up whatever its window. Keyed by source_id = make_key(source) so that no text key is indexed.
OL_POPULATE_MARK = Table(
    "OL_POPULATE_MARK",
    (
        _vc("source_id", 32, null=False),
        _vc("source", NAME, null=False),  # "dbql teradata://host:1025", as the population names it
        _ts("mark_time", 6),  # everything before it has been read and committed
        _ts("updated_at", 6),
    ),
    primary_key=("source_id",),
    primary_index=("source_id",),
    unique_pi=True,
    since=3,
)

OL_POPULATE_PENDING = Table(
    "OL_POPULATE_PENDING",
    (
        _vc("source_id", 32, null=False),
        _vc("item_id", 64, null=False),  # DBQL's QueryID as text
        _ts("item_time", 6),  # the item's own time (CollectTimeStamp of its log row)
        _clob("payload", since=3),  # what the source knew of the item (its log row as JSON)
        _ts("first_seen_at", 6),
    ),
    primary_key=("source_id", "item_id"),
    primary_index=("source_id",),  # a source's pending items are read together
    unique_pi=False,
    since=3,
)

OL_DATASET_VERSION = Table(
    "OL_DATASET_VERSION",
    (
        _vc("version_id", 36, null=False),  # a UUID derived from the dataset and its facets (schemas.rows)
        _vc("dataset_id", 256, null=False),
        _vc("run_id", ID),  # the latest run whose event carried this content; NULL if only Dataset/JobEvents did
        _clob("payload"),  # the dataset's facets as that event carried them
        _ts("created_at", 6),  # first sighting
        _ts("updated_at", 6),  # latest sighting: the current version is the one seen last
    ),
    primary_key=("version_id",),
    primary_index=("dataset_id",),  # a dataset's versions are read together
    unique_pi=False,
    indexes=(Index("idx_ol_dsversion_dataset", ("dataset_id",), since=5),),
    since=5,
)

SEED_TABLES = (
    OL_NAMESPACE,
    OL_DATASET,
    OL_DATASET_FIELD,
    OL_JOB,
    OL_RUN,
    OL_RUN_INPUT,
    OL_RUN_OUTPUT,
    OL_COLUMN_LINEAGE,
    OL_SCHEMA_VERSION,
)
TABLES = (
    *SEED_TABLES,
    OL_EVENT,
    OL_FACET,
    OL_DATASET_SYMLINK,
    OL_COLUMN_LINEAGE_DATASET,
    OL_POPULATE_MARK,
    OL_POPULATE_PENDING,
    OL_DATASET_VERSION,
)
