"""ingest.events.validation against the real events of ../shared/events (read in place) and hand-written cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.events.validation import FutureBound, Problem, Validation, event_kind, validate_event
from schemas.rows import EventKind
from tests.conftest import complete_event_files, event_files, load_event

RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_BASE = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json"}

# The compatibility tests' `simple_run_event` sends runId "run_id": consumers are expected to take it (Marquez
# does), so a plain-token run id is kept with a warning; strict validation refuses it.
NON_UUID_RUN_IDS = {"compat__minimal__simple_run_event.json"}

# Every TEMPLATE__ element is refused. Per file: error paths every element of it has, and why.
TEMPLATE_REFUSALS: dict[str, tuple[set[str], str]] = {
    "TEMPLATE__airflow_legacy__bash_fail_array__failing_bash.json": (
        {"eventTime", "producer", "run.runId", "run.facets.parent.run.runId"},
        "partial subset: no eventTime, producer, runId (own and parent's)",
    ),
    "TEMPLATE__airflow_legacy__postgres_array__postgres.json": (
        {"eventTime", "producer"},
        "partial subset: no eventTime, producer; elements 0-1 lack runId, 2-3 lack run (read as JobEvents)",
    ),
    "TEMPLATE__dbt__bigquery_run_cll_array__successful_run_ol_events.json": (
        {"producer", "run.runId"},
        "no producer; runId is `{{ any(result) }}`",
    ),
    "TEMPLATE__dbt__duckdb_root_parent_array__singular_test_ol_events.json": (
        {"producer", "run.runId"},
        "no producer; runId (and parent/root runIds) are `{{ any(result) }}`",
    ),
    "TEMPLATE__dbt__fail_array__result.json": (
        {"eventTime", "run.runId"},
        "eventTime is `{{ is_datetime(result) }}`, runId is `{{ any(result) }}`",
    ),
    "TEMPLATE__dbt__postgres_cll__orders_column_lineage_event.json": (
        {"eventTime", "producer"},
        "partial subset without run (a JobEvent by shape): no eventTime, producer",
    ),
    "TEMPLATE__flink2__sql_kafka_symlinks__expected_sql_kafka.json": (
        {"eventTime", "producer", "run.runId"},
        "no eventTime, producer; runId is `${json-unit.any-string}`",
    ),
    "TEMPLATE__flink__fail__expected_failed.json": (
        {"eventTime", "producer", "run.runId"},
        "no eventTime, producer; runId is `${json-unit.any-string}`",
    ),
    "TEMPLATE__flink__kafka_running_checkpoints__expected_kafka_checkpoints.json": (
        {"eventTime", "producer", "run.runId"},
        "eventTime and runId are `${json-unit.*}` placeholders; no producer",
    ),
    "TEMPLATE__hive__cll_indirect_complete__cllSimpleQueryMultipleIndirectComplete.json": (
        {"eventTime", "producer", "run.runId"},
        "partial subset: no eventTime, producer, runId",
    ),
    "TEMPLATE__hive__cll_masking_complete__cllSimpleQueryMaskingComplete.json": (
        {"eventTime", "producer", "run.runId"},
        "partial subset: no eventTime, producer, runId",
    ),
    "TEMPLATE__hive_dataproc__aggregate_cll__columnLineage.json": (
        {"eventTime", "producer"},
        "partial subset without run (a JobEvent by shape): no eventTime, producer",
    ),
    "TEMPLATE__marquez_seed__food_delivery_array__metadata.template.json": (
        {"eventTime"},
        "eventTime is `{{RUN_START_TIME}}` / `{{RUN_END_TIME_AFTER_...}}`",
    ),
    "TEMPLATE__spark__cll_end__pysparkCLLEnd.json": (
        {"eventTime", "producer", "job.name"},
        "partial subset without run (a JobEvent by shape): no eventTime, producer, job name",
    ),
    "TEMPLATE__spark__iceberg_merge_cll__pysparkV2MergeIntoTableCowCompleteEvent.json": (
        {"eventTime", "producer"},
        "partial subset without run (a JobEvent by shape): no eventTime, producer",
    ),
    "TEMPLATE__spark__jdbc_postgres_cll__columnLineageJDBCComplete.json": (
        {"eventTime", "producer", "inputs[0].namespace"},
        "partial subset without run: no eventTime, producer, input namespaces",
    ),
    "TEMPLATE__spark_dataproc__parent_with_root__parent_1.38.0.json": (
        {"eventTime", "producer", "run.runId", "run.facets.parent.run.runId"},
        "no eventTime, producer, runId; parent runId is `{{ is_uuid(result) }}`",
    ),
}

# The MALFORMED facet files: a standard facet breaks its schema -> a warning (an error when strict).
MALFORMED_FACETS = {
    "MALFORMED__fluentd__event_invalid_job_facet.json": "job.facets.ownership.owners[0].name",
    "MALFORMED__fluentd__event_invalid_dataset_facet.json": "outputs[0].facets.ownership.owners[0].name",
    "MALFORMED__fluentd__event_invalid_input_dataset_facet.json": (
        "inputs[0].inputFacets.dataQualityMetrics.columnMetrics"
    ),
    "MALFORMED__fluentd__event_invalid_output_dataset_facet.json": "outputs[0].outputFacets.outputStatistics.rowCount",
}


def paths(problems: tuple[Problem, ...]) -> set[str]:
    return {problem.path for problem in problems}


def elements(path: Path) -> list[Any]:
    value = orjson.loads(path.read_bytes())
    return value if isinstance(value, list) else [value]


def run_event(**changes: Any) -> dict[str, Any]:
    """A minimal valid RunEvent; keyword arguments replace (or, with None, remove) top-level keys."""
    event: dict[str, Any] = {
        "eventType": "COMPLETE",
        "eventTime": "2024-08-06T13:26:54.34+02:00",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "teradata://host:1025", "name": "etl.load"},
        "inputs": [{"namespace": "teradata://host:1025", "name": "db.src"}],
        "outputs": [{"namespace": "teradata://host:1025", "name": "db.dst"}],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def with_output_facet(name: str, facet: dict[str, Any], container: str = "facets") -> dict[str, Any]:
    event = run_event()
    event["outputs"][0][container] = {name: {**FACET_BASE, **facet}}
    return event


def only_error(result: Validation, path: str, message: str) -> None:
    assert [(p.path, p.message) for p in result.errors] == [(path, message)], result.errors


# --- the shared real events ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", complete_event_files(), ids=lambda p: p.name)
def test_complete_events_have_no_errors(path: Path) -> None:
    result = validate_event(load_event(path.name))
    assert result.ok, [str(p) for p in result.errors]
    assert result.kind is not None
    if path.name in NON_UUID_RUN_IDS:
        assert Problem("run.runId", "not a UUID (the spec asks for one): kept as given") in result.warnings
        strict = validate_event(load_event(path.name), strict=True)
        assert [str(p) for p in strict.errors] == ["run.runId: not a UUID (the spec asks for one): kept as given"]


def test_complete_events_are_found() -> None:
    assert len(complete_event_files()) >= 30


@pytest.mark.parametrize(
    ("name", "warning_path"),
    [
        ("EDGE__marquez_test__event_required_no_timezone.json", "eventTime"),
        ("EDGE__marquez_test__event_without_schema_url.json", "schemaURL"),
        ("EDGE__marquez_test__event_required_nanoseconds.json", "eventType"),
        ("marquez_test__event_required_only.json", "eventType"),
    ],
)
def test_edge_events_warn(name: str, warning_path: str) -> None:
    result = validate_event(load_event(name))
    assert result.ok
    assert warning_path in paths(result.warnings)


def test_job_event_with_event_type_is_a_job_event() -> None:
    result = validate_event(load_event("EDGE__marquez_test__job_event_with_eventType.json"))
    assert result.ok
    assert result.kind is EventKind.JOB


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("marquez_test__dataset_event.json", EventKind.DATASET),
        ("pyclient__dataset_event__serde_example_dataset_event.json", EventKind.DATASET),
        ("pyclient__job_event__serde_example_job_event.json", EventKind.JOB),
        ("spark__cll_insert_complete__8.json", EventKind.RUN),
    ],
)
def test_kinds_of_real_events(name: str, kind: EventKind) -> None:
    assert validate_event(load_event(name)).kind is kind


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("MALFORMED__fluentd__event_no_run_id.json", "run.runId"),
        ("MALFORMED__fluentd__event_invalid_run_facet.json", "run.facets.parent.run.runId"),
    ],
)
def test_malformed_identities_are_errors(name: str, path: str) -> None:
    only_error(validate_event(load_event(name)), path, "required")


@pytest.mark.parametrize(("name", "path"), sorted(MALFORMED_FACETS.items()))
def test_malformed_standard_facets_warn_or_fail_when_strict(name: str, path: str) -> None:
    event = load_event(name)
    relaxed = validate_event(event)
    assert relaxed.ok
    assert path in paths(relaxed.warnings)
    strict = validate_event(event, strict=True)
    assert not strict.ok
    assert path in paths(strict.errors)


def test_every_malformed_file_is_covered() -> None:
    names = {p.name for p in event_files("MALFORMED__")}
    assert names == set(MALFORMED_FACETS) | {
        "MALFORMED__fluentd__event_no_run_id.json",
        "MALFORMED__fluentd__event_invalid_run_facet.json",
    }


@pytest.mark.parametrize("path", event_files("TEMPLATE__"), ids=lambda p: p.name)
def test_templates_are_refused(path: Path) -> None:
    expected, _why = TEMPLATE_REFUSALS[path.name]
    for index, event in enumerate(elements(path)):
        result = validate_event(event)
        assert expected <= paths(result.errors), (index, [str(p) for p in result.errors])


def test_template_placeholders_are_named() -> None:
    event = load_event("TEMPLATE__dbt__fail_array__result.json")[0]
    messages = {p.path: p.message for p in validate_event(event).errors}
    assert messages["eventTime"] == "not an RFC 3339 date-time (looks like a template placeholder)"
    assert messages["run.runId"] == "not a UUID (looks like a template placeholder)"


@pytest.mark.parametrize("path", event_files("FACET__"), ids=lambda p: p.name)
def test_facet_fixtures_are_not_events(path: Path) -> None:
    result = validate_event(load_event(path.name))
    assert not result.ok
    assert result.kind is None


# --- hand-written cases -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [[], "event", 42, None, [run_event()]])
def test_non_objects_are_refused(value: object) -> None:
    result = validate_event(value)
    assert result.kind is None
    assert [str(p) for p in result.errors] == ["an event must be a JSON object"]


def test_minimal_event_is_clean() -> None:
    assert validate_event(run_event()) == Validation(EventKind.RUN, (), ())


@pytest.mark.parametrize(
    ("event", "path", "message"),
    [
        (run_event(run={"runId": "not a uuid"}), "run.runId", "not a UUID"),
        (run_event(run={"runId": "r" * 65}), "run.runId", "not a UUID"),
        (run_event(run={"runId": "{" + RUN_ID + "}"}), "run.runId", "not a UUID"),
        (run_event(run={"runId": 12}), "run.runId", "expected a string"),
        (run_event(run=RUN_ID), "run", "expected an object"),
        (run_event(run=None), "run", "required"),
        (run_event(job={"namespace": "ns", "name": ""}), "job.name", "must not be empty"),
        (run_event(job={"namespace": "ns"}), "job.name", "required"),
        (run_event(job=None), "job", "required"),
        (run_event(eventType="DONE"), "eventType", "must be one of ABORT, COMPLETE, FAIL, OTHER, RUNNING, START"),
        (run_event(eventType="complete"), "eventType", "must be one of ABORT, COMPLETE, FAIL, OTHER, RUNNING, START"),
        (run_event(eventTime="yesterday"), "eventTime", "not an RFC 3339 date-time"),
        (
            run_event(eventTime="{{RUN_START_TIME}}"),
            "eventTime",
            "not an RFC 3339 date-time (looks like a template placeholder)",
        ),
        (run_event(eventTime=None), "eventTime", "required"),
        (run_event(producer=None), "producer", "required"),
        (run_event(producer=""), "producer", "must not be empty"),
        (run_event(schemaURL=7), "schemaURL", "expected a string"),
        (run_event(inputs={"namespace": "ns", "name": "t"}), "inputs", "expected an array of datasets"),
        (run_event(outputs=["db.dst"]), "outputs[0]", "expected an object"),
        (run_event(outputs=[{"namespace": "ns"}]), "outputs[0].name", "required"),
        (
            run_event(outputs=[{"namespace": "ns", "name": "x" * 4001}]),
            "outputs[0].name",
            "longer than 4000 characters",
        ),
        (run_event(job={"namespace": "n" * 4001, "name": "j"}), "job.namespace", "longer than 4000 characters"),
    ],
)
def test_identity_errors(event: dict[str, Any], path: str, message: str) -> None:
    only_error(validate_event(event), path, message)


@pytest.mark.parametrize(
    "run_id", [RUN_ID, RUN_ID.upper(), "00000000-0000-0000-0000-000000000000", "0190b7f0-8c3a-7cde-8000-1234567890ab"]
)
def test_any_uuid_version_is_accepted(run_id: str) -> None:
    assert validate_event(run_event(run={"runId": run_id})).ok


def test_names_of_4000_characters_are_accepted() -> None:
    event = run_event(outputs=[{"namespace": "n" * 4000, "name": "x" * 4000}])
    assert validate_event(event).ok


def test_absent_event_type_is_a_warning() -> None:
    result = validate_event(run_event(eventType=None))
    assert result.ok
    assert paths(result.warnings) == {"eventType"}


@pytest.mark.parametrize("event_type", ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"])
def test_event_types(event_type: str) -> None:
    assert validate_event(run_event(eventType=event_type)) == Validation(EventKind.RUN, (), ())


def test_producer_not_a_uri_is_a_warning() -> None:
    result = validate_event(run_event(producer="producer"))
    assert result.ok
    assert paths(result.warnings) == {"producer"}


def test_time_without_offset_is_a_warning() -> None:
    result = validate_event(run_event(eventTime="2020-12-28T19:51:01.641499"))
    assert result.ok
    assert [str(p) for p in result.warnings] == ["eventTime: no UTC offset (the spec requires one): read as UTC"]


@pytest.mark.parametrize(
    ("url", "shape", "kind"),
    [
        ("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "run", EventKind.JOB),
        ("https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/DatasetEvent", "job", EventKind.DATASET),
        ("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent", "dataset", EventKind.RUN),
        ("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/Unknown", "dataset", EventKind.DATASET),
        ("https://openlineage.io/spec/2-0-2/OpenLineage.json", "job", EventKind.JOB),
        (None, "run", EventKind.RUN),
        (None, "nothing", None),
    ],
)
def test_schema_url_fragment_decides_the_kind(url: str | None, shape: str, kind: EventKind | None) -> None:
    value: dict[str, object] = {shape: {}, "job": {}} if shape == "run" else {shape: {}}
    if url is not None:
        value["schemaURL"] = url
    assert event_kind(value) is kind


def test_schema_url_kind_wins_over_shape() -> None:
    event = run_event(schemaURL="https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent")
    result = validate_event(event)
    assert result.kind is EventKind.DATASET
    assert paths(result.errors) == {"dataset"}


def test_dataset_event() -> None:
    event = {
        "eventTime": "2024-01-01T00:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "ns", "name": "", "facets": {"schema": {**FACET_BASE, "fields": [{"type": "INT"}]}}},
    }
    result = validate_event(event)
    assert result.kind is EventKind.DATASET
    assert {str(p) for p in result.errors} == {
        "dataset.name: must not be empty",
        "dataset.facets.schema.fields[0].name: required",
    }


def test_job_event_checks_job_and_datasets() -> None:
    event = run_event(run=None, eventType=None, schemaURL=None, inputs=[{"name": "t"}])
    result = validate_event(event)
    assert result.kind is EventKind.JOB
    assert paths(result.errors) == {"inputs[0].namespace"}


def test_not_an_event_at_all() -> None:
    result = validate_event({"eventTime": "2024-01-01T00:00:00Z", "producer": PRODUCER})
    assert result.kind is None
    assert [str(p) for p in result.errors] == ["not an OpenLineage event: it has no run, job or dataset"]


# --- facets -------------------------------------------------------------------------------------------------


def test_deleted_facets_are_not_checked() -> None:
    event = run_event()
    event["run"]["facets"] = {"parent": {"_deleted": True}, "nominalTime": {**FACET_BASE, "_deleted": True}}
    event["job"]["facets"] = {"ownership": {"_deleted": True}}
    event["outputs"][0]["facets"] = {"schema": {"_deleted": True}, "columnLineage": {"_deleted": True}}
    event["outputs"][0]["outputFacets"] = {"outputStatistics": {"_deleted": True}}
    assert validate_event(event, strict=True) == Validation(EventKind.RUN, (), ())


@pytest.mark.parametrize(
    ("event", "path", "message"),
    [
        (run_event(run={"runId": RUN_ID, "facets": []}), "run.facets", "expected an object of facets"),
        (run_event(run={"runId": RUN_ID, "facets": {"parent": "p"}}), "run.facets.parent", "a facet must be an object"),
        (
            run_event(run={"runId": RUN_ID, "facets": {"f" * 513: {}}}),
            'run.facets["' + "f" * 64 + '..."]',
            "facet name longer than 512 characters",
        ),
        (
            run_event(
                run={
                    "runId": RUN_ID,
                    "facets": {"parent": {"run": {"runId": "x y"}, "job": {"namespace": "n", "name": "j"}}},
                }
            ),
            "run.facets.parent.run.runId",
            "not a UUID",
        ),
        (
            with_output_facet("schema", {"fields": [{"name": "a"}, {"name": "b", "fields": [{"type": "INT"}]}]}),
            "outputs[0].facets.schema.fields[1].fields[0].name",
            "required",
        ),
        (
            with_output_facet("schema", {"fields": {"name": "a"}}),
            "outputs[0].facets.schema.fields",
            "expected an array",
        ),
        (
            with_output_facet("symlinks", {"identifiers": [{"namespace": "hive://h", "type": "TABLE"}]}),
            "outputs[0].facets.symlinks.identifiers[0].name",
            "required",
        ),
        (
            with_output_facet(
                "columnLineage", {"fields": {"a": {"inputFields": [{"namespace": "ns", "name": "db.src"}]}}}
            ),
            "outputs[0].facets.columnLineage.fields.a.inputFields[0].field",
            "required",
        ),
        (
            with_output_facet(
                "columnLineage",
                {
                    "fields": {
                        "total amount": {
                            "inputFields": [
                                {"namespace": "ns", "name": "t", "field": "x", "transformations": [{"type": "COPY"}]}
                            ]
                        }
                    }
                },
            ),
            'outputs[0].facets.columnLineage.fields["total amount"].inputFields[0].transformations[0].type',
            "must be one of DIRECT, INDIRECT",
        ),
        (
            with_output_facet("columnLineage", {"fields": {}, "dataset": [{"namespace": "ns", "name": "t"}]}),
            "outputs[0].facets.columnLineage.dataset[0].field",
            "required",
        ),
        (
            with_output_facet("columnLineage", {"dataset": []}),
            "outputs[0].facets.columnLineage.fields",
            "required",
        ),
    ],
)
def test_row_facet_errors(event: dict[str, Any], path: str, message: str) -> None:
    only_error(validate_event(event), path, message)


def test_parent_with_root_is_checked() -> None:
    parent = {
        "run": {"runId": RUN_ID},
        "job": {"namespace": "airflow", "name": "dag"},
        "root": {"run": {"runId": "root run"}, "job": {"namespace": "airflow"}},
    }
    result = validate_event(run_event(run={"runId": RUN_ID, "facets": {"parent": parent}}))
    assert paths(result.errors) == {"run.facets.parent.root.run.runId", "run.facets.parent.root.job.name"}


def test_valid_column_lineage_with_all_options() -> None:
    transformation = {"type": "INDIRECT", "subtype": "FILTER", "description": "where", "masking": False}
    input_field = {"namespace": "ns", "name": "t", "field": "x", "transformations": [transformation]}
    facet = {
        "fields": {"a": {"inputFields": [input_field], "transformationDescription": "d", "transformationType": "T"}},
        "dataset": [input_field],
    }
    assert validate_event(with_output_facet("columnLineage", facet), strict=True).ok


@pytest.mark.parametrize(
    ("place", "name", "facet", "path"),
    [
        ("job", "ownership", {"owners": [{"type": "MAINTAINER"}]}, "job.facets.ownership.owners[0].name"),
        ("job", "sql", {"dialect": "teradata"}, "job.facets.sql.query"),
        ("job", "jobType", {"processingType": "BATCH", "integration": 7}, "job.facets.jobType.integration"),
        ("job", "sourceCodeLocation", {"type": "git", "url": "not a url"}, "job.facets.sourceCodeLocation.url"),
        ("run", "nominalTime", {"nominalStartTime": "soon"}, "run.facets.nominalTime.nominalStartTime"),
        ("run", "errorMessage", {"message": "boom"}, "run.facets.errorMessage.programmingLanguage"),
        ("run", "processing_engine", {"name": "spark"}, "run.facets.processing_engine.version"),
        ("run", "tags", {"tags": [{"key": "k"}]}, "run.facets.tags.tags[0].value"),
        (
            "output",
            "lifecycleStateChange",
            {"lifecycleStateChange": "GONE"},
            "outputs[0].facets.lifecycleStateChange.lifecycleStateChange",
        ),
        ("output", "ownership", {"owners": [{}]}, "outputs[0].facets.ownership.owners[0].name"),
        ("output", "tags", {"tags": [{"key": "k", "value": 1}]}, "outputs[0].facets.tags.tags[0].value"),
        ("output", "dataSource", {"uri": 5}, "outputs[0].facets.dataSource.uri"),
        ("output", "datasetType", {}, "outputs[0].facets.datasetType.datasetType"),
        ("outputFacets", "outputStatistics", {"rowCount": True}, "outputs[0].outputFacets.outputStatistics.rowCount"),
        ("inputFacets", "inputStatistics", {"size": 1.5}, "inputs[0].inputFacets.inputStatistics.size"),
        (
            "inputFacets",
            "dataQualityAssertions",
            {"assertions": [{"assertion": "not_null", "success": "yes"}]},
            "inputs[0].inputFacets.dataQualityAssertions.assertions[0].success",
        ),
        (
            "inputFacets",
            "dataQualityMetrics",
            {"columnMetrics": {"id": {"nullCount": "0"}}},
            "inputs[0].inputFacets.dataQualityMetrics.columnMetrics.id.nullCount",
        ),
    ],
)
def test_standard_facet_breaks_warn_or_fail_when_strict(
    place: str, name: str, facet: dict[str, Any], path: str
) -> None:
    event = run_event()
    holder = {
        "job": event["job"],
        "run": event["run"],
        "output": event["outputs"][0],
        "outputFacets": event["outputs"][0],
        "inputFacets": event["inputs"][0],
    }[place]
    container = place if place in ("outputFacets", "inputFacets") else "facets"
    holder[container] = {name: {**FACET_BASE, **facet}}
    relaxed = validate_event(event)
    assert relaxed.ok
    assert paths(relaxed.warnings) == {path}
    strict = validate_event(event, strict=True)
    assert paths(strict.errors) == {path}
    assert strict.warnings == ()


def test_same_key_means_different_facets_by_place() -> None:
    event = run_event()
    # an input facet named outputStatistics and a job facet named schema are custom there: not checked
    event["inputs"][0]["inputFacets"] = {"outputStatistics": {"rowCount": "many"}}
    event["job"]["facets"] = {"schema": {"fields": "none"}, "columnLineage": {"fields": 1}}
    event["run"]["facets"] = {"ownership": {"owners": [{}]}}
    assert validate_event(event, strict=True) == Validation(EventKind.RUN, (), ())


def test_custom_facets_and_extra_properties_are_not_checked() -> None:
    event = run_event()
    event["run"]["facets"] = {
        "spark.logicalPlan": {**FACET_BASE, "plan": [{"class": "x", "num-children": 0}] * 1000},
        "nominalTime": {**FACET_BASE, "nominalStartTime": "2024-01-01T00:00:00Z", "extra": {"any": ["thing"]}},
    }
    event["outputs"][0]["facets"] = {"schema": {**FACET_BASE, "fields": [{"name": "a", "precision": 10}]}}
    assert validate_event(event, strict=True) == Validation(EventKind.RUN, (), ())


def test_null_optional_properties_are_absent() -> None:
    event = with_output_facet("schema", {"fields": [{"name": "a", "type": None, "description": None}]})
    assert validate_event(event, strict=True).ok


def test_nulls_for_optional_containers_are_absent() -> None:
    event = run_event(inputs=[])
    event["outputs"] = None
    event["run"]["facets"] = None
    assert validate_event(event).ok


def test_problem_text() -> None:
    assert str(Problem("run.runId", "not a UUID")) == "run.runId: not a UUID"
    assert str(Problem("", "an event must be a JSON object")) == "an event must be a JSON object"


def test_validation_does_not_change_the_event() -> None:
    event = load_event("spark_dataproc__hive_insert_complete_symlinks_cll__4.json")
    before = orjson.dumps(event)
    validate_event(event, strict=True)
    assert orjson.dumps(event) == before


# --- names past NAME_LIMIT, blank identities, RFC 3339 times, the future bound --------------------------------

LONG = "x" * 4001
NEAR = "y" * 3995


def test_a_column_lineage_output_field_past_the_name_limit_is_refused() -> None:
    """The `fields` keys are the edges' target fields: stored names, held to the 4000 characters of every name."""
    source = {"namespace": "ns", "name": "t", "field": "x"}
    facet = {"fields": {LONG: {"inputFields": [source]}, "x" * 4000: {"inputFields": [source]}}}
    only_error(
        validate_event(with_output_facet("columnLineage", facet)),
        f'outputs[0].facets.columnLineage.fields["{"x" * 64}..."]',
        "key longer than 4000 characters",
    )


