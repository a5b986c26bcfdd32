"""SQL text + a catalog -> OpenLineage RunEvents with column lineage. Pure: no I/O, no clock.

The one entry point is `Extractor.extract(Request)`; `extract_script` wraps it for a whole SQL or BTEQ
file. How the other population methods call it:

- A DBQL query (`lineage populate dbql`): the QueryID's SqlTextInfo rows joined in SqlRowNo order with no
  separator, then::

      extractor = Extractor(catalog, "teradata://host:1025")
      events = extractor.extract(Request(
          text=sql_text,
          run_key=f"{namespace}/{query_id}",       # stable: a re-read gives the same run id
          event_time=last_resp_time_iso_utc,        # the query's end, ISO 8601 with Z
          default_database=default_database,        # the row's DefaultDatabase; never carried over
          session_key=f"{namespace}/{session_id}",  # volatile tables stitch within the session
          job_name=query_band_job(query_band),      # None: "<kind>.<target>"
          run_facet={"QueryID": query_id, "SessionID": session_id, "UserName": user_name},
      ))

  Feed a session's queries in the order they ran; call `end_session(key)` once a session is known to be
  over (keeps memory flat over a long export).
- A view's text from the catalog (`lineage populate catalog`): `Request(text=request_text,
  run_key=f"{namespace}/view/{DB}.{VIEW}", event_time=..., default_database=DB)` with the catalog the
  view is in; the REPLACE/CREATE VIEW statement yields the view's column lineage.

Each data-moving statement of a request is one COMPLETE RunEvent (run id from `run_key`, plus `#index`
when the text holds several statements). A statement that does not parse yields a table-level event
(inputs and outputs found by pattern, confidence 0.60, ExtractionErrorRunFacet) and a `Failure`.
`counts` and `failures` accumulate over every request.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.classify import Confidence
from ingest.populate.teradata.events import Written, edge_counts, run_event
from ingest.populate.teradata.fallback import tables_by_pattern, target_kind
from ingest.populate.teradata.lineage import Block, ColumnFlow
from ingest.populate.teradata.preprocess import rewrite, split_else_insert
from ingest.populate.teradata.script import Piece, split_statements, strip_comments, substitute
from ingest.populate.teradata.session import Session, resolve
from ingest.populate.teradata.statements import StatementReader, Write

logger = logging.getLogger(__name__)

# Statements that can move data, by their first word (after LOCKING/USING are stripped); the rest move none
# (SELECT, HELP, SHOW, EXPLAIN, COLLECT STATISTICS, COMMENT, GRANT, DELETE, CALL, EXEC, BT/ET, ...).
_DATA = frozenset({"INSERT", "INS", "UPDATE", "UPD", "MERGE", "MG", "CREATE", "CT", "REPLACE", "WITH", "DROP"})
# The QueryBand keys that name a job, the first found wins: JobName, then the application's name.
_QUERY_BAND_JOB = tuple(
    re.compile(rf"(?:^|[;'\s]){key}\s*=\s*([^;']+)", re.IGNORECASE)
    for key in ("JobName", "Job", "ApplicationName", "AppName")
)


@dataclass(frozen=True, slots=True)
class Request:
    """SQL text as Teradata ran it, with its context: one DBQL query, or one whole script file.

    `default_database` is the session's default at the start of the text (DBQL's DefaultDatabase); only a
    `DATABASE x;` inside this same text changes it, never an earlier request. `session_key` groups
    requests of one session so that volatile tables created by one are read through by the next (None:
    the request is a session of its own). `run_facet` fields (QueryID, SessionID, UserName, ...) go into
    the events' `teradata` run facet."""

    text: str
    run_key: str
    event_time: str
    default_database: str | None = None
    session_key: str | None = None
    job_name: str | None = None
    run_facet: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """A statement that yielded no column lineage although it looked like it moves data."""

    run_key: str
    index: int  # the statement's position in the request
    line: int  # where it starts in the request's text (1-based)
    reason: str  # "syntax error", "unsupported statement", ...
    detail: str  # the parser's message


