"""What one parsed statement writes, column by column: target mapping per statement kind. Pure.

- INSERT: the column list, else the catalog's column order (a volatile table's DDL order), by position;
  `INSERT ... VALUES` writes constants (no lineage).
- CREATE TABLE AS (`AS (...) WITH [NO] DATA`, a column list renames by position); `CREATE TABLE t AS src
  WITH DATA` copies every column (IDENTITY, no INDIRECT input); WITH NO DATA writes nothing.
- CREATE/REPLACE VIEW: every column by position (a column list renames).
- UPDATE (with or without FROM; `UPDATE alias FROM db.t alias, ...`): read as `SELECT <SET values> FROM
  <FROM list, or the target> WHERE ...`, so the target's own columns are sources; it writes the SET columns.
- MERGE: read as `SELECT <SET values and INSERT values> FROM <USING> JOIN <target> ON <ON>`; it writes
  the SET columns of the matched branch and the INSERT columns (list or catalog order) of the other, one
  flow per column merged over both branches.

Each query is qualified with sqlglot against the catalog tables and session tables it names (and only
those), after its table references are pointed at what they resolve to, then walked (lineage.Walker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify

from ingest.populate.teradata.catalog import Catalog
from ingest.populate.teradata.classify import Direct
from ingest.populate.teradata.lineage import Block, ColumnFlow, Resolved, Walker
from ingest.populate.teradata.session import VOLATILE_DB, Session, Volatile, resolve

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Write:
    """A statement's effect: `target` (a real dataset, or a session table when `target.block` is set), the
    written columns' flows in the order written, and the query block (row-level inputs, datasets read)."""

    kind: str  # insert, update, merge, view, create_table: names the job when the caller gives none
    target: Resolved
    target_name: str  # as written (finds a session table)
    columns: list[tuple[str, ColumnFlow]]
    block: Block


