"""The tdsql scorer's reading of events and expectations (../shared/tdsql/README.md, "What the scorer expects")."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.populate.teradata.catalog import Catalog

Pair = tuple[str, str]  # (target DB.T.col, source DB.S.col), case-folded
Kind = tuple[str, str]  # (TYPE, SUBTYPE)


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path
    sql: str
    catalog: Catalog
    expected: Mapping[str, Any]

    @classmethod
    def load(cls, folder: Path) -> Case:
        return cls(
            folder.name,
            folder,
            (folder / "case.sql").read_text(encoding="utf-8"),
            Catalog.from_csv(folder / "catalog.csv"),
            json.loads((folder / "expected.json").read_text(encoding="utf-8")),
        )


def event_edges(events: Iterable[Mapping[str, Any]]) -> dict[Pair, set[Kind]]:
    """Every edge the events' columnLineage facets state: fields' inputFields per transformation, and each
    dataset-level entry once per transformation for each column named in `fields`."""
    edges: dict[Pair, set[Kind]] = {}
    for event in events:
        for output in event.get("outputs", []):
            facet = output.get("facets", {}).get("columnLineage")
            if not facet:
                continue
            target = output["name"]
            for column, entry in facet["fields"].items():
                for item in entry["inputFields"]:
                    pair = _pair(f"{target}.{column}", f"{item['name']}.{item['field']}")
                    for t in item.get("transformations", []):
                        edges.setdefault(pair, set()).add((t["type"], t["subtype"]))
            for item in facet.get("dataset", []):
                for column in facet["fields"]:
                    pair = _pair(f"{target}.{column}", f"{item['name']}.{item['field']}")
                    for t in item.get("transformations", []):
                        edges.setdefault(pair, set()).add((t["type"], t["subtype"]))
    return edges


def _pair(target: str, source: str) -> Pair:
    return (target.casefold(), source.casefold())


@dataclass(frozen=True)
class Expected:
    typed: dict[Pair, set[Kind]]
    untyped: set[Pair]

    @property
    def pairs(self) -> set[Pair]:
        return set(self.typed) | self.untyped


def expected_edges(case: Case) -> Expected:
    """The expected edges with `DB.T.*` targets expanded from the case's catalog."""
    typed: dict[Pair, set[Kind]] = {}
    untyped: set[Pair] = set()
    for edge in case.expected["edges"]:
        for target in _expand(edge["target"], case.catalog):
            pair = _pair(target, edge["source"])
            if edge.get("typed", True):
                typed.setdefault(pair, set()).add((edge["type"], edge["subtype"]))
            else:
                untyped.add(pair)
    return Expected(typed, untyped)


def _expand(target: str, catalog: Catalog) -> list[str]:
    if not target.endswith(".*"):
        return [target]
    db, name = target[:-2].split(".", 1)
    table = catalog.table(db, name)
    assert table is not None, f"{target}: not in the case's catalog"
    return [f"{table.qualified}.{c.name}" for c in table.columns]


def differences(expected: Expected, found: Mapping[Pair, set[Kind]]) -> list[str]:
    """What makes the case imperfect: missing or extra pairs, classifications that disagree."""
    problems = [f"missing {t} <- {s}" for t, s in sorted(expected.pairs - set(found))]
    problems += [f"extra {t} <- {s} {sorted(found[(t, s)])}" for t, s in sorted(set(found) - expected.pairs)]
    for pair, kinds in sorted(expected.typed.items()):
        reported = found.get(pair, set())
        if pair not in found:
            continue
        wanted = kinds if pair in expected.untyped else kinds
        missing = wanted - reported
        extra = set() if pair in expected.untyped else reported - kinds
        if missing or extra:
            problems.append(f"types {pair[0]} <- {pair[1]}: expected {sorted(kinds)}, reported {sorted(reported)}")
    return problems
