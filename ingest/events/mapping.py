"""One OpenLineage event -> the rows it writes (schemas.rows.EventRows). Pure: no I/O, no clock.

Runs only on events that passed ingest.events.validation: identities (run.runId, job and dataset namespace and
name, eventTime) and the row-producing facets (parent, schema, symlinks, columnLineage) have their
schema's shape. Every other facet is read defensively (ingest.events.json_read) and ignored when malformed.

Deterministic: the same event maps to equal rows, in the order the event names things. Rows are deduped
within the event: a dataset named twice (read and written by the run) is one DatasetRow, the later
mention's values winning where it says something; its schema is the later mention's schema. Facets are
serialised once each, as received; `{"_deleted": true}` is stored as a tombstone (payload None).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from itertools import chain
from typing import Any, TypeVar

import orjson

from ingest.events.column_lineage import Target, column_edges
from ingest.events.json_read import as_list, as_map, facet_text, identity, is_deleted, live_facet, text
from ingest.events.timestamps import to_store_time
from schemas.rows import (
    ColumnEdgeRow,
    DatasetEdgeRow,
    DatasetRow,
    DatasetVersionRow,
    EventKind,
    EventRow,
    EventRows,
    FacetOwner,
    FacetRow,
    FieldRow,
    JobRow,
    NamespaceRow,
    RunDatasetRow,
    RunRow,
    RunState,
    SymlinkRow,
    content_uuid,
    dataset_key,
    field_key,
    job_key,
    make_key,
    namespace_key,
    run_key,
)
from schemas.tables import OL_DATASET, OL_DATASET_FIELD, OL_DATASET_SYMLINK, OL_EVENT, OL_JOB, OL_RUN

__all__ = ["event_id", "map_event"]

RUN_STATES: Mapping[str, RunState] = {state.value: state for state in RunState}

# lifecycleStateChange values: DROP ends a dataset; the others leave it (or bring it into) existence.
LIFECYCLE_ACTIVE: Mapping[str, bool] = {
    "DROP": False,
    "CREATE": True,
    "OVERWRITE": True,
    "ALTER": True,
    "RENAME": True,
    "TRUNCATE": True,
}

_Row = TypeVar("_Row", DatasetRow, JobRow)

# Widths of the descriptive columns free text is cut to (names and ids are validated, never cut).
DESCRIPTION = OL_DATASET.column("description").length
SOURCE_TYPE = OL_DATASET.column("source_type").length
JOB_TYPE = OL_JOB.column("job_type").length
FIELD_TYPE = OL_DATASET_FIELD.column("field_type").length
SYMLINK_TYPE = OL_DATASET_SYMLINK.column("symlink_type").length
RUN_URL = OL_RUN.column("producer").length
EVENT_URL = OL_EVENT.column("producer").length


def event_id(event: Mapping[str, Any]) -> str:
    """SHA-256 hex of the event's canonical JSON (sorted keys, no whitespace): a retry is the same event."""
    return hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest()


def map_event(event: Mapping[str, Any], *, kind: EventKind, payload: str, received_at: str) -> EventRows:
    """Every row one validated event writes. `payload` is the event's JSON text as received."""
    rows = _Rows(to_store_time(event["eventTime"]))
    run_id: str | None = None
    job_id: str | None = None
    dataset_id: str | None = None
    if kind is EventKind.RUN:
        run_id, job_id = rows.run_event(event)
    elif kind is EventKind.JOB:
        job_id = rows.job_event(event)
    else:
        dataset_id = rows.dataset(event["dataset"], run_id=None)
    event_type = event.get("eventType") if kind is EventKind.RUN else None
    return rows.build(
        EventRow(
            event_id=event_id(event),
            event_kind=kind,
            event_type=event_type if isinstance(event_type, str) else None,
            event_time=rows.time,
            producer=text(event.get("producer"), EVENT_URL) or "",
            schema_url=text(event.get("schemaURL"), EVENT_URL),
            run_id=run_id,
            job_id=job_id,
            dataset_id=dataset_id,
            payload=payload,
            received_at=received_at,
        )
    )


