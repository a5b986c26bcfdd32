"""Running a server store's transaction again when the database says it may succeed now.

One loop for every server backend: a backend says, for each error, what StoreError it means and whether the same
transaction is worth another try (a deadlock, a lost session); the loop waits a jittered backoff between tries,
so that two writers that collided do not collide again in step, and gives up after TRIES.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

from schemas.store import StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")

TRIES = 3
BACKOFF_SECONDS = (0.2, 1.0)  # before the 2nd and 3rd try, each times a random factor in [0.5, 1.5)

# An error -> None when it is no database error (raised as it is), else the StoreError it means and whether to
# try again.
Verdict = Callable[[Exception], "tuple[StoreError, bool] | None"]


def retrying(attempt: Callable[[], T], verdict: Verdict, sleep: Callable[[float], None], tries: int = TRIES) -> T:
    """`attempt()`, run again after a pause while `verdict` says so (at most `tries` runs in all); the last
    failure is raised as its StoreError."""
    for number in range(1, tries + 1):
        try:
            return attempt()
        except Exception as error:
            judged = verdict(error)
            if judged is None:
                raise
            failure, again = judged
            if not again or number == tries:
                if failure is error:  # already the StoreError (PostgreSQL's): keep the driver's error as its cause
                    raise
                raise failure from error
            pause = BACKOFF_SECONDS[min(number, len(BACKOFF_SECONDS)) - 1] * (0.5 + random.random())  # not secrecy
            logger.warning("%s; try %d of %d in %.1f s", failure, number + 1, tries, pause)
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
