"""Column lineage of a query, block by block, over sqlglot's qualified tree. Pure.

Every query block (a SELECT, a UNION, a CTE, a derived table, a volatile table's contents) has, per output
column, its DIRECT sources with the strongest subtype and its column-level INDIRECT sources (CONDITIONAL,
WINDOW, and what a scalar subquery's own WHERE adds), and for the block as a whole its row-level INDIRECT
sources (JOIN, FILTER, GROUP_BY, SORT). A block reading an intermediate composes (tdsql/README.md,
"Intermediates are collapsed"): DIRECT through DIRECT keeps the strongest subtype; column-level INDIRECT
inputs are inherited; the intermediate's row-level inputs join the reader's unchanged; an intermediate
column used in the reader's ON/WHERE/GROUP BY/CASE/OVER gives its sources the reader's subtype. Real
tables and views are leaves: lineage stops at them.

sqlglot's own `lineage()` follows projections only and re-qualifies per column (quadratic on a 400-column
view); this walk visits every node once and also collects the INDIRECT inputs, which sqlglot leaves out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlglot import exp

from ingest.populate.teradata.catalog import Table
from ingest.populate.teradata.classify import Direct, Indirect, Mode, inner, is_aggregate, is_masking

Source = tuple[str, str]  # (dataset `DB.TABLE`, column), both in the catalog's spelling
DirectInput = tuple[Direct, bool, bool]  # (subtype, masking, weak)


@dataclass(slots=True)
class ColumnFlow:
    """The inputs of one output column: DIRECT sources and column-level INDIRECT ones. `weak` marks an
    input known only through `*` or a name the catalog does not hold (confidence 0.70)."""

    direct: dict[Source, DirectInput] = field(default_factory=dict)
    indirect: dict[tuple[Source, Indirect], bool] = field(default_factory=dict)  # -> weak

    def add(self, source: Source, mode: Mode, masking: bool = False, weak: bool = False) -> None:
        if isinstance(mode, Direct):
            old = self.direct.get(source)
            if old is None:
                self.direct[source] = (mode, masking, weak)
            else:
                self.direct[source] = (max(old[0], mode), old[1] or masking, old[2] and weak)
        else:
            key = (source, mode)
            self.indirect[key] = self.indirect.get(key, True) and weak

    def compose(self, other: ColumnFlow, mode: Mode, masking: bool = False) -> None:
        """Add an intermediate column's inputs as read in `mode`."""
        for source, (subtype, masked, weak) in other.direct.items():
            self.add(source, max(subtype, mode) if isinstance(mode, Direct) else mode, masked or masking, weak)
        for (source, kind), weak in other.indirect.items():
            self.add(source, kind if isinstance(mode, Direct) else mode, weak=weak)

    def merge(self, other: ColumnFlow) -> None:
        """Union with another path to the same column (a UNION branch, a MERGE's other branch)."""
        for source, (subtype, masked, weak) in other.direct.items():
            self.add(source, subtype, masked, weak)
        for (source, kind), weak in other.indirect.items():
            self.add(source, kind, weak=weak)

    def weakened(self) -> ColumnFlow:
        return ColumnFlow({s: (t, m, True) for s, (t, m, _) in self.direct.items()}, {k: True for k in self.indirect})


