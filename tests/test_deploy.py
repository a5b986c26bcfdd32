"""deploy/ held to the server: the compose file, the Kubernetes manifests, the alerting rules, the proxy example,
the systemd unit and the Dockerfile name the ports, paths, probes, settings and metrics the server really has.

They are parsed (YAML with PyYAML), not run: no registry or cluster is reachable here. The image itself is built
and run in tests/test_image.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ingest.http.metrics import ServerMetrics
from ingest.http.server import SHUTDOWN_TIMEOUT
from ingest.settings import VARIABLES, HttpSettings
from tests.ingest.http.test_metrics import types

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTINGS = {var.name for var in VARIABLES}
PORT = HttpSettings().api_port
DATA = "/var/lib/lineage"  # the image's volume, where its SQLite store lives
SQLITE_IN_IMAGE = f"sqlite:///{DATA}/lineage.db"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def routes() -> set[str]:
    """Every GET path of the operator endpoints the server answers."""
    text = (ROOT / "ingest" / "http" / "app.py").read_text(encoding="utf-8")
    return set(re.findall(r'add_get\("(/[a-z]+)"', text))


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "m" else 1)


# --- compose ------------------------------------------------------------------------------------------------


def test_compose_has_a_sqlite_profile_and_a_postgres_profile_with_redis() -> None:
    services = load(DEPLOY / "compose.yaml")["services"]
    assert services["lineage"]["profiles"] == ["sqlite"]
    assert {name for name, s in services.items() if s.get("profiles") == ["postgres"]} == {
        "lineage-postgres",
        "postgres",
        "redis",
    }
    sqlite, postgres = services["lineage"], services["lineage-postgres"]
    assert sqlite["environment"]["LINEAGE_STORE"] == SQLITE_IN_IMAGE
    assert sqlite["volumes"] == [f"lineage-data:{DATA}"]
    assert postgres["environment"]["LINEAGE_STORE"].startswith("postgresql://lineage:")
    assert postgres["environment"]["LINEAGE_STORE"].endswith("@postgres:5432/lineage")
    assert postgres["environment"]["REDIS_ADDR"] == "redis:6379"
    assert postgres["depends_on"]["postgres"] == {"condition": "service_healthy"}  # the start-up order
    for server in (sqlite, postgres):
        assert set(server["environment"]) <= SETTINGS, set(server["environment"]) - SETTINGS
        assert server["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
        assert seconds(server["stop_grace_period"]) > SHUTDOWN_TIMEOUT
        assert f"http://127.0.0.1:{PORT}/health" in " ".join(server["healthcheck"]["test"])
        assert server["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}


# --- Kubernetes -----------------------------------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[document["kind"]] = document
    return found


def test_kubernetes_manifests_probe_the_server_and_outlast_its_drain() -> None:
    kinds = manifests()
    assert set(kinds) == {"Deployment", "Service", "Secret", "PersistentVolumeClaim"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {p["containerPort"] for p in container["ports"]} == {PORT}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert {"/health", "/ready", "/metrics"} <= routes()
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pause[1]) + SHUTDOWN_TIMEOUT
    env = {item["name"]: item["value"] for item in container["env"]}
    assert set(env) <= SETTINGS and env["LINEAGE_STORE"] == SQLITE_IN_IMAGE and env["API_PORT"] == str(PORT)
    assert container["envFrom"] == [{"secretRef": {"name": kinds["Secret"]["metadata"]["name"]}}]
    assert set(kinds["Secret"]["stringData"]) <= SETTINGS
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"]
    # One replica on SQLite's volume, replaced (not rolled) so that two pods never write the file at once.
    assert kinds["Deployment"]["spec"]["replicas"] == 1
    assert kinds["Deployment"]["spec"]["strategy"]["type"] == "Recreate"
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == DATA]
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["persistentVolumeClaim"]["claimName"] == kinds["PersistentVolumeClaim"]["metadata"]["name"]
    service = kinds["Service"]["spec"]
    assert service["selector"] == kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert service["ports"][0]["targetPort"] == "http"


# --- the image ------------------------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_with_a_health_check_and_its_base_as_an_argument() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, flags=re.M)
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 3 and "COPY --from=build" in text
    assert re.search(r"^USER lineage$", text, flags=re.M) and "--uid 10001" in text
    assert re.search(r"^HEALTHCHECK .*\n.*/health", text, flags=re.M)
    assert f"LINEAGE_STORE={SQLITE_IN_IMAGE}" in text and f"VOLUME {DATA}" in text and f"EXPOSE {PORT}" in text
    script = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")
    assert "lineage schema upgrade" in script and 'exec lineage "$@"' in script


# --- alerting rules ------------------------------------------------------------------------------------------


def error_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "ingest").rglob("*.py"):
        codes.update(re.findall(r'code = "([A-Z_]+)"', path.read_text(encoding="utf-8")))
    return codes


def test_alert_rules_use_only_the_metrics_and_reasons_the_server_exports() -> None:
    exported = set(types(ServerMetrics().render().decode()))
    rules = load(DEPLOY / "prometheus" / "lineage-alerts.yml")["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} == {
        "LineageRejectionsRising",
        "LineageQueueNearFull",
        "LineageStoreUnavailable",
    }
    for rule in rules:
        names = set(re.findall(r"\b(lineage_[a-z_]+)", rule["expr"]))
        assert names and names <= exported, names - exported
        assert set(re.findall(r'reason="([A-Z_]+)"', rule["expr"])) <= error_codes()
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]


# --- reverse proxy and systemd -----------------------------------------------------------------------------------


def test_the_proxy_example_matches_the_server_limits() -> None:
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert f"server 127.0.0.1:{PORT};" in text
    body = re.search(r"client_max_body_size (\d+)m;", text)
    assert body and int(body[1]) * 2**20 == HttpSettings().max_body_bytes
    read = re.search(r"proxy_read_timeout (\d+)s;", text)
    assert read and int(read[1]) > 60  # the handler timeout


def test_the_systemd_unit_upgrades_then_serves_and_outlasts_the_drain() -> None:
    unit = dict(
        line.split("=", 1)
        for line in (DEPLOY / "lineage.service").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert unit["ExecStartPre"].endswith("lineage schema upgrade") and unit["ExecStart"].endswith("lineage serve")
    assert int(unit["TimeoutStopSec"]) > SHUTDOWN_TIMEOUT
    assert int(unit["LimitNOFILE"]) >= 4096
