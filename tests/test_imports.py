"""The house rules of DESIGN.md's layout, over every module of every package (imports inside functions too):
schemas imports nothing of ours, query never imports ingest nor a backend, ingest/events does no I/O."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ("sqlite3", "teradatasql", "psycopg", "psycopg_pool", "redis")


@dataclass(frozen=True)
class Rule:
    package: str  # dotted package whose modules (recursively) the rule covers
    forbidden: tuple[str, ...]  # module names; a name forbids itself and everything below it
    why: str


RULES = (
    Rule("schemas", ("ingest", "query", "tests"), "the data layer imports nothing of ingest or query"),
    Rule("query", ("ingest", "tests"), "query never imports ingest (only ingest.http mounts query's routes)"),
    Rule(
        "query",
        ("schemas.sqlite", "schemas.teradata", "schemas.postgresql", *DRIVERS[:-1]),
        "query reads only through the Store protocol",
    ),
    Rule(
        "ingest.events",
        (
            "aiohttp",
            *DRIVERS,
            "ingest.http",
            "ingest.writing",
            "ingest.populate",
            "schemas.sqlite",
            "schemas.teradata",
            "schemas.postgresql",
        ),
        "ingest/events is pure: no aiohttp, no database driver, no other stage",
    ),
    Rule("ingest", ("tests",), "the packages never import the tests"),
)


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(root: Path, path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved; `from a import b` counts as a and a.b."""
    here = module_name(root, path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def violations(root: Path, rule: Rule) -> list[str]:
    folder = root.joinpath(*rule.package.split("."))
    modules = sorted(folder.rglob("*.py"))
    if not modules:
        raise AssertionError(f"no module under {folder}: the rule for {rule.package} checks nothing")
    found = []
    for path in modules:
        for name in sorted(imported_modules(root, path)):
            if any(name == f or name.startswith(f + ".") for f in rule.forbidden):
                found.append(f"{path.relative_to(root)} imports {name}: {rule.why}")
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.package}-{r.forbidden[0]}")
def test_house_rules_hold(rule: Rule) -> None:
    assert violations(ROOT, rule) == []


def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    """The checker itself: a nested module that breaks each kind of rule, relative and lazy imports included."""
    (tmp_path / "schemas" / "deep").mkdir(parents=True)
    (tmp_path / "schemas" / "__init__.py").write_text("")
    (tmp_path / "schemas" / "deep" / "__init__.py").write_text("")
    (tmp_path / "schemas" / "deep" / "bad.py").write_text("def f():\n    from ingest.http import app\n")
    (tmp_path / "ingest" / "events").mkdir(parents=True)
    (tmp_path / "ingest" / "__init__.py").write_text("")
    (tmp_path / "ingest" / "events" / "__init__.py").write_text("from ..http import receiver\nimport aiohttp\n")
    schemas_rule, events_rule = RULES[0], RULES[3]
    assert violations(tmp_path, schemas_rule) == [
        "schemas/deep/bad.py imports ingest.http: the data layer imports nothing of ingest or query",
        "schemas/deep/bad.py imports ingest.http.app: the data layer imports nothing of ingest or query",
    ]
    caught = violations(tmp_path, events_rule)
    assert any("imports aiohttp" in v for v in caught)
    assert any("imports ingest.http" in v for v in caught)
