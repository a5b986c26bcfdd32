"""The README's and the operations guide's `lineage` commands, run as written in a fresh directory."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.olclient import write_event_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", ROOT / "docs" / "operations_guide.md")
BIN = Path(sys.executable).parent


def documented_commands(path: Path) -> list[str]:
    """Every `lineage ...` line of the document's sh blocks except `lineage serve` (it runs until stopped)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith("lineage ") and not command.startswith("lineage serve"):
                commands.append(command)
    return commands


def test_guide_sections_in_deployment_order() -> None:
    text = DOCS[1].read_text(encoding="utf-8")
    sections = re.findall(r"^## \d+\. (.+)$", text, flags=re.M)
    assert sections == [
        "Prerequisites",
        "Installation",
        "Configuration",
        "Database Setup",
        "Running the Application",
        "Production Deployment",
        "Architecture",
        "Troubleshooting",
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_documented_commands_work_as_written(doc: Path, tmp_path: Path) -> None:
    commands = documented_commands(doc)
    assert commands, f"{doc.name} shows no lineage command"
    write_event_file(tmp_path / "ol-events" / "events.jsonl")
    write_sql_example(tmp_path / "sql")
    write_dbql_example(tmp_path / "dbql")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "TERADATA_", "TD_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"{doc.name}: `{command}` exited {done.returncode}: {done.stderr}{done.stdout}"


SQL_EXAMPLE = """\
.LOGON tdprod/etl_user,secret
CREATE VOLATILE TABLE vt_day AS (
  SELECT customer_id, SUM(amount) AS amount FROM STG.Orders WHERE status = 'OK' GROUP BY customer_id
) WITH DATA ON COMMIT PRESERVE ROWS;
INSERT INTO Sales_Daily (customer_id, amount) SELECT customer_id, amount FROM vt_day;
.QUIT 0
"""

SQL_CATALOG = """\
DatabaseName,TableName,TableKind,ColumnName,ColumnId,ColumnType,ColumnLength,DecimalTotalDigits,DecimalFractionalDigits,Nullable,CommentString
STG,Orders,T,customer_id,1025,I,4,,,N,
STG,Orders,T,amount,1026,D,8,18,2,Y,
STG,Orders,T,status,1027,CV,10,,,Y,
EDW,Sales_Daily,T,customer_id,1025,I,4,,,N,
EDW,Sales_Daily,T,amount,1026,D,8,18,2,Y,
"""


def write_sql_example(folder: Path) -> None:
    """The files the guide's `lineage populate sql` commands read (Population methods, SQL files)."""
    folder.mkdir()
    (folder / "load_sales.sql").write_text(SQL_EXAMPLE, encoding="utf-8")
    (folder / "catalog.csv").write_text(SQL_CATALOG, encoding="utf-8")


def write_dbql_example(folder: Path) -> None:
    """The DBQL export the guide's `lineage populate dbql --from-export` commands read (Population methods, DBQL):
    one INSERT ... SELECT whose text spans two SqlRowNo rows, and one query whose text has not come yet."""
    from ingest.populate.teradata.dbql import COLUMNS

    folder.mkdir()
    columns = "customer_id, amount"
    text = f"INSERT INTO EDW.Sales_Daily ({columns}) SELECT customer_id, SUM(amount) FROM STG.Orders GROUP BY 1;"
    log = {"QueryID": "307188741412345001", "CollectTimeStamp": "2024-06-01 10:00:00", "SessionID": "4711",
           "UserName": "ETL_USER", "DefaultDatabase": "EDW", "StatementType": "Insert", "ErrorCode": "0"}  # fmt: skip
    rows = [{**log, "SqlRowNo": "1", "SqlTextInfo": text[:40]}, {**log, "SqlRowNo": "2", "SqlTextInfo": text[40:]},
            {**log, "QueryID": "307188741412345002", "CollectTimeStamp": "2024-06-01 10:01:00"}]  # fmt: skip
    with (folder / "dbql-export.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
