"""Query-string depth: the bounds, and defaults (Marquez's 20, the database view's 3) clamped into them."""

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
