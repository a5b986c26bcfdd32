"""The query benchmark's graph: one million column edges over 300,000 fields in 3,000 Teradata-named datasets.

Fields are integers `g = dataset * FIELDS_PER_DATASET + position`; every dataset `DB_n.TABLE_m` has the fields
F_000 .. F_095 (zero-padded: no name is a prefix of another) and four deliberate prefix pairs' members `col`,
`col2`, `AMT` and `AMT_USD`, the names the seed's substring cycle check confuses.

The main datasets sit in ten ETL layers; a dataset of layer L > 0 is loaded from one to three datasets of
layer L-1 (sometimes L-2). The motifs, in the order they are generated:

- chains: every field of a loaded dataset copies one field of a source (DIRECT IDENTITY); the prefix columns
  and the key column F_000 copy the same-named column, so key and prefix columns form long chains;
- fans out: each source's key F_000 affects 5-40 fields of the target (INDIRECT JOIN);
- fans in: some fields are computed from 2 to 40 source fields (DIRECT AGGREGATION / TRANSFORMATION), with
  a skewed (geometric) number of inputs: most fields have one input, a few have many;
- cycles: feedback edges from a target back to its source (INDIRECT FILTER) and two-field cycles inside a
  dataset; the prefix columns derive from each other inside every dataset (col -> col2, AMT_USD -> AMT);
- diamonds: the last 110 datasets hold 120 blocks of 11 layers x 8 fields, each layer feeding every field
  of the next (a lattice of stacked diamonds: 5 levels hold 8^5 paths but only 40 fields), tied to the main
  graph at both ends.

Fan-in edges are added last until the graph holds exactly EDGES distinct edges (source, target, kind).
Everything is derived from one seed: two runs build the same graph.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from schemas.dsn import parse_dsn
from schemas.postgresql.store import PostgresStore
from schemas.rows import dataset_key, field_key, make_key, namespace_key
from schemas.sqlite.store import SqliteStore

NS = "teradata://bench:1025"
EDGES = 1_000_000
DATABASES = 30
TABLES = 100
DATASETS = DATABASES * TABLES
FIELDS_PER_DATASET = 100
PLAIN_FIELDS = 96  # F_000 .. F_095
COL, COL2, AMT, AMT_USD = 96, 97, 98, 99  # positions of the prefix columns
NAMES = [f"F_{j:03d}" for j in range(PLAIN_FIELDS)] + ["col", "col2", "AMT", "AMT_USD"]
LAYERS = 10
DIAMOND_LAYERS = 11
DIAMOND_WIDTH = 8
DIAMOND_SLOTS = 10  # datasets per diamond layer
DIAMOND_DATASETS = DIAMOND_LAYERS * DIAMOND_SLOTS
MAIN_DATASETS = DATASETS - DIAMOND_DATASETS
T = "2024-01-01 00:00:00.000000"

# (transformation_type, transformation_subtype) per motif
IDENTITY = ("DIRECT", "IDENTITY")
AGGREGATION = ("DIRECT", "AGGREGATION")
TRANSFORMATION = ("DIRECT", "TRANSFORMATION")
JOIN = ("INDIRECT", "JOIN")
FILTER = ("INDIRECT", "FILTER")
KINDS = (IDENTITY, AGGREGATION, TRANSFORMATION, JOIN, FILTER)

Edge = tuple[int, int, int]  # source field, target field, index into KINDS


def dataset_name(ds: int) -> str:
    return f"DB_{ds // TABLES}.TABLE_{ds % TABLES}"


def field_names(g: int) -> tuple[str, str]:
    """(dataset name, field name) of field g."""
    return dataset_name(g // FIELDS_PER_DATASET), NAMES[g % FIELDS_PER_DATASET]


def fid(g: int) -> str:
    """The field's id as the store computes it."""
    return field_key(NS, *field_names(g))


def _layer(ds: int) -> int:
    return ds * LAYERS // MAIN_DATASETS


def _field(ds: int, position: int) -> int:
    return ds * FIELDS_PER_DATASET + position


