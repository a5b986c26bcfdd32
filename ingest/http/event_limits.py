"""How many datasets and fields one event may name: every one becomes rows, and validation, mapping and the
write cost time in proportion (an event of 420,000 inputs took seconds to validate and nineteen to write).

Counted on the decoded JSON before validation, cheaply: datasets are the inputs and outputs (or the one dataset
of a DatasetEvent); fields are the schema facet's fields (nested ones included) and the column-lineage facet's
output fields, their input fields and its dataset-level input fields. What is not a list or an object where the
spec wants one counts nothing here; validation says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from query.errors import HttpError


class TooManyDatasets(HttpError):
    status = 413
    code = "TOO_MANY_DATASETS"


class TooManyFields(HttpError):
    status = 413
    code = "TOO_MANY_FIELDS"


@dataclass(frozen=True, slots=True)
class EventLimits:
    max_datasets: int  # LINEAGE_MAX_EVENT_DATASETS
    max_fields: int  # LINEAGE_MAX_EVENT_FIELDS


def check_event(value: object, limits: EventLimits) -> None:
    """Raise TooManyDatasets or TooManyFields (413) when the event names more than the limits allow."""
    if not isinstance(value, dict):
        return
    datasets = list(_datasets(value))
    if len(datasets) > limits.max_datasets:
        raise TooManyDatasets(
            f"the event names {len(datasets)} datasets; the limit is {limits.max_datasets} "
            f"(LINEAGE_MAX_EVENT_DATASETS): split the job's inputs and outputs over several events"
        )
    fields = 0
    for dataset in datasets:
        fields += _fields(dataset)
        if fields > limits.max_fields:
            raise TooManyFields(
                f"the event names more than {limits.max_fields} fields in its schema and column-lineage facets, "
                f"the limit (LINEAGE_MAX_EVENT_FIELDS): split it over several events"
            )


def _datasets(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    dataset = event.get("dataset")
    if isinstance(dataset, dict):
        yield dataset
    for side in ("inputs", "outputs"):
        items = event.get(side)
        if isinstance(items, list):
            yield from (item if isinstance(item, dict) else {} for item in items)


def _fields(dataset: Mapping[str, Any]) -> int:
    facets = dataset.get("facets")
    if not isinstance(facets, dict):
        return 0
    count = 0
    schema = facets.get("schema")
    if isinstance(schema, dict):
        count += _schema_fields(schema.get("fields"))
    lineage = facets.get("columnLineage")
    if isinstance(lineage, dict):
        outputs = lineage.get("fields")
        if isinstance(outputs, dict):
            count += len(outputs)
            inputs = (f.get("inputFields") for f in outputs.values() if isinstance(f, dict))
            count += sum(len(each) for each in inputs if isinstance(each, list))
        whole = lineage.get("dataset")
        if isinstance(whole, list):
            count += len(whole)
    return count


def _schema_fields(fields: object) -> int:
    """Schema fields, nested ones (structs, arrays of structs) included, walked without recursion."""
    count, pending = 0, [fields]
    while pending:
        level = pending.pop()
        if not isinstance(level, list):
            continue
        count += len(level)
        pending.extend(item.get("fields") for item in level if isinstance(item, dict) and "fields" in item)
    return count
