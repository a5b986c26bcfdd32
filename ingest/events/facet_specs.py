"""The checked facets' shapes: a compact transcription of the OpenLineage facet JSON schemas.

Sources: `spec/facets/*.json` of OpenLineage/OpenLineage, at the versions the openlineage-python 1.54.0
client generates (its `openlineage/client/generated/*.py` name each schema URL, quoted per facet below).
Only what the schemas constrain is kept: required properties, primitive types, enums and the formats
date-time, uri and uuid. Extra properties are always allowed (the spec allows them), and the base facet's
`_producer` / `_schemaURL` are not checked: they describe the facet, not the metadata it carries.

Two tables: `ROW_FACETS` are the facets ingest.events.mapping turns into rows (a break is an error: the rows
cannot be built), `STANDARD_FACETS` the rest of the spec's facets (a break is a warning, an error when
strict). Each is keyed by where a facet sits, then by its key there: the same key can name different
schemas in different places (`ownership` of a job and of a dataset, `tags` of a run, job and dataset).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

NAME_LIMIT = 4000  # the store keeps names and namespaces up to this many characters without loss


class Place(StrEnum):
    """Where a facet container sits in an event."""

    RUN = "run"  # run.facets
    JOB = "job"  # job.facets
    DATASET = "dataset"  # inputs[].facets, outputs[].facets, dataset.facets
    INPUT = "input"  # inputs[].inputFacets
    OUTPUT = "output"  # outputs[].outputFacets


class Kind(StrEnum):
    """JSON types a spec can ask for."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"  # fixed properties (`props`), optionally required ones
    MAP = "map"  # object whose every value follows `values` (JSON schema additionalProperties)
    ANY = "any"  # anything at all


@dataclass(frozen=True, slots=True)
class Spec:
    """One JSON schema node, reduced to what is checked. `props` stays a dict so a node can recurse."""

    kind: Kind
    fmt: str | None = None  # STRING: "date-time", "uri", "uuid" or "run-id"
    enum: frozenset[str] | None = None  # STRING: the allowed values
    non_empty: bool = False  # STRING: "" and blanks alone are refused (identities)
    max_len: int | None = None  # STRING: longer is refused (identities, field names)
    items: Spec | None = None  # ARRAY: every item
    values: Spec | None = None  # MAP: every value
    keys: Spec | None = None  # MAP: every key (a STRING spec), when the keys are names the store keeps
    props: dict[str, Spec] = field(default_factory=dict)  # OBJECT: known properties
    required: tuple[str, ...] = ()  # OBJECT: properties that must be present


def s(fmt: str | None = None, *, enum: tuple[str, ...] | None = None) -> Spec:
    return Spec(Kind.STRING, fmt=fmt, enum=frozenset(enum) if enum else None)


def a(items: Spec) -> Spec:
    return Spec(Kind.ARRAY, items=items)


def m(values: Spec, keys: Spec | None = None) -> Spec:
    return Spec(Kind.MAP, values=values, keys=keys)


def o(required: tuple[str, ...] = (), **props: Spec) -> Spec:
    return Spec(Kind.OBJECT, props=props, required=required)


STR = s()
INT = Spec(Kind.INTEGER)
NUM = Spec(Kind.NUMBER)
BOOL = Spec(Kind.BOOLEAN)
ANY = Spec(Kind.ANY)
UUID = s("uuid")
RUN_ID = s("run-id")  # a UUID, or a plain token of at most 64 characters (ingest.events.validation says why)
TIME = s("date-time")
URI = s("uri")
IDENT = Spec(Kind.STRING, non_empty=True, max_len=NAME_LIMIT)  # a namespace or a name the store keys on
FIELD = Spec(Kind.STRING, max_len=NAME_LIMIT)  # a column name the store keeps

TRANSFORMATION_TYPES = ("DIRECT", "INDIRECT")

# --- facets that become rows (ingest.events.mapping): breaking them is an error ---------------------------------

# ParentRunFacet 1-2-0: run.runId and job.namespace/name required; `root` (optional) has the same shape.
_RUN_REF = o(("runId",), runId=RUN_ID)
_JOB_REF = o(("namespace", "name"), namespace=IDENT, name=IDENT)
_PARENT = o(("run", "job"), run=_RUN_REF, job=_JOB_REF, root=o(("run", "job"), run=_RUN_REF, job=_JOB_REF))

