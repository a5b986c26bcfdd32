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
from sqlglot.optimizer.qualify import qualify

from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.classify import Confidence, Direct
from ingest.populate.teradata.events import Written, edge_counts, run_event
from ingest.populate.teradata.lineage import Block, ColumnFlow, Resolved, Walker
from ingest.populate.teradata.preprocess import rewrite, split_else_insert
from ingest.populate.teradata.script import Piece, split_statements, strip_comments, substitute

logger = logging.getLogger(__name__)

VOLATILE_DB = "__volatile__"  # the database the qualifier sees volatile tables in (never a dataset)

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


@dataclass(slots=True)
class _Volatile:
    """A volatile (or global temporary) table of a session: its columns in DDL order and what was loaded."""

    name: str
    columns: list[str]
    database: str | None = None  # a global temporary table's database; None for a volatile table
    block: Block = field(default_factory=Block)

    def load(self, columns: list[tuple[str, ColumnFlow]], rows: Block) -> None:
        for name, flow in columns:
            current = self.block.column(name)
            if current is None:
                self.block.columns.append((name, flow))
            else:
                current.merge(flow)
        self.block.absorb(rows)

    def view(self) -> Block:
        """The contents as a block, columns in DDL order."""
        ordered = [(name, self.block.column(name) or ColumnFlow()) for name in self.columns]
        return Block(ordered, dict(self.block.rows), dict(self.block.reads))


@dataclass(slots=True)
class _Session:
    volatiles: dict[str, _Volatile] = field(default_factory=dict)
    job_name: str | None = None  # from SET QUERY_BAND ... FOR SESSION


@dataclass(slots=True)
class _Write:
    kind: str
    target: Resolved
    target_name: str
    columns: list[tuple[str, ColumnFlow]]
    block: Block


