"""Exported DBQL and catalog files, read as a stream of rows (mappings keyed by column name), one row in memory at a
time: an export of millions of rows costs no more memory than one of ten.

DBQL: `.csv` with a header naming the columns of ingest.populate.teradata.dbql.COLUMNS (others are ignored), or
`.jsonl`/`.ndjson` with one JSON object per line holding them; an empty CSV field is NULL. Catalog: the CSV of
`shared/tdsql/README.md` (the header of ingest.populate.teradata.datasets.CATALOG_COLUMNS).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})

# A DBQL text row holds up to 31,000 characters, and a view's RequestText more: above csv's default field limit.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class ExportError(ValueError):
    """An export that cannot be read: the message names the file and the line."""


def read_rows(path: Path, required: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    """Every row of an export, in file order. ExportError when the file cannot be opened, a required column is
    missing from a CSV header, or a JSON line is not an object."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise ExportError(f"{path}: cannot read the file: {exc.strerror}") from None
    with handle:
        if path.suffix.lower() in LINE_SUFFIXES:
            yield from _json_lines(path, handle)
        else:
            yield from _csv_rows(path, handle, required)


def _csv_rows(path: Path, handle: Any, required: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    reader = csv.DictReader(handle)
    missing = [name for name in required if name not in (reader.fieldnames or ())]
    if missing:
        raise ExportError(f"{path}: the header lacks {', '.join(missing)}")
    try:
        yield from reader
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}:{reader.line_num}: {exc}") from None


def _json_lines(path: Path, handle: Any) -> Iterator[Mapping[str, Any]]:
    try:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ExportError(f"{path}:{number}: not valid JSON: {exc}") from None
            if not isinstance(row, dict):
                raise ExportError(f"{path}:{number}: expected a JSON object of DBQL columns")
            yield row
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not UTF-8 text") from None