# SchemaDatasetFacet 1-2-0: fields[] {name required, type, description, ordinal_position, fields[] nested}.
_SCHEMA_FIELD = o(("name",), name=FIELD, type=STR, description=STR, ordinal_position=INT)
_SCHEMA_FIELD.props["fields"] = a(_SCHEMA_FIELD)

# SymlinksDatasetFacet 1-0-1: identifiers[] {namespace, name, type}. The schema requires `type` too; the
# store does not need it, so its absence is not a reason to refuse an event.
_SYMLINK = o(("namespace", "name"), namespace=IDENT, name=IDENT, type=STR)

# ColumnLineageDatasetFacet 1-2-0: fields {output field -> {inputFields[] required, transformationDescription,
# transformationType (deprecated)}}, dataset[] (same InputField shape). A transformation's `type` is
# documented as DIRECT or INDIRECT; the mapping files edges under it, so other values are refused.
_TRANSFORMATION = o(("type",), type=s(enum=TRANSFORMATION_TYPES), subtype=STR, description=STR, masking=BOOL)
_INPUT_FIELD = o(
    ("namespace", "name", "field"), namespace=IDENT, name=IDENT, field=FIELD, transformations=a(_TRANSFORMATION)
)
_COLUMN_LINEAGE = o(
    ("fields",),
    fields=m(
        o(("inputFields",), inputFields=a(_INPUT_FIELD), transformationDescription=STR, transformationType=STR),
        keys=FIELD,  # an output field's name: stored as the edge's target_field
    ),
    dataset=a(_INPUT_FIELD),
)

ROW_FACETS: Mapping[Place, Mapping[str, Spec]] = {
    Place.RUN: {"parent": _PARENT},
    Place.DATASET: {
        "schema": o(fields=a(_SCHEMA_FIELD)),
        "symlinks": o(identifiers=a(_SYMLINK)),
        "columnLineage": _COLUMN_LINEAGE,
    },
}

# --- the spec's other facets: breaking them is a warning (an error when strict) ---------------------------

_TAGS = o(tags=a(o(("key", "value"), key=STR, value=STR, source=STR)))  # Tags{Run,Job}Facet 1-0-0
_OWNERS = o(owners=a(o(("name",), name=STR, type=STR)))  # Ownership{Job,Dataset}Facet 1-0-1
_DOCUMENTATION = o(("description",), description=STR, contentType=STR)  # Documentation{Job,Dataset}Facet 1-1-0
_COLUMN_METRICS = m(o(nullCount=INT, distinctCount=INT, sum=NUM, count=NUM, min=NUM, max=NUM, quantiles=m(NUM)))
_STATISTICS = o(rowCount=INT, size=INT, fileCount=INT)

