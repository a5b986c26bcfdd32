"""Store times: one text form for every year from 1 to 9999, offsets converted to UTC, and back to ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.sql.reads import read_value
from schemas.times import format_store_time, parse_iso, parse_store_time, store_to_iso, utc_now


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01 00:00:00.000000"),
        ("0500-01-01T00:00:00Z", "0500-01-01 00:00:00.000000"),  # strftime would write `500-01-01`
        ("9999-12-31T23:59:59.999999Z", "9999-12-31 23:59:59.999999"),
        ("2024-08-06T13:26:54.34+02:00", "2024-08-06 11:26:54.340000"),
        ("2024-08-06T01:00:00-05:30", "2024-08-06 06:30:00.000000"),
        ("0500-01-01T00:30:00+01:00", "0499-12-31 23:30:00.000000"),  # the offset moves the year back
        ("2024-08-06T11:26:54.123456789z", "2024-08-06 11:26:54.123456"),  # nanoseconds dropped
        ("2024-08-06 11:26:54", "2024-08-06 11:26:54.000000"),  # no offset: UTC
        ("2024-08-06", "2024-08-06 00:00:00.000000"),
    ],
)
def test_iso_text_to_store_text(given: str, stored: str) -> None:
    assert format_store_time(parse_iso(given)[0]) == stored


def test_whether_an_offset_was_given() -> None:
    assert parse_iso("2024-08-06T11:26:54+00:00")[1]
    assert not parse_iso("2024-08-06T11:26:54")[1]


@pytest.mark.parametrize("bad", ["yesterday", "", "2024-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_not_a_time(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(bad)


def test_store_text_sorts_as_time_across_years() -> None:
    years = [1, 99, 500, 999, 1000, 2024, 9999]
    texts = [format_store_time(datetime(year, 1, 1, tzinfo=UTC)) for year in years]
    assert sorted(texts) == texts
    assert all(len(text) == len("0001-01-01 00:00:00.000000") for text in texts)


def test_naive_datetimes_are_utc_and_aware_ones_are_converted() -> None:
    # Database drivers hand store times back naive: they must not be shifted by the host's local zone.
    assert format_store_time(datetime(500, 1, 2, 3, 4, 5)) == "0500-01-02 03:04:05.000000"
    tokyo = timezone(timedelta(hours=9))
    assert format_store_time(datetime(2024, 1, 1, 9, tzinfo=tokyo)) == "2024-01-01 00:00:00.000000"


def test_whole_seconds_for_timestamp0_columns() -> None:
    assert format_store_time(datetime(5, 6, 7, 8, 9, 10, 999_999, tzinfo=UTC), "seconds") == "0005-06-07 08:09:10"


@pytest.mark.parametrize("text", ["0001-01-01 00:00:00.000000", "0500-06-01 12:00:00.250000", "9999-12-31 23:59:59"])
def test_store_text_round_trips(text: str) -> None:
    moment = parse_store_time(text)
    assert moment.tzinfo is UTC
    assert format_store_time(moment, "microseconds" if "." in text else "seconds") == text


def test_store_text_with_an_offset_is_not_store_text() -> None:
    with pytest.raises(ValueError, match="offset"):
        parse_store_time("2024-01-01 00:00:00+02:00")


def test_store_text_to_iso() -> None:
    assert store_to_iso("0500-05-01 10:00:01.000000") == "0500-05-01T10:00:01.000000Z"
    assert store_to_iso(None) is None
    assert parse_iso(store_to_iso("0500-05-01 10:00:01.000000") or "")[0] == parse_store_time("0500-05-01 10:00:01")


def test_now_is_store_text() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    assert parse_store_time(utc_now()) >= before


def test_teradata_results_are_store_text() -> None:
    assert read_value(datetime(500, 1, 2, 3, 4, 5, 6)) == "0500-01-02 03:04:05.000006"