class Extractor:
    """Turns requests into events against one catalog and namespace. Keeps per-session volatile tables
    between calls; not thread-safe (one per source being read)."""

    def __init__(self, catalog: Catalog, namespace: str, *, variables: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.namespace = namespace
        self.variables = dict(variables or {})
        self.counts = Counts()
        self.failures: list[Failure] = []
        self._sessions: dict[str, _Session] = {}

    def end_session(self, session_key: str) -> None:
        """Forget a session's volatile tables."""
        self._sessions.pop(session_key, None)

    def extract(self, request: Request) -> list[dict[str, Any]]:
        """The events of every data-moving statement of `request`, in order."""
        session = self._sessions.setdefault(request.session_key, _Session()) if request.session_key else _Session()
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
            write = self._dispatch(node, state)
        except (SqlglotError, RecursionError) as exc:
            return self._failed(piece, state, "unsupported statement", str(exc))
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

    def _event(self, write: _Write, piece: Piece, state: _State) -> dict[str, Any]:
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
        target, sources = _tables_by_pattern(piece.text)
        if target is None:
            return []
        resolved = self._resolve_name(*target, state)
        if resolved.dataset is None:
            return []
        inputs: dict[str, None] = {}
        for db, name in sources:
            source = self._resolve_name(db, name, state)
            if source.block is not None:
                inputs.update(source.block.reads)
            elif source.dataset is not None and source.dataset != resolved.dataset:
                inputs[source.dataset] = None
        self.counts.table_level += 1
        facet = {**state.run_facet(piece), "extraction": "table-level", "confidence": Confidence.TABLE_LEVEL}
        return [
            run_event(
                namespace=self.namespace,
                job_name=state.job_name(target_kind(piece.text), resolved.dataset),
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

    # --- statement kinds --------------------------------------------------------------------------------

    def _dispatch(self, node: exp.Expr, state: _State) -> _Write | None:
        if isinstance(node, exp.Insert):
            return self._insert(node, state)
        if isinstance(node, exp.Update):
            return self._update(node, state)
        if isinstance(node, exp.Merge):
            return self._merge(node, state)
        if isinstance(node, exp.Create):
            return self._create(node, state)
        if isinstance(node, exp.Drop):
            name = node.this
            if isinstance(name, exp.Table) and state.volatile(name.db or None, name.name) is not None:
                state.session.volatiles.pop(name.name.casefold(), None)
        return None

    def _insert(self, node: exp.Insert, state: _State) -> _Write | None:
        target_node = node.this
        listed: list[str] | None = None
        if isinstance(target_node, exp.Schema):
            listed = [ident.name for ident in target_node.expressions]
            target_node = target_node.this
        query = node.expression
        if not isinstance(target_node, exp.Table) or not isinstance(query, (exp.Query, exp.Subquery)):
            return None  # INSERT ... VALUES: constants, no lineage
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With) and isinstance(query, exp.Query) and query.args.get("with_") is None:
            query.set("with_", with_.copy())  # WITH ... INSERT: the CTEs belong to the query
        target = self._resolve_name(target_node.db or None, target_node.name, state)
        block, _ = self._block(query, state)
        columns = self._target_columns(target, listed, block)
        return _Write("insert", target, target_node.name, _positional(columns, block), block)

    def _update(self, node: exp.Update, state: _State) -> _Write | None:
        this = node.this
        if not isinstance(this, exp.Table):
            return None
        from_ = node.args.get("from_")
        items: list[exp.Expr] = []
        if isinstance(from_, exp.From):
            first = from_.this.copy()
            nested = first.args.get("joins") or []  # sqlglot hangs `, b` of UPDATE ... FROM a, b on the table a
            first.set("joins", None)
            items = [first, *(join.this for join in nested), *(join.this for join in from_.args.get("joins") or [])]
        items.extend(join.this for join in node.args.get("joins") or [])
        target_node = next(
            (
                i
                for i in items
                if isinstance(i, exp.Table) and not this.db and i.alias_or_name.casefold() == this.name.casefold()
            ),
            None,
        )
        if target_node is None:
            target_node = this
            items.insert(0, this.copy())
        target = self._resolve_name(target_node.db or None, target_node.name, state)
        sets = [e for e in node.expressions if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column)]
        if not sets:
            return None
        select = _select([e.expression for e in sets], items, node.args.get("where"))
        block, _ = self._block(select, state)
        columns = [self._spell(target, e.this.name) for e in sets]
        return _Write("update", target, target_node.name, _positional(columns, block), block)

    def _merge(self, node: exp.Merge, state: _State) -> _Write | None:
        target_node, using = node.this, node.args.get("using")
        if not isinstance(target_node, exp.Table) or using is None:
            return None
        target = self._resolve_name(target_node.db or None, target_node.name, state)
        values: list[exp.Expr] = []
        names: list[str] = []
        conditions: list[exp.Expr] = []
        whens = node.args.get("whens")
        for when in whens.expressions if isinstance(whens, exp.Whens) else []:
            then = when.args.get("then")
            if when.args.get("condition") is not None:
                conditions.append(when.args["condition"])
            if isinstance(then, exp.Update):
                for pair in then.expressions:
                    if isinstance(pair, exp.EQ) and isinstance(pair.this, exp.Column):
                        names.append(self._spell(target, pair.this.name))
                        values.append(pair.expression)
            elif isinstance(then, exp.Insert):
                self._merge_insert(then, target, names, values)
        if not values:
            return None
        join = exp.Join(this=target_node.copy(), on=node.args.get("on"))
        where = None
        for condition in conditions:
            where = condition.copy() if where is None else exp.and_(where, condition.copy())
        select = _select(values, [using.copy(), join], exp.Where(this=where) if where is not None else None)
        block, _ = self._block(select, state)
        merged: dict[str, ColumnFlow] = {}
        for name, (_, flow) in zip(names, block.columns, strict=False):
            key = name.casefold()
            if key in merged:
                merged[key].merge(flow)
            else:
                merged[key] = flow
        columns = [(self._spell(target, n), merged[n.casefold()]) for n in dict.fromkeys(names)]
        unique = list({c.casefold(): (c, f) for c, f in columns}.values())
        return _Write("merge", target, target_node.name, unique, block)

    def _merge_insert(self, then: exp.Insert, target: Resolved, names: list[str], values: list[exp.Expr]) -> None:
        row = then.expression
        items = row.expressions if isinstance(row, exp.Tuple) else [row] if row is not None else []
        listed = then.this
        if isinstance(listed, (exp.Tuple, exp.Schema)):
            columns = [c.name for c in listed.expressions]
        else:
            columns = self._target_columns(target, None, None)
        for name, value in zip(columns, items, strict=False):
            names.append(self._spell(target, name))
            values.append(value)

    def _create(self, node: exp.Create, state: _State) -> _Write | None:
        kind = str(node.args.get("kind") or "").upper()
        this = node.this
        listed: list[str] | None = None
        definitions: list[str] = []
        if isinstance(this, exp.Schema):
            listed = [e.name for e in this.expressions if isinstance(e, (exp.Identifier, exp.Column))] or None
            definitions = [e.name for e in this.expressions if isinstance(e, exp.ColumnDef)]
            this = this.this
        if not isinstance(this, exp.Table):
            return None
        query = node.expression
        if isinstance(query, exp.LockingStatement):
            query = query.this
        temporary = _is_temporary(node)
        with_data = not _no_data(node)
        if kind == "VIEW" and isinstance(query, (exp.Query, exp.Subquery)):
            target = self._resolve_name(this.db or None, this.name, state)
            block, _ = self._block(query, state)
            return _Write(
                "view", target, this.name, _positional(self._target_columns(target, listed, block), block), block
            )
        if kind != "TABLE":
            return None
        if temporary:
            volatile = _Volatile(this.name, definitions or list(listed or []), this.db or None)
            state.session.volatiles[this.name.casefold()] = volatile
        if isinstance(query, exp.Table):
            return self._copy_table(this, query, listed, temporary, with_data, state)
        if not isinstance(query, (exp.Query, exp.Subquery)):
            return None
        block, _ = self._block(query, state)
        target = self._resolve_name(this.db or None, this.name, state)
        if temporary and not volatile.columns:
            volatile.columns = list(listed or [name for name, _ in block.columns])
        if not with_data:
            return None
        columns = self._target_columns(target, listed, block)
        return _Write("create_table", target, this.name, _positional(columns, block), block)

    def _copy_table(
        self,
        this: exp.Table,
        source: exp.Table,
        listed: list[str] | None,
        temporary: bool,
        with_data: bool,
        state: _State,
    ) -> _Write | None:
        """CREATE TABLE t AS src WITH DATA: every column copied (IDENTITY), no INDIRECT input."""
        src = self._resolve_name(source.db or None, source.name, state)
        block = Block()
        if src.block is not None:
            block.columns = [(name, _copied(flow)) for name, flow in src.block.columns]
            block.absorb(src.block)
        elif src.table is not None and src.dataset is not None:
            for column in src.table.columns:
                flow = ColumnFlow()
                flow.add((src.dataset, column.name), Direct.IDENTITY)
                block.columns.append((column.name, flow))
            block.reads[src.dataset] = None
        target = self._resolve_name(this.db or None, this.name, state)
        if temporary and target.block is not None:
            state.session.volatiles[this.name.casefold()].columns = listed or [n for n, _ in block.columns]
        if not with_data:
            return None
        columns = self._target_columns(target, listed, block)
        return _Write("create_table", target, this.name, _positional(columns, block), block)

    # --- names ------------------------------------------------------------------------------------------

    def _target_columns(self, target: Resolved, listed: list[str] | None, block: Block | None) -> list[str]:
        """The written columns in position order: a column list, else the catalog's (or a volatile
        table's DDL) order, else the query's own output names."""
        if listed:
            return [self._spell(target, name) for name in listed]
        if target.table is not None and target.table.columns:
            return [c.name for c in target.table.columns]
        if target.block is not None and target.block.columns:
            return [name for name, _ in target.block.columns]
        return [name for name, _ in block.columns] if block is not None else []

    def _spell(self, target: Resolved, name: str) -> str:
        if target.table is not None:
            column = target.table.column(name)
            if column is not None:
                return column.name
        return name

    def _resolve_name(self, db: str | None, name: str, state: _State) -> Resolved:
        """A table reference in the session: a volatile table, a catalog table (in the default database
        when unqualified), else a dataset the catalog does not know (weak)."""
        volatile = state.volatile(db, name)
        if volatile is not None:
            return Resolved(block=volatile.view())
        if db is not None and db.casefold() != VOLATILE_DB:
            table = self.catalog.table(db, name)
            return Resolved(table.qualified, table) if table is not None else Resolved(f"{db}.{name}", weak=True)
        if state.database is not None:
            table = self.catalog.table(state.database, name)
            if table is not None:
                return Resolved(table.qualified, table)
        candidates = self.catalog.named(name)
        if len(candidates) == 1:  # a guess: the only table of that name
            return Resolved(candidates[0].qualified, candidates[0], weak=True)
        return Resolved(f"{state.database}.{name}" if state.database else name, weak=True)

    def _block(self, query: exp.Expr, state: _State) -> tuple[Block, Walker]:
        """Qualify `query` against the catalog and the session's volatile tables, then walk it."""
        cte_names = {cte.alias_or_name.casefold() for cte in query.find_all(exp.CTE)}
        spelling: dict[str, str] = {}
        for identifier in query.find_all(exp.Identifier):
            spelling.setdefault(identifier.name.casefold(), identifier.name)
        for column in query.find_all(exp.Column):
            column.meta["written"] = True
        resolved: dict[tuple[str, str], Resolved] = {}
        schema: dict[str, object] = {}
        for table in list(query.find_all(exp.Table)):
            if not table.db and table.name.casefold() in cte_names:
                continue
            found = self._resolve_name(table.db or None, table.name, state)
            db, name = self._place(table, found, schema)
            resolved[(db.casefold(), name.casefold())] = found
        try:
            query = qualify(query, schema=schema, dialect="teradata", validate_qualify_columns=False, identify=False)
        except SqlglotError as exc:  # lineage from the unqualified tree: explicit qualifiers still resolve
            logger.debug("qualify failed (%s); walking the statement as written", exc)

        def resolve(table: exp.Table) -> Resolved:
            key = ((table.db or "").casefold(), table.name.casefold())
            return resolved.get(key) or self._resolve_name(table.db or None, table.name, state)

        walker = Walker(resolve, lambda name: spelling.get(name.casefold(), name))
        return walker.query(query), walker

    def _place(self, table: exp.Table, found: Resolved, schema: dict[str, object]) -> tuple[str, str]:
        """Point a table reference at what it resolved to, and give the qualifier that table's columns."""
        if found.block is not None:
            db, name, columns = VOLATILE_DB, table.name, [n for n, _ in found.block.columns]
        elif found.table is not None:
            db, name, columns = found.table.database, found.table.name, [c.name for c in found.table.columns]
        else:
            return table.db, table.name
        table.set("db", exp.to_identifier(db))
        table.set("this", exp.to_identifier(name))
        if columns:
            tables = schema.setdefault(db, {})
            assert isinstance(tables, dict)
            tables[name] = {column: "VARCHAR" for column in columns}
        return db, name


@dataclass(slots=True)
class _State:
    """One request being read: its default database (changed by DATABASE x;) and session."""

    request: Request
    session: _Session
    database: str | None
    several: bool

    def volatile(self, db: str | None, name: str) -> _Volatile | None:
        """The session's volatile or global temporary table that `db.name` names, if any: a volatile table
        by its bare name, a global temporary one by its database (given, or the default)."""
        volatile = self.session.volatiles.get(name.casefold())
        if volatile is None:
            return None
        if db is not None and db.casefold() == VOLATILE_DB:
            return volatile
        where = db or self.database
        if volatile.database is None:
            return volatile if db is None else None
        return volatile if where is not None and where.casefold() == volatile.database.casefold() else None

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
    events = extractor.extract(
        Request(
            text=text,
            run_key=origin,
            event_time=event_time,
            default_database=default_database,
            session_key=origin,
            run_facet={"file": origin},
        )
    )
    return events, extractor


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


def _select(values: list[exp.Expr], items: list[exp.Expr], where: exp.Expr | None) -> exp.Select:
    """A SELECT of `values` over `items` (the first is FROM, the rest joins): how UPDATE and MERGE are read."""
    projections = [exp.alias_(value.copy(), f"_c{i}") for i, value in enumerate(values)]
    first, *rest = items
    joins = [item if isinstance(item, exp.Join) else exp.Join(this=item) for item in rest]
    select = exp.Select(expressions=projections, from_=exp.From(this=first), joins=joins)
    if where is not None:
        select.set("where", where.copy())
    return select


def _positional(columns: list[str], block: Block) -> list[tuple[str, ColumnFlow]]:
    """Target columns matched to the query's outputs by position; extra columns on either side are not written."""
    return [(name, flow) for name, (_, flow) in zip(columns, block.columns, strict=False)]


def _with_rows(flow: ColumnFlow, block: Block) -> ColumnFlow:
    """An UPDATE of a volatile table: its WHERE and joins shape only the columns it sets."""
    result = ColumnFlow(dict(flow.direct), dict(flow.indirect))
    for (source, kind), weak in block.rows.items():
        result.add(source, kind, weak=weak)
    return result


def _copied(flow: ColumnFlow) -> ColumnFlow:
    result = ColumnFlow()
    result.compose(flow, Direct.IDENTITY)
    return result


def _is_temporary(node: exp.Create) -> bool:
    properties = node.args.get("properties")
    for prop in properties.expressions if isinstance(properties, exp.Properties) else []:
        if isinstance(prop, (exp.VolatileProperty, exp.TemporaryProperty)):
            return True
        if isinstance(prop, exp.StabilityProperty) and str(prop.this.this).upper() == "VOLATILE":
            return True
    return False


def _no_data(node: exp.Create) -> bool:
    properties = node.args.get("properties")
    for prop in properties.expressions if isinstance(properties, exp.Properties) else []:
        if isinstance(prop, exp.WithDataProperty):
            return bool(prop.args.get("no"))
    return False


_NAME = r"((?:\"[^\"]+\"|[A-Za-z_$#][\w$#]*)(?:\s*\.\s*(?:\"[^\"]+\"|[A-Za-z_$#][\w$#]*))?)"
_TARGETS = (
    ("insert", re.compile(rf"^\s*(?:INSERT|INS)\s+(?:INTO\s+)?{_NAME}", re.IGNORECASE)),
    ("update", re.compile(rf"^\s*(?:UPDATE|UPD)\s+{_NAME}", re.IGNORECASE)),
    ("merge", re.compile(rf"^\s*(?:MERGE|MG)\s+(?:INTO\s+)?{_NAME}", re.IGNORECASE)),
    ("view", re.compile(rf"^\s*(?:CREATE|REPLACE)\s+(?:RECURSIVE\s+)?VIEW\s+{_NAME}", re.IGNORECASE)),
    ("create_table", re.compile(rf"^\s*(?:CREATE|CT)\s+(?:\w+\s+){{0,4}}?TABLE\s+{_NAME}", re.IGNORECASE)),
)
_SOURCES = re.compile(rf"\b(?:FROM|JOIN|USING)\s+{_NAME}", re.IGNORECASE)


def target_kind(text: str) -> str:
    """The statement kind a pattern sees at the start of `text` (for the job name of a table-level event)."""
    body = strip_comments(text)
    return next((kind for kind, pattern in _TARGETS if pattern.search(body)), "statement")


def _split_name(name: str) -> tuple[str | None, str]:
    parts = [p.strip().strip('"') for p in name.split(".")]
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def _tables_by_pattern(text: str) -> tuple[tuple[str | None, str] | None, list[tuple[str | None, str]]]:
    """The written table and the read ones of a statement that did not parse (confidence 0.60)."""
    body = strip_comments(text)
    target = None
    for _, pattern in _TARGETS:
        match = pattern.search(body)
        if match:
            target = _split_name(match.group(1))
            break
    sources = [_split_name(m.group(1)) for m in _SOURCES.finditer(body)]
    sources = [s for s in sources if s[1].upper() not in ("SELECT", "SEL")]
    if target is not None and target[0] is None:  # UPDATE alias FROM db.table alias: the alias names the target
        alias = (
            re.search(rf"\b{re.escape(target[1])}\b", body[body.upper().find("FROM") :])
            if "FROM" in body.upper()
            else None
        )
        for db, name in sources:
            if (
                alias
                and db is not None
                and re.search(
                    rf"{re.escape(db)}\s*\.\s*{re.escape(name)}\s+(?:AS\s+)?{re.escape(target[1])}\b",
                    body,
                    re.IGNORECASE,
                )
            ):
                target = (db, name)
                break
    return target, sources
