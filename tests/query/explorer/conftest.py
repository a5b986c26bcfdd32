"""A real browser for the explorer's tests: Playwright driving Debian's Chromium.

Playwright cannot download its own browsers on these machines, so it launches the system's `chromium` through
`executable_path`. Without one the browser tests skip with the reason, except under CI=true (where .ci/run
installs it), where they fail. Playwright's synchronous API runs an event loop of its own in the test thread
while it is open, which the async tests of pytest-aiohttp cannot share: so Playwright is started and stopped
per test module here (pytest-playwright's session-wide fixture kept it open for the rest of the run and broke
every async test after it). `served` is a real `lineage serve` on a SQLite file loaded with the demo and the
shared events; screenshots go to test-results/explorer/ (LINEAGE_TEST_ARTIFACTS overrides test-results).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import complete_event_files
from tests.ingest.processes import LINEAGE, Server, environment, serving

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium() -> str:
    """The system browser's path; skips (fails under CI=true) when there is none."""
    for candidate in (os.environ.get("LINEAGE_TEST_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    message = "no Chromium found (Debian's `chromium` package; or set LINEAGE_TEST_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run under CI=true, and {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def load(env: dict[str, str], cwd: Path) -> None:
    """The demo and every complete shared event, through the real CLI."""
    subprocess.run([LINEAGE, "schema", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True)
    subprocess.run([LINEAGE, "populate", "demo"], env=env, cwd=cwd, check=True, capture_output=True)
    files = [str(p) for p in complete_event_files()]
    subprocess.run([LINEAGE, "ingest", *files], env=env, cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("explorer")
    load(environment(folder, REDIS_ADDR=""), folder)
    with serving(folder, REDIS_ADDR="") as server:
        yield server


@pytest.fixture
def shots(pytestconfig: pytest.Config) -> Path:
    """Where this run's screenshots go."""
    folder = Path(os.environ.get("LINEAGE_TEST_ARTIFACTS", pytestconfig.rootpath / "test-results")) / "explorer"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
