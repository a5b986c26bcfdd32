"""Finding what a path segment names: namespaces, datasets, fields, jobs. Synchronous (run in a thread).

Ids are derived from names (schemas.rows: namespace_key, dataset_key, ...), so a lookup by name is a lookup
by key: no name index is needed. A v2 `{datasetId}` is the dataset's id (its key, or `database.table` for a
row of the Teradata application); a name that is unique across namespaces is accepted as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from query.errors import AmbiguousDataset, not_found
from query.shapes import field_order
from schemas.rows import dataset_key, field_key, job_key, namespace_key
from schemas.store import DatasetInfo, FieldInfo, JobInfo, NamespaceInfo, Store


def find_namespace(store: Store, segment: str) -> NamespaceInfo:
    """By id, else by uri (a Marquez namespace name is the uri)."""
    found = store.namespaces_by_ids([segment, namespace_key(segment)])
    if not found:
        raise not_found("namespace", segment)
    return found[0]


def find_dataset(store: Store, segment: str) -> DatasetInfo:
    """By id, else by a name unique across namespaces (409 when several namespaces have it)."""
    found = store.datasets_by_ids([segment])
    if found:
        return found[0]
    named = store.datasets_by_name(segment)
    if len(named) == 1:
        return named[0]
    if named:
        raise AmbiguousDataset(
            f"{len(named)} datasets are named {segment!r}; use one of their ids",
            [(d.dataset_id, d.namespace_uri) for d in named],
        )
    raise not_found("dataset", segment)


def find_named_dataset(store: Store, namespace: str, name: str) -> DatasetInfo:
    found = store.datasets_by_ids([dataset_key(namespace, name)])
    if not found:
        raise not_found("dataset", f"{namespace}:{name}")
    return found[0]


def find_job(store: Store, namespace: str, name: str) -> JobInfo:
    found = store.jobs_by_ids([job_key(namespace, name)])
    if not found:
        raise not_found("job", f"{namespace}:{name}")
    return found[0]


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field as a request names it; `info` is None when no schema facet ever listed it."""

    field_id: str
    dataset: DatasetInfo
    name: str
    info: FieldInfo | None


def field_ref(store: Store, dataset: DatasetInfo, name: str) -> FieldRef:
    """The field of that exact name, else the one the dataset's schema spells otherwise in case or blanks (the
    Teradata application compared `UPPER(TRIM(name))`); a name no schema lists names the field as given."""
    field_id = field_key(dataset.namespace_uri, dataset.name, name)
    known = store.fields_by_ids([field_id])
    if known:
        return FieldRef(field_id, dataset, name, known[0])
    wanted = name.strip().casefold()
    fields = store.fields([dataset.dataset_id])
    alike = sorted((f for f in fields if f.name.strip().casefold() == wanted), key=field_order)
    if alike:
        return FieldRef(alike[0].field_id, dataset, alike[0].name, alike[0])
    return FieldRef(field_id, dataset, name, None)
