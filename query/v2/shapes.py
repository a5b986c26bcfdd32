"""The JSON objects of the seed-compatible v2 API (/work/shared/API_V2.md): same names, same nesting.

Pure functions from the store's read types to JSON-ready dicts. Where the seed's ids are ambiguous (a
node id is `<dataset>.<field>`), extra keys carry the server's own ids (`fieldId`, `sourceFieldId`, ...);
clients of the seed ignore them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from query.lineage import FieldGraph, FieldNode, FieldPair
from query.shapes import JSON, field_order
from schemas.store import DatasetInfo, FieldInfo, NamespaceInfo
from schemas.times import store_to_iso

DEFAULT_SPEC_VERSION = "2-0-2"


def namespace(n: NamespaceInfo) -> JSON:
    return {
        "id": n.namespace_id,
        "uri": n.uri,
        "description": n.description,
        "specVersion": n.spec_version or DEFAULT_SPEC_VERSION,
        "createdAt": store_to_iso(n.created_at),
    }


def dataset(d: DatasetInfo) -> JSON:
    return {
        "id": d.dataset_id,
        "name": d.name,
        "namespace": d.namespace_uri,
        "description": d.description,
        "sourceType": d.source_type,
        "createdAt": store_to_iso(d.created_at),
        "updatedAt": store_to_iso(d.updated_at),
    }


def field(f: FieldInfo) -> JSON:
    return {
        "id": f.field_id,
        "name": f.name,
        "type": f.type,
        "description": f.description,
        "ordinalPosition": f.ordinal_position or 0,
        "nullable": f.nullable != "N",
    }


def dataset_with_fields(d: DatasetInfo, fields: Iterable[FieldInfo]) -> JSON:
    return {**dataset(d), "fields": [field(f) for f in sorted(fields, key=field_order)]}


def node_id(dataset_name: str, field_name: str) -> str:
    """The seed's node id. Ambiguous (dots in names, one name in two namespaces): never an identity here."""
    return f"{dataset_name}.{field_name}"


class GraphShaper:
    """Nodes and edges of a field graph, with field metadata and dataset source types looked up once."""

    def __init__(self, fields: Mapping[str, FieldInfo], datasets: Mapping[str, DatasetInfo]) -> None:
        self.fields = fields
        self.datasets = datasets

    def node(self, n: FieldNode) -> JSON:
        body: JSON = {
            "id": node_id(n.dataset, n.field),
            "type": "field",
            "name": n.field,
            "dataset": {"name": n.dataset, "namespace": n.namespace},
            "fieldId": n.field_id,
            "depth": n.depth,
        }
        known = self.datasets.get(n.dataset_id)
        if known is not None:
            body["dataset"]["sourceType"] = known.source_type
        info = self.fields.get(n.field_id)
        if info is not None:
            body["metadata"] = {"columnType": info.type, "nullable": info.nullable != "N"}
        return body

    @staticmethod
    def edge(pair: FieldPair) -> JSON:
        first = pair.first
        source = node_id(first.source_dataset, first.source_field)
        target = node_id(first.target_dataset, first.target_field)
        transformations = pair.transformations
        kinds = [t.type for t in transformations if t.type]
        scores = [t.confidence_score for t in transformations if t.confidence_score is not None]
        body: JSON = {
            "id": f"{source}->{target}",
            "source": source,
            "target": target,
            # DIRECT wins: some input value flows into the target whatever else the edge says.
            "transformationType": "DIRECT" if "DIRECT" in kinds else (kinds[0] if kinds else None),
            "sourceFieldId": pair.source_field_id,
            "targetFieldId": pair.target_field_id,
            "transformations": [
                {"type": t.type, "subtype": t.subtype, "description": t.description, "masking": t.masking}
                for t in transformations
            ],
        }
        subtypes = [t.subtype for t in transformations if t.subtype]
        if subtypes:
            body["transformationSubtype"] = subtypes[0]
        body["confidenceScore"] = max(scores) if scores else None  # always present: null when unknown
        return body

    def graph(self, graph: FieldGraph, starts: Iterable[FieldNode] = ()) -> JSON:
        """`{"nodes", "edges"}`; starts that have no edge are nodes too."""
        seen = {n.field_id for n in graph.nodes}
        lonely = [n for n in starts if n.field_id not in seen]
        return {
            "nodes": [self.node(n) for n in [*lonely, *graph.nodes]],
            "edges": [self.edge(p) for p in graph.pairs],
        }
