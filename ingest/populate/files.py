"""`lineage ingest PATH...`: events from files through the same validation, mapping and store.

`.json` holds one event or an array of events; `.jsonl` and `.ndjson` hold one event per line, as
openlineage-python's FileTransport writes them. Events are written in batches, each in one transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ingest.events import Accepted, prepare
from schemas.store import Store, WriteOutcome
from schemas.times import utc_now

logger = logging.getLogger(__name__)

BATCH_EVENTS = 500
LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})


@dataclass(frozen=True, slots=True)
class Item:
    """One event read from a file, or the reason it could not be read."""

    origin: str  # "path", "path[3]" (array element) or "path:12" (line)
    value: object
    payload: str
    error: str | None = None


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    duplicate: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (origin, warning)

    def reasons(self) -> Counter[str]:
        return Counter(reason for _, reason in self.rejected)


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
        for index, element in enumerate(item.value):
            yield Item(f"{path}[{index}]", element, orjson.dumps(element).decode())
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
) -> IngestReport:
    """Load every file; a batch is written in one transaction. progress(files_done, files_total) after each file."""
    report = IngestReport()
    batch: list[Accepted] = []
    for done, path in enumerate(paths, start=1):
        for item in read_items(path):
            _prepare_item(item, batch, report, strict)
            if len(batch) >= BATCH_EVENTS:
                _flush(store, batch, report)
        if progress is not None:
            progress(done, len(paths))
    _flush(store, batch, report)
    return report


def _prepare_item(item: Item, batch: list[Accepted], report: IngestReport, strict: bool) -> None:
    if item.error is not None:
        report.rejected.append((item.origin, item.error))
        return
    result = prepare(item.value, item.payload, strict=strict, received_at=utc_now())
    if isinstance(result, Accepted):
        batch.append(result)
        report.warnings.extend((item.origin, str(warning)) for warning in result.warnings)
    else:
        report.rejected.append((item.origin, result.reason))


def _flush(store: Store, batch: list[Accepted], report: IngestReport) -> None:
    if not batch:
        return
    outcomes = store.write_batch([accepted.rows for accepted in batch])
    report.accepted += outcomes.count(WriteOutcome.STORED)
    report.duplicate += outcomes.count(WriteOutcome.DUPLICATE)
    logger.debug("wrote a batch of %d events", len(batch))
    batch.clear()