def test_a_nested_schema_path_past_the_name_limit_is_refused() -> None:
    """A nested field is stored under its dotted path: `y...y.inner` is 4001 characters, though each name fits."""
    inner = {"name": "inner", "type": "INT"}
    fields = [{"name": NEAR, "type": "STRUCT", "fields": [inner, {"name": "ok"}]}, {"name": "b" * 4000}]
    only_error(
        validate_event(with_output_facet("schema", {"fields": fields})),
        "outputs[0].facets.schema.fields[0].fields[0].name",
        "the field's dotted path is longer than 4000 characters",
    )
    fits = [{"name": "y" * 3996, "fields": [{"name": "abc"}]}]  # 3996 + 1 + 3 = 4000
    assert validate_event(with_output_facet("schema", {"fields": fits})).ok


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (run_event(job={"namespace": " \t", "name": "j"}), "job.namespace"),
        (run_event(job={"namespace": "ns", "name": "\u3000"}), "job.name"),  # an ideographic space is a blank too
        (run_event(outputs=[{"namespace": "ns", "name": "  "}]), "outputs[0].name"),
    ],
)
def test_a_blank_identity_is_refused(event: dict[str, Any], path: str) -> None:
    only_error(validate_event(event), path, "must not be blank")


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-06T13:26:54Z\x00",  # a trailing NUL
        "2024-W32-2T13:26:54Z",  # an ISO week date
        "2024-219T13:26:54Z",  # an ordinal date
        "20240806T132654Z",  # basic format
        "2024-08-06T132654Z",
        "2024-08-06T13:26Z",  # no seconds
        "2024-08-06T13:26:54+0200",  # an offset without its colon
        " 2024-08-06T13:26:54Z",
        "2024-08-06T13:26:54,5Z",  # a decimal comma
        "٢٠٢٤-08-06T13:26:54Z",  # digits of another script
    ],
)
def test_only_rfc_3339_times(text: str) -> None:
    only_error(validate_event(run_event(eventTime=text)), "eventTime", "not an RFC 3339 date-time")


@pytest.mark.parametrize(
    "text",
    ["2024-08-06T13:26:54Z", "2024-08-06t13:26:54.123456789z", "2024-08-06 13:26:54-05:30", "2024-08-06T13:26:54"],
)
def test_rfc_3339_times(text: str) -> None:
    assert validate_event(run_event(eventTime=text)).ok


def test_an_event_past_the_future_bound_is_refused() -> None:
    latest = FutureBound.after("2024-08-06 12:00:00.000000", 3600)
    assert latest is not None
    assert validate_event(run_event(eventTime="2024-08-06T13:00:00Z"), latest=latest).ok
    only_error(
        validate_event(run_event(eventTime="2024-08-06T13:00:00.000001Z"), latest=latest),
        "eventTime",
        "more than 3600 s ahead of the server's clock (LINEAGE_MAX_FUTURE_SKEW)",
    )
    assert validate_event(run_event(eventTime="9999-12-31T23:59:59Z")).ok  # no bound, no check
    assert FutureBound.after("9999-12-31 23:00:00.000000", 7200) is None  # past the calendar: nothing is too late
