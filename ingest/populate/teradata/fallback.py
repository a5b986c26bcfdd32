"""Table-level lineage by pattern for a statement that did not parse (confidence 0.60). Pure.

Only the written table (after INSERT INTO, UPDATE, MERGE INTO, CREATE ... TABLE, CREATE/REPLACE VIEW) and
the tables after FROM, JOIN and USING are found; comments are removed first, so names in them are not.
"""

from __future__ import annotations

import re

from ingest.populate.teradata.script import strip_comments

Name = tuple[str | None, str]  # (database or None, table), as written

_NAME = r"((?:\"[^\"]+\"|[A-Za-z_$#][\w$#]*)(?:\s*\.\s*(?:\"[^\"]+\"|[A-Za-z_$#][\w$#]*))?)"
_TARGETS = (
    ("insert", re.compile(rf"^\s*(?:INSERT|INS)\s+(?:INTO\s+)?{_NAME}", re.IGNORECASE)),
    ("update", re.compile(rf"^\s*(?:UPDATE|UPD)\s+{_NAME}", re.IGNORECASE)),
    ("merge", re.compile(rf"^\s*(?:MERGE|MG)\s+(?:INTO\s+)?{_NAME}", re.IGNORECASE)),
    ("view", re.compile(rf"^\s*(?:CREATE|REPLACE)\s+(?:RECURSIVE\s+)?VIEW\s+{_NAME}", re.IGNORECASE)),
    ("create_table", re.compile(rf"^\s*(?:CREATE|CT)\s+(?:\w+\s+){{0,4}}?TABLE\s+{_NAME}", re.IGNORECASE)),
)
_SOURCES = re.compile(rf"\b(?:FROM|JOIN|USING)\s+{_NAME}", re.IGNORECASE)
_NOT_TABLES = frozenset({"SELECT", "SEL"})  # FROM (SELECT ...) is a derived table, not a name


def target_kind(text: str) -> str:
    """The statement kind a pattern sees at the start of `text` (for the job name of a table-level event)."""
    body = strip_comments(text)
    return next((kind for kind, pattern in _TARGETS if pattern.search(body)), "statement")


def tables_by_pattern(text: str) -> tuple[Name | None, list[Name]]:
    """The written table and the read ones; an UPDATE's alias (`UPDATE s FROM db.t s`) names its table."""
    body = strip_comments(text)
    target = None
    for _, pattern in _TARGETS:
        match = pattern.search(body)
        if match:
            target = _split(match.group(1))
            break
    sources = [_split(m.group(1)) for m in _SOURCES.finditer(body)]
    sources = [s for s in sources if s[1].upper() not in _NOT_TABLES]
    if target is not None and target[0] is None:
        for db, name in sources:
            alias = rf"{re.escape(db or '')}\s*\.\s*{re.escape(name)}\s+(?:AS\s+)?{re.escape(target[1])}\b"
            if db is not None and re.search(alias, body, re.IGNORECASE):
                return (db, name), sources
    return target, sources


def _split(name: str) -> Name:
    parts = [p.strip().strip('"') for p in name.split(".")]
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