STANDARD_FACETS: Mapping[Place, Mapping[str, Spec]] = {
    Place.RUN: {
        # NominalTimeRunFacet 1-0-1
        "nominalTime": o(("nominalStartTime",), nominalStartTime=TIME, nominalEndTime=TIME),
        # ErrorMessageRunFacet 1-0-1
        "errorMessage": o(("message", "programmingLanguage"), message=STR, programmingLanguage=STR, stackTrace=STR),
        # ExternalQueryRunFacet 1-0-2
        "externalQuery": o(("externalQueryId", "source"), externalQueryId=STR, source=STR),
        # ExtractionErrorRunFacet 1-1-2
        "extractionError": o(
            ("totalTasks", "failedTasks", "errors"),
            totalTasks=INT,
            failedTasks=INT,
            errors=a(o(("errorMessage",), errorMessage=STR, stackTrace=STR, task=STR, taskNumber=INT)),
        ),
        # ProcessingEngineRunFacet 1-1-1
        "processing_engine": o(("version",), version=STR, name=STR, openlineageAdapterVersion=STR),
        # EnvironmentVariablesRunFacet 1-0-0
        "environmentVariables": o(
            ("environmentVariables",), environmentVariables=a(o(("name", "value"), name=STR, value=STR))
        ),
        "tags": _TAGS,  # TagsRunFacet 1-0-0
    },
    Place.JOB: {
        "documentation": _DOCUMENTATION,
        # SourceCodeJobFacet 1-0-1
        "sourceCode": o(("language", "sourceCode"), language=STR, sourceCode=STR),
        # SourceCodeLocationJobFacet 1-1-0
        "sourceCodeLocation": o(
            ("type", "url"),
            type=STR,
            url=URI,
            repoUrl=STR,
            path=STR,
            version=STR,
            tag=STR,
            branch=STR,
            pullRequestNumber=STR,
        ),
        "sql": o(("query",), query=STR, dialect=STR),  # SQLJobFacet 1-1-0
        "ownership": _OWNERS,
        # JobTypeJobFacet 2-0-4
        "jobType": o(
            ("processingType", "integration"),
            processingType=STR,
            integration=STR,
            jobType=STR,
            emissionPattern=o(
                ("eventTrigger", "eventContentMode"), eventTrigger=STR, eventContentMode=STR, windowDuration=INT
            ),
        ),
        "tags": _TAGS,  # TagsJobFacet 1-0-0
    },
    Place.DATASET: {
        "dataSource": o(name=STR, uri=URI),  # DatasourceDatasetFacet 1-0-1
        "documentation": _DOCUMENTATION,
        # LifecycleStateChangeDatasetFacet 1-0-1
        "lifecycleStateChange": o(
            ("lifecycleStateChange",),
            lifecycleStateChange=s(enum=("ALTER", "CREATE", "DROP", "OVERWRITE", "RENAME", "TRUNCATE")),
            previousIdentifier=o(("name", "namespace"), name=STR, namespace=STR),
        ),
        "version": o(("datasetVersion",), datasetVersion=STR),  # DatasetVersionDatasetFacet 1-0-1
        "ownership": _OWNERS,
        "storage": o(("storageLayer",), storageLayer=STR, fileFormat=STR),  # StorageDatasetFacet 1-0-1
        "datasetType": o(("datasetType",), datasetType=STR, subType=STR),  # DatasetTypeDatasetFacet 1-0-1
        # CatalogDatasetFacet: 1-0-0 required technology/source/type/uri/name, 1-1-0 framework/type/name;
        # only what both versions require is required here, so neither version's producers are refused.
        "catalog": o(
            ("type", "name"),
            type=STR,
            name=STR,
            framework=STR,
            technology=STR,
            source=STR,
            uri=STR,
            metadataUri=STR,
            warehouseUri=STR,
            catalogProperties=m(STR),
        ),
        # TagsDatasetFacet 1-0-0
        "tags": o(tags=a(o(("key", "value"), key=STR, value=STR, source=STR, field=STR))),
        # DataQualityMetricsDatasetFacet 1-0-1 (the dataset-level variant)
        "dataQualityMetrics": o(
            ("columnMetrics",),
            rowCount=INT,
            bytes=INT,
            fileCount=INT,
            lastUpdated=TIME,
            captureDate=TIME,
            columnMetrics=_COLUMN_METRICS,
        ),
        # HierarchyDatasetFacet 1-0-0
        "hierarchy": o(("hierarchy",), hierarchy=a(o(("type", "name"), type=STR, name=STR))),
    },
    Place.INPUT: {
        # DataQualityMetricsInputDatasetFacet 1-0-3
        "dataQualityMetrics": o(
            ("columnMetrics",), rowCount=INT, bytes=INT, fileCount=INT, lastUpdated=TIME, columnMetrics=_COLUMN_METRICS
        ),
        # DataQualityAssertionsDatasetFacet 1-1-0 (an input facet)
        "dataQualityAssertions": o(
            ("assertions",),
            assertions=a(
                o(
                    ("assertion", "success"),
                    assertion=STR,
                    success=BOOL,
                    column=STR,
                    severity=STR,
                    name=STR,
                    description=STR,
                    expected=STR,
                    actual=STR,
                    content=STR,
                    contentType=STR,
                    params=m(ANY),
                )
            ),
        ),
        "inputStatistics": _STATISTICS,  # InputStatisticsInputDatasetFacet 1-0-0
    },
    Place.OUTPUT: {
        "outputStatistics": _STATISTICS,  # OutputStatisticsOutputDatasetFacet 1-0-2
    },
}
