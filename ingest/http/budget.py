"""The memory of ingestion requests, bounded: a byte budget shared by every body in flight and queued, and the
thread pool that decodes and prepares large events off the event loop.

Why a budget in bytes: the writer's queue bounds events, not memory, and a few large bodies (gzip inflates 1,000
to 1) held while they are read, decoded, validated and queued for their commit can take gigabytes. So each
ingestion request is charged what it is expected to hold, from its first byte until it is answered (after its
commit): COST_PER_BYTE bytes for each body byte as it arrives (the bytes, the text archived, the decoded
strings), then COST_PER_VALUE more for each JSON object, array and separator in it (each becomes a Python object
and, for datasets and fields, rows). Both figures are upper bounds measured on real and pathological bodies
(tests/bench/bench_large_event.py). A charge the budget cannot take now is 503 QUEUE_FULL with Retry-After; one
that exceeds the whole budget is 413 DECODED_TOO_LARGE, as a retry can never succeed.

Large bodies are decoded and prepared on a small thread pool: pure-Python validation and mapping of a 10 MB
event takes seconds of CPU, and on the event loop it would hold every other request (/health included) that
long. A thread still shares the interpreter lock, so the loop may wait behind a long C call; large single
events therefore go to a worker process instead (ingest.http.large), and the pool is left with large batch
bodies and the decoding of bodies over OFF_LOOP_BYTES.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from query.errors import HttpError

T = TypeVar("T")

COST_PER_BYTE = 4
COST_PER_VALUE = 256
OFF_LOOP_BYTES = 256 * 1024  # bodies above this are decoded and prepared on the pool, not the event loop
POOL_THREADS = 2
_ALL_BUT_VALUE_MARKS = bytes(set(range(256)) - set(b"{[,"))  # deleted by translate, leaving `{`, `[` and `,`


class BudgetFull(HttpError):
    """The bodies in flight and queued hold the whole budget: retry later."""

    status = 503
    code = "QUEUE_FULL"


class DecodedTooLarge(HttpError):
    """This body alone would need more memory than the whole budget: it can never be taken."""

    status = 413
    code = "DECODED_TOO_LARGE"


class MemoryBudget:
    """Bytes charged by the requests in flight, at most `capacity`. Used from the event loop only."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0

    def charge(self, ticket: Ticket, cost: int) -> None:
        """Add `cost` to the ticket, or raise: DecodedTooLarge when the ticket alone would exceed the capacity,
        BudgetFull when the others leave no room now."""
        wanted = ticket.held + cost
        if wanted > self.capacity:
            raise DecodedTooLarge(
                f"the body would take about {wanted >> 20} MiB of memory once decoded, more than the "
                f"{self.capacity >> 20} MiB all requests may hold together (LINEAGE_MAX_INFLIGHT_BYTES="
                f"{self.capacity}): send fewer or smaller events per request"
            )
        if self.used + cost > self.capacity:
            raise BudgetFull(
                f"the server holds as many request bodies as its memory budget allows "
                f"(LINEAGE_MAX_INFLIGHT_BYTES={self.capacity}); retry later"
            )
        self.used += cost
        ticket.held = wanted

    def release(self, ticket: Ticket) -> None:
        self.used -= ticket.held
        ticket.held = 0


class Ticket:
    """One request's charge on the budget; released when the request is answered."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.held = 0

    def charge(self, cost: int) -> None:
        self.budget.charge(self, cost)

    def charge_values(self, body: bytes) -> None:
        """The charge for the objects decoding `body` makes: one per `{`, `[` and `,` (inside strings too: an
        overestimate only); counted in C, a few milliseconds for a 10 MB body, in one pass (what translate leaves
        of the body is those bytes)."""
        self.charge(COST_PER_VALUE * len(body.translate(None, _ALL_BUT_VALUE_MARKS)))


TICKET = web.RequestKey("memory_ticket", Ticket)
POOL = web.AppKey("prepare_pool", ThreadPoolExecutor)


def budgeted(budget: MemoryBudget, handler: Handler) -> Handler:
    """`handler` giving each request a ticket on `budget`, released once the request is answered.

    A wrapper of the ingestion handlers rather than a middleware, so that no other request pays for a look at its
    path; it runs after every middleware, auth included, so a caller without a key is refused before its body
    costs anything."""

    @functools.wraps(handler)
    async def with_ticket(request: web.Request) -> web.StreamResponse:
        ticket = Ticket(budget)
        request[TICKET] = ticket
        try:
            return await handler(request)
        finally:
            budget.release(ticket)

    return with_ticket


async def off_loop(request: web.Request, size: int, work: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`work(*args, **kwargs)`, on the app's pool when `size` (the body's bytes) exceeds OFF_LOOP_BYTES, else here.
    A small body is cheaper to handle at once than to hand to a thread."""
    if size <= OFF_LOOP_BYTES:  # before the pool's look-up: nearly every body is small
        return work(*args, **kwargs)
    pool = request.app.get(POOL)
    if pool is None:
        return work(*args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(work, *args, **kwargs))
