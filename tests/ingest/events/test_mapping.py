"""ingest.events.mapping against the real events of ../shared/events: concrete rows, not counts."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.events.column_lineage import deprecated_transformation
from ingest.events.mapping import event_id, map_event
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
from tests.conftest import EVENTS_DIR, complete_event_files, load_event

RECEIVED = "2026-01-02 03:04:05.000000"


def kind_of(event: dict[str, Any]) -> EventKind:
    """The test's own reading of the schemaURL fragment (validation decides in the server)."""
    url = event.get("schemaURL") or ""
    if url.endswith("DatasetEvent"):
        return EventKind.DATASET
    if url.endswith("JobEvent"):
        return EventKind.JOB
    return EventKind.RUN


def map_value(event: dict[str, Any], kind: EventKind | None = None) -> EventRows:
    payload = orjson.dumps(event).decode()
    return map_event(event, kind=kind or kind_of(event), payload=payload, received_at=RECEIVED)


def map_file(name: str) -> EventRows:
    payload = (EVENTS_DIR / name).read_text(encoding="utf-8")
    event = orjson.loads(payload)
    return map_event(event, kind=kind_of(event), payload=payload, received_at=RECEIVED)


def ns(uri: str) -> NamespaceRow:
    return NamespaceRow(namespace_key(uri), uri)


def dataset(namespace: str, name: str, time: str, **values: Any) -> DatasetRow:
    return DatasetRow(
        dataset_id=dataset_key(namespace, name),
        namespace_id=namespace_key(namespace),
        name=name,
        source_type=values.get("source_type"),
        description=values.get("description"),
        is_active=values.get("is_active"),
        event_time=time,
    )


def field(namespace: str, name: str, path: str, field_type: str | None, position: int, time: str) -> FieldRow:
    return FieldRow(
        field_key(namespace, name, path), dataset_key(namespace, name), path, field_type, None, position, time
    )


def version(dataset_id: str, facets: dict[str, Any], run_id: str | None, time: str) -> DatasetVersionRow:
    canonical = orjson.dumps(facets, option=orjson.OPT_SORT_KEYS).decode()
    return DatasetVersionRow(content_uuid(dataset_id, canonical), dataset_id, run_id, canonical, time)


def job(namespace: str, name: str, time: str, job_type: str | None = None, parent: str | None = None) -> JobRow:
    return JobRow(job_key(namespace, name), namespace_key(namespace), name, job_type, None, parent, time)


def stub(run_id: str, job_id: str, time: str, root: tuple[str, str] | None = None) -> RunRow:
    root_run, root_job = root or (None, None)
    return RunRow(run_id, job_id, None, time, None, None, None, None, root_run, root_job, root_run, root_job)


def edge(
    source: tuple[str, str, str],
    target: tuple[str, str, str],
    transformation: tuple[str | None, str | None, str | None, bool],
    run_id: str | None,
    time: str,
) -> ColumnEdgeRow:
    kind, subtype, description, masking = transformation
    source_id, target_id = field_key(*source), field_key(*target)
    flag = "Y" if masking else "N"
    return ColumnEdgeRow(
        lineage_id=make_key(source_id, target_id, kind or "", subtype or "", description or "", flag),
        run_id=run_id,
        source_namespace=source[0],
        source_dataset=source[1],
        source_field=source[2],
        source_dataset_id=dataset_key(source[0], source[1]),
        source_field_id=source_id,
        target_namespace=target[0],
        target_dataset=target[1],
        target_field=target[2],
        target_dataset_id=dataset_key(target[0], target[1]),
        target_field_id=target_id,
        transformation_type=kind,
        transformation_subtype=subtype,
        transformation_description=description,
        masking=masking,
        confidence_score=None,
        event_time=time,
    )


def facet_keys(rows: EventRows) -> list[tuple[FacetOwner, str, str]]:
    return [(row.owner, row.entity_id, row.facet_name) for row in rows.facets]


def edge_values(rows: EventRows) -> list[tuple[str, str, str, str | None, str | None, str | None, bool]]:
    return [
        (
            e.target_field,
            e.source_dataset,
            e.source_field,
            e.transformation_type,
            e.transformation_subtype,
            e.transformation_description,
            e.masking,
        )
        for e in rows.column_edges
    ]


# -- event identity --------------------------------------------------------------------------------------


def test_event_id_is_the_sha256_of_sorted_compact_json() -> None:
    assert (
        event_id({"b": 1, "a": [1, {"d": 2, "c": "é"}]})
        == hashlib.sha256('{"a":[1,{"c":"é","d":2}],"b":1}'.encode()).hexdigest()
    )
    assert event_id({"a": 1, "b": 2}) == event_id({"b": 2, "a": 1})
    assert event_id({"a": 1}) != event_id({"a": 2})


# -- Spark: symlinks and column lineage ------------------------------------------------------------------

HDFS = "hdfs://dataproc-producer-test-m"
HIVE = "hive://dataproc-producer-test-m:9083"
T1, T2 = "/user/hive/warehouse/t1", "/user/hive/warehouse/t2"
SPARK_RUN = "019299c5-73cf-7069-a70f-74eb8070b577"
SPARK_PARENT_RUN = "019299c5-12f5-7946-b5b2-c6abab662e20"
SPARK_JOB = "cl_i_test_application.execute_insert_into_hive_table.warehouse_t2"
SPARK_PARENT_JOB = "cl_i_test_application"