@dataclass(slots=True)
class Counts:
    """What the extractor read and made; `lines()` is the summary `lineage populate sql` prints."""

    statements: int = 0  # SQL statements read (dot-commands and blanks are not statements)
    with_lineage: int = 0  # wrote a real dataset with column lineage
    into_volatile: int = 0  # loaded a volatile table: lineage carried to the statements that read it
    table_level: int = 0  # did not parse: table-level event only
    no_data: int = 0  # moved no data (SELECT, COLLECT STATISTICS, BT/ET, DATABASE, DELETE, VALUES...)
    failed: Counter[str] = field(default_factory=Counter)  # reason -> statements
    events: int = 0
    edges: Counter[str] = field(default_factory=Counter)  # "DIRECT/IDENTITY" -> edges

    def lines(self) -> list[str]:
        failed = ", ".join(f"{reason} {n}" for reason, n in sorted(self.failed.items())) or "none"
        edges = ", ".join(f"{kind} {n}" for kind, n in sorted(self.edges.items())) or "none"
        return [
            f"statements {self.statements}: with lineage {self.with_lineage}, into volatile tables "
            f"{self.into_volatile}, table-level only {self.table_level}, no data moved {self.no_data}",
            f"failed: {failed}",
            f"events {self.events}; edges {sum(self.edges.values())}: {edges}",
        ]


class Extractor:
    """Turns requests into events against one catalog and namespace. Keeps per-session volatile tables
    between calls; not thread-safe (one per source being read)."""

    def __init__(self, catalog: Catalog, namespace: str, *, variables: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.namespace = namespace
        self.variables = dict(variables or {})
        self.counts = Counts()
        self.failures: list[Failure] = []
        self._sessions: dict[str, Session] = {}

    def end_session(self, session_key: str) -> None:
        """Forget a session's volatile tables."""
        self._sessions.pop(session_key, None)

    def extract(self, request: Request) -> list[dict[str, Any]]:
        """The events of every data-moving statement of `request`, in order."""
        session = self._sessions.setdefault(request.session_key, Session()) if request.session_key else Session()
        pieces = split_statements(substitute(request.text, self.variables))
        state = _State(request, session, request.default_database, len(pieces) > 1)
        events: list[dict[str, Any]] = []
        for piece in pieces:
            self.counts.statements += 1
            events.extend(self._piece(piece, state))
        self.counts.events += len(events)
        return events

    # --- one statement ----------------------------------------------------------------------------------

    def _piece(self, piece: Piece, state: _State) -> list[dict[str, Any]]:
        words = piece.words
        first = words[0] if words else ""
        if first == "DATABASE" and len(words) > 1:
            state.database = _name_after(piece.text, "DATABASE") or state.database
            self.counts.no_data += 1
            return []
        if first == "SET" and words[1:2] == ["QUERY_BAND"]:
            job = query_band_job(piece.text)
            if job is not None:
                state.session.job_name = job
            self.counts.no_data += 1
            return []
        text = rewrite(piece.text)
        statement_words = _words(text)
        if not statement_words or statement_words[0] not in _DATA:
            self.counts.no_data += 1
            return []
        events: list[dict[str, Any]] = []
        for part in split_else_insert(text):
            events.extend(self._statement(part, piece, state))
        return events

    def _statement(self, text: str, piece: Piece, state: _State) -> list[dict[str, Any]]:
        try:
            parsed = sqlglot.parse(text, read="teradata")
        except SqlglotError as exc:
            return self._failed(piece, state, "syntax error", str(exc))
        node = parsed[0] if parsed else None
        if node is None or isinstance(node, exp.Command):
            return self._failed(piece, state, "unsupported statement", "sqlglot read it as an opaque command")
        try:
            write = StatementReader(self.catalog, state.session, state.database).read(node)
        except (SqlglotError, RecursionError) as exc:
            return self._failed(piece, state, "unsupported statement", str(exc))
        except Exception as exc:  # a tree shape the walk does not expect: one statement fails, not the source
            logger.exception("%s statement %d: the extractor failed", state.request.run_key, piece.index + 1)
            return self._failed(piece, state, "extractor error", repr(exc))
        if write is None:
            self.counts.no_data += 1
            return []
        if write.target.block is not None:
            volatile = state.session.volatiles.get(write.target_name.casefold())
            if volatile is not None and write.kind == "update":
                volatile.load([(name, _with_rows(flow, write.block)) for name, flow in write.columns], Block())
            elif volatile is not None:
                volatile.load(write.columns, write.block)
            self.counts.into_volatile += 1
            return []
        if write.target.dataset is None:
            self.counts.no_data += 1
            return []
        return [self._event(write, piece, state)]

    def _event(self, write: Write, piece: Piece, state: _State) -> dict[str, Any]:
        assert write.target.dataset is not None
        written = Written(write.target.dataset, write.columns, write.block.rows)
        self.counts.with_lineage += 1
        self.counts.edges.update(edge_counts([written]))
        inputs = [name for name in write.block.reads]
        return run_event(
            namespace=self.namespace,
            job_name=state.job_name(write.kind, write.target.dataset),
            run_key=state.run_key(piece.index),
            event_time=state.request.event_time,
            sql=piece.text,
            inputs=inputs,
            written=[written],
            run_facet=state.run_facet(piece),
        )

    def _failed(self, piece: Piece, state: _State, reason: str, detail: str) -> list[dict[str, Any]]:
        self.counts.failed[reason] += 1
        detail = _one_line(detail)
        self.failures.append(Failure(state.request.run_key, piece.index, piece.line, reason, detail))
        target, sources = tables_by_pattern(piece.text)
        if target is None:
            return []
        resolved = resolve(self.catalog, state.session, state.database, *target)
        if resolved.dataset is None:
            return []
        inputs: dict[str, None] = {}
        for db, name in sources:
            source = resolve(self.catalog, state.session, state.database, db, name)
            if source.block is not None:
                inputs.update(source.block.reads)
            elif source.dataset is not None and source.dataset != resolved.dataset:
                inputs[source.dataset] = None
        kind = target_kind(piece.text)
        if not inputs and kind != "update":  # DDL or VALUES: nothing read, no lineage to report
            return []
        self.counts.table_level += 1
        facet = {**state.run_facet(piece), "extraction": "table-level", "confidence": Confidence.TABLE_LEVEL}
        return [
            run_event(
                namespace=self.namespace,
                job_name=state.job_name(kind, resolved.dataset),
                run_key=state.run_key(piece.index),
                event_time=state.request.event_time,
                sql=piece.text,
                inputs=list(inputs),
                written=[],
                outputs=[resolved.dataset],
                run_facet=facet,
                error=f"{reason}: {detail.strip()}"[:2000],
            )
        ]


@dataclass(slots=True)
class _State:
    """One request being read: its default database (changed by DATABASE x;) and session."""

    request: Request
    session: Session
    database: str | None
    several: bool

    def run_key(self, index: int) -> str:
        return f"{self.request.run_key}#{index}" if self.several else self.request.run_key

    def job_name(self, kind: str, target: str) -> str:
        return self.request.job_name or self.session.job_name or f"{kind}.{target}"

    def run_facet(self, piece: Piece) -> dict[str, object]:
        return {**self.request.run_facet, "statementIndex": piece.index, "line": piece.line}


def extract_script(
    text: str,
    *,
    catalog: Catalog,
    namespace: str,
    origin: str,
    event_time: str,
    default_database: str | None = None,
    variables: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], Extractor]:
    """A whole SQL or BTEQ script as one session: its events, and the extractor (counts, failures).
    `origin` (the file's path) is the run key; statements get `origin#index`."""
    extractor = Extractor(catalog, namespace, variables=variables)
    return extractor.extract(file_request(text, origin, event_time, default_database)), extractor


