"""Catalog tables and views -> OpenLineage DatasetEvents, and view text -> the view's column lineage. Pure.

One DatasetEvent per table or view (`lineage populate catalog`): the `schema` facet with every column in ColumnId
order (its Teradata type name, its comment as description; a view read without QVCI and without HELP COLUMN has
columns without types), `datasetType` TABLE or VIEW, `documentation` from the table's CommentString. A view's
RequestText (REPLACE VIEW ...) goes through the SQL extractor, which gives the view's RunEvent with column lineage:
view lineage without waiting for DBQL.

Event times come from the catalog (DBC.TablesV.LastAlterTimeStamp, or what the caller gives for an export), never
the clock: reading an unchanged catalog again gives the same events, stored once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.populate.teradata.catalog import HEADER, Table, TableKind
from ingest.populate.teradata.events import PRODUCER, facet
from ingest.populate.teradata.extract import Extractor, Request

DATASET_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
# Beyond the catalog.csv HEADER, what the live reader adds and an export may carry: the table's own comment, a
# view's text, when the table last changed, and the character set of a character column (1 LATIN, 2 UNICODE).
OPTIONAL_COLUMNS = ("TableCommentString", "RequestText", "LastAlterTimeStamp", "CharType")
CATALOG_COLUMNS = (*HEADER, *OPTIONAL_COLUMNS)
_CHARACTER_TYPES = frozenset({"CF", "CV", "CO"})
_UNICODE = "2"

# System databases: Teradata's own, never lineage (a prefix ending in `_` is compared as a prefix).
SYSTEM_DATABASES = (
    "DBC",
    "SYSLIB",
    "SYSSPATIAL",
    "SYSUDTLIB",
    "SYSBAR",
    "SYSJDBC",
    "SYSXML",
    "SYSUIF",
    "SQLJ",
    "Sys_Calendar",
    "SystemFe",
    "SYSDBA",
    "SYSADMIN",
    "Crashdumps",
    "dbcmngr",
    "LockLogShredder",
    "PUBLIC",
    "TDPUSER",
    "TDQCD",
    "TDStats",
    "tdwm",
    "TDMaps",
    "TDBCMgmt",
    "TD_SERVER_DB",
    "TD_SYSFNLIB",
    "TD_SYSGPL",
    "TD_SYSXML",
    "TD_ANALYTICS_DB",
    "TD_",  # every TD_ database: Teradata's function and system libraries
    "External_AP",
    "All",
    "Default",
    "EXTUSER",
    "PDCRINFO",
    "PDCRDATA",
)


def is_system(database: str) -> bool:
    folded = database.casefold()
    for name in SYSTEM_DATABASES:
        system = name.casefold()
        if folded == system or (system.endswith("_") and folded.startswith(system)):
            return True
    return False


def normalised(row: Mapping[str, Any]) -> dict[str, str | None]:
    """A catalog row as Catalog.from_rows takes it: text values with CHAR padding trimmed, NULL as None, and a
    UNICODE column's ColumnLength (DBC counts bytes, two per character) given in characters."""
    out: dict[str, str | None] = {}
    for name in CATALOG_COLUMNS:
        value = row.get(name)
        text = None if value is None else str(value)
        if text is not None and name != "RequestText":
            text = text.rstrip(" ")
        out[name] = text if text else None
    code = (out["ColumnType"] or "").strip().upper()
    if code in _CHARACTER_TYPES and out["CharType"] == _UNICODE and out["ColumnLength"]:
        out["ColumnLength"] = str(int(float(out["ColumnLength"])) // 2)
    return out


def dataset_event(table: Table, namespace: str, event_time: str) -> dict[str, Any]:
    """The DatasetEvent of one table or view."""
    fields = []
    for position, column in enumerate(table.columns, start=1):
        entry: dict[str, Any] = {"name": column.name}
        if column.type_name is not None:
            entry["type"] = column.type_name
        if column.comment:
            entry["description"] = column.comment
        entry["ordinal_position"] = position  # ColumnId order; DBC's ids start at 1025 and keep gaps after a DROP
        fields.append(entry)
    facets: dict[str, Any] = {
        "schema": facet("SchemaDatasetFacet", "1-2-0", fields=fields),
        "datasetType": facet("DatasetTypeDatasetFacet", "1-0-1", datasetType=table.kind.dataset_type, subType=""),
    }
    if table.comment:
        facets["documentation"] = facet("DocumentationDatasetFacet", "1-1-0", description=table.comment)
    return {
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": DATASET_EVENT_URL,
        "dataset": {"namespace": namespace, "name": table.qualified, "facets": facets},
    }


def view_events(extractor: Extractor, table: Table, text: str, event_time: str) -> list[dict[str, Any]]:
    """The RunEvents of a view's definition (its REPLACE VIEW text), resolved in the view's own database."""
    if table.kind is not TableKind.VIEW or not text.strip():
        return []
    request = Request(
        text=text,
        run_key=f"{extractor.namespace}/view/{table.qualified}",
        event_time=event_time,
        default_database=table.database,
        job_name=f"view.{table.qualified}",
    )
    return extractor.extract(request)
