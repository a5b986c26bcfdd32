"""Defensive readers of decoded JSON for the mapping: a value of the wrong type reads as absent.

Decoded JSON objects are dicts: checking `dict` rather than the `Mapping` ABC keeps these checks cheap on the
hot path. Validation vouches for an event's identities and for the facets that produce rows; every other facet
may be malformed when validation runs non-strict, so the mapping reads through these and never raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EMPTY: Mapping[str, Any] = {}


def as_map(value: object) -> Mapping[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else EMPTY


def as_list(value: object) -> Sequence[Any]:
    """The value if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else ()


def text(value: object, limit: int | None = None) -> str | None:
    """A non-empty string, else None: an empty string says nothing, so it never erases a stored value.

    With a limit, the first `limit` characters: descriptive columns are bounded (a Teradata insert fails on
    a longer value rather than cutting it), and the whole text stays in the stored facet and raw event.
    """
    if not isinstance(value, str) or not value:
        return None
    return value if limit is None else value[:limit]


def is_deleted(facet: object) -> bool:
    """A facet sent as `{"_deleted": true, ...}`: the producer asks for the stored facet to be removed."""
    return isinstance(facet, dict) and facet.get("_deleted") is True


def live_facet(facets: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The named facet when it is an object and not a tombstone."""
    facet = facets.get(name)
    if isinstance(facet, dict) and facet.get("_deleted") is not True:
        return facet
    return None


def facet_text(facets: Mapping[str, Any], name: str, key: str, limit: int | None = None) -> str | None:
    """`facets[name][key]` when the facet is live and the value a non-empty string (cut to `limit`)."""
    facet = live_facet(facets, name)
    return None if facet is None else text(facet.get(key), limit)


def identity(value: object) -> tuple[str, str] | None:
    """(namespace, name) of a dataset or job reference, None when either is not a string."""
    if not isinstance(value, dict):
        return None
    namespace, name = value.get("namespace"), value.get("name")
    if isinstance(namespace, str) and isinstance(name, str):
        return namespace, name
    return None