def _fill(primary: _Row, fallback: _Row) -> _Row:
    """primary, with the values it leaves None taken from fallback."""
    missing = {f.name: getattr(fallback, f.name) for f in fields(primary) if getattr(primary, f.name) is None}
    return replace(primary, **missing) if missing else primary


def _store_time(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return to_store_time(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Ref:
    """A run and its job as a ParentRunFacet (or its `root`) names them."""

    run_id: str
    namespace: str
    name: str
    job_id: str
    job_facets: Mapping[str, Any]


def _ref(value: object) -> _Ref | None:
    node = as_map(value)
    run_id = as_map(node.get("run")).get("runId")
    job = node.get("job")
    ref = identity(job)
    if not isinstance(run_id, str) or ref is None:
        return None
    return _Ref(run_key(run_id), ref[0], ref[1], job_key(*ref), as_map(as_map(job).get("facets")))


def _lineage(run_facets: Mapping[str, Any]) -> tuple[_Ref | None, _Ref | None]:
    """(parent, root) of a run; a root that is the parent itself is no separate ancestor."""
    facet = live_facet(run_facets, "parent")
    if facet is None:
        return None, None
    parent = _ref(facet)
    root = _ref(facet.get("root"))
    if parent is None or (root is not None and root.run_id == parent.run_id):
        return parent, None
    return parent, root


def _is_active(facets: Mapping[str, Any]) -> bool | None:
    change = facet_text(facets, "lifecycleStateChange", "lifecycleStateChange")
    return None if change is None else LIFECYCLE_ACTIVE.get(change.upper())


class _Rows:
    """The rows of one event, deduped by primary key in first-mention order."""

    def __init__(self, time: str) -> None:
        self.time = time
        self.namespaces: dict[str, NamespaceRow] = {}
        self.datasets: dict[str, DatasetRow] = {}
        self.fields: dict[str, list[FieldRow]] = {}  # by dataset_id: a later schema replaces an earlier one
        self.jobs: dict[str, JobRow] = {}
        self.runs: dict[str, RunRow] = {}
        self.inputs: dict[str, RunDatasetRow] = {}
        self.outputs: dict[str, RunDatasetRow] = {}
        self.column_edges: dict[str, ColumnEdgeRow] = {}
        self.dataset_edges: dict[str, DatasetEdgeRow] = {}
        self.symlinks: dict[str, SymlinkRow] = {}
        self.facets: dict[tuple[FacetOwner, str, str], FacetRow] = {}
        self.versions: dict[str, DatasetVersionRow] = {}  # by dataset_id: a later mention's facets replace

    def build(self, event: EventRow) -> EventRows:
        return EventRows(
            event=event,
            namespaces=tuple(self.namespaces.values()),
            datasets=tuple(self.datasets.values()),
            fields=tuple(chain.from_iterable(self.fields.values())),
            jobs=tuple(self.jobs.values()),
            runs=tuple(self.runs.values()),
            inputs=tuple(self.inputs.values()),
            outputs=tuple(self.outputs.values()),
            column_edges=tuple(self.column_edges.values()),
            dataset_edges=tuple(self.dataset_edges.values()),
            symlinks=tuple(self.symlinks.values()),
            facets=tuple(self.facets.values()),
            dataset_versions=tuple(self.versions.values()),
        )

    def namespace(self, uri: str) -> str:
        row = self.namespaces.get(uri)
        if row is None:
            row = self.namespaces[uri] = NamespaceRow(namespace_key(uri), uri)
        return row.namespace_id

    def add_facets(self, owner: FacetOwner, entity_id: str, facets: Mapping[str, Any]) -> None:
        rows, time, dumps = self.facets, self.time, orjson.dumps
        for name, facet in facets.items():
            payload = None if is_deleted(facet) else dumps(facet).decode()
            rows[(owner, entity_id, name)] = FacetRow(owner, entity_id, name, payload, time)

    # -- jobs and runs ---------------------------------------------------------------------------------

    def job(self, namespace: str, name: str, facets: Mapping[str, Any], parent_job_id: str | None) -> str:
        row = JobRow(
            job_id=job_key(namespace, name),
            namespace_id=self.namespace(namespace),
            name=name,
            job_type=facet_text(facets, "jobType", "jobType", JOB_TYPE) if facets else None,
            description=facet_text(facets, "documentation", "description", DESCRIPTION) if facets else None,
            parent_job_id=parent_job_id,
            event_time=self.time,
        )
        known = self.jobs.get(row.job_id)
        self.jobs[row.job_id] = row if known is None else _fill(known, row)
        return row.job_id

    def run_event(self, event: Mapping[str, Any]) -> tuple[str, str]:
        run = event["run"]
        run_id = run_key(run["runId"])
        run_facets = as_map(run.get("facets"))
        parent, root = _lineage(run_facets)
        job = event["job"]
        job_facets = as_map(job.get("facets"))
        job_id = self.job(job["namespace"], job["name"], job_facets, parent.job_id if parent else None)
        nominal = live_facet(run_facets, "nominalTime") or as_map(None)
        state = event.get("eventType")
        self.runs[run_id] = RunRow(
            run_id=run_id,
            job_id=job_id,
            state=RUN_STATES.get(state) if isinstance(state, str) else None,
            event_time=self.time,
            nominal_start_time=_store_time(nominal.get("nominalStartTime")),
            nominal_end_time=_store_time(nominal.get("nominalEndTime")),
            producer=text(event.get("producer"), RUN_URL),
            schema_url=text(event.get("schemaURL"), RUN_URL),
            parent_run_id=parent.run_id if parent else None,
            parent_job_id=parent.job_id if parent else None,
            root_run_id=root.run_id if root else None,
            root_job_id=root.job_id if root else None,
        )
        if parent is not None:
            self.ancestors(parent, root)
        self.add_facets(FacetOwner.RUN, run_id, run_facets)
        self.add_facets(FacetOwner.JOB, job_id, job_facets)
        self.io(event, run_id=run_id, scope=run_id)
        return run_id, job_id

    def ancestors(self, parent: _Ref, root: _Ref | None) -> None:
        """Rows for the parent run and job (and the root's), so children join to them before their events."""
        root_job = root.job_id if root and root.job_id != parent.job_id else None
        self.job(parent.namespace, parent.name, parent.job_facets, root_job)
        self.runs.setdefault(parent.run_id, self._stub(parent, root))
        if root is not None:
            self.job(root.namespace, root.name, root.job_facets, None)
            self.runs.setdefault(root.run_id, self._stub(root, None))

    def _stub(self, ref: _Ref, root: _Ref | None) -> RunRow:
        return RunRow(
            run_id=ref.run_id,
            job_id=ref.job_id,
            state=None,
            event_time=self.time,
            nominal_start_time=None,
            nominal_end_time=None,
            producer=None,
            schema_url=None,
            parent_run_id=root.run_id if root else None,
            parent_job_id=root.job_id if root else None,
            root_run_id=root.run_id if root else None,
            root_job_id=root.job_id if root else None,
        )

    def job_event(self, event: Mapping[str, Any]) -> str:
        job = event["job"]
        job_facets = as_map(job.get("facets"))
        job_id = self.job(job["namespace"], job["name"], job_facets, None)
        self.add_facets(FacetOwner.JOB, job_id, job_facets)
        # No run: input/output facets belong to the job's view of the dataset, make_key(job_id, dataset_id).
        self.io(event, run_id=None, scope=job_id)
        return job_id

    def io(self, event: Mapping[str, Any], *, run_id: str | None, scope: str) -> None:
        """inputs and outputs: datasets, their input/output facets and, for a run, OL_RUN_INPUT/OUTPUT."""
        for key, facets_key, owner, links in (
            ("inputs", "inputFacets", FacetOwner.INPUT, self.inputs),
            ("outputs", "outputFacets", FacetOwner.OUTPUT, self.outputs),
        ):
            for dataset in as_list(event.get(key)):
                if identity(dataset) is None:
                    continue
                dataset_id = self.dataset(dataset, run_id=run_id)
                self.add_facets(owner, make_key(scope, dataset_id), as_map(dataset.get(facets_key)))
                if run_id is not None:
                    links.setdefault(dataset_id, RunDatasetRow(run_id, dataset_id))

    # -- datasets --------------------------------------------------------------------------------------

    def dataset(self, dataset: Mapping[str, Any], *, run_id: str | None) -> str:
        """A dataset's row, schema fields, symlinks, facets and column lineage; returns its dataset_id."""
        namespace: str = dataset["namespace"]
        name: str = dataset["name"]
        dataset_id = dataset_key(namespace, name)
        facets = as_map(dataset.get("facets"))
        if not facets:  # the common input: no facet to read, store or version
            self.add_dataset(DatasetRow(dataset_id, self.namespace(namespace), name, None, None, None, self.time))
            return dataset_id
        self.add_dataset(
            DatasetRow(
                dataset_id=dataset_id,
                namespace_id=self.namespace(namespace),
                name=name,
                source_type=facet_text(facets, "datasetType", "datasetType", SOURCE_TYPE),
                description=facet_text(facets, "documentation", "description", DESCRIPTION),
                is_active=_is_active(facets),
                event_time=self.time,
            )
        )
        self.add_facets(FacetOwner.DATASET, dataset_id, facets)
        self.version(dataset_id, facets, run_id)
        schema = live_facet(facets, "schema")
        if schema is not None:
            self.fields[dataset_id] = _schema_fields(namespace, name, dataset_id, schema, self.time)
        symlinks = live_facet(facets, "symlinks")
        if symlinks is not None:
            self.add_symlinks(dataset_id, symlinks)
        lineage = live_facet(facets, "columnLineage")
        if lineage is not None:
            edges, dataset_edges = column_edges(lineage, Target(namespace, name, dataset_id, run_id, self.time))
            for edge in edges:
                self.column_edges.setdefault(edge.lineage_id, edge)
            for dataset_edge in dataset_edges:
                self.dataset_edges.setdefault(dataset_edge.lineage_id, dataset_edge)
        return dataset_id

    def add_dataset(self, row: DatasetRow) -> None:
        known = self.datasets.get(row.dataset_id)
        self.datasets[row.dataset_id] = row if known is None else _fill(row, known)

    def version(self, dataset_id: str, facets: Mapping[str, Any], run_id: str | None) -> None:
        """The dataset version these facets make: named by their canonical JSON (sorted keys), so the same
        facets from any producer, in any key order, are the same version."""
        canonical = orjson.dumps(facets, option=orjson.OPT_SORT_KEYS).decode()
        version_id = content_uuid(dataset_id, canonical)
        self.versions[dataset_id] = DatasetVersionRow(version_id, dataset_id, run_id, canonical, self.time)

    def add_symlinks(self, dataset_id: str, facet: Mapping[str, Any]) -> None:
        for item in as_list(facet.get("identifiers")):
            ref = identity(item)
            if ref is None:
                continue
            symlink_id = make_key(dataset_id, *ref)
            self.symlinks.setdefault(
                symlink_id,
                SymlinkRow(
                    symlink_id,
                    dataset_id,
                    ref[0],
                    ref[1],
                    text(item.get("type"), SYMLINK_TYPE),
                    dataset_key(*ref),
                    self.time,
                ),
            )


def _schema_fields(namespace: str, name: str, dataset_id: str, facet: Mapping[str, Any], time: str) -> list[FieldRow]:
    """SchemaDatasetFacet fields, nested ones as dotted paths, numbered 1.. in depth-first preorder.

    A struct is a field itself, numbered before its children. The producer's own `ordinal_position`
    numbers siblings only, so it cannot order a flattened schema and is not used.
    """
    rows: dict[str, FieldRow] = {}

    def walk(items: Sequence[Any], prefix: str) -> None:
        for item in items:
            field_name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(field_name, str):
                continue
            path = prefix + field_name
            field_id = field_key(namespace, name, path)
            if field_id not in rows:
                rows[field_id] = FieldRow(
                    field_id,
                    dataset_id,
                    path,
                    text(item.get("type"), FIELD_TYPE),
                    text(item.get("description"), DESCRIPTION),
                    len(rows) + 1,
                    time,
                )
            nested = item.get("fields")
            if isinstance(nested, list):
                walk(nested, path + ".")

    walk(as_list(facet.get("fields")), "")
    return list(rows.values())
