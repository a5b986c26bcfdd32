"""Large valid events and inflating bodies for the reliability suite and its benchmark."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson

from tests.reliability.conftest import PRODUCER, run_event

SCHEMA_URL = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"


def wide_dataset(job: str, index: int, fields: int, description: str) -> dict[str, Any]:
    columns = [{"name": f"column_{j:04d}", "type": "VARCHAR(200)", "description": description} for j in range(fields)]
    return {
        "namespace": "reliability",
        "name": f"{job}.table_{index:06d}",
        "facets": {"schema": {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL, "fields": columns}},
    }


def big_event(megabytes: float, *, datasets: int = 9_999, fields: int = 9) -> bytes:
    """A valid RunEvent of about `megabytes` MB within the default limits: `datasets` inputs, one output, each with
    a schema facet of `fields` fields whose descriptions pad the event to its size."""
    job = f"big_{uuid.uuid4().hex}"
    per_field = int(megabytes * 1e6 / ((datasets + 1) * fields)) - 80  # a field without its description: ~80 bytes
    description = "d" * max(per_field, 1)
    event = {
        **run_event(job),
        "inputs": [wide_dataset(job, i, fields, description) for i in range(datasets)],
        "outputs": [wide_dataset(job, datasets, fields, description)],
    }
    return orjson.dumps(event)


def inflating_body(mebibytes: int) -> bytes:
    """A gzip body that inflates to a valid event of about `mebibytes` MiB: one facet holding a long string (the
    issue's 61 KB bodies that inflate to 60 MiB)."""
    event = run_event(f"inflating_{uuid.uuid4().hex}", inputs=0, outputs=0)
    event["run"]["facets"] = {
        "padding": {"_producer": PRODUCER, "_schemaURL": PRODUCER, "text": "x" * (mebibytes << 20)}
    }
    return gzip.compress(orjson.dumps(event), compresslevel=9)
