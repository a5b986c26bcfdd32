"""`lineage` as a user runs it: schema commands, config, and ingesting the real events of ../shared/events."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from ingest.cli import main
from schemas.rows import EventRows
from schemas.sqlite.store import SqliteStore
from schemas.store import StoreUnavailable, WriteOutcome
from tests.conftest import EVENTS_DIR, complete_event_files, event_files, load_event, shared_event

SEED_TABLES = (
    "OL_NAMESPACE",
    "OL_DATASET",
    "OL_DATASET_FIELD",
    "OL_JOB",
    "OL_RUN",
    "OL_RUN_INPUT",
    "OL_RUN_OUTPUT",
    "OL_COLUMN_LINEAGE",
    "OL_SCHEMA_VERSION",
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean working directory whose default store is ./lineage.db, with no stray settings."""
    for name in ("LINEAGE_STORE", "TERADATA_HOST", "TD_HOST", "LINEAGE_VALIDATION", "API_PORT", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def outcome_lines(output: str, kind: str) -> dict[str, str]:
    """origin -> message for every `origin: kind: message` line of the ingest report."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        match = re.match(rf"(.+?): {kind}: (.*)$", line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


def counts(output: str) -> tuple[int, int, int]:
    """(committed, duplicate, rejected) of a report in which nothing failed."""
    committed, duplicate, rejected, failed = all_counts(output)
    assert failed == 0, output
    return committed, duplicate, rejected


def all_counts(output: str) -> tuple[int, int, int, int]:
    match = re.search(r"committed (\d+), duplicate (\d+), rejected (\d+), failed (\d+)", output)
    assert match, output
    committed, duplicate, rejected, failed = (int(g) for g in match.groups())
    return committed, duplicate, rejected, failed


def test_schema_create_status_and_repeat(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "schema", "status")
    assert code == 1 and "pending  1  initial_openlineage_schema" in out
    code, out = run(capsys, "schema", "create")
    assert code == 0 and "schema at version 2" in out
    code, out = run(capsys, "schema", "create")
    assert code == 0 and "nothing to do" in out
    code, out = run(capsys, "schema", "upgrade")
    assert code == 0 and "nothing to do" in out
    code, out = run(capsys, "schema", "status")
    assert code == 0 and "applied  2  event_ingestion" in out
    tables = {row[0] for row in sqlite3.connect(workdir / "lineage.db").execute("SELECT name FROM sqlite_master")}
    assert set(SEED_TABLES) <= tables


def test_schema_ddl_teradata_names_every_seed_table(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "schema", "ddl", "--dialect", "teradata")
    assert code == 0
    for table in SEED_TABLES:
        assert re.search(rf"CREATE MULTISET TABLE \S*{table} \(", out), table


def test_config_masks_passwords(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERADATA_PASSWORD", "hunter2")
    (workdir / ".env").write_text("API_PORT=9090\n")
    code, out = run(capsys, "config")
    assert code == 0 and "hunter2" not in out
    assert re.search(r"TERADATA_PASSWORD\s+\*\*\*\s+\[environment\]", out)
    assert re.search(r"API_PORT\s+9090\s+\[\.env\]", out)


def test_bad_setting_stops_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_PORT", "eighty")
    assert main(["config"]) == 2
    assert capsys.readouterr().err == "lineage: bad setting: API_PORT='eighty': not an integer (from the environment)\n"


def test_ingest_every_sample_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in event_files()]
    code, out = run(capsys, "ingest", *files)
    rejected, warned = outcome_lines(out, "rejected"), outcome_lines(out, "warning")
    assert code == 1  # some files are deliberately bad

    for path in complete_event_files():
        assert str(path) not in rejected, rejected.get(str(path))
    malformed = EVENTS_DIR / "MALFORMED__fluentd__event_"
    assert rejected[f"{malformed}no_run_id.json"].startswith("run.runId: ")
    assert rejected[f"{malformed}invalid_run_facet.json"].startswith("run.facets.parent.run.runId: ")
    for kept, facet in [
        ("invalid_job_facet", "job.facets.ownership"),
        ("invalid_dataset_facet", ".facets.ownership"),
        ("invalid_input_dataset_facet", "inputs[0].inputFacets.dataQualityMetrics"),
        ("invalid_output_dataset_facet", "outputs[0].outputFacets.outputStatistics"),
    ]:
        origin = f"{malformed}{kept}.json"
        assert origin not in rejected
        assert facet in warned[origin], warned[origin]
    for path in event_files("TEMPLATE__") + event_files("FACET__"):
        assert any(origin.startswith(str(path)) for origin in rejected), path
        assert not any(origin.startswith(str(path)) for origin in warned), path

    accepted, duplicate, _ = counts(out)
    assert accepted == len(complete_event_files()) + 4 and duplicate == 0

    code, again = run(capsys, "ingest", *files)
    assert counts(again) == (0, accepted, counts(out)[2])


def test_ingest_strict_rejects_every_malformed_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    malformed = event_files("MALFORMED__")
    code, out = run(capsys, "ingest", "--strict", *[str(p) for p in malformed])
    assert code == 1 and counts(out) == (0, 0, len(malformed))


def test_ingest_rows_land_in_the_store(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "ingest", str(shared_event("spark_dataproc__hive_insert_complete_symlinks_cll__4.json")))
    assert code == 0 and counts(out) == (1, 0, 0)
    db = sqlite3.connect(workdir / "lineage.db")
    assert db.execute("SELECT COUNT(*) FROM OL_EVENT").fetchone() == (1,)
    assert db.execute("SELECT COUNT(*) FROM OL_COLUMN_LINEAGE").fetchone()[0] > 0
    assert db.execute("SELECT event_type FROM OL_RUN WHERE job_id IS NOT NULL AND event_type IS NOT NULL").fetchall()


def test_unreadable_and_invalid_json_files_are_rejected(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "broken.json").write_text("{not json")
    (workdir / "lines.jsonl").write_text('\n{"eventTime": 1}\n[1,\n')
    code, out = run(capsys, "ingest", "broken.json", "lines.jsonl", "missing.json")
    rejected = outcome_lines(out, "rejected")
    assert code == 1 and counts(out) == (0, 0, 4)
    assert rejected["broken.json"].startswith("not valid JSON")
    assert "lines.jsonl:2" in rejected and rejected["lines.jsonl:3"].startswith("not valid JSON")
    assert rejected["missing.json"].startswith("cannot read the file")


def distinct_run_events(path: Path, count: int) -> Path:
    """`count` distinct events as one .jsonl file: the sample run events of ../shared/events in turn, each
    copy with a run id of its own (an event's identity is its content). The same file on every call."""
    templates = [e for f in complete_event_files() if isinstance(e := load_event(f.name), dict) and "run" in e]
    lines = []
    for index in range(count):
        template = templates[index % len(templates)]
        run = {**template["run"], "runId": str(uuid.uuid5(uuid.NAMESPACE_OID, str(index)))}
        lines.append(orjson.dumps({**template, "run": run}))
    path.write_bytes(b"\n".join(lines))
    return path


def test_a_store_failing_midway_keeps_the_committed_batches_and_a_rerun_completes(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = distinct_run_events(workdir / "events.jsonl", 1200)  # batches of 500, 500 and 200
    writes = 0
    write_batch = SqliteStore.write_batch

    def failing_from_the_third(self: SqliteStore, batch: Sequence[EventRows]) -> list[WriteOutcome]:
        nonlocal writes
        writes += 1
        if writes >= 3:
            raise StoreUnavailable("disk I/O error")
        return write_batch(self, batch)

    monkeypatch.setattr(SqliteStore, "write_batch", failing_from_the_third)
    code = main(["ingest", str(events)])
    captured = capsys.readouterr()
    assert code == 2
    assert all_counts(captured.out) == (1000, 0, 0, 200)
    assert "stopped early, the store is unavailable: disk I/O error" in captured.err
    assert set(outcome_lines(captured.out, "failed").values()) == {
        "not written: the store is unavailable: disk I/O error"
    }
    db = workdir / "lineage.db"
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM OL_EVENT").fetchone() == (1000,)

    monkeypatch.setattr(SqliteStore, "write_batch", write_batch)  # the store works again
    code, out = run(capsys, "ingest", str(events))
    assert code == 0 and counts(out) == (200, 1000, 0)
    assert sqlite3.connect(db).execute("SELECT COUNT(DISTINCT run_id) FROM OL_EVENT").fetchone() == (1200,)


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"lineage \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_a_bad_value_names_the_file_it_came_from(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / ".env").write_text("LINEAGE_WORKERS=0\n")
    assert main(["config"]) == 2
    assert capsys.readouterr().err == (
        "lineage: bad setting: LINEAGE_WORKERS='0': must be between 1 and 64 (from .env)\n"
    )
    monkeypatch.setenv("PORT", "eighty")  # a legacy alias: the error says which name held it
    assert main(["config"]) == 2
    assert "API_PORT='eighty': not an integer (from the environment (PORT))" in capsys.readouterr().err


def test_schema_ddl_into_a_reader_that_left_exits_quietly(workdir: Path) -> None:
    """`lineage schema ddl | head`: the reader may close the pipe before the DDL is written; here it closes it
    before the command starts writing, so the command meets the closed pipe every time."""
    lineage = Path(sys.executable).parent / "lineage"
    process = subprocess.Popen([lineage, "schema", "ddl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    code = process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert stderr == ""
    assert code == 128 + signal.SIGPIPE  # as a Unix tool killed by SIGPIPE
