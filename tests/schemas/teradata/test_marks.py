"""Every statement of a population source's progress (schemas.sql.marks) as the Teradata store sends it: parsed with
sqlglot's Teradata dialect, one `?` per bound value, time parameters cast, tables qualified."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from schemas.sql import marks
from schemas.teradata.sql import bind_sql

STATEMENTS = {name: getattr(marks, name) for name in dir(marks) if name.isupper() and name != "TIME_PARAMS"}
KINDS = {"SELECT": exp.Select, "INSERT": exp.Insert, "UPDATE": exp.Update, "DELETE": exp.Delete}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_mark_statement_parses_as_teradata_with_a_value_per_marker(name: str) -> None:
    shared = STATEMENTS[name]
    params = {param: f"value of {param}" for param in re.findall(r":(\w+)", shared)}
    text, values = bind_sql(shared, params, "lineage_db")
    parsed = sqlglot.parse_one(text, read="teradata")
    assert isinstance(parsed, KINDS[shared.split(" ", 1)[0]]), text
    assert text.count("?") == len(values) == len(re.findall(r":\w+", shared))
    assert re.findall(r"\blineage_db\.OL_POPULATE_(?:MARK|PENDING)\b", text)
    assert not re.search(r"\bOL_POPULATE_\w+", text.replace("lineage_db.OL_POPULATE", ""))
    for param in marks.TIME_PARAMS & set(params):
        assert "CAST(? AS TIMESTAMP(6))" in text, param