def test_spark_dataproc_insert_with_symlinks_and_column_lineage() -> None:
    name = "spark_dataproc__hive_insert_complete_symlinks_cll__4.json"
    rows = map_file(name)
    time = "2024-10-17 09:18:29.267000"
    job_id, parent_job_id = job_key("default", SPARK_JOB), job_key("default", SPARK_PARENT_JOB)
    t1_id, t2_id = dataset_key(HDFS, T1), dataset_key(HDFS, T2)
    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark"
    schema_url = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    identity = ("DIRECT", "IDENTITY", None, False)  # Spark's `description: ""` reads as not said

    assert rows.event == EventRow(
        event_id=event_id(load_event(name)),
        event_kind=EventKind.RUN,
        event_type="COMPLETE",
        event_time=time,
        producer=producer,
        schema_url=schema_url,
        run_id=SPARK_RUN,
        job_id=job_id,
        dataset_id=None,
        payload=(EVENTS_DIR / name).read_text(encoding="utf-8"),
        received_at=RECEIVED,
    )
    assert rows.namespaces == (ns("default"), ns(HDFS))
    assert rows.jobs == (
        job("default", SPARK_JOB, time, "SQL_JOB", parent=parent_job_id),
        job("default", SPARK_PARENT_JOB, time),
    )
    assert rows.runs == (
        RunRow(
            SPARK_RUN, job_id, RunState.COMPLETE, time, None, None, producer, schema_url,
            SPARK_PARENT_RUN, parent_job_id, None, None,
        ),
        stub(SPARK_PARENT_RUN, parent_job_id, time),
    )  # fmt: skip
    assert rows.datasets == (dataset(HDFS, T1, time), dataset(HDFS, T2, time))
    assert rows.fields == (
        field(HDFS, T1, "a", "integer", 1, time),
        field(HDFS, T1, "b", "string", 2, time),
        field(HDFS, T2, "a", "integer", 1, time),
        field(HDFS, T2, "b", "string", 2, time),
    )
    assert rows.inputs == (RunDatasetRow(SPARK_RUN, t1_id),)
    assert rows.outputs == (RunDatasetRow(SPARK_RUN, t2_id),)
    assert rows.symlinks == (
        SymlinkRow(make_key(t1_id, HIVE, "default.t1"), t1_id, HIVE, "default.t1", "TABLE",
                   dataset_key(HIVE, "default.t1"), time),
        SymlinkRow(make_key(t2_id, HIVE, "default.t2"), t2_id, HIVE, "default.t2", "TABLE",
                   dataset_key(HIVE, "default.t2"), time),
    )  # fmt: skip
    assert rows.column_edges == (
        edge((HDFS, T1, "a"), (HDFS, T2, "a"), identity, SPARK_RUN, time),
        edge((HDFS, T1, "b"), (HDFS, T2, "b"), identity, SPARK_RUN, time),
    )
    assert rows.dataset_edges == ()
    run, job_, ds = FacetOwner.RUN, FacetOwner.JOB, FacetOwner.DATASET
    assert facet_keys(rows) == [
        (run, SPARK_RUN, "parent"),
        (run, SPARK_RUN, "spark_properties"),
        (run, SPARK_RUN, "processing_engine"),
        (run, SPARK_RUN, "gcp_dataproc_spark"),
        (job_, job_id, "jobType"),
        (job_, job_id, "sql"),
        (job_, job_id, "gcp_lineage"),
        (ds, t1_id, "dataSource"),
        (ds, t1_id, "schema"),
        (ds, t1_id, "symlinks"),
        (ds, t2_id, "dataSource"),
        (ds, t2_id, "schema"),
        (ds, t2_id, "columnLineage"),
        (ds, t2_id, "symlinks"),
    ]
    event = load_event(name)
    assert rows.facets[5] == FacetRow(
        FacetOwner.JOB, job_id, "sql", orjson.dumps(event["job"]["facets"]["sql"]).decode(), time
    )
    assert orjson.loads(rows.facets[12].payload or "") == event["outputs"][0]["facets"]["columnLineage"]


def test_spark_cll_insert_has_one_edge_per_transformation_and_lifecycle() -> None:
    rows = map_file("spark__cll_insert_complete__8.json")
    run_id = "019127df-0850-72bc-b214-b255290588a6"
    time = "2024-08-06 13:26:54.340000"
    src1, src2, out = "/tmp/cll_test/cll_source1", "/tmp/cll_test/cll_source2", "/tmp/cll_test/tbl1"
    assert [(d.name, d.is_active) for d in rows.datasets] == [(src2, None), (src1, None), (out, True)]
    agg = [e for e in rows.column_edges if e.target_field == "agg"]
    assert agg == [
        edge(("file", src1, "a"), ("file", out, "agg"), ("INDIRECT", "GROUP_BY", None, False), run_id, time),
        edge(("file", src1, "a"), ("file", out, "agg"), ("INDIRECT", "JOIN", None, False), run_id, time),
        edge(("file", src1, "a"), ("file", out, "agg"), ("INDIRECT", "FILTER", None, False), run_id, time),
        edge(("file", src1, "b"), ("file", out, "agg"), ("INDIRECT", "GROUP_BY", None, False), run_id, time),
        edge(("file", src2, "c"), ("file", out, "agg"), ("DIRECT", "AGGREGATION", None, False), run_id, time),
        edge(("file", src2, "a"), ("file", out, "agg"), ("INDIRECT", "JOIN", None, False), run_id, time),
        edge(("file", src2, "a"), ("file", out, "agg"), ("INDIRECT", "FILTER", None, False), run_id, time),
    ]
    assert len(rows.column_edges) == 21  # ident 7 + trans 7 + agg 7, no duplicates
    assert len({e.lineage_id for e in rows.column_edges}) == 21
    assert [(s.symlink_namespace, s.symlink_name) for s in rows.symlinks] == [
        ("file:/tmp/cll_test", "default.cll_source2"),
        ("file:/tmp/cll_test", "default.cll_source1"),
        ("file:/tmp/cll_test", "default.tbl1"),
    ]
    # symlink namespaces are kept in the SymlinkRow only
    assert [n.namespace_uri for n in rows.namespaces] == ["testColumnLevelLineage", "file"]


