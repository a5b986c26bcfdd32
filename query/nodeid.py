"""Marquez node ids: `dataset:<namespace>:<name>`, `datasetField:<namespace>:<dataset>:<field>`,
`job:<namespace>:<name>`, `run:<id>`, optionally followed by `#<version>` (a dataset or job version, kept in
`NodeId.version`).

Parsing follows Marquez (marquez.service.models.NodeId.parts): when splitting on every colon gives exactly
the parts expected, that is the answer; otherwise only colons not followed by `//` or a digit separate parts,
so `teradata://demo-td:1025` (scheme://host:port) survives inside a namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from query.errors import bad_parameter

SEPARATOR = re.compile(r":(?!//|\d)")


class NodeKind(StrEnum):
    DATASET = "dataset"
    FIELD = "datasetField"
    JOB = "job"
    RUN = "run"


PARTS = {NodeKind.DATASET: 3, NodeKind.FIELD: 4, NodeKind.JOB: 3, NodeKind.RUN: 2}


@dataclass(frozen=True, slots=True)
class NodeId:
    kind: NodeKind
    namespace: str  # "" for a run
    name: str  # dataset, job or run id
    field: str | None = None  # a datasetField's field
    version: str | None = None  # the `#<version>` suffix, lower case

    def __str__(self) -> str:
        text = format_node(self.kind, self.namespace, self.name, self.field)
        return text if self.version is None else f"{text}#{self.version}"


def format_node(kind: NodeKind, namespace: str, name: str, field: str | None = None) -> str:
    if kind is NodeKind.RUN:
        return f"run:{name}"
    text = f"{kind.value}:{namespace}:{name}"
    return text if field is None else f"{text}:{field}"


def dataset_node(namespace: str, name: str) -> str:
    return format_node(NodeKind.DATASET, namespace, name)


def field_node(namespace: str, dataset: str, field: str) -> str:
    return format_node(NodeKind.FIELD, namespace, dataset, field)


def job_node(namespace: str, name: str) -> str:
    return format_node(NodeKind.JOB, namespace, name)


def _split(value: str, expected: int) -> list[str] | None:
    plain = value.split(":")
    if len(plain) == expected:
        return plain
    if len(plain) < expected:
        return None
    parts: list[str] = []
    start = 0
    for match in SEPARATOR.finditer(value):
        if len(parts) == expected - 1:
            break
        parts.append(value[start : match.start()])
        start = match.end()
    parts.append(value[start:])
    return parts if len(parts) == expected else None


def parse_node_id(value: str, name: str = "nodeId") -> NodeId:
    """The node an id names; a 400 naming the parameter when it is not a node id."""
    kind_text, sep, _ = value.partition(":")
    kinds = {kind.value: kind for kind in NodeKind}
    if not sep or kind_text not in kinds:
        raise bad_parameter(name, f"{value!r} must start with dataset:, datasetField:, job: or run:")
    kind = kinds[kind_text]
    unversioned, hash_sign, suffix = value.partition("#")
    parts = _split(unversioned, PARTS[kind])
    if parts is None or not all(parts[1:]) or (hash_sign and not suffix):
        raise bad_parameter(name, f"{value!r} is not a {kind.value} node id")
    version = suffix.lower() if hash_sign else None
    if kind is NodeKind.RUN:
        return NodeId(kind, "", parts[1])
    if kind is NodeKind.FIELD:
        return NodeId(kind, parts[1], parts[2], parts[3], version)
    return NodeId(kind, parts[1], parts[2], version=version)
