"""`lineage ingest PATH...`: events from files through the same validation, mapping and store.

`.json` holds one event or an array of events; `.jsonl` and `.ndjson` hold one event per line, as
openlineage-python's FileTransport writes them. Events go to the BatchWriter (ingest.writing.batches), which
writes them in batches, each in one transaction; when the store fails, reading stops there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from ingest.events.json_array import element_texts
from ingest.writing.batches import AfterCommit, BatchWriter, WriteReport
from schemas.store import Store

LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})


@dataclass(frozen=True, slots=True)
class Item:
    """One event read from a file, or the reason it could not be read."""

    origin: str  # "path", "path[3]" (array element) or "path:12" (line)
    value: object
    payload: str
    error: str | None = None


def read_items(path: Path) -> Iterator[Item]:
    """Every event of one file, in order; unreadable parts become Items with an error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Item(str(path), None, "", f"cannot read the file: {exc.strerror}")
        return
    if path.suffix.lower() in LINE_SUFFIXES:
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                yield _decode(f"{path}:{number}", line)
        return
    item = _decode(str(path), data)
    if isinstance(item.value, list):
        # Each element archived as written in the file, as the batch endpoint archives its elements.
        for index, (element, text) in enumerate(zip(item.value, element_texts(item.payload), strict=True)):
            yield Item(f"{path}[{index}]", element, text)
    else:
        yield item


def _decode(origin: str, data: bytes) -> Item:
    try:
        return Item(origin, orjson.loads(data), data.decode("utf-8").strip())
    except orjson.JSONDecodeError as exc:
        return Item(origin, None, "", f"not valid JSON: {exc}")
    except UnicodeDecodeError:
        return Item(origin, None, "", "not UTF-8 text")


def ingest_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    strict: bool,
    progress: Callable[[int, int], None] | None = None,
    future_skew: int | None = None,
    after_commit: AfterCommit | None = None,
) -> WriteReport:
    """Load every file, in order; progress(files_done, files_total) after each file. Once the store has failed
    (report.stopped) no further file is read: a rerun of the same paths writes the rest."""
    writer = BatchWriter(store, strict=strict, future_skew=future_skew, after_commit=after_commit)
    for done, path in enumerate(paths, start=1):
        for item in read_items(path):
            if item.error is not None:
                writer.reject(item.origin, item.error)
            else:
                writer.add(item.origin, item.value, item.payload)
            if writer.stopped:
                return writer.finish()
        if progress is not None:
            progress(done, len(paths))
    return writer.finish()
