"""v2 dataset details: statistics and DDL, from facets (the Teradata application read them from DBC).

Statistics: row count and size from the newest run output's `outputStatistics` facet, creator from the
dataset's `ownership` facet. DDL: the `sql` job facet of the newest job that wrote the dataset.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from query.catalog import find_dataset
from query.errors import NotFound
from query.http import in_thread, json_response
from query.shapes import JSON, field_order, split_name
from query.typedefs import QUERY_STORE
from schemas.rows import make_key
from schemas.store import DatasetInfo, Page, Store
from schemas.times import store_to_iso

RECENT_RUNS = 10  # newest writers looked at for statistics and SQL
MAX_SQL = 100_000  # characters of SQL returned; longer is cut and flagged `truncated`


def _facet(store: Store, owner: str, entity_ids: list[str], name: str) -> dict[str, Any]:
    """The named facet of the first entity (in the given order) that has it, parsed; {} when none has."""
    by_entity = {f.entity_id: f.payload for f in store.facets(owner, entity_ids, [name]) if f.payload}
    for entity in entity_ids:
        payload = by_entity.get(entity)
        if payload:
            value = orjson.loads(payload)
            return value if isinstance(value, dict) else {}
    return {}


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _statistics(store: Store, d: DatasetInfo, segment: str) -> JSON:
    runs = store.runs_writing(d.dataset_id, Page(RECENT_RUNS))
    output = _facet(store, "output", [make_key(r.run_id, d.dataset_id) for r in runs], "outputStatistics")
    owners = _facet(store, "dataset", [d.dataset_id], "ownership").get("owners")
    creator = owners[0].get("name") if isinstance(owners, list) and owners and isinstance(owners[0], dict) else None
    database, table = split_name(d.name)
    return {
        "datasetId": segment,
        "databaseName": database,
        "tableName": table,
        "sourceType": d.source_type,
        "creatorName": creator if isinstance(creator, str) else None,
        "createTimestamp": store_to_iso(d.created_at),
        "lastAlterTimestamp": store_to_iso(d.updated_at),
        "rowCount": _number(output.get("rowCount")),
        "sizeBytes": _number(output.get("size")),
        "tableComment": d.description,
    }


def _ddl(store: Store, d: DatasetInfo, segment: str) -> JSON:
    runs = store.runs_writing(d.dataset_id, Page(RECENT_RUNS))
    query = _facet(store, "job", list(dict.fromkeys(r.job_id for r in runs)), "sql").get("query")
    sql = query if isinstance(query, str) else None
    truncated = sql is not None and len(sql) > MAX_SQL
    if sql is not None:
        sql = sql[:MAX_SQL]
    is_view = (d.source_type or "").upper() == "VIEW"
    is_ddl = sql is not None and sql.lstrip().upper().startswith(("CREATE", "REPLACE"))
    fields = sorted(store.fields([d.dataset_id]), key=field_order)
    database, table = split_name(d.name)
    return {
        "datasetId": segment,
        "databaseName": database,
        "tableName": table,
        "sourceType": d.source_type,
        "viewSql": sql if is_view else None,
        "tableDdl": sql if is_ddl and not is_view else None,
        "jobSql": sql,  # the SQL that last wrote the dataset, whatever it is
        "truncated": truncated,
        "tableComment": d.description,
        "columnComments": {f.name: f.description for f in fields if f.description},
    }


def _table(store: Store, segment: str, what: str) -> DatasetInfo:
    """The dataset, when its name is `DATABASE.TABLE`: statistics and DDL are a Teradata table's or view's, and
    the application answered 404 for any other name (it found no DBC row)."""
    found = find_dataset(store, segment)
    database, table = split_name(found.name)
    if not database or not table:
        raise NotFound(
            f"Dataset not found or {what} unavailable: {segment} is not named DATABASE.TABLE",
            [("datasetId", "not named DATABASE.TABLE")],
        )
    return found


async def statistics(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    segment = request.match_info["datasetId"]
    return json_response(await in_thread(lambda: _statistics(store, _table(store, segment, "statistics"), segment)))


async def ddl(request: web.Request) -> web.Response:
    store = request.app[QUERY_STORE]
    segment = request.match_info["datasetId"]
    return json_response(await in_thread(lambda: _ddl(store, _table(store, segment, "DDL"), segment)))
