"""`lineage populate sql FILE...`: SQL and BTEQ files through the extractor into the store.

Each file is one session (volatile tables stitch within it, never across files) and starts in the
`--default-database` (a `DATABASE x;` in the file changes it for the statements after). Run ids come from
the file's absolute path and the statement's index, and an event's time is the file's modification time,
so reading the same unchanged file again builds the same events: the store counts them as duplicates.
Events go through ingest.events.prepare and the BatchWriter like every other source; `dry_run` prepares
them (so invalid ones are reported) and commits nothing; `output` gets every event built, one JSON a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from ingest.events import Accepted, prepare
from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.extract import Counts, Extractor, Failure, file_request
from ingest.writing.batches import BatchWriter, WriteReport
from schemas.times import utc_now


@dataclass(slots=True)
class SqlReport:
    """What the run read (counts, failures), what could not be read, and what the store made of the events."""

    counts: Counts
    failures: list[Failure]
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    write: WriteReport = field(default_factory=WriteReport)


def file_time(path: Path) -> str:
    """The file's modification time as an OpenLineage eventTime (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def populate_sql(
    paths: Sequence[Path],
    *,
    catalog: Catalog,
    namespace: str,
    writer: BatchWriter | None,
    strict: bool = False,
    default_database: str | None = None,
    variables: Mapping[str, str] | None = None,
    output: IO[bytes] | None = None,
) -> SqlReport:
    """Read every file in order. `writer` None is a dry run: events are prepared and counted, not written."""
    extractor = Extractor(catalog, namespace, variables=variables)
    report = SqlReport(extractor.counts, extractor.failures)
    for path in paths:
        origin = str(path.resolve())
        try:
            text = path.read_text(encoding="utf-8-sig")
            event_time = file_time(path)
        except (OSError, UnicodeDecodeError) as exc:
            report.unreadable.append((str(path), getattr(exc, "strerror", None) or str(exc)))
            continue
        events = extractor.extract(file_request(text, origin, event_time, default_database))
        extractor.end_session(origin)
        for number, event in enumerate(events):
            _deliver(event, f"{path}#{number}", writer, report, strict, output)
        if writer is not None and writer.stopped:
            break
    if writer is not None:
        report.write = writer.finish()
    return report


def _deliver(
    event: dict[str, Any],
    origin: str,
    writer: BatchWriter | None,
    report: SqlReport,
    strict: bool,
    output: IO[bytes] | None,
) -> None:
    payload = orjson.dumps(event)
    if output is not None:
        output.write(payload + b"\n")
    if writer is not None:
        writer.add(origin, event, payload.decode())
        return
    result = prepare(event, payload.decode(), strict=strict, received_at=utc_now())
    if isinstance(result, Accepted):
        report.write.warnings.extend((origin, str(w)) for w in result.warnings)
    else:
        report.write.rejected.append((origin, result.reason))