@dataclass(frozen=True, slots=True)
class Graph:
    edges: list[Edge]  # in insertion order: grouped by target dataset, as loads arrive
    diamond_middles: list[int]  # fields in the middle layer of a diamond block: the diamond-heavy starts


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[Edge] = set()
        self.edges: list[Edge] = []
        by_layer: dict[int, list[int]] = {}
        for ds in range(MAIN_DATASETS):
            by_layer.setdefault(_layer(ds), []).append(ds)
        self.by_layer = by_layer
        self.sources: dict[int, list[int]] = {}

    def add(self, src: int, tgt: int, kind: tuple[str, str]) -> None:
        edge = (src, tgt, KINDS.index(kind))
        if edge not in self.seen:
            self.seen.add(edge)
            self.edges.append(edge)

    def pick_sources(self, ds: int) -> list[int]:
        layer = _layer(ds)
        pool = self.by_layer[layer - 1] if layer < 2 or self.rng.random() < 0.8 else self.by_layer[layer - 2]
        return self.rng.sample(pool, self.rng.choice((1, 1, 2, 2, 3)))

    def chains_and_fans_out(self, ds: int, srcs: list[int]) -> None:
        rng = self.rng
        for j in range(FIELDS_PER_DATASET):
            s = srcs[0] if j in (0, COL, COL2, AMT, AMT_USD) else rng.choice(srcs)
            position = j if j in (0, COL, COL2, AMT, AMT_USD) else rng.randrange(PLAIN_FIELDS)
            self.add(_field(s, position), _field(ds, j), IDENTITY)
        for s in srcs:
            for j in rng.sample(range(1, PLAIN_FIELDS), rng.randint(5, 40)):
                self.add(_field(s, 0), _field(ds, j), JOIN)

    def cycles(self, ds: int, srcs: list[int]) -> None:
        rng = self.rng
        self.add(_field(ds, COL), _field(ds, COL2), TRANSFORMATION)
        self.add(_field(ds, AMT_USD), _field(ds, AMT), TRANSFORMATION)
        if rng.random() < 0.05:
            for _ in range(rng.randint(3, 8)):
                self.add(_field(ds, rng.randrange(PLAIN_FIELDS)), _field(srcs[0], rng.randrange(PLAIN_FIELDS)), FILTER)
        if rng.random() < 0.05:
            a, b = rng.sample(range(1, PLAIN_FIELDS), 2)
            self.add(_field(ds, a), _field(ds, b), TRANSFORMATION)
            self.add(_field(ds, b), _field(ds, a), TRANSFORMATION)

    def fan_in(self, ds: int) -> None:
        """One computed field of ds: 2 + geometric(0.25) inputs (capped at 40) from its sources."""
        rng = self.rng
        srcs = self.sources[ds]
        target = _field(ds, rng.randrange(1, PLAIN_FIELDS))
        inputs = 2
        while inputs < 40 and rng.random() < 0.75:
            inputs += 1
        kind = AGGREGATION if rng.random() < 0.5 else TRANSFORMATION
        for _ in range(inputs):
            self.add(_field(rng.choice(srcs), rng.randrange(PLAIN_FIELDS)), target, kind)

    def diamonds(self) -> list[int]:
        """The blocks of stacked diamonds; returns their middle-layer fields."""
        rng = self.rng
        middles: list[int] = []
        groups = PLAIN_FIELDS // DIAMOND_WIDTH
        for slot in range(DIAMOND_SLOTS):
            for group in range(groups):
                layers = [
                    [
                        _field(MAIN_DATASETS + layer * DIAMOND_SLOTS + slot, group * DIAMOND_WIDTH + k)
                        for k in range(DIAMOND_WIDTH)
                    ]
                    for layer in range(DIAMOND_LAYERS)
                ]
                for upper, lower in zip(layers, layers[1:], strict=False):
                    for a in upper:
                        for b in lower:
                            self.add(a, b, rng.choice((AGGREGATION, TRANSFORMATION, JOIN)))
                entry = _field(rng.randrange(MAIN_DATASETS), rng.randrange(PLAIN_FIELDS))
                exit_ = _field(rng.randrange(MAIN_DATASETS), rng.randrange(PLAIN_FIELDS))
                for a in layers[0]:
                    self.add(entry, a, IDENTITY)
                for b in layers[-1]:
                    self.add(b, exit_, IDENTITY)
                middles.extend(layers[DIAMOND_LAYERS // 2])
        for ds in range(MAIN_DATASETS, DATASETS):
            self.add(_field(ds, COL), _field(ds, COL2), TRANSFORMATION)
            self.add(_field(ds, AMT_USD), _field(ds, AMT), TRANSFORMATION)
        return middles


def generate(seed: int = 20240101, edges: int = EDGES) -> Graph:
    b = _Builder(seed)
    loaded = [ds for ds in range(MAIN_DATASETS) if _layer(ds) > 0]
    for ds in loaded:
        srcs = b.pick_sources(ds)
        b.sources[ds] = srcs
        b.chains_and_fans_out(ds, srcs)
        b.cycles(ds, srcs)
    middles = b.diamonds()
    while len(b.edges) < edges:
        b.fan_in(b.rng.choice(loaded))
    del b.edges[edges:]
    return Graph(b.edges, middles)


# --- the stores -----------------------------------------------------------------------------------------------

Value = str | int | None
EDGE_COLUMNS = (
    "lineage_id", "run_id", "source_namespace", "source_dataset", "source_field", "source_dataset_id",
    "source_field_id", "target_namespace", "target_dataset", "target_dataset_id", "transformation_type",
    "transformation_subtype", "transformation_description", "masking", "discovered_at", "last_seen_at",
    "target_field", "target_field_id", "confidence_score",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TableRows:
    table: str
    columns: tuple[str, ...]
    rows: Iterable[tuple[Value, ...]]


def _edge_rows(graph: Graph, fids: list[str], dids: list[str]) -> Iterator[tuple[Value, ...]]:
    for src, tgt, k in graph.edges:
        kind, subtype = KINDS[k]
        sds, sf = field_names(src)
        tds, tf = field_names(tgt)
        sid, tid = fids[src], fids[tgt]
        lineage_id = make_key(sid, tid, kind, subtype, "", "N")  # as ingest.events.column_lineage computes it
        yield (
            lineage_id, None, NS, sds, sf, dids[src // FIELDS_PER_DATASET], sid,
            NS, tds, dids[tgt // FIELDS_PER_DATASET], kind, subtype, None, "N", T, T, tf, tid, None,
        )  # fmt: skip


def table_rows(graph: Graph) -> list[TableRows]:
    """Every row of the graph, table by table in the order of their foreign keys (generated as they are read)."""
    fids = [fid(g) for g in range(DATASETS * FIELDS_PER_DATASET)]
    dids = [dataset_key(NS, dataset_name(ds)) for ds in range(DATASETS)]
    ns_id = namespace_key(NS)
    return [
        TableRows("OL_NAMESPACE", ("namespace_id", "namespace_uri", "created_at"), [(ns_id, NS, T)]),
        TableRows(
            "OL_DATASET",
            ("dataset_id", "namespace_id", "name", "source_type", "created_at", "updated_at", "is_active", "name_key"),
            (
                (dids[ds], ns_id, dataset_name(ds), "TABLE", T, T, "Y", make_key(dataset_name(ds)))
                for ds in range(DATASETS)
            ),
        ),
        TableRows(
            "OL_DATASET_FIELD",
            ("field_id", "dataset_id", "field_name", "field_type", "ordinal_position", "created_at", "updated_at"),
            (
                (
                    fids[g],
                    dids[g // FIELDS_PER_DATASET],
                    NAMES[g % FIELDS_PER_DATASET],
                    "VARCHAR(100)",
                    1 + g % FIELDS_PER_DATASET,
                    T,
                    T,
                )
                for g in range(DATASETS * FIELDS_PER_DATASET)
            ),  # fmt: skip
        ),
        TableRows("OL_COLUMN_LINEAGE", EDGE_COLUMNS, _edge_rows(graph, fids, dids)),
    ]


def build(path: Path, graph: Graph) -> dict[str, float]:
    """Create the schema with SqliteStore.create_schema, then insert the rows in one transaction with
    synchronous=OFF on this build connection only. Returns seconds per phase."""
    started = time.perf_counter()
    store = SqliteStore(path)
    try:
        store.create_schema()
    finally:
        store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")  # 1 GB: random-key index inserts stay in memory
        conn.execute("BEGIN")
        for table in table_rows(graph):
            marks = ", ".join("?" * len(table.columns))
            conn.executemany(f"INSERT INTO {table.table} ({', '.join(table.columns)}) VALUES ({marks})", table.rows)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {"insert": time.perf_counter() - started}


def build_postgres(dsn: str, graph: Graph) -> dict[str, float]:
    """Create the schema with PostgresStore.create_schema in the DSN's current schema, COPY the rows in in one
    transaction, then ANALYZE. Returns seconds per phase."""
    started = time.perf_counter()
    store = PostgresStore(parse_dsn(dsn))
    try:
        store.create_schema()
    finally:
        store.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():
            for table in table_rows(graph):
                with conn.cursor().copy(f"COPY {table.table} ({', '.join(table.columns)}) FROM STDIN") as copy:
                    for row in table.rows:
                        copy.write_row(row)
        copied = time.perf_counter()
        conn.execute("ANALYZE")
    return {"COPY": copied - started, "ANALYZE": time.perf_counter() - copied}
