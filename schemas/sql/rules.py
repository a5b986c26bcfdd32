"""The merge rules, once: how each column of a written row meets the row already stored under the same key.

A rule is data (`Merge`: a `Policy` and the columns it compares); schemas.sql.upserts lists one per column of
every table a batch writes (`WRITES`). This module writes each policy's SQL once, as an expression over two
row spellings (`Rows`): the stored row and the incoming one. Each dialect's renderer only names them:
- SQLite and PostgreSQL (schemas.sql.upserts): `OL_RUN.col` and `excluded.col` in INSERT ... ON CONFLICT;
- Teradata (schemas.teradata.sql): `t.col` and `s.col` in MERGE ... USING VALUES (...) AS s.
So a rule changes in one place, and the contract tests (tests/schemas/test_contract.py) hold every backend to it.

CASE is used instead of min()/max()/LEAST/GREATEST, whose NULL handling differs between dialects. Every
expression reads the stored row as it was before the update (standard UPDATE semantics in all three).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from schemas.rows import EventRows
from schemas.sql.params import Params
from schemas.tables import Table


class Policy(StrEnum):
    KEY = "key"  # part of the conflict key: matched on, never updated
    INSERT_ONLY = "insert-only"  # set by the first sighting, never updated
    EARLIEST = "earliest"  # the earlier of stored and incoming; NULL on either side ignored
    LATEST = "latest"  # the later of stored and incoming; NULL on either side ignored
    # A non-NULL incoming value wins when its `time` is not older than the stored row's; NULL never erases, and an
    # older event still fills a column that is NULL.
    NEWER = "newer"
    # The incoming value wins when it is not NULL and its `time` is not older; else the stored value stays (even a
    # NULL one: unlike NEWER, an older sighting fills nothing). A run_id follows the edge's latest sighting.
    FOLLOWS_LATEST = "follows-latest"
    COALESCE = "coalesce"  # the incoming value unless NULL: NULL never erases, whatever the times
    # The run's state (`state` column, ranked START < RUNNING < terminal) and the columns that go with it: the
    # incoming state wins with a higher rank, or the same rank and a later `time`; a state never goes back. At
    # the same rank and time, FAIL beats ABORT beats COMPLETE, whatever the order of arrival: of two terminal
    # states the latest eventTime's wins, and a run reported failed at the instant it completed is not a success.
    RUN_STATE = "run-state"
    RUN_ENDED = "run-ended"  # set when the incoming state wins and brings a value (a terminal state's time)
    # The whole row is replaced when the incoming `time` is not older: NULL is a value (a facet's tombstone).
    NEWER_ROW = "newer-row"


@dataclass(frozen=True, slots=True)
class Merge:
    """One column's rule. `time` names the column NEWER, FOLLOWS_LATEST, RUN_STATE and NEWER_ROW compare;
    `state` the column RUN_STATE ranks; `default` an SQL literal inserted when the incoming value is NULL (the
    update then compares the value as bound, which says whether the event had news)."""

    policy: Policy
    time: str | None = None
    state: str | None = None
    default: str | None = None


KEY = Merge(Policy.KEY)
INSERT_ONLY = Merge(Policy.INSERT_ONLY)
EARLIEST = Merge(Policy.EARLIEST)
LATEST = Merge(Policy.LATEST)
COALESCE = Merge(Policy.COALESCE)
NEWER = Merge(Policy.NEWER, time="updated_at")
RUN_STATE = Merge(Policy.RUN_STATE, time="event_time", state="event_type")
RUN_ENDED = Merge(Policy.RUN_ENDED, time="event_time", state="event_type")


@dataclass(frozen=True, slots=True)
class Sighting:
    """How a table's rows are dated, for the writer's memory (schemas.sql.memory): `times` the columns that carry
    the sighting's time (every row gives them one value: an event's time), `follows` the columns whose value goes
    with the latest sighting rather than with the row's content (an edge's run)."""

    times: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Write:
    """Everything a batch writes into one table: its columns' rules (in bind order) and the parameters each
    event's rows give (one dict per row, keyed by column). `new_only`: the rows are new by construction (OL_EVENT:
    stored ids are filtered first), so a plain INSERT, and a clash is an error rather than a merge. `sighting`:
    the rows are remembered, and left out when the store holds them (None: every row is sent)."""

    table: Table
    rules: Mapping[str, Merge]
    params: Callable[[EventRows], Iterable[Params]]
    new_only: bool = False
    sighting: Sighting | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.rules)

    @property
    def key(self) -> tuple[str, ...]:
        """The conflict key: rows sharing it merge."""
        return tuple(c for c, rule in self.rules.items() if rule.policy is Policy.KEY)

    @property
    def updates(self) -> tuple[str, ...]:
        """The columns a sighting of a stored key may change (empty: the first sighting's row stays)."""
        return tuple(c for c, rule in self.rules.items() if rule.policy not in (Policy.KEY, Policy.INSERT_ONLY))

    @property
    def row_time(self) -> str | None:
        """For a table replaced whole (NEWER_ROW columns), the time that decides; None otherwise."""
        whole = [self.rules[c] for c in self.updates if self.rules[c].policy is Policy.NEWER_ROW]
        if not whole:
            return None
        times = {rule.time for rule in whole}
        if len(whole) != len(self.updates) or len(times) != 1 or None in times:
            raise ValueError(f"{self.table.name}: NEWER_ROW columns must share one time and be the only updates")
        return whole[0].time


def waves(rows: Sequence[Params], key: Sequence[str]) -> list[list[Params]]:
    """The rows split so that no key repeats within a wave: every key's first row, then every second row, and so
    on, so a key's rows keep their batch order across waves. A backend sends each wave as one request (Teradata's
    executemany, PostgreSQL's unnested arrays, where ON CONFLICT DO UPDATE may not reach a stored row twice), and a
    later row of the batch merges onto an earlier one exactly as in two batches, whatever order the database
    applies one request's rows in."""
    seen: dict[tuple[Any, ...], int] = {}
    result: list[list[Params]] = []
    for row in rows:
        identity = tuple(row[c] for c in key)
        wave = seen.get(identity, 0)
        seen[identity] = wave + 1
        if wave == len(result):
            result.append([])
        result[wave].append(row)
    return result


@dataclass(frozen=True, slots=True)
class Rows:
    """How a dialect's statement spells the two rows a merge compares: `old(c)` the stored row's column,
    `new(c)` the incoming row's, and `bound(c)` the incoming value as bound, before any insert default."""

    old: Callable[[str], str]
    new: Callable[[str], str]
    bound: Callable[[str], str]


def aliases(old: str, new: str, bound: Callable[[str], str] | None = None) -> Rows:
    """Rows spelled `old.c` and `new.c`; the bound value is `new.c` unless the dialect says otherwise."""
    return Rows(lambda c: f"{old}.{c}", lambda c: f"{new}.{c}", bound or (lambda c: f"{new}.{c}"))


def _rank(row: Callable[[str], str], state: str) -> str:
    """The run-cycle rank of a state: START 1 < RUNNING 2 < terminal 3; NULL or unknown 0."""
    return (
        f"CASE {row(state)} WHEN 'START' THEN 1 WHEN 'RUNNING' THEN 2 "
        f"WHEN 'COMPLETE' THEN 3 WHEN 'FAIL' THEN 3 WHEN 'ABORT' THEN 3 ELSE 0 END"
    )


def _not_older(rows: Rows, rule: Merge) -> str:
    """The incoming row is not older than the stored one by the rule's time (a stored NULL time is older)."""
    if rule.time is None:
        raise ValueError(f"a {rule.policy} rule compares a time and names none")
    return f"({rows.old(rule.time)} IS NULL OR {rows.new(rule.time)} >= {rows.old(rule.time)})"


def _terminal_order(row: Callable[[str], str], state: str) -> str:
    """Between terminal states at one time: COMPLETE 1 < ABORT 2 < FAIL 3; any other state 0."""
    return f"CASE {row(state)} WHEN 'COMPLETE' THEN 1 WHEN 'ABORT' THEN 2 WHEN 'FAIL' THEN 3 ELSE 0 END"


def _run_wins(rows: Rows, rule: Merge) -> str:
    """The incoming state replaces the stored one: a state at all, and a higher rank, or the same rank and a later
    time (a stored NULL time is older), or the same rank and time and a terminal order not lower."""
    if rule.state is None or rule.time is None:
        raise ValueError(f"a {rule.policy} rule ranks a state column by a time and names none")
    state, time = rule.state, rule.time
    new, old = _rank(rows.new, state), _rank(rows.old, state)
    later = f"({rows.old(time)} IS NULL OR {rows.new(time)} > {rows.old(time)})"
    tie = (
        f"({rows.new(time)} = {rows.old(time)} AND "
        f"{_terminal_order(rows.new, state)} >= {_terminal_order(rows.old, state)})"
    )
    return f"({rows.new(state)} IS NOT NULL AND ({new} > {old} OR ({new} = {old} AND ({later} OR {tie}))))"


# Each policy's expression, over the stored row's column {old}, the incoming row's {new}, the incoming value as
# bound {bound}, and the comparisons {not_older} (by the rule's time) and {run_wins} (by the run-state rank).
_EXPRESSIONS: dict[Policy, str] = {
    Policy.EARLIEST: "CASE WHEN {old} IS NULL OR {new} < {old} THEN {new} ELSE {old} END",
    Policy.LATEST: "CASE WHEN {old} IS NULL OR {new} > {old} THEN {new} ELSE {old} END",
    Policy.NEWER: "CASE WHEN {new} IS NOT NULL AND {not_older} THEN {new} ELSE COALESCE({old}, {new}) END",
    Policy.FOLLOWS_LATEST: "CASE WHEN {bound} IS NOT NULL AND {not_older} THEN {bound} ELSE {old} END",
    Policy.COALESCE: "COALESCE({new}, {old})",
    Policy.RUN_STATE: "CASE WHEN {run_wins} THEN {new} ELSE {old} END",
    Policy.RUN_ENDED: "CASE WHEN {run_wins} AND {new} IS NOT NULL THEN {new} ELSE {old} END",
    Policy.NEWER_ROW: "{new}",  # the whole row, under `row_guard`
}


def assignment(column: str, rule: Merge, rows: Rows) -> str:
    """`column = <expression>` applying `rule` when an incoming row meets the stored one."""
    expression = _EXPRESSIONS.get(rule.policy)
    if expression is None:
        raise ValueError(f"{column}: a {rule.policy} column is never updated")
    pieces = {"old": rows.old(column), "new": rows.new(column), "bound": rows.bound(column)}
    if "{not_older}" in expression:
        pieces["not_older"] = _not_older(rows, rule)
    if "{run_wins}" in expression:
        pieces["run_wins"] = _run_wins(rows, rule)
    return f"{column} = {expression.format(**pieces)}"


def row_guard(write: Write, rows: Rows) -> str | None:
    """For a table replaced whole: the condition under which the incoming row replaces the stored one."""
    time = write.row_time
    return None if time is None else _not_older(rows, Merge(Policy.NEWER_ROW, time=time))


def insert_value(rule: Merge, value: str) -> str:
    """What a first sighting inserts: the incoming `value` (as the dialect spells it), or the rule's default."""
    return value if rule.default is None else f"COALESCE({value}, {rule.default})"