def test_drop_lifecycle_marks_the_dataset_inactive() -> None:
    rows = map_file("spark_dataproc__drop_table_complete__3.json")
    assert rows.datasets == (dataset(HDFS, T1, "2024-10-17 09:18:14.755000", is_active=False),)
    assert rows.fields == ()  # an empty schema


# -- Airflow: parent run, deprecated transformationType, empty dataset-level list -----------------------


def test_airflow_task_with_parent_and_deprecated_column_lineage() -> None:
    rows = map_file("airflow__task_BQ.upload_complete_cll__line_03.json")
    time = "2024-11-26 13:05:29.606867"
    run_id, dag_run = "01936893-9751-7b3c-8f76-8ac6d0e5f8a3", "01936893-9751-7a91-a2a0-a51101a3970c"
    task_job, dag_job = job_key("airflow", "BQ.upload"), job_key("airflow", "BQ")
    producer = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"
    schema_url = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    bucket, target = "gs://mock-bucket", ("bigquery", "mock-project.test.upload")

    assert rows.namespaces == (ns("airflow"), ns(bucket), ns("bigquery"))
    assert rows.jobs == (job("airflow", "BQ.upload", time, "TASK", parent=dag_job), job("airflow", "BQ", time))
    assert rows.runs == (
        RunRow(run_id, task_job, RunState.COMPLETE, time, None, None, producer, schema_url, dag_run, dag_job, None,
               None),
        stub(dag_run, dag_job, time),
    )  # fmt: skip
    assert rows.datasets == (
        dataset(bucket, "copied.csv", time),
        dataset(bucket, "test.csv", time),
        dataset(*target, time),
    )
    assert [(f.dataset_id, f.field_name, f.ordinal_position) for f in rows.fields[8:]] == [
        (dataset_key(*target), "a", 1),
        (dataset_key(*target), "b", 2),
        (dataset_key(*target), "c", 3),
        (dataset_key(*target), "d", 4),
    ]
    assert rows.inputs == (
        RunDatasetRow(run_id, dataset_key(bucket, "copied.csv")),
        RunDatasetRow(run_id, dataset_key(bucket, "test.csv")),
    )
    assert rows.outputs == (RunDatasetRow(run_id, dataset_key(*target)),)
    # transformations: [] everywhere, so the deprecated IDENTITY/"identical" of each output field is the edge
    identical = ("DIRECT", "IDENTITY", "identical", False)
    assert rows.column_edges == tuple(
        edge((bucket, source, column), (*target, column), identical, run_id, time)
        for column in "abcd"
        for source in ("copied.csv", "test.csv")
    )
    assert rows.dataset_edges == ()  # "dataset": []
    assert rows.symlinks == ()
    assert rows.event.event_type == "COMPLETE"
    assert rows.event.job_id == task_job


def test_start_and_complete_of_one_run_each_carry_their_own_state() -> None:
    start = map_file("spark_dataproc__hive_insert_start_symlinks_cll__1.json")
    complete = map_file("spark_dataproc__hive_insert_complete_symlinks_cll__4.json")
    assert start.runs[0].run_id == complete.runs[0].run_id == SPARK_RUN
    assert start.runs[0].job_id == complete.runs[0].job_id
    assert (start.runs[0].state, complete.runs[0].state) == (RunState.START, RunState.COMPLETE)
    assert start.runs[1] == stub(SPARK_PARENT_RUN, job_key("default", SPARK_PARENT_JOB), start.runs[0].event_time)
    assert start.event.event_id != complete.event.event_id
    assert start.column_edges[0].lineage_id == complete.column_edges[0].lineage_id  # same edge, same row


def test_nominal_times_are_store_times_and_bad_ones_are_ignored() -> None:
    dag = map_file("airflow__dag_BQ_start__line_01.json").runs[0]
    assert (dag.nominal_start_time, dag.nominal_end_time) == (
        "2024-11-26 13:05:23.281750",
        "2024-11-26 13:05:23.281750",
    )
    serde = map_file("pyclient__run_event__serde_example_run_event.json").runs[0]  # "2020-01-01": no time part
    assert (serde.nominal_start_time, serde.nominal_end_time) == (None, None)
    assert serde.state is RunState.START


# -- DatasetEvent, JobEvent, unicode ----------------------------------------------------------------------


def test_dataset_event() -> None:
    name = "pyclient__dataset_event__serde_example_dataset_event.json"
    rows = map_file(name)
    time = "2021-11-03 10:53:52.427343"
    dataset_id = dataset_key("openlineage", "name")
    schema = load_event(name)["dataset"]["facets"]["schema"]
    assert rows == EventRows(
        event=EventRow(
            event_id=event_id(load_event(name)),
            event_kind=EventKind.DATASET,
            event_type=None,
            event_time=time,
            producer="https://github.com/OpenLineage/OpenLineage/tree/0.0.1/client/python",
            schema_url="https://openlineage.io/spec/2-0-0/OpenLineage.json#/$defs/DatasetEvent",
            run_id=None,
            job_id=None,
            dataset_id=dataset_id,
            payload=(EVENTS_DIR / name).read_text(encoding="utf-8"),
            received_at=RECEIVED,
        ),
        namespaces=(ns("openlineage"),),
        datasets=(dataset("openlineage", "name", time),),
        fields=(
            field("openlineage", "name", "a", "string", 1, time),
            field("openlineage", "name", "b", "string", 2, time),
        ),
        facets=(FacetRow(FacetOwner.DATASET, dataset_id, "schema", orjson.dumps(schema).decode(), time),),
        dataset_versions=(version(dataset_id, {"schema": schema}, None, time),),
    )