@dataclass(slots=True)
class Block:
    """A query block's output columns (name, flow) in order, its row-level inputs and the datasets it read."""

    columns: list[tuple[str, ColumnFlow]] = field(default_factory=list)
    rows: dict[tuple[Source, Indirect], bool] = field(default_factory=dict)  # -> weak
    reads: dict[str, None] = field(default_factory=dict)  # datasets, in first-read order

    def column(self, name: str) -> ColumnFlow | None:
        folded = name.casefold()
        for column_name, flow in self.columns:
            if column_name.casefold() == folded:
                return flow
        return None

    def add_rows(self, flow: ColumnFlow, subtype: Indirect | None = None) -> None:
        """Move a flow walked in an INDIRECT mode into the row-level inputs (relabelled when asked)."""
        for (source, kind), weak in flow.indirect.items():
            key = (source, subtype or kind)
            self.rows[key] = self.rows.get(key, True) and weak
        for source, (_, _, weak) in flow.direct.items():  # a walk in INDIRECT mode adds no DIRECT input
            key = (source, subtype or Indirect.FILTER)
            self.rows[key] = self.rows.get(key, True) and weak

    def absorb(self, other: Block) -> None:
        """Take another block's row-level inputs and reads (a source of this block)."""
        for key, weak in other.rows.items():
            self.rows[key] = self.rows.get(key, True) and weak
        self.reads.update(other.reads)


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a table reference names: a real dataset (`table` None when the catalog does not know it) or an
    intermediate (a volatile table's contents as a Block)."""

    dataset: str | None = None
    table: Table | None = None
    weak: bool = False
    block: Block | None = None

    def source_column(self, name: str, spelling: Callable[[str], str]) -> Source | None:
        if self.dataset is None:
            return None
        if self.table is not None:
            column = self.table.column(name)
            return None if column is None else (self.dataset, column.name)
        return (self.dataset, spelling(name))


TableResolver = Callable[[exp.Table], Resolved]


@dataclass(slots=True)
class _Scope:
    sources: dict[str, Resolved]
    parent: _Scope | None
    ctes: dict[str, exp.Expr]
    aliases: dict[str, exp.Expr] = field(default_factory=dict)  # projection aliases (ORDER BY x)


class Walker:
    """Walks one statement's qualified tree. `resolve` answers a table reference that is not a CTE;
    `spelling` gives the written spelling of a name sqlglot lowercased (for tables the catalog lacks)."""

    def __init__(self, resolve: TableResolver, spelling: Callable[[str], str]) -> None:
        self._resolve = resolve
        self._spelling = spelling
        self.reads: dict[str, None] = {}  # every dataset the statement reads, subqueries included
        self._cte_blocks: dict[int, Block] = {}
        self._in_progress: set[int] = set()
        self._walking_alias: set[str] = set()

    # --- blocks -----------------------------------------------------------------------------------------

    def query(self, node: exp.Expr, parent: _Scope | None = None) -> Block:
        """The lineage of a query expression: SELECT, UNION/EXCEPT/INTERSECT, a parenthesised query."""
        ctes = self._ctes(node)
        if isinstance(node, exp.Subquery):
            return self._renamed(self.query(node.this, self._child(parent, ctes)), node.alias_column_names)
        if isinstance(node, exp.SetOperation):
            scope = self._child(parent, ctes)
            left, right = self.query(node.left, scope), self.query(node.right, scope)
            if isinstance(node, exp.Union):
                for (_, flow), (_, other) in zip(left.columns, right.columns, strict=False):
                    flow.merge(other)
                left.absorb(right)
            else:  # EXCEPT / INTERSECT: the right side decides which rows are kept
                for _, other in right.columns:
                    left.add_rows(_indirect(other), Indirect.FILTER)
                left.absorb(right)
            return left
        if isinstance(node, exp.Select):
            return self._select(node, self._child(parent, ctes))
        return Block()

    def _child(self, parent: _Scope | None, ctes: dict[str, exp.Expr]) -> _Scope:
        if not ctes and parent is not None:
            return parent
        return _Scope({}, parent, ctes)

    def _ctes(self, node: exp.Expr) -> dict[str, exp.Expr]:
        with_ = node.args.get("with_")
        if not isinstance(with_, exp.With):
            return {}
        return {cte.alias_or_name.casefold(): cte for cte in with_.expressions if isinstance(cte, exp.CTE)}

    def _renamed(self, block: Block, names: Iterable[str]) -> Block:
        names = list(names)
        if names:
            block.columns = [(name, flow) for name, (_, flow) in zip(names, block.columns, strict=False)]
        return block

    def _cte(self, cte: exp.Expr, scope: _Scope) -> Block | None:
        key = id(cte)
        if key in self._cte_blocks:
            return self._cte_blocks[key]
        if key in self._in_progress:  # WITH RECURSIVE: the recursive reference adds nothing new
            return None
        self._in_progress.add(key)
        block = self._renamed(self.query(cte.this, scope), _alias_columns(cte))
        self._in_progress.discard(key)
        self._cte_blocks[key] = block
        return block

    def _select(self, select: exp.Select, scope: _Scope) -> Block:
        block = Block()
        local = _Scope({}, scope, {})
        from_ = select.args.get("from_")
        joins = select.args.get("joins") or []
        for item in ([from_.this] if isinstance(from_, exp.From) else []) + [j.this for j in joins]:
            self._register(item, local, block)
        projections = select.expressions
        local.aliases = {p.alias.casefold(): p.this for p in projections if isinstance(p, exp.Alias) and p.alias}
        for join in joins:
            self._join(join, local, block)
        for key, subtype in (("where", Indirect.FILTER), ("having", Indirect.FILTER), ("qualify", Indirect.FILTER)):
            clause = select.args.get(key)
            if clause is not None:
                block.add_rows(self.flow(clause.this, subtype, local))
        group = select.args.get("group")
        if group is not None:
            for key in group.iter_expressions():  # plain keys, and ROLLUP/CUBE/GROUPING SETS
                block.add_rows(self.flow(_positional(key, projections), Indirect.GROUP_BY, local))
        order = select.args.get("order")
        if order is not None and select.args.get("limit") is not None:  # ORDER BY decides rows only with TOP
            for key in order.expressions:
                block.add_rows(self.flow(_positional(key, projections), Indirect.SORT, local))
        for projection in projections:
            if _unexpanded_star(projection):  # columns of a table nobody knows: later positions are unknown too
                break
            flow = self.flow(
                projection.unalias() if isinstance(projection, exp.Alias) else projection, Direct.IDENTITY, local
            )
            if _from_star(projection):
                flow = flow.weakened()
            block.columns.append((projection.alias_or_name, flow))
        return block

    def _register(self, item: exp.Expr, scope: _Scope, block: Block) -> None:
        alias = item.alias_or_name.casefold()
        if isinstance(item, exp.Subquery) or isinstance(item, exp.Query):
            inner_block = self.query(item, scope.parent)
            block.absorb(inner_block)
            scope.sources[alias] = Resolved(block=inner_block)
            return
        if not isinstance(item, exp.Table):
            return
        cte = None if item.db else self._find_cte(item.name.casefold(), scope)
        if cte is not None:
            cte_block = self._cte(cte[0], cte[1])
            if cte_block is not None:
                block.absorb(cte_block)
                scope.sources[alias] = Resolved(block=cte_block)
            return
        resolved = self._resolve(item)
        if resolved.block is not None:
            block.absorb(resolved.block)
            self.reads.update(resolved.block.reads)
        elif resolved.dataset is not None:
            block.reads[resolved.dataset] = None
            self.reads[resolved.dataset] = None
        scope.sources[alias] = resolved

    def _find_cte(self, name: str, scope: _Scope | None) -> tuple[exp.Expr, _Scope] | None:
        while scope is not None:
            if name in scope.ctes:
                return scope.ctes[name], scope
            scope = scope.parent
        return None

    def _join(self, join: exp.Join, scope: _Scope, block: Block) -> None:
        on = join.args.get("on")
        if on is not None:
            block.add_rows(self.flow(on, Indirect.JOIN, scope))
        for name in join.args.get("using") or []:
            flow = ColumnFlow()
            for resolved in scope.sources.values():
                self._add_named(flow, resolved, name.name, Indirect.JOIN, False)
            block.add_rows(flow)

    # --- expressions ------------------------------------------------------------------------------------

    def flow(self, node: exp.Expr, mode: Mode, scope: _Scope) -> ColumnFlow:
        """The inputs of one expression read in `mode`."""
        out = ColumnFlow()
        self._walk(node, mode, out, scope, False)
        return out

    def _walk(self, node: exp.Expr, mode: Mode, out: ColumnFlow, scope: _Scope, masking: bool) -> None:
        if not isinstance(node, exp.Expr):  # a flag where a damaged statement lost its expression
            return
        if isinstance(node, exp.Column):
            self._column(node, mode, out, scope, masking)
        elif isinstance(node, (exp.Subquery, exp.Query)):
            self._subquery(node, mode, out, scope, masking)
        elif isinstance(node, exp.Window):
            self._walk(node.this, mode, out, scope, masking)
            within = mode if isinstance(mode, Indirect) else Indirect.WINDOW
            for key in node.args.get("partition_by") or []:
                self._walk(key, within, out, scope, masking)
            order = node.args.get("order")
            if order is not None:
                self._walk(order, within, out, scope, masking)
        elif isinstance(node, exp.Case):
            self._case(node, mode, out, scope, masking)
        elif isinstance(node, (exp.Alias, exp.Paren, exp.Ordered)):
            self._walk(node.this, mode, out, scope, masking)
        elif is_aggregate(node):
            for child in node.iter_expressions():
                self._walk(child, inner(mode, Direct.AGGREGATION), out, scope, masking)
        else:
            masked = masking or is_masking(node)
            for child in node.iter_expressions():
                self._walk(child, inner(mode, Direct.TRANSFORMATION), out, scope, masked)

    def _case(self, node: exp.Case, mode: Mode, out: ColumnFlow, scope: _Scope, masking: bool) -> None:
        condition = mode if isinstance(mode, Indirect) else Indirect.CONDITIONAL
        value = inner(mode, Direct.TRANSFORMATION)
        operand = node.args.get("this")
        if operand is not None:
            self._walk(operand, condition, out, scope, masking)
        for branch in node.args.get("ifs") or []:
            self._walk(branch.this, condition, out, scope, masking)
            self._walk(branch.args["true"], value, out, scope, masking)
        default = node.args.get("default")
        if default is not None:
            self._walk(default, value, out, scope, masking)

    def _subquery(self, node: exp.Expr, mode: Mode, out: ColumnFlow, scope: _Scope, masking: bool) -> None:
        block = self.query(node, scope)
        if isinstance(mode, Direct) and block.columns:
            # A scalar subquery: its value column is DIRECT, its own row-level inputs shape this column only.
            out.compose(block.columns[0][1], mode, masking)
            for (source, subtype), weak in block.rows.items():
                out.add(source, subtype, weak=weak)
            return
        within = mode if isinstance(mode, Indirect) else Indirect.FILTER
        for _, flow in block.columns:
            out.compose(flow, within)
        for (source, _), weak in block.rows.items():
            out.add(source, within, weak=weak)

    def _column(self, node: exp.Column, mode: Mode, out: ColumnFlow, scope: _Scope, masking: bool) -> None:
        if isinstance(node.this, exp.Star):  # `t.*` of a table whose columns nobody knows: no column to name
            return
        name = node.name
        qualifier = node.table.casefold() if node.table else ""
        current: _Scope | None = scope
        while current is not None:
            if qualifier:
                resolved = current.sources.get(qualifier)
                if resolved is not None:
                    self._add_named(out, resolved, name, mode, masking)
                    return
            elif self._unqualified(out, current, name, mode, masking):
                return
            current = current.parent

    def _unqualified(self, out: ColumnFlow, scope: _Scope, name: str, mode: Mode, masking: bool) -> bool:
        for resolved in scope.sources.values():
            if self._has(resolved, name):
                self._add_named(out, resolved, name, mode, masking)
                return True
        folded = name.casefold()
        alias = scope.aliases.get(folded)
        if alias is not None and folded not in self._walking_alias:
            self._walking_alias.add(folded)
            self._walk(alias, mode, out, scope, masking)
            self._walking_alias.discard(folded)
            return True
        unknown = [r for r in scope.sources.values() if r.dataset is not None and r.table is None]
        if len(unknown) == 1 and len(scope.sources) == 1:
            self._add_named(out, unknown[0], name, mode, masking)
            return True
        return False

    def _has(self, resolved: Resolved, name: str) -> bool:
        if resolved.block is not None:
            return resolved.block.column(name) is not None
        return resolved.table is not None and resolved.table.column(name) is not None

    def _add_named(self, out: ColumnFlow, resolved: Resolved, name: str, mode: Mode, masking: bool) -> None:
        if resolved.block is not None:
            flow = resolved.block.column(name)
            if flow is not None:
                out.compose(flow, mode, masking)
            return
        source = resolved.source_column(name, self._spelling)
        if source is not None:
            out.add(source, mode, masking, resolved.weak or resolved.table is None)


def _alias_columns(node: exp.Expr) -> list[str]:
    alias = node.args.get("alias")
    return [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []


def _indirect(flow: ColumnFlow) -> ColumnFlow:
    """A flow's every input as INDIRECT (for relabelling): DIRECT inputs become FILTER entries."""
    result = ColumnFlow()
    result.compose(flow, Indirect.FILTER)
    return result


def _positional(key: exp.Expr, projections: list[exp.Expr]) -> exp.Expr:
    """`GROUP BY 2` / `ORDER BY 2` name the second projection."""
    if isinstance(key, exp.Ordered):
        key = key.this
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        position = int(key.this)
        if 1 <= position <= len(projections):
            projection = projections[position - 1]
            return projection.unalias() if isinstance(projection, exp.Alias) else projection
    return key


def _unexpanded_star(projection: exp.Expr) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def _from_star(projection: exp.Expr) -> bool:
    """Whether sqlglot's star expansion made this projection (the extractor tags written columns first)."""
    column = projection.unalias() if isinstance(projection, exp.Alias) else projection
    return isinstance(column, exp.Column) and not column.meta.get("written")
