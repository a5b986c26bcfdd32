"""The reference for the query benchmark: the Teradata lineage application's column lineage, ported to SQLite.

The seed answered `/lineage/{datasetId}/{fieldName}` with two recursive CTEs over OL_COLUMN_LINEAGE, one
upstream and one downstream, each joining edges by dataset and field NAMES (it stored no ids), carrying a
path string `dataset.field->dataset.field->...` CAST to VARCHAR(10000), refusing an edge whose new end is
already in the path with `POSITION(node IN path) = 0`, and stopping at `depth < maxDepth`; DISTINCT rows at
the end. The port keeps all of that; SQLite's `instr` stands for POSITION, and `substr(..., 1, 10000)` for
the VARCHAR(10000) cast (Teradata-mode sessions truncate silently; SQLite's CAST would not).

The cycle check is a substring search: a path holding `T.col2` refuses `T.col`, which is not on it.
`EXACT_CHECK` is the same check made exact (the node is searched with its `->` delimiters), used only to
classify differences, never timed.

`SEED_INDEXES` are the seed's single-column secondary indexes on the name columns (DESIGN.md: "The seed's
OL_* tables"), which the reference's joins need; our schema does not index names.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

PATH_CAP = 10_000

SEED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_ol_lineage_src_ds ON OL_COLUMN_LINEAGE (source_dataset)",
    "CREATE INDEX IF NOT EXISTS idx_ol_lineage_src_field ON OL_COLUMN_LINEAGE (source_field)",
    "CREATE INDEX IF NOT EXISTS idx_ol_lineage_tgt_ds ON OL_COLUMN_LINEAGE (target_dataset)",
    "CREATE INDEX IF NOT EXISTS idx_ol_lineage_tgt_field ON OL_COLUMN_LINEAGE (target_field)",
    "CREATE INDEX IF NOT EXISTS idx_ol_field_name ON OL_DATASET_FIELD (field_name)",
    "CREATE INDEX IF NOT EXISTS idx_ol_dataset_name ON OL_DATASET (name)",
    "CREATE INDEX IF NOT EXISTS idx_ol_namespace_uri ON OL_NAMESPACE (namespace_uri)",
)

_COLUMNS = "source_namespace, source_dataset, source_field, target_namespace, target_dataset, target_field"
_SUBSTRING_CHECK = "instr({path}, {node}) = 0"
EXACT_CHECK = "instr('->' || {path} || '->', '->' || {node} || '->') = 0"


def _cte(near: str, far: str, check: str) -> str:
    """One direction: `near` is the end the walk already knows (target upstream, source downstream)."""
    node = f"cl.{far}_dataset || '.' || cl.{far}_field"
    return (
        f"WITH RECURSIVE lineage AS ("
        f" SELECT {_COLUMNS}, transformation_type, 1 AS depth,"
        f" substr({near}_dataset || '.' || {near}_field || '->' || {far}_dataset || '.' || {far}_field,"
        f" 1, {PATH_CAP}) AS path"
        f" FROM OL_COLUMN_LINEAGE"
        f" WHERE {near}_dataset = :dataset AND UPPER({near}_field) = UPPER(:field) AND is_active = 'Y'"
        f" UNION ALL"
        f" SELECT cl.source_namespace, cl.source_dataset, cl.source_field, cl.target_namespace, cl.target_dataset,"
        f" cl.target_field, cl.transformation_type, l.depth + 1, substr(l.path || '->' || {node}, 1, {PATH_CAP})"
        f" FROM OL_COLUMN_LINEAGE cl INNER JOIN lineage l"
        f" ON cl.{near}_dataset = l.{far}_dataset AND cl.{near}_field = l.{far}_field"
        f" WHERE cl.is_active = 'Y' AND l.depth < :max_depth AND {check.format(path='l.path', node=node)}"
        f") SELECT DISTINCT {_COLUMNS}, transformation_type FROM lineage"
    )


UPSTREAM = _cte("target", "source", _SUBSTRING_CHECK)
DOWNSTREAM = _cte("source", "target", _SUBSTRING_CHECK)
UPSTREAM_EXACT = _cte("target", "source", EXACT_CHECK)
DOWNSTREAM_EXACT = _cte("source", "target", EXACT_CHECK)

Pair = tuple[str, str, str, str]  # source dataset, source field, target dataset, target field


@dataclass(frozen=True, slots=True)
class Answer:
    pairs: frozenset[Pair]  # distinct (source, target) field pairs, both directions together
    rows: int  # rows returned by the two DISTINCT selects


def add_seed_indexes(conn: sqlite3.Connection) -> None:
    for statement in SEED_INDEXES:
        conn.execute(statement)


def _pairs(rows: Iterable[tuple[str, ...]]) -> set[Pair]:
    return {(r[1], r[2], r[4], r[5]) for r in rows}


def lineage(conn: sqlite3.Connection, dataset: str, field: str, max_depth: int, *, exact: bool = False) -> Answer:
    """direction=both: the upstream CTE, then the downstream one, as the seed's handler ran them."""
    params = {"dataset": dataset, "field": field, "max_depth": max_depth}
    up = conn.execute(UPSTREAM_EXACT if exact else UPSTREAM, params).fetchall()
    down = conn.execute(DOWNSTREAM_EXACT if exact else DOWNSTREAM, params).fetchall()
    return Answer(frozenset(_pairs(up) | _pairs(down)), len(up) + len(down))