def test_marquez_dataset_event_keeps_field_descriptions() -> None:
    rows = map_file("marquez_test__dataset_event.json")
    namespace, name = "my-dataset-namespace", "my-dataset-name"
    assert rows.fields == (
        FieldRow(field_key(namespace, name, "col_a"), dataset_key(namespace, name), "col_a", "VARCHAR", "string", 1,
                 "2020-12-28 09:52:00.001000"),
    )  # fmt: skip
    assert rows.event.dataset_id == dataset_key(namespace, name)


def test_job_event() -> None:
    name = "pyclient__job_event__serde_example_job_event.json"
    rows = map_file(name)
    time = "2021-11-03 10:53:52.427343"
    job_id = job_key("openlineage", "name")
    a_id, b_id = dataset_key("openlineage", "dataset_a"), dataset_key("openlineage", "dataset_b")
    event = load_event(name)
    assert rows == EventRows(
        event=EventRow(
            event_id=event_id(event),
            event_kind=EventKind.JOB,
            event_type=None,
            event_time=time,
            producer="https://github.com/OpenLineage/OpenLineage/tree/0.0.1/client/python",
            schema_url="https://openlineage.io/spec/2-0-0/OpenLineage.json#/$defs/JobEvent",
            run_id=None,
            job_id=job_id,
            dataset_id=None,
            payload=(EVENTS_DIR / name).read_text(encoding="utf-8"),
            received_at=RECEIVED,
        ),
        namespaces=(ns("openlineage"),),
        datasets=(dataset("openlineage", "dataset_a", time), dataset("openlineage", "dataset_b", time)),
        fields=(
            field("openlineage", "dataset_a", "a", "string", 1, time),
            field("openlineage", "dataset_b", "a", "string", 1, time),
        ),
        jobs=(job("openlineage", "name", time),),
        facets=(
            FacetRow(FacetOwner.DATASET, a_id, "schema",
                     orjson.dumps(event["inputs"][0]["facets"]["schema"]).decode(), time),
            FacetRow(FacetOwner.DATASET, b_id, "schema",
                     orjson.dumps(event["outputs"][0]["facets"]["schema"]).decode(), time),
        ),
        dataset_versions=(version(a_id, event["inputs"][0]["facets"], None, time),
                          version(b_id, event["outputs"][0]["facets"], None, time)),
    )  # fmt: skip


def test_a_dataset_version_is_named_by_its_facets_in_any_key_order() -> None:
    event = load_event("pyclient__dataset_event__serde_example_dataset_event.json")
    first = map_value(event).dataset_versions
    reordered = copy.deepcopy(event)
    schema = reordered["dataset"]["facets"]["schema"]
    reordered["dataset"]["facets"]["schema"] = dict(reversed(list(schema.items())))
    reordered["eventTime"] = "2030-01-01T00:00:00Z"
    changed = copy.deepcopy(event)
    changed["dataset"]["facets"]["schema"]["fields"].append({"name": "c", "type": "int"})
    assert len(first) == 1 and re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first[0].version_id
    )
    assert map_value(reordered).dataset_versions[0].version_id == first[0].version_id
    assert map_value(changed).dataset_versions[0].version_id != first[0].version_id
    bare = copy.deepcopy(event)
    bare["dataset"].pop("facets")
    assert map_value(bare).dataset_versions == ()  # no facets: nothing changed, no version


def test_job_event_io_facets_belong_to_the_job_and_lineage_has_no_run() -> None:
    event = load_event("pyclient__job_event__serde_example_job_event.json")
    event["inputs"][0]["inputFacets"] = {"dataQualityMetrics": {"rowCount": 3}}
    event["outputs"][0]["outputFacets"] = {"outputStatistics": {"rowCount": 2}}
    event["outputs"][0]["facets"]["columnLineage"] = {
        "fields": {"a": {"inputFields": [{"namespace": "openlineage", "name": "dataset_a", "field": "a"}]}}
    }
    rows = map_value(event)
    job_id = job_key("openlineage", "name")
    a_id, b_id = dataset_key("openlineage", "dataset_a"), dataset_key("openlineage", "dataset_b")
    assert (FacetOwner.INPUT, make_key(job_id, a_id), "dataQualityMetrics") in facet_keys(rows)
    assert (FacetOwner.OUTPUT, make_key(job_id, b_id), "outputStatistics") in facet_keys(rows)
    assert (rows.runs, rows.inputs, rows.outputs) == ((), (), ())
    time = "2021-11-03 10:53:52.427343"
    assert rows.column_edges == (
        edge(
            ("openlineage", "dataset_a", "a"), ("openlineage", "dataset_b", "a"), (None, None, None, False), None, time
        ),
    )


def test_job_event_with_an_event_type_is_still_a_job_event() -> None:
    rows = map_file("EDGE__marquez_test__job_event_with_eventType.json")
    assert rows.event.event_kind is EventKind.JOB
    assert rows.event.event_type is None  # eventType belongs to RunEvents only
    assert rows.runs == ()
    assert [d.description for d in rows.datasets] == ["input documentation", "output documentation"]


