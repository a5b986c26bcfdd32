"""The retry loop every server store's writer runs its transaction in."""

from __future__ import annotations

import pytest

from schemas.retry import TRIES, retrying
from schemas.store import StoreError, StoreUnavailable


class DriverError(Exception):
    pass


def test_a_retried_error_is_tried_again_then_succeeds() -> None:
    pauses: list[float] = []
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) < TRIES:
            raise DriverError("deadlock")
        return "stored"

    def verdict(error: Exception) -> tuple[StoreError, bool] | None:
        return StoreUnavailable(str(error)), True

    assert retrying(attempt, verdict, pauses.append) == "stored"
    assert len(calls) == TRIES and len(pauses) == TRIES - 1


def test_the_last_failure_keeps_the_driver_error_as_its_cause() -> None:
    """A backend whose errors are StoreErrors already (PostgreSQL's) gets them raised with their own cause, not
    chained to themselves."""
    driver = DriverError("connection lost")

    def attempt() -> None:
        raise StoreUnavailable("the store is unavailable") from driver

    def verdict(error: Exception) -> tuple[StoreError, bool] | None:
        assert isinstance(error, StoreError)
        return error, True

    with pytest.raises(StoreUnavailable) as raised:
        retrying(attempt, verdict, lambda _pause: None)
    assert raised.value.__cause__ is driver


def test_an_error_that_is_no_database_error_is_raised_as_it_is_at_once() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        retrying(attempt, lambda _error: None, lambda _pause: None)
    assert calls == [1]
