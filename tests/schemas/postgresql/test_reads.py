"""The reads (SqlReads) answer on PostgreSQL exactly as on SQLite, for every complete event of ../shared/events.

Both stores take the same prepared rows; then every read method is asked the same questions, over every id the
stores hold. Paged reads are compared as they are (their order is part of the answer); reads by a list of ids
promise no order, so their rows are compared sorted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.dsn import parse_dsn
from schemas.postgresql.store import PostgresStore
from schemas.rows import FacetOwner
from schemas.sqlite.store import SqliteStore
from schemas.store import CountKind, Direction, Page, SearchKind, SearchScope, Store, TimeWindow
from tests.conftest import complete_event_files
from tests.query.conftest import ingest

ALL = Page(10_000)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, postgres_database: Any) -> Iterator[tuple[SqliteStore, Store]]:
    events = [orjson.loads(path.read_bytes()) for path in complete_event_files()]
    schema = postgres_database.new_schema()
    sqlite = SqliteStore(tmp_path_factory.mktemp("reads") / "lineage.db")
    postgres = PostgresStore(parse_dsn(postgres_database.schema_dsn(schema)))
    for store in (sqlite, postgres):
        store.create_schema()
        ingest(store, events)
    yield sqlite, postgres
    sqlite.close()
    postgres.close()
    postgres_database.drop_schema(schema)


def ids(path: Path, sql: str) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute(sql)]


def unordered(rows: Sequence[Any]) -> list[str]:
    return sorted(repr(row) for row in rows)


def test_every_read_answers_as_on_sqlite(stores: tuple[SqliteStore, Store]) -> None:
    sqlite, postgres = stores
    path = Path(sqlite.path)
    namespaces = ids(path, "SELECT namespace_id FROM OL_NAMESPACE")
    datasets = ids(path, "SELECT dataset_id FROM OL_DATASET")
    fields = ids(path, "SELECT field_id FROM OL_DATASET_FIELD")
    jobs = ids(path, "SELECT job_id FROM OL_JOB")
    runs = ids(path, "SELECT run_id FROM OL_RUN")
    facet_names = ids(path, "SELECT DISTINCT facet_name FROM OL_FACET")
    names = ids(path, "SELECT name FROM OL_DATASET")
    assert min(len(namespaces), len(datasets), len(fields), len(jobs), len(runs), len(facet_names)) > 0

    def same(read: str, *args: Any, ordered: bool = True, **kwargs: Any) -> None:
        """The read method `read` answers the same on both stores."""
        mine, theirs = getattr(sqlite, read)(*args, **kwargs), getattr(postgres, read)(*args, **kwargs)
        if not ordered:
            mine, theirs = unordered(mine), unordered(theirs)
        assert theirs == mine, (read, args)

    same("namespaces", ALL)
    same("namespaces_by_ids", namespaces, ordered=False)
    for namespace in namespaces:
        same("datasets", namespace, ALL)
        same("datasets", namespace, Page(2, 1))
        same("jobs", namespace, ALL)
    same("datasets_by_ids", datasets, ordered=False)
    for name in names:
        same("datasets_by_name", name, ordered=False)
        database = name.split(".")[0]
        same("datasets_in_database", database, 50)
    same("fields", datasets, ordered=False)
    same("fields_by_ids", fields, ordered=False)
    same("jobs_by_ids", jobs, ordered=False)
    for job in jobs:
        same("runs", job, ALL)
    same("runs_by_ids", runs, ordered=False)
    same("latest_runs", jobs, 1)
    same("latest_runs", jobs, 10)
    same("jobs_listed", None, None, ALL)
    same("jobs_listed", None, ["COMPLETE", "FAIL", "NEW"], Page(7, 2))
    for namespace in namespaces:
        same("jobs_listed", namespace, ["START", "RUNNING"], ALL)
    for dataset in datasets:
        same("runs_writing", dataset, ALL)
    for direction in Direction:
        same("column_edges", fields, direction, ordered=False)
        same("dataset_links", datasets, direction, ordered=False)
    same("job_links", datasets, ordered=False)
    same("job_links", jobs, of_jobs=True, ordered=False)
    owners = {FacetOwner.DATASET: datasets, FacetOwner.JOB: jobs, FacetOwner.RUN: runs}
    for owner, entities in owners.items():
        same("facets", owner, entities, facet_names, ordered=False)
        same("entity_facets", owner, entities, ordered=False)
    same("events", TimeWindow("0001-01-01 00:00:00", "9999-12-31 23:59:59"), ALL)
    same("events", TimeWindow("2000-01-01 00:00:00", "2100-01-01 00:00:00"), Page(5, 3))
    same("events", TimeWindow("2000-01-01 00:00:00", "2100-01-01 00:00:00"), Page(5, 3), oldest_first=True)
    bounds = [f"{year}-01-01 00:00:00" for year in range(2015, 2031)]
    for kind in CountKind:
        same("counts_in_buckets", kind, bounds, ordered=False)
    for text in ("order", "ID", "_", "%", "a.b", ""):
        same("search", text, list(SearchKind), ALL)
        same("search", text, [SearchKind.DATASET], Page(3))
        window = TimeWindow("2000-01-01 00:00:00", "2100-01-01 00:00:00")
        for namespace_uri in (None, *(n.uri for n in sqlite.namespaces(ALL).items)):
            same("search", text, list(SearchKind), ALL, SearchScope(namespace_uri, window, newest_first=True))
