"""OpenLineage times to the stores' UTC text form: offsets, missing offsets, long fractions, early years."""

from __future__ import annotations

import pytest

from ingest.events.timestamps import parse_time, to_store_time


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-08-06T13:26:54.34+02:00", "2024-08-06 11:26:54.340000"),
        ("2024-08-06T11:26:54Z", "2024-08-06 11:26:54.000000"),
        ("2024-08-06T11:26:54.123456789Z", "2024-08-06 11:26:54.123456"),  # nanoseconds dropped
        ("2024-08-06T11:26:54", "2024-08-06 11:26:54.000000"),  # no offset: read as UTC
        ("0001-01-01T00:00:00Z", "0001-01-01 00:00:00.000000"),  # four-digit years sort as text
    ],
)
def test_store_time(given: str, stored: str) -> None:
    assert to_store_time(given) == stored


def test_offset_presence_is_reported() -> None:
    assert parse_time("2024-08-06T11:26:54Z")[1]
    assert not parse_time("2024-08-06T11:26:54")[1]


@pytest.mark.parametrize("bad", ["yesterday", "2024-08-06", "0001-01-01T00:00:00+01:00"])
def test_not_a_storable_time(bad: str) -> None:
    with pytest.raises(ValueError):
        to_store_time(bad)
