"""The vocabulary of column lineage: OpenLineage's transformation types, their strength, and what a
function is. Pure.

A DIRECT source's value flows into the target; along a chain (a CTE, a volatile table, a MERGE's two
branches) the strongest subtype wins: AGGREGATION over TRANSFORMATION over IDENTITY. An INDIRECT source
shapes the target without being its value: row-level subtypes (JOIN, FILTER, GROUP_BY, SORT) affect every
column a statement writes; column-level ones (CONDITIONAL, WINDOW) only the column whose expression holds
them. Confidence follows the seed's scale.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from sqlglot import exp


class Direct(IntEnum):
    """DIRECT subtypes, ordered by strength: max() of two is the one a chain keeps."""

    IDENTITY = 1  # copied unchanged
    TRANSFORMATION = 2  # computed without aggregating
    AGGREGATION = 3  # under an aggregate


class Indirect(StrEnum):
    """INDIRECT subtypes."""

    JOIN = "JOIN"  # a join condition (row-level)
    FILTER = "FILTER"  # WHERE, HAVING, QUALIFY (row-level)
    GROUP_BY = "GROUP_BY"  # a grouping key (row-level)
    SORT = "SORT"  # ORDER BY (row-level)
    WINDOW = "WINDOW"  # PARTITION BY / ORDER BY of a window in the select list (column-level)
    CONDITIONAL = "CONDITIONAL"  # a CASE condition or simple-CASE operand (column-level)


Mode = Direct | Indirect  # how the expression being walked relates to the target column


class Confidence:
    """The confidence_score of an edge (OL_COLUMN_LINEAGE), as the seed application scored them."""

    IDENTITY = 0.95  # resolved against the catalog, copied unchanged
    RESOLVED = 0.85  # resolved against the catalog, any other transformation
    WEAK = 0.70  # resolved only through `*`, a guessed database, or a table the catalog does not know
    TABLE_LEVEL = 0.60  # the statement did not parse: datasets found by pattern, no column edges


# Teradata's hash functions: the value does not survive (OpenLineage's masking flag).
MASKING_FUNCTIONS = frozenset({"HASHROW", "HASHBUCKET", "HASHAMP", "HASHBAKAMP"})


def is_masking(node: exp.Expr) -> bool:
    """Whether `node` is a call of one of MASKING_FUNCTIONS."""
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper() in MASKING_FUNCTIONS
    return isinstance(node, exp.Func) and node.sql_name().upper() in MASKING_FUNCTIONS


def is_aggregate(node: exp.Expr) -> bool:
    """An aggregate function (SUM, MAX, AVG, COUNT, ...), whether or not it is windowed."""
    return isinstance(node, exp.AggFunc)


def inner(mode: Mode, direct: Direct) -> Mode:
    """The mode for the operands of an expression that is at least `direct` (a function: TRANSFORMATION,
    an aggregate: AGGREGATION); an INDIRECT mode stays what it is."""
    return max(mode, direct) if isinstance(mode, Direct) else mode


def confidence(subtype: Direct | Indirect, weak: bool) -> float:
    """0.95 resolved IDENTITY, 0.85 resolved other, 0.70 weak (see Confidence)."""
    if weak:
        return Confidence.WEAK
    return Confidence.IDENTITY if subtype is Direct.IDENTITY else Confidence.RESOLVED