class StatementReader:
    """Reads statements of one session with one default database."""

    def __init__(self, catalog: Catalog, session: Session, database: str | None) -> None:
        self.catalog = catalog
        self.session = session
        self.database = database

    def resolve(self, db: str | None, name: str) -> Resolved:
        return resolve(self.catalog, self.session, self.database, db, name)

    def read(self, node: exp.Expr) -> Write | None:
        """What `node` writes, or None when it moves no data (its DROP of a session table is applied)."""
        if isinstance(node, exp.Insert):
            return self._insert(node)
        if isinstance(node, exp.Update):
            return self._update(node)
        if isinstance(node, exp.Merge):
            return self._merge(node)
        if isinstance(node, exp.Create):
            return self._create(node)
        if isinstance(node, exp.Drop):
            name = node.this
            if isinstance(name, exp.Table) and self.session.find(name.db or None, name.name, self.database):
                self.session.volatiles.pop(name.name.casefold(), None)
        return None

    def _insert(self, node: exp.Insert) -> Write | None:
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
        target = self.resolve(target_node.db or None, target_node.name)
        block = self.block(query)
        columns = self._target_columns(target, listed, block)
        return Write("insert", target, target_node.name, _positional(columns, block), block)

    def _update(self, node: exp.Update) -> Write | None:
        this = node.this
        if not isinstance(this, exp.Table):
            return None
        items = _from_items(node)
        target_node = next(
            (
                item
                for item in items
                if isinstance(item, exp.Table) and not this.db and item.alias_or_name.casefold() == this.name.casefold()
            ),
            None,
        )
        if target_node is None:
            target_node = this
            items.insert(0, this.copy())
        target = self.resolve(target_node.db or None, target_node.name)
        sets = [e for e in node.expressions if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column)]
        if not sets:
            return None
        block = self.block(_select([e.expression for e in sets], items, node.args.get("where")))
        columns = [_spell(target, e.this.name) for e in sets]
        return Write("update", target, target_node.name, _positional(columns, block), block)

    def _merge(self, node: exp.Merge) -> Write | None:
        target_node, using = node.this, node.args.get("using")
        if not isinstance(target_node, exp.Table) or not isinstance(using, (exp.Table, exp.Subquery)):
            return None
        target = self.resolve(target_node.db or None, target_node.name)
        names: list[str] = []
        values: list[exp.Expr] = []
        where: exp.Expr | None = None
        whens = node.args.get("whens")
        for when in whens.expressions if isinstance(whens, exp.Whens) else []:
            condition = when.args.get("condition")  # WHEN MATCHED AND cond: a filter of that branch's rows
            if condition is not None:
                where = condition.copy() if where is None else exp.and_(where, condition.copy())
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                for pair in then.expressions:
                    if (
                        isinstance(pair, exp.EQ)
                        and isinstance(pair.this, exp.Column)
                        and isinstance(pair.expression, exp.Expr)
                    ):
                        names.append(_spell(target, pair.this.name))
                        values.append(pair.expression)
            elif isinstance(then, exp.Insert):
                self._merge_insert(then, target, names, values)
        if not values:
            return None
        join = exp.Join(this=target_node.copy(), on=node.args.get("on"))
        block = self.block(_select(values, [using.copy(), join], exp.Where(this=where) if where is not None else None))
        merged: dict[str, tuple[str, ColumnFlow]] = {}
        for name, (_, flow) in zip(names, block.columns, strict=False):
            key = name.casefold()
            if key in merged:
                merged[key][1].merge(flow)
            else:
                merged[key] = (name, flow)
        return Write("merge", target, target_node.name, list(merged.values()), block)

    def _merge_insert(self, then: exp.Insert, target: Resolved, names: list[str], values: list[exp.Expr]) -> None:
        row = then.expression
        items = row.expressions if isinstance(row, exp.Tuple) else [row] if row is not None else []
        listed = then.this
        if isinstance(listed, (exp.Tuple, exp.Schema)):
            columns = [c.name for c in listed.expressions]
        else:
            columns = self._target_columns(target, None, None)
        for name, value in zip(columns, items, strict=False):
            if isinstance(value, exp.Expr):  # a damaged statement can leave a flag where a value belongs
                names.append(_spell(target, name))
                values.append(value)

    def _create(self, node: exp.Create) -> Write | None:
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
        if kind == "VIEW" and isinstance(query, (exp.Query, exp.Subquery)):
            target = self.resolve(this.db or None, this.name)
            block = self.block(query)
            columns = self._target_columns(target, listed, block)
            return Write("view", target, this.name, _positional(columns, block), block)
        if kind != "TABLE":
            return None
        volatile = None
        if _is_temporary(node):
            volatile = Volatile(this.name, definitions or list(listed or []), this.db or None)
            self.session.volatiles[this.name.casefold()] = volatile
        if isinstance(query, exp.Table):
            block = self._copy(query)
        elif isinstance(query, (exp.Query, exp.Subquery)):
            block = self.block(query)
        else:
            return None
        if volatile is not None and not volatile.columns:
            volatile.columns = list(listed or [name for name, _ in block.columns])
        if _no_data(node):
            return None
        target = self.resolve(this.db or None, this.name)
        columns = self._target_columns(target, listed, block)
        return Write("create_table", target, this.name, _positional(columns, block), block)

    def _copy(self, source: exp.Table) -> Block:
        """CREATE TABLE t AS src: every column of src copied (IDENTITY), no INDIRECT input."""
        src = self.resolve(source.db or None, source.name)
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
        return block

    def _target_columns(self, target: Resolved, listed: list[str] | None, block: Block | None) -> list[str]:
        """The written columns in position order: a column list, else the catalog's (or a session table's
        DDL) order, else the query's own output names."""
        if listed:
            return [_spell(target, name) for name in listed]
        if target.table is not None and target.table.columns:
            return [c.name for c in target.table.columns]
        if target.block is not None and target.block.columns:
            return [name for name, _ in target.block.columns]
        return [name for name, _ in block.columns] if block is not None else []

    # --- qualification ------------------------------------------------------------------------------------

    def block(self, query: exp.Expr) -> Block:
        """Qualify `query` against the tables it names, then walk it."""
        cte_names = {cte.alias_or_name.casefold() for cte in query.find_all(exp.CTE)}
        spelling: dict[str, str] = {}
        for identifier in query.find_all(exp.Identifier):
            spelling.setdefault(identifier.name.casefold(), identifier.name)
        for column in query.find_all(exp.Column):
            column.meta["written"] = True  # what sqlglot's star expansion adds lacks it (lineage._from_star)
        resolved: dict[tuple[str, str], Resolved] = {}
        schema: dict[str, object] = {}
        for table in list(query.find_all(exp.Table)):
            if not table.db and table.name.casefold() in cte_names:
                continue
            found = self.resolve(table.db or None, table.name)
            db, name = _place(table, found, schema)
            resolved[(db.casefold(), name.casefold())] = found
        try:
            query = qualify(query, schema=schema, dialect="teradata", validate_qualify_columns=False, identify=False)
        except SqlglotError as exc:  # lineage from the unqualified tree: explicit qualifiers still resolve
            logger.debug("qualify failed (%s); walking the statement as written", exc)

        def lookup(table: exp.Table) -> Resolved:
            key = ((table.db or "").casefold(), table.name.casefold())
            return resolved.get(key) or self.resolve(table.db or None, table.name)

        walker = Walker(lookup, lambda name: spelling.get(name.casefold(), name))
        block = walker.query(query)
        block.reads.update(walker.reads)  # tables read only in a subquery are inputs too
        return block


def _place(table: exp.Table, found: Resolved, schema: dict[str, object]) -> tuple[str, str]:
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


def _from_items(node: exp.Update) -> list[exp.Expr]:
    """The tables of `UPDATE ... FROM a, b JOIN c`: sqlglot hangs `, b` on the table a."""
    from_ = node.args.get("from_")
    items: list[exp.Expr] = []
    if isinstance(from_, exp.From):
        first = from_.this.copy()
        nested = first.args.get("joins") or []
        first.set("joins", None)
        items = [first, *(join.this for join in nested), *(join.this for join in from_.args.get("joins") or [])]
    items.extend(join.this for join in node.args.get("joins") or [])
    return items


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


def _spell(target: Resolved, name: str) -> str:
    if target.table is not None:
        column = target.table.column(name)
        if column is not None:
            return column.name
    return name


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