def test_unicode_names() -> None:
    name = "marquez_test__event_unicode.json"
    rows = map_file(name)
    time = "2020-12-28 09:52:00.001000"
    run_id = "1d8f4596-b3f2-4ebb-9e75-8ecc955b834a"
    job_name, source = "myjob.buggy_task🕷", "my-datasource-namespace"
    job_id = job_key("my-scheduler-namespace", job_name)
    producer = "https://github.com/OpenLineage/OpenLineage/blob/v1-0-0/client"
    schema_url = "https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/RunEvent"
    names = ("instance.schema.input-1", "instance.schema.input-2", "instance.schema.output-1")
    assert rows == EventRows(
        event=EventRow(
            event_id=event_id(load_event(name)),
            event_kind=EventKind.RUN,
            event_type="COMPLETE",
            event_time=time,
            producer=producer,
            schema_url=schema_url,
            run_id=run_id,
            job_id=job_id,
            dataset_id=None,
            payload=(EVENTS_DIR / name).read_text(encoding="utf-8"),
            received_at=RECEIVED,
        ),
        namespaces=(ns("my-scheduler-namespace"), ns(source)),
        datasets=tuple(dataset(source, n, time) for n in names),
        jobs=(job("my-scheduler-namespace", job_name, time),),
        runs=(
            RunRow(run_id, job_id, RunState.COMPLETE, time, None, None, producer, schema_url, None, None, None, None),
        ),
        inputs=(
            RunDatasetRow(run_id, dataset_key(source, names[0])),
            RunDatasetRow(run_id, dataset_key(source, names[1])),
        ),
        outputs=(RunDatasetRow(run_id, dataset_key(source, names[2])),),
    )
    assert rows.jobs[0].job_id == make_key("job", "my-scheduler-namespace", "myjob.buggy_task\U0001f577")


# -- facet fixtures wrapped into events -----------------------------------------------------------------

TIME = "2024-01-02T03:04:05.678Z"
STORE_TIME = "2024-01-02 03:04:05.678000"
RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"


