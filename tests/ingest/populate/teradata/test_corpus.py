"""The tdsql corpora, case by case: the extractor's events give exactly the expected edges and types.

Two corpora of the same format (../shared/tdsql/README.md): the visible sample in ../shared/tdsql/cases and
ours in cases/ beside this file, each case written by hand with its lineage worked out before running the
extractor. Scoring as the README's: pairs compared case-insensitively, `DB.T.*` expanded from the catalog,
an untyped expected pair accepts any classification.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import orjson
import pytest

from ingest.events import Accepted, prepare
from ingest.populate.teradata.extract import Extractor, Request, extract_script
from tests.ingest.populate.teradata.scoring import Case, differences, event_edges, expected_edges

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[4] / "shared" / "tdsql" / "cases"
OURS = HERE / "cases"


def case_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def check(folder: Path) -> None:
    case = Case.load(folder)
    events, extractor = extract_script(
        case.sql,
        catalog=case.catalog,
        namespace="teradata://tdprod:1025",
        origin=f"{folder.name}/case.sql",
        event_time="2024-06-03T02:00:00.000Z",
        default_database=case.expected.get("default_database"),
    )
    problems = differences(expected_edges(case), event_edges(events))
    assert not problems, "\n".join(problems)
    assert extractor.counts.events == len(events)
    for event in events:  # what the ingestion path would make of them, with the strictest validation
        result = prepare(event, orjson.dumps(event).decode(), strict=True, received_at="2024-06-03 02:00:00.000000")
        assert isinstance(result, Accepted) and not result.warnings, result


@pytest.mark.parametrize("folder", case_folders(SHARED), ids=lambda p: p.name)
def test_visible_case(folder: Path) -> None:
    check(folder)


@pytest.mark.parametrize("folder", case_folders(OURS), ids=lambda p: p.name)
def test_own_case(folder: Path) -> None:
    check(folder)


def test_the_corpora_are_there() -> None:
    """Parametrised on nothing, the tests above would pass quietly: the visible one needs ../shared."""
    assert len(case_folders(OURS)) >= 40
    if not case_folders(SHARED):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the visible tdsql corpus is missing: {SHARED}")
        pytest.skip(f"the visible tdsql corpus is missing: {SHARED}")


@pytest.mark.parametrize("folder", case_folders(SHARED) + case_folders(OURS), ids=lambda p: p.name)
def test_damaged_text_never_stops_the_extractor(folder: Path) -> None:
    """Cut, shuffled or salted copies of each case: statements fail one by one, the extractor carries on."""
    case = Case.load(folder)
    chance = random.Random(folder.name)
    for attempt in range(6):
        text = case.sql
        i = chance.randrange(len(text))
        j = min(len(text), i + chance.randrange(1, 40))
        if attempt % 3 == 0:
            text = text[:i]
        elif attempt % 3 == 1:
            text = text[:i] + text[i:j][::-1] + text[j:]
        else:
            text = text[:i] + chance.choice([" (", ") ", ",", " SELECT ", " FROM ", "'", '"', ";", " ON "]) + text[i:]
        extractor = Extractor(case.catalog, "teradata://tdprod:1025")
        events = extractor.extract(Request(text, folder.name, "2024-06-03T02:00:00.000Z", None, "s"))
        assert extractor.counts.events == len(events)
        assert "extractor error" not in extractor.counts.failed, extractor.failures
