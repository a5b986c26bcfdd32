"""Memory while streaming an exported DBQL (issue 11, acceptance 4: "memory flat while streaming 100,000 exported
DBQL rows"): `lineage populate dbql --from-export` at 10,000 and at 100,000 rows, each in a fresh process, into a
real SQLite store; the peak of Python's allocations (tracemalloc) is compared. Flat means the larger export does
not cost proportionally more: everything is streamed (rows, queries, batches of 500 events), and only pending
queries and the extractor's open sessions (at most OPEN_SESSIONS) are held. What still grows between the two sizes
is the event pipeline's own key cache (schemas.rows.make_key, an LRU capped at 65,536 entries): bounded, and
printed beside the peak. The writer's memory of the rows it wrote (schemas.sql.memory) is bounded too, at
LINEAGE_WRITE_MEMORY_KEYS (100,000 by default, a few hundred bytes a key), and would grow with these exports up to
that bound; it is sized here at MEMORY_KEYS, which both exports fill, so that the peaks compare what streaming
holds. Its size is printed as well.

Each query of the export is ten SqlRowNo rows (its text cut mid-token, as DBQL cuts long text), one in ten a
SELECT that the filter drops, sessions of 50 queries. CPU time per row is printed too (process time, not wall
time: the machine is shared).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.populate.teradata.dbql import COLUMNS

ROWS_PER_QUERY = 10
SIZES = (10_000, 100_000)
MEMORY_KEYS = 2_000

MEASURE = """
import resource, sys, time, tracemalloc
from pathlib import Path
from ingest.populate.teradata import dbql_run
from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.commands import export_rows
from ingest.writing.batches import BatchWriter
from schemas.sqlite.store import SqliteStore
from schemas.rows import make_key
from schemas.store import SourceMark

export, db = Path(sys.argv[1]), Path(sys.argv[2])
store = SqliteStore(db)
store.create_schema()
store.remember(limit=int(sys.argv[3]), refresh=5.0)
catalog = Catalog.from_rows(
    {"DatabaseName": d, "TableName": t, "TableKind": "T", "ColumnName": c, "ColumnId": str(i)}
    for d, t in (("STG", "Orders"), ("EDW", "Order_Fact")) for i, c in enumerate(("order_id", "amount", "status"))
)
tracemalloc.start()
cpu = time.process_time()
writer, everything = BatchWriter(store, strict=False), dbql_run.Window(None, None)
report, _ = dbql_run.run_dbql(store, SourceMark(None, ()), writer, catalog, namespace="teradata://bench:1025",
                              rows=export_rows(export), win=everything)
cpu = time.process_time() - cpu
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
remembered = len(store.memory)
store.close()
print(report.queries, report.log_rows, peak, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      make_key.cache_info().currsize, remembered)
"""


def write_export(path: Path, rows: int) -> None:
    """An export of `rows` rows, written as a stream."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for number in range(rows // ROWS_PER_QUERY):
            kind = "Select" if number % 10 == 9 else "Insert"
            text = (
                f"INSERT INTO EDW.Order_Fact (order_id, amount, status) SELECT o.order_id, o.amount * {number % 97}, "
                f"CASE WHEN o.amount > {number} THEN 'big' ELSE o.status END FROM STG.Orders AS o "
                f"WHERE o.order_id > {number};"
            )
            step = -(-len(text) // ROWS_PER_QUERY)
            second, minute = divmod(number, 60)
            stamp = f"2024-06-01 {10 + second // 3600 % 12:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{minute:06d}"
            log = [str(300000000000000000 + number), stamp, str(1000 + number // 50), "ETL", "EDW", "BTEQ", "",
                   kind, "0", stamp, stamp, text[:200]]  # fmt: skip
            for row_no in range(ROWS_PER_QUERY):
                writer.writerow([*log, str(row_no + 1), text[row_no * step : (row_no + 1) * step]])


def measure(tmp_path: Path, rows: int) -> tuple[int, int, int, float, int, int, int]:
    export = tmp_path / f"dbql-{rows}.csv"
    write_export(export, rows)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(export), str(tmp_path / f"lineage-{rows}.db"), str(MEMORY_KEYS)],
        capture_output=True,
        text=True,
        check=True,
    )
    queries, logged, peak, cpu, rss, keys, remembered = done.stdout.split()
    return int(queries), int(logged), int(peak), float(cpu), int(rss), int(keys), int(remembered)


@pytest.mark.timeout(1800)
def test_memory_stays_flat_while_streaming_an_exported_dbql(tmp_path: Path) -> None:
    results = {rows: measure(tmp_path, rows) for rows in SIZES}
    print("\nDBQL export streamed into SQLite (populate dbql --from-export), one fresh process per size")
    print(f"{'rows':>8} {'queries':>8} {'peak MiB':>9} {'max RSS MiB':>12} {'CPU s':>7} {'CPU us/row':>11} {'keys':>7} "
          f"{'remembered':>10}")  # fmt: skip
    for rows, (queries, _logged, peak, cpu, rss, keys, remembered) in results.items():
        print(f"{rows:>8} {queries:>8} {peak / 2**20:>9.1f} {rss / 1024:>12.1f} {cpu:>7.1f} {cpu / rows * 1e6:>11.0f} "
              f"{keys:>7} {remembered:>10}")  # fmt: skip
    print("keys: entries of schemas.rows.make_key's LRU cache, shared by every source, capped at 65,536")
    print(f"remembered: rows the writer's memory holds, capped here at {MEMORY_KEYS:,} (LINEAGE_WRITE_MEMORY_KEYS)")
    small, large = results[SIZES[0]], results[SIZES[1]]
    ratio = large[2] / small[2]
    print(f"peak at {SIZES[1]:,} rows / peak at {SIZES[0]:,} rows: {ratio:.2f} (10x the rows)")
    assert large[0] == SIZES[1] // ROWS_PER_QUERY * 9 // 10  # every INSERT read, every SELECT dropped
    assert ratio < 2, "memory grows with the export: something holds rows"