def file_request(text: str, origin: str, event_time: str, default_database: str | None) -> Request:
    """A SQL or BTEQ file as one request and one session, its path the run key."""
    return Request(
        text=text,
        run_key=origin,
        event_time=event_time,
        default_database=default_database,
        session_key=origin,
        run_facet={"file": origin},
    )


# --- helpers --------------------------------------------------------------------------------------------


def query_band_job(query_band: str) -> str | None:
    """The job a QueryBand names (`JobName=...;`, else `Job=`, `ApplicationName=`, `AppName=`), or None.
    For DBQL: pass the row's QueryBand and give the result as Request.job_name."""
    for pattern in _QUERY_BAND_JOB:
        match = pattern.search(query_band)
        if match is not None and match.group(1).strip():
            return match.group(1).strip()
    return None


def _one_line(message: str) -> str:
    """sqlglot's error messages quote the statement over several lines with terminal underlining: keep the
    first line, which names the problem and its position."""
    lines = message.strip().splitlines()
    return re.sub(r"\x1b\[[0-9;]*m", "", lines[0] if lines else "")


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z_]+", strip_comments(text[:400]).upper())[:4]]


def _name_after(text: str, keyword: str) -> str | None:
    match = re.search(rf"\b{keyword}\s+(\"[^\"]+\"|[^\s;]+)", strip_comments(text), re.IGNORECASE)
    return match.group(1).strip('"') if match else None


def _with_rows(flow: ColumnFlow, block: Block) -> ColumnFlow:
    """An UPDATE of a volatile table: its WHERE and joins shape only the columns it sets."""
    result = ColumnFlow(dict(flow.direct), dict(flow.indirect))
    for (source, kind), weak in block.rows.items():
        result.add(source, kind, weak=weak)
    return result
