"""`lineage populate dbql`: the query log, read incrementally, through the SQL extractor, events.prepare and the
batch writer.

The window: [mark - OVERLAP, now - lag) of CollectTimeStamp, the mark being the source's watermark in the store
(`--since` or `--full` instead of the mark, `--until` instead of now - lag). Caches flush every DBQLFlushRate
seconds (600 by default) and a query's SQL rows may be written before or after its log row: the lag leaves the
last flush time to land, the overlap re-reads what landed late (a re-read query gives the same events, stored as
duplicates), and a query whose text has not come is recorded as pending and finished by a later run whatever its
window. The mark moves (never backwards) only after the events are committed, and never on a dry run.

An export (`--from-export`) is replayed with the same rules: its rows are filtered to the window in Python, its
upper bound is `--until` or the newest CollectTimeStamp in it, and rows whose QueryID is pending finish it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.dbql import LogRow, Pending, Query, assemble, keep
from ingest.populate.teradata.extract import Extractor, Request, query_band_job
from ingest.populate.teradata.sinks import Sink
from schemas.store import PendingItem, SourceMark, Store
from schemas.times import format_store_time, parse_store_time

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # re-read below the mark: rows written late (a DBQL flush, a restart)
GIVE_UP = timedelta(days=1)  # a query whose text has not come a day after its log row will not: no WITH SQL rule
OPEN_SESSIONS = 1000  # sessions whose volatile tables the extractor keeps; the oldest is forgotten beyond it

Rows = Callable[[str | None, str | None], Iterable[Mapping[str, Any]]]  # (low, high) -> rows of the window
TextRows = Callable[[Sequence[str]], Iterable[Mapping[str, Any]]]  # pending QueryIDs -> their text rows


def source_name(namespace: str) -> str:
    """The watermark's source: one per Teradata system, whether read live or from its exports."""
    return f"dbql {namespace}"


@dataclass(frozen=True, slots=True)
class Window:
    low: str | None  # inclusive; None: from the beginning
    high: str | None  # exclusive; None: no upper bound (an export without --until)


def window(mark: SourceMark, *, since: str | None, full: bool, until: str | None, now: datetime | None,
           lag: timedelta) -> Window:  # fmt: skip
    """The CollectTimeStamp window of a run (`now` None: an export, which has no clock to lag behind)."""
    if full:
        low = None
    elif since is not None:
        low = since
    elif mark.mark is not None:
        low = format_store_time(parse_store_time(mark.mark) - OVERLAP)
    else:
        low = None
    high = until if until is not None else (format_store_time(now - lag) if now is not None else None)
    return Window(low, high)


@dataclass(slots=True)
class DbqlReport:
    window: Window
    log_rows: int = 0  # queries DBQL logged in the window (or pending) that passed the filter
    queries: int = 0  # with their whole text, handed to the extractor
    pending_new: int = 0  # text not come yet: kept for the next run
    pending_kept: int = 0  # pending from before, text still not come
    finished: int = 0  # pending from before, finished now
    given_up: list[str] = field(default_factory=list)  # QueryIDs whose text never came
    skipped_databases: int = 0  # events left out by --database
    mark: str | None = None  # the watermark after the run (unchanged on a dry run or a failed one)


