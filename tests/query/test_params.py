"""Query-string parameters: depth bounds and defaults (Marquez's 20, the database view's 3) clamped into them;
times as store text."""

from __future__ import annotations

import pytest

from query import params
from query.config import QueryConfig
from query.errors import BadRequest

CONFIG = QueryConfig(min_depth=1, default_depth=5, max_depth=10)


def test_absent_depth_takes_the_configured_default() -> None:
    assert params.depth({}, CONFIG) == 5


@pytest.mark.parametrize(("default", "expected"), [(20, 10), (3, 3), (0, 1)])
def test_an_endpoint_default_is_clamped_into_the_bounds(default: int, expected: int) -> None:
    assert params.depth({}, CONFIG, default=default) == expected


def test_an_asked_depth_outside_the_bounds_is_refused_with_them() -> None:
    assert params.depth({"maxDepth": "7"}, CONFIG) == 7
    with pytest.raises(BadRequest, match="1..10"):
        params.depth({"maxDepth": "11"}, CONFIG)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0500-01-01T00:00:00Z", "0500-01-01 00:00:00.000000"),  # strftime wrote `500-01-01`, which sorts after 2024
        ("0001-01-01", "0001-01-01 00:00:00.000000"),
        ("2024-06-03T04:00:00 02:00", "2024-06-03 02:00:00.000000"),  # an unencoded `+` decodes to a space
        ("9999-12-31T23:59:59.999999", "9999-12-31 23:59:59.999999"),
    ],
)
def test_timestamp_is_store_text(given: str, stored: str) -> None:
    assert params.timestamp({"after": given}, "after", "unused") == stored


def test_timestamp_outside_the_years_is_refused() -> None:
    with pytest.raises(BadRequest, match="not an ISO 8601 date-time"):
        params.timestamp({"after": "0001-01-01T00:00:00+01:00"}, "after", "unused")
