"""query reads through the Store protocol and never imports ingest (DESIGN.md's layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import query

QUERY_DIR = Path(query.__file__).parent


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def test_query_never_imports_ingest() -> None:
    modules = sorted(QUERY_DIR.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        offending = {m for m in imported_modules(path) if m == "ingest" or m.startswith("ingest.")}
        assert not offending, f"{path.name} imports {offending}"


def test_query_reads_only_through_the_store_protocol() -> None:
    for path in QUERY_DIR.glob("*.py"):
        backends = {m for m in imported_modules(path) if m in ("schemas.sqlite", "schemas.sqlite_reads", "sqlite3")}
        assert not backends, f"{path.name} reaches past the Store protocol: {backends}"