def run_dbql(
    store: Store | None,
    mark: SourceMark,
    sink: Sink,
    catalog: Catalog,
    *,
    namespace: str,
    rows: Rows,
    win: Window,
    text_rows: TextRows | None = None,
    databases: Sequence[str] = (),
    output: IO[bytes] | None = None,
) -> tuple[DbqlReport, Extractor]:
    """Read the window (and the pending queries known by `mark`), extract, write through `sink`, then (with a
    `store`, once the writer has committed without stopping) move the mark and the pending items in the store.
    `store` None is a dry run."""
    source = source_name(namespace)
    known = {item.item_id: LogRow.from_payload(item.payload) for item in mark.pending}
    report = DbqlReport(win)
    reader = _Reader(Extractor(catalog, namespace), sink, namespace, databases, output, report)
    newest: str | None = None
    for item in _items(rows(win.low, win.high), text_rows, known):
        log = item.log
        was_pending = log.query_id in known
        if not was_pending and not _inside(log.collect_time, win):
            continue
        if not keep(log):
            continue
        report.log_rows += 1
        newest = max(newest or log.collect_time, log.collect_time)
        if was_pending and log.query_id in reader.finished_ids:
            continue  # finished already in this run (seen in the window, then again by its QueryID)
        if isinstance(item, Query):
            reader.read(item)
            if was_pending:
                reader.finished_ids.append(log.query_id)
                report.finished += 1
        elif not was_pending:
            reader.pending.append(PendingItem(log.query_id, log.collect_time, log.payload()))
            report.pending_new += 1
    give_up_before = _give_up_before(win, newest)
    finished = set(reader.finished_ids)
    for old in mark.pending:
        if old.item_id not in finished and give_up_before and (old.item_time or "") < give_up_before:
            report.given_up.append(old.item_id)
    report.pending_kept = len(known) - report.finished - len(report.given_up)
    write = sink.finish()
    high = win.high if win.high is not None else newest
    if store is not None and write.stopped is None:
        store.advance_mark(source, high, pending=reader.pending, finished=[*reader.finished_ids, *report.given_up])
        report.mark = store.source_mark(source).mark
    else:
        report.mark = mark.mark
    return report, reader.extractor


def _give_up_before(win: Window, newest: str | None) -> str | None:
    reference = win.high or newest
    if reference is None:
        return None
    return format_store_time(parse_store_time(reference) - GIVE_UP)


def _inside(moment: str, win: Window) -> bool:
    return (win.low is None or moment >= win.low) and (win.high is None or moment < win.high)


def _items(
    rows: Iterable[Mapping[str, Any]], text_rows: TextRows | None, known: Mapping[str, LogRow]
) -> Iterable[Query | Pending]:
    """The window's queries, then (live) the pending queries whose text is read by QueryID."""
    yield from assemble(rows, known)
    if text_rows is not None and known:
        yield from assemble(text_rows(sorted(known)), known)


class _Reader:
    """Feeds whole queries to the extractor and their events to the sink (and the output file)."""

    def __init__(
        self,
        extractor: Extractor,
        sink: Sink,
        namespace: str,
        databases: Sequence[str],
        output: IO[bytes] | None,
        report: DbqlReport,
    ) -> None:
        self.extractor = extractor
        self.sink = sink
        self.namespace = namespace
        self.prefixes = tuple(db.casefold() + "." for db in databases)
        self.output = output
        self.report = report
        self.pending: list[PendingItem] = []
        self.finished_ids: list[str] = []
        self._sessions: OrderedDict[str, None] = OrderedDict()

    def read(self, query: Query) -> None:
        log = query.log
        self.report.queries += 1
        session = f"{self.namespace}/{log.session_id}" if log.session_id else None
        if session is not None:
            self._sessions[session] = None
            self._sessions.move_to_end(session)
            if len(self._sessions) > OPEN_SESSIONS:
                self.extractor.end_session(self._sessions.popitem(last=False)[0])
        facet = {"QueryID": log.query_id, "SessionID": log.session_id, "UserName": log.user_name}
        request = Request(
            text=query.text,
            run_key=f"{self.namespace}/{log.query_id}",
            event_time=_iso(log.end_time or log.start_time or log.collect_time),
            default_database=log.default_database,
            session_key=session,
            job_name=query_band_job(log.query_band) if log.query_band else None,
            run_facet={k: v for k, v in facet.items() if v is not None},
        )
        for index, event in enumerate(self.extractor.extract(request)):
            if self.prefixes and not self._touches(event):
                self.report.skipped_databases += 1
                continue
            payload = orjson.dumps(event)
            if self.output is not None:
                self.output.write(payload + b"\n")
            self.sink.add(f"query {log.query_id}[{index}]", event, payload.decode())

    def _touches(self, event: Mapping[str, Any]) -> bool:
        names = [d.get("name", "") for key in ("inputs", "outputs") for d in event.get(key, ())]
        return any(str(name).casefold().startswith(self.prefixes) for name in names)


def _iso(store_text: str) -> str:
    return store_text.replace(" ", "T", 1) + "Z"


def open_output(path: Path | None) -> IO[bytes] | None:
    return None if path is None else path.open("wb")
