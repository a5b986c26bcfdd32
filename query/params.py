"""Query-string parameters, checked: a value outside its bounds is a 400 naming the bounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from query.config import QueryConfig
from query.errors import bad_parameter
from query.lineage import Way
from schemas.store import Page
from schemas.times import format_store_time, parse_iso

T = TypeVar("T")
WAYS = {"upstream": Way.UPSTREAM, "downstream": Way.DOWNSTREAM, "both": Way.BOTH}


def integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise bad_parameter(name, f"{raw!r} is not an integer between {low} and {high}") from None
    if not low <= value <= high:
        raise bad_parameter(name, f"{value} is outside the bounds {low}..{high}")
    return value


def depth(query: Mapping[str, str], config: QueryConfig, name: str = "maxDepth", default: int | None = None) -> int:
    """The depth asked for, within the configured bounds; `default` (clamped into them) when absent."""
    chosen = config.default_depth if default is None else max(config.min_depth, min(default, config.max_depth))
    return integer(query, name, chosen, config.min_depth, config.max_depth)


def way(query: Mapping[str, str], name: str = "direction") -> Way:
    raw = query.get(name, "both").strip().lower() or "both"
    if raw not in WAYS:
        raise bad_parameter(name, f"{raw!r} is not one of upstream, downstream, both")
    return WAYS[raw]


def page(query: Mapping[str, str], config: QueryConfig, default_limit: int, min_limit: int = 1) -> Page:
    """limit and offset; Marquez's lists take `limit=0` (an empty page with its total), so v1 passes min_limit=0."""
    limit = integer(query, "limit", min(default_limit, config.max_page_size), min_limit, config.max_page_size)
    offset = integer(query, "offset", 0, 0, 2**31 - 1)
    return Page(limit, offset)


def text(query: Mapping[str, str], name: str, min_length: int = 1, max_length: int = 1000) -> str:
    value = query.get(name, "").strip()
    if len(value) < min_length:
        raise bad_parameter(name, f"at least {min_length} characters are required")
    if len(value) > max_length:
        raise bad_parameter(name, f"at most {max_length} characters are allowed")
    return value


def boolean(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise bad_parameter(name, f"{raw!r} is not true or false")


def timestamp(query: Mapping[str, str], name: str, default: str) -> str:
    """An ISO 8601 date or date-time parameter as store text; no offset means UTC. A time outside the years 1 to
    9999 once in UTC (`0001-01-01T00:00:00+01:00`) is a 400 like any other bad value."""
    raw = query.get(name, "").strip()
    if not raw:
        return default
    # An unencoded `+02:00` arrives as ` 02:00`: the query string decodes `+` to a space.
    text = raw.replace(" ", "+", 1) if "T" in raw else raw
    try:
        moment, _ = parse_iso(text)
        return format_store_time(moment)
    except (ValueError, OverflowError):
        raise bad_parameter(name, f"{raw!r} is not an ISO 8601 date-time within the years 1 to 9999") from None


def choice(query: Mapping[str, str], name: str, choices: Mapping[str, T], default: T) -> T:
    """One of `choices` (keys compared case-insensitively); `default` when absent."""
    raw = query.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise bad_parameter(name, f"{raw!r} is not one of {', '.join(choices)}")
    return choices[raw]
