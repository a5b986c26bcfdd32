"""Settings: precedence, legacy aliases, one-line errors, masking, and the guide's table kept in sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.settings import VARIABLES, HttpSettings, Settings, SettingsError
from query.config import CacheConfig, QueryConfig
from schemas.dsn import Dialect

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operations_guide.md"


def settings(env: dict[str, str], env_file: Path | None = None) -> Settings:
    return Settings.from_env(env, env_file)


def test_defaults() -> None:
    s = settings({})
    assert (s.http.api_port, s.store.teradata_port, s.store.teradata_user, s.store.teradata_database) == (
        8080,
        1025,
        "demo_user",
        "demo_user",
    )
    assert (s.query.min_depth, s.query.default_depth, s.query.max_depth) == (1, 5, 20)
    assert s.store.dsn.dialect is Dialect.SQLITE and s.store.dsn.path == "./lineage.db"
    assert s.cache.addr == "localhost:6379" and s.cache.db == 0
    assert not s.strict and s.http.host == "127.0.0.1"
    assert set(s.sources.values()) == {"default"}


def test_each_default_is_its_fields_default() -> None:
    s = settings({})
    assert (s.http, s.query, s.cache) == (HttpSettings(), QueryConfig(), CacheConfig())
    for var in VARIABLES:
        if var.default is not None:
            assert var.cast(var.default) == var.value, var.name  # the text a table shows means the field's value


def test_a_variable_sets_its_field_in_its_group() -> None:
    s = settings({"LINEAGE_MAX_NODES": "7", "REDIS_ADDR": "", "LINEAGE_BATCH_MAX_EVENTS": "9"})
    assert (s.query.max_nodes, s.cache.addr, s.http.batch_max_events) == (7, "", 9)
    assert {var.group for var in VARIABLES} == {"store", "http", "query", "cache", "retention", None}


def test_primary_name_wins_over_legacy_alias() -> None:
    s = settings({"TD_HOST": "legacy", "TERADATA_HOST": "primary", "PORT": "9000"})
    assert s.store.teradata_host == "primary" and s.sources["TERADATA_HOST"] == "environment"
    assert s.http.api_port == 9000 and s.sources["API_PORT"] == "environment (PORT)"


def test_environment_then_env_file_then_default(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nexport API_PORT=9100\nREDIS_DB='3'\nTERADATA_USER=\"etl\"\n")
    s = settings({"API_PORT": "9200"}, env_file)
    assert s.http.api_port == 9200 and s.sources["API_PORT"] == "environment"
    assert s.cache.db == 3 and s.sources["REDIS_DB"] == str(env_file)
    assert s.store.teradata_user == "etl"


def test_teradata_host_makes_teradata_the_store() -> None:
    s = settings({"TD_HOST": "td.example", "TERADATA_PASSWORD": "pw", "TERADATA_PORT": "1026"})
    assert s.store.dsn.dialect is Dialect.TERADATA
    store = s.store.dsn
    assert (store.host, store.port, store.user, store.database) == ("td.example", 1026, "demo_user", "demo_user")
    assert s.sources["LINEAGE_STORE"] == "TERADATA_HOST"
    explicit = settings({"TD_HOST": "td.example", "LINEAGE_STORE": "sqlite:////tmp/x.db"})
    assert explicit.store.dsn.dialect is Dialect.SQLITE and explicit.store.dsn.path == "/tmp/x.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"API_PORT": "80a"}, "API_PORT='80a': not an integer"),
        ({"PORT": "70000"}, "API_PORT='70000': must be between 1 and 65535"),
        ({"LINEAGE_STORE": "mysql://x"}, "LINEAGE_STORE='mysql://x': unknown scheme"),
        ({"LINEAGE_STORE": "sqlite://x.db"}, "LINEAGE_STORE='sqlite://x.db': a sqlite DSN has three slashes"),
        ({"LINEAGE_VALIDATION": "loose"}, "LINEAGE_VALIDATION='loose': must be one of lenient, strict"),
        ({"REDIS_ADDR": "localhost"}, "REDIS_ADDR='localhost': expected host:port"),
        ({"VALIDATION_DEFAULT_MAX_DEPTH": "30"}, "VALIDATION_DEFAULT_MAX_DEPTH=30: must lie between"),
        ({"TERADATA_PASSWORD": "", "REDIS_PASSWORD": "x", "REDIS_DB": "-1"}, "REDIS_DB='-1'"),
    ],
)
def test_bad_value_names_variable_and_value(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings(env)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_env_file_line_names_file_and_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_PORT=1\nnot a setting\n")
    with pytest.raises(SettingsError, match=r"\.env:2: expected KEY=VALUE"):
        settings({}, env_file)


def test_effective_masks_secrets() -> None:
    s = settings({"TERADATA_PASSWORD": "hunter2", "LINEAGE_STORE": "postgresql://u:pw@db:5432/lineage"})
    shown = {name: value for name, value, _ in s.effective()}
    assert shown["TERADATA_PASSWORD"] == "***"
    assert shown["LINEAGE_STORE"] == "postgresql://u:***@db:5432/lineage"
    assert "hunter2" not in repr(s.effective()) and "pw@" not in repr(s.effective())


def guide_table() -> dict[str, list[str]]:
    """Rows of the Configuration section's table: variable -> its cells."""
    section = GUIDE.read_text(encoding="utf-8").split("## 3. Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`([A-Z_]+)`\s*\|", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in line.strip("|").split("|")]
    return rows


def test_guide_documents_every_setting_in_order_and_nothing_else() -> None:
    table = guide_table()
    assert list(table) == [var.name for var in VARIABLES]  # in the order of the groups, as `lineage config`


def test_guide_table_gives_each_default_and_legacy_alias() -> None:
    table = guide_table()
    for var in VARIABLES:
        _, default, required, used_by, legacy, meaning = table[var.name]
        if var.default is not None:
            assert default == f"`{var.default}`", var.name
        assert legacy == (f"`{var.legacy}`" if var.legacy else ""), var.name
        assert required and used_by and meaning, var.name
    assert table["LINEAGE_STORE"][1] == "`sqlite:///./lineage.db`"