def run_event(
    *,
    run_facets: dict[str, Any] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": TIME,
        "run": {"runId": RUN_ID, "facets": run_facets or {}},
        "job": {"namespace": "jobs", "name": "the_job", "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def test_nested_schema_is_flattened_depth_first() -> None:
    facets = load_event("FACET__spec__SchemaDatasetFacet_nested_1.json")
    rows = map_value(run_event(outputs=[{"namespace": "db", "name": "users", "facets": facets}]))
    assert [(f.ordinal_position, f.field_name, f.field_type, f.field_description) for f in rows.fields] == [
        (1, "user_id", "int64", None),
        (2, "counterparty_id", "int64", None),
        (3, "currency", "object", None),
        (4, "amount", "int64", None),
        (5, "phones", "array", "List of phone numbers"),
        (6, "phones._element", "string", "Phone number"),
        (7, "addresses", "struct", "Has customer completed activation process"),
        (8, "addresses.type", "string", "Address type, g.e. home, work, etc."),
        (9, "addresses.country", "string", "Country name"),
        (10, "addresses.zip", "string", "Zip code"),
        (11, "addresses.state", "string", "State name"),
        (12, "addresses.street", "string", "Street name"),
        (13, "custom_properties", "map", None),
        (14, "custom_properties.key", "string", None),
        (15, "custom_properties.value", "union", None),
        (16, "custom_properties.value._0", "string", None),
        (17, "custom_properties.value._1", "int64", None),
    ]
    assert rows.fields[11] == FieldRow(
        field_key("db", "users", "addresses.street"), dataset_key("db", "users"), "addresses.street", "string",
        "Street name", 12, STORE_TIME,
    )  # fmt: skip


SNOW = "SnowflakeOpenLineage"
JOIN = ("INDIRECT", "JOIN", "ON (DISCOUNTS.CUSTOMERS_ID=CUSTOMERS.ID)", False)
IDENT = ("DIRECT", "IDENTITY", None, False)


def cll_event(facet: dict[str, Any]) -> dict[str, Any]:
    return run_event(outputs=[{"namespace": SNOW, "name": "CUSTOMER_DISCOUNTS", "facets": {"columnLineage": facet}}])


def test_column_lineage_fixture_uses_transformations_over_deprecated_fields() -> None:
    facet = load_event("FACET__spec__ColumnLineageDatasetFacet_1.json")["columnLineage"]
    rows = map_value(cll_event(facet))
    expected = []
    for output in ("NAME", "AMOUNT_OFF", "STARTS_AT", "ENDS_AT"):
        own = "CUSTOMERS" if output == "NAME" else "DISCOUNTS"
        expected += [
            (output, own, output, *IDENT),
            (output, "CUSTOMERS", "ID", *JOIN),
            (output, "DISCOUNTS", "CUSTOMERS_ID", *JOIN),
        ]
    assert edge_values(rows) == expected
    first = edge((SNOW, "CUSTOMERS", "NAME"), (SNOW, "CUSTOMER_DISCOUNTS", "NAME"), IDENT, RUN_ID, STORE_TIME)
    assert rows.column_edges[0] == first
    assert rows.dataset_edges == ()


def test_column_lineage_deprecated_fields_when_transformations_are_absent() -> None:
    facet = copy.deepcopy(load_event("FACET__spec__ColumnLineageDatasetFacet_1.json")["columnLineage"])
    for entry in facet["fields"].values():
        for input_field in entry["inputFields"]:
            del input_field["transformations"]
    rows = map_value(cll_event(facet))
    by_target = {(e.target_field, e.source_dataset, e.source_field): e for e in rows.column_edges}
    assert len(by_target) == len(rows.column_edges) == 12
    name = by_target[("NAME", "CUSTOMERS", "NAME")]
    assert (name.transformation_type, name.transformation_subtype, name.transformation_description) == (
        "DIRECT",
        "IDENTITY",
        "SELECT NAME",
    )
    amount = by_target[("AMOUNT_OFF", "CUSTOMERS", "ID")]
    assert (amount.transformation_type, amount.transformation_subtype, amount.transformation_description) == (
        "DIRECT",
        "IDENTITY",
        None,
    )
    ends = by_target[("ENDS_AT", "DISCOUNTS", "ENDS_AT")]  # neither form: an edge with no transformation
    assert (ends.transformation_type, ends.transformation_subtype, ends.transformation_description, ends.masking) == (
        None,
        None,
        None,
        False,
    )


def test_dataset_level_lineage_is_stored_once_not_per_field() -> None:
    facet = copy.deepcopy(load_event("FACET__spec__ColumnLineageDatasetFacet_1.json")["columnLineage"])
    where = {"type": "INDIRECT", "subtype": "FILTER", "description": "WHERE ACTIVE", "masking": False}
    facet["dataset"] = [
        {"namespace": SNOW, "name": "DISCOUNTS", "field": "ACTIVE", "transformations": [where]},
        {"namespace": SNOW, "name": "CUSTOMERS", "field": "ID"},
        {"namespace": SNOW, "name": "CUSTOMERS", "field": "ID"},  # said twice: one row
    ]
    rows = map_value(cll_event(facet))
    assert len(rows.column_edges) == 12  # the field edges are untouched by the dataset-level list
    target_id = dataset_key(SNOW, "CUSTOMER_DISCOUNTS")
    filter_source, id_source = field_key(SNOW, "DISCOUNTS", "ACTIVE"), field_key(SNOW, "CUSTOMERS", "ID")
    assert rows.dataset_edges == (
        DatasetEdgeRow(
            lineage_id=make_key(filter_source, target_id, "INDIRECT", "FILTER", "WHERE ACTIVE", "N"),
            run_id=RUN_ID,
            source_namespace=SNOW,
            source_dataset="DISCOUNTS",
            source_field="ACTIVE",
            source_dataset_id=dataset_key(SNOW, "DISCOUNTS"),
            source_field_id=filter_source,
            target_namespace=SNOW,
            target_dataset="CUSTOMER_DISCOUNTS",
            target_dataset_id=target_id,
            transformation_type="INDIRECT",
            transformation_subtype="FILTER",
            transformation_description="WHERE ACTIVE",
            masking=False,
            event_time=STORE_TIME,
        ),
        DatasetEdgeRow(
            lineage_id=make_key(id_source, target_id, "", "", "", "N"),
            run_id=RUN_ID,
            source_namespace=SNOW,
            source_dataset="CUSTOMERS",
            source_field="ID",
            source_dataset_id=dataset_key(SNOW, "CUSTOMERS"),
            source_field_id=id_source,
            target_namespace=SNOW,
            target_dataset="CUSTOMER_DISCOUNTS",
            target_dataset_id=target_id,
            transformation_type=None,
            transformation_subtype=None,
            transformation_description=None,
            masking=False,
            event_time=STORE_TIME,
        ),
    )


def test_column_lineage_on_an_input_dataset_targets_that_dataset() -> None:
    lineage = {"fields": {"x": {"inputFields": [{"namespace": "db", "name": "raw", "field": "y"}]}}}
    rows = map_value(run_event(inputs=[{"namespace": "db", "name": "clean", "facets": {"columnLineage": lineage}}]))
    assert edge_values(rows) == [("x", "raw", "y", None, None, None, False)]
    assert rows.column_edges[0].target_dataset_id == dataset_key("db", "clean")
    assert [d.name for d in rows.datasets] == ["clean"]  # lineage sources are not datasets of the event


def test_identical_edges_are_deduped_and_masking_is_part_of_the_edge() -> None:
    same = {"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "sha2(x)"}
    lineage = {
        "fields": {
            "h": {
                "inputFields": [
                    {"namespace": "db", "name": "raw", "field": "x", "transformations": [same, same]},
                    {"namespace": "db", "name": "raw", "field": "x", "transformations": [{**same, "masking": True}]},
                ]
            }
        }
    }
    rows = map_value(run_event(outputs=[{"namespace": "db", "name": "out", "facets": {"columnLineage": lineage}}]))
    assert edge_values(rows) == [
        ("h", "raw", "x", "DIRECT", "TRANSFORMATION", "sha2(x)", False),
        ("h", "raw", "x", "DIRECT", "TRANSFORMATION", "sha2(x)", True),
    ]


def test_a_1_0_1_input_field_transformation_text_is_the_description() -> None:
    lineage = {
        "fields": {
            "x": {"inputFields": [{"namespace": "db", "name": "raw", "field": "y", "transformation": "upper(y)"}]},
            "z": {
                "transformationDescription": "said per field",
                "inputFields": [{"namespace": "db", "name": "raw", "field": "y", "transformation": "ignored"}],
            },
        }
    }
    rows = map_value(run_event(outputs=[{"namespace": "db", "name": "out", "facets": {"columnLineage": lineage}}]))
    assert edge_values(rows) == [
        ("x", "raw", "y", None, None, "upper(y)", False),
        ("z", "raw", "y", None, None, "said per field", False),
    ]


@pytest.mark.parametrize(
    ("kind", "description", "expected"),
    [
        ("IDENTITY", "identical", ("DIRECT", "IDENTITY", "identical", False)),
        ("MASKED", "sha256(ssn)", ("DIRECT", None, "sha256(ssn)", True)),
        ("identity", None, ("DIRECT", "IDENTITY", None, False)),
        ("", "", (None, None, None, False)),
        (None, "a+b", (None, None, "a+b", False)),
        ("DIRECT", None, ("DIRECT", None, None, False)),
        ("INDIRECT", None, ("INDIRECT", None, None, False)),
        ("AGGREGATION", "sum(x)", ("DIRECT", "AGGREGATION", "sum(x)", False)),
        ("FILTER", None, ("INDIRECT", "FILTER", None, False)),
        ("STP", "No Transformation Description", (None, "STP", "No Transformation Description", False)),
        (7, 8, (None, None, None, False)),
    ],
)
def test_deprecated_transformation_type(
    kind: object, description: object, expected: tuple[str | None, str | None, str | None, bool]
) -> None:
    assert deprecated_transformation(kind, description) == expected


def test_parent_run_facet_with_root() -> None:
    facets = load_event("FACET__spec__ParentRunFacet_root_2.json")
    rows = map_value(run_event(run_facets=facets))
    parent_run, root_run = "f99310b4-3c3c-1a1a-2b2b-c1b95c24ff11", "a0000000-3c3c-1a1a-2b2b-c1b95c24ff11"
    job_id = job_key("jobs", "the_job")
    task, dag = job_key("airflow", "my_dag.my_task"), job_key("airflow", "my_dag")
    assert rows.namespaces == (ns("jobs"), ns("airflow"))
    assert rows.jobs == (
        job("jobs", "the_job", STORE_TIME, parent=task),
        job("airflow", "my_dag.my_task", STORE_TIME, "TASK", parent=dag),  # jobType forwarded in parent.job.facets
        job("airflow", "my_dag", STORE_TIME, "DAG"),
    )
    assert rows.runs == (
        RunRow(RUN_ID, job_id, RunState.COMPLETE, STORE_TIME, None, None, "https://example.com/producer",
               "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent", parent_run, task, root_run, dag),
        stub(parent_run, task, STORE_TIME, root=(root_run, dag)),
        stub(root_run, dag, STORE_TIME),
    )  # fmt: skip
    assert facet_keys(rows) == [(FacetOwner.RUN, RUN_ID, "parent")]


def test_a_root_that_is_the_parent_is_not_its_own_ancestor() -> None:
    parent = {"run": {"runId": "A0000000-3C3C-1A1A-2B2B-C1B95C24FF11"}, "job": {"namespace": "af", "name": "dag"}}
    rows = map_value(run_event(run_facets={"parent": {**parent, "root": parent}}))
    parent_run, dag = "a0000000-3c3c-1a1a-2b2b-c1b95c24ff11", job_key("af", "dag")
    assert rows.runs[1:] == (stub(parent_run, dag, STORE_TIME),)
    assert (rows.runs[0].parent_run_id, rows.runs[0].root_run_id) == (parent_run, None)
    assert rows.jobs[1:] == (job("af", "dag", STORE_TIME),)


# -- facets, tombstones, malformed optional facets ------------------------------------------------------


def test_deleted_facets_are_tombstones_and_produce_no_rows() -> None:
    gone = {"_producer": "p", "_schemaURL": "s", "_deleted": True}
    output = {
        "namespace": "db",
        "name": "t",
        "facets": {"schema": gone, "symlinks": gone, "columnLineage": gone, "lifecycleStateChange": gone},
        "outputFacets": {"outputStatistics": gone},
    }
    rows = map_value(run_event(run_facets={"parent": gone, "nominalTime": gone}, job_facets={"jobType": gone},
                               outputs=[output]))  # fmt: skip
    dataset_id = dataset_key("db", "t")
    assert rows.facets == (
        FacetRow(FacetOwner.RUN, RUN_ID, "parent", None, STORE_TIME),
        FacetRow(FacetOwner.RUN, RUN_ID, "nominalTime", None, STORE_TIME),
        FacetRow(FacetOwner.JOB, job_key("jobs", "the_job"), "jobType", None, STORE_TIME),
        FacetRow(FacetOwner.DATASET, dataset_id, "schema", None, STORE_TIME),
        FacetRow(FacetOwner.DATASET, dataset_id, "symlinks", None, STORE_TIME),
        FacetRow(FacetOwner.DATASET, dataset_id, "columnLineage", None, STORE_TIME),
        FacetRow(FacetOwner.DATASET, dataset_id, "lifecycleStateChange", None, STORE_TIME),
        FacetRow(FacetOwner.OUTPUT, make_key(RUN_ID, dataset_id), "outputStatistics", None, STORE_TIME),
    )
    assert (rows.fields, rows.symlinks, rows.column_edges) == ((), (), ())
    assert rows.runs == (
        RunRow(RUN_ID, job_key("jobs", "the_job"), RunState.COMPLETE, STORE_TIME, None, None,
               "https://example.com/producer", "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
               None, None, None, None),
    )  # fmt: skip
    assert rows.datasets == (dataset("db", "t", STORE_TIME),)
    assert rows.jobs == (job("jobs", "the_job", STORE_TIME),)


@pytest.mark.parametrize(
    "facets",
    [
        {"datasetType": {"datasetType": 3}, "documentation": {"description": ["x"]}, "lifecycleStateChange": {}},
        {"datasetType": "TABLE", "documentation": None, "lifecycleStateChange": {"lifecycleStateChange": "EXPLODE"}},
        {"datasetType": [], "documentation": {"description": ""}, "lifecycleStateChange": {"lifecycleStateChange": 1}},
    ],
)
def test_malformed_optional_facets_are_stored_but_not_read(facets: dict[str, Any]) -> None:
    event = run_event(
        run_facets={"nominalTime": {"nominalStartTime": 5, "nominalEndTime": "0001-01-01T00:00:00+01:00"}},
        job_facets={"jobType": {"jobType": {"x": 1}}, "documentation": "text"},
        outputs=[{"namespace": "db", "name": "t", "facets": facets}],
    )
    rows = map_value(event)
    assert rows.datasets == (dataset("db", "t", STORE_TIME),)
    assert rows.jobs == (job("jobs", "the_job", STORE_TIME),)
    assert (rows.runs[0].nominal_start_time, rows.runs[0].nominal_end_time) == (None, None)
    assert [(f.facet_name, f.payload) for f in rows.facets[3:]] == [
        (name, orjson.dumps(value).decode()) for name, value in facets.items()
    ]


def test_optional_facets_are_read_when_well_formed() -> None:
    event = run_event(
        run_facets={"nominalTime": {"nominalStartTime": "2024-01-01T00:00:00+01:00"}},
        job_facets={"jobType": {"jobType": "QUERY"}, "documentation": {"description": "loads t"}},
        outputs=[
            {
                "namespace": "db",
                "name": "t",
                "facets": {
                    "datasetType": {"datasetType": "VIEW"},
                    "documentation": {"description": "the t"},
                    "lifecycleStateChange": {"lifecycleStateChange": "OVERWRITE"},
                },
            }
        ],
    )
    rows = map_value(event)
    assert rows.datasets == (dataset("db", "t", STORE_TIME, source_type="VIEW", description="the t", is_active=True),)
    assert rows.jobs == (
        JobRow(job_key("jobs", "the_job"), namespace_key("jobs"), "the_job", "QUERY", "loads t", None, STORE_TIME),
    )
    assert (rows.runs[0].nominal_start_time, rows.runs[0].nominal_end_time) == ("2023-12-31 23:00:00.000000", None)


@pytest.mark.parametrize(
    ("event_type", "state"),
    [
        ("START", RunState.START),
        ("RUNNING", RunState.RUNNING),
        ("COMPLETE", RunState.COMPLETE),
        ("FAIL", RunState.FAIL),
        ("ABORT", RunState.ABORT),
        ("OTHER", None),
        (None, None),
    ],
)
def test_run_state_follows_the_event_type(event_type: str | None, state: RunState | None) -> None:
    event = run_event()
    if event_type is None:
        del event["eventType"]
    else:
        event["eventType"] = event_type
    rows = map_value(event)
    assert rows.runs[0].state == state
    assert rows.event.event_type == event_type


def test_a_dataset_read_and_written_is_one_row_with_the_later_schema() -> None:
    read: dict[str, Any] = {
        "namespace": "db",
        "name": "t",
        "facets": {"schema": {"fields": [{"name": "a"}, {"name": "b"}]}, "datasetType": {"datasetType": "TABLE"}},
        "inputFacets": {"dataQualityMetrics": {"rowCount": 1}},
    }
    written: dict[str, Any] = {
        "namespace": "db",
        "name": "t",
        "facets": {"schema": {"fields": [{"name": "b"}]}, "lifecycleStateChange": {"lifecycleStateChange": "ALTER"}},
    }
    event = run_event(inputs=[read, read], outputs=[written])
    event["run"]["runId"] = RUN_ID.upper()
    rows = map_value(event)
    dataset_id = dataset_key("db", "t")
    assert rows.datasets == (dataset("db", "t", STORE_TIME, source_type="TABLE", is_active=True),)
    assert rows.fields == (field("db", "t", "b", None, 1, STORE_TIME),)
    assert rows.inputs == rows.outputs == (RunDatasetRow(RUN_ID, dataset_id),)
    assert rows.namespaces == (ns("jobs"), ns("db"))
    assert facet_keys(rows) == [
        (FacetOwner.DATASET, dataset_id, "schema"),
        (FacetOwner.DATASET, dataset_id, "datasetType"),
        (FacetOwner.INPUT, make_key(RUN_ID, dataset_id), "dataQualityMetrics"),
        (FacetOwner.DATASET, dataset_id, "lifecycleStateChange"),
    ]
    assert orjson.loads(rows.facets[0].payload or "") == written["facets"]["schema"]  # the later value


# -- every real event ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", complete_event_files(), ids=lambda p: p.name)
def test_every_complete_event_maps_deterministically(path: Path) -> None:
    payload = path.read_text(encoding="utf-8")
    event = orjson.loads(payload)
    first = map_event(event, kind=kind_of(event), payload=payload, received_at=RECEIVED)
    again = map_event(orjson.loads(payload), kind=kind_of(event), payload=payload, received_at=RECEIVED)
    assert event == orjson.loads(payload)  # the mapping does not touch its input
    assert first == again
    assert first.event.payload == payload
    datasets = {d.dataset_id for d in first.datasets}
    jobs = {j.job_id for j in first.jobs}
    namespaces = {n.namespace_id for n in first.namespaces}
    assert {d.namespace_id for d in first.datasets} | {j.namespace_id for j in first.jobs} <= namespaces
    assert {f.dataset_id for f in first.fields} <= datasets
    assert {r.dataset_id for r in first.inputs + first.outputs} <= datasets
    assert {r.job_id for r in first.runs} <= jobs
    assert {e.target_dataset_id for e in first.column_edges} <= datasets
    # one row per primary key within an event
    assert len(namespaces) == len(first.namespaces) and len(datasets) == len(first.datasets)
    assert len(jobs) == len(first.jobs)
    assert len({f.field_id for f in first.fields}) == len(first.fields)
    assert len({r.run_id for r in first.runs}) == len(first.runs)
    assert len({e.lineage_id for e in first.column_edges}) == len(first.column_edges)
    assert len({e.lineage_id for e in first.dataset_edges}) == len(first.dataset_edges)
    assert len({s.symlink_id for s in first.symlinks}) == len(first.symlinks)
    keys = [(f.owner, f.entity_id, f.facet_name) for f in first.facets]
    assert len(keys) == len(set(keys))


def test_the_complete_events_are_all_there() -> None:
    assert len(complete_event_files()) >= 30


PARENT = "0190b7f0-8c3a-7cde-8000-1234567890ab"


def test_a_uuid_urn_names_the_same_run_as_the_bare_uuid() -> None:
    """RFC 9562 writes a UUID as `urn:uuid:<u>` too: both spellings, in any case, are one run (and one parent)."""
    parent = {
        "_producer": "https://p",
        "_schemaURL": "https://s",
        "run": {"runId": "urn:uuid:" + PARENT.upper()},
        "job": {"namespace": "ns", "name": "dag"},
    }
    event = run_event(run_facets={"parent": parent})
    event["run"]["runId"] = "URN:UUID:" + RUN_ID.upper()
    rows = map_value(event)
    assert [r.run_id for r in rows.runs] == [RUN_ID, PARENT]
    assert rows.runs[0].parent_run_id == PARENT
    assert [r.run_id for r in map_value(run_event()).runs] == [RUN_ID]
    assert run_key("urn:uuid:not-a-uuid") == "urn:uuid:not-a-uuid"  # a token that only looks like one stays as given
