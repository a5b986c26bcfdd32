"""The image, built and run with the operations guide's recipe (its "Container image" section: deploy/build-image.sh,
then its `podman run` line with a free port, a volume and a name of the test's own): it answers /health, its
HEALTHCHECK passes, an event posted is read back, and SIGTERM stops it cleanly with the store on its volume.

It needs root, podman and debootstrap (`apt-get install -y podman buildah debootstrap runc`) and skips with its
reason without them. A first build takes minutes (the base system, then pip inside the build); later ones reuse
podman's layer cache in LINEAGE_IMAGE_WORK.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.ingest.http.test_metrics_workers import event
from tests.ingest.processes import free_port, get, post_json

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "operations_guide.md"
WORK = Path("/var/tmp/lineage-image")  # build-image.sh's default, which the recipe uses
IMAGE = "localhost/lineage-server:latest"
BUILD_SECONDS = 1500


def recipe() -> list[str]:
    """The lines of the guide's image recipe (the console block of its "Container image" section)."""
    section = GUIDE.read_text(encoding="utf-8").split("### Container image", 1)[1].split("\n### ", 1)[0]
    blocks = section.split("```console\n")
    return blocks[-1].split("```", 1)[0].strip().splitlines()


def documented_run(name: str, port: int, volume: str) -> list[str]:
    """The recipe's `podman run` arguments, with the test's own container name, port and volume."""
    (line,) = [line for line in recipe() if line.startswith("podman run ")]
    wanted = {"--name": "lineage", "API_PORT": "8080", "volume": "lineage-data:/var/lib/lineage"}
    assert f"--name {wanted['--name']} " in line and f"-e API_PORT={wanted['API_PORT']} " in line, line
    assert f"-v {wanted['volume']} " in line and line.endswith(f" {IMAGE}"), line
    line = line.replace("--name lineage ", f"--name {name} ").replace("API_PORT=8080", f"API_PORT={port}")
    return shlex.split(line.replace("lineage-data:", f"{volume}:"))[1:]


def missing() -> str | None:
    if os.geteuid() != 0:
        return "building an image this way needs root"
    for tool in ("podman", "debootstrap", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y podman buildah debootstrap runc)"
    return None


def podman_env() -> dict[str, str]:
    return {
        **os.environ,
        "CONTAINERS_CONF": str(WORK / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(WORK / "storage.conf"),
    }


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0 or not check, f"podman {' '.join(args)}: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def image() -> str:
    reason = missing()
    if reason:
        pytest.skip(reason)
    build, source = recipe()[:2]
    assert build == "sh deploy/build-image.sh" and source == f". {WORK}/env", (build, source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_IMAGE", "CONTAINERS_"))}
    done = subprocess.run(
        shlex.split(build),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return IMAGE


@pytest.fixture
def container(image: str) -> Iterator[tuple[str, int]]:
    """The image running with a volume of its own on a free port of the host network; removed after."""
    name, volume, port = f"lineage-test-{uuid.uuid4().hex[:8]}", f"lineage-test-{uuid.uuid4().hex[:8]}", free_port()
    podman("volume", "create", volume)
    try:
        podman(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "-e",
            f"API_PORT={port}",
            "-v",
            f"{volume}:/var/lib/lineage",
            image,
        )
        yield name, port
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
        podman("volume", "rm", "-f", volume, check=False)


def wait_for_health(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if get(f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the container did not answer /health within {seconds} s")


@pytest.mark.timeout(BUILD_SECONDS + 300)
def test_the_image_serves_stores_and_stops_cleanly(container: tuple[str, int]) -> None:
    name, port = container
    wait_for_health(port)
    assert podman("healthcheck", "run", name, check=False).returncode == 0, "the image's HEALTHCHECK passes"
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001", "the server runs as its own user"
    body = event()
    status, answer = post_json(f"http://127.0.0.1:{port}/api/v1/lineage", body)
    assert status == 201, answer
    status, _, events = get(f"http://127.0.0.1:{port}/api/v1/events/lineage?limit=10")
    assert status == 200
    run_id = orjson.loads(body)["run"]["runId"]
    assert [e["run"]["runId"] for e in orjson.loads(events)["events"]] == [run_id]
    status, _, ready = get(f"http://127.0.0.1:{port}/ready")
    assert status == 200, ready
    assert "podman stop -t 40 lineage" in recipe()
    podman("stop", "-t", "40", name)
    state = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert state == "0", podman("logs", name).stderr[-2000:]
    assert "schema at version" in podman("logs", name).stdout + podman("logs", name).stderr
