"""Running the server: one process, or N worker processes sharing one port (SO_REUSEPORT).

Timeouts: 15 s to receive a request body (ingest.http.body), 60 s for a handler to answer, 60 s idle
keep-alive, 30 s graceful shutdown. On SIGTERM or SIGINT a process stops accepting connections, lets
in-flight requests finish, drains the queue and commits the last batch (the app's cleanup), then exits.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from aiohttp import web

from ingest.logs import AccessLogger

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 30.0
KEEPALIVE_TIMEOUT = 60.0
RESTART_PAUSE = 1.0  # seconds between restarts of a worker that died, so a crash loop cannot spin


# The first generation is collected after 50,000 new containers instead of CPython's 700: a lineage answer of
# a few thousand edges (each a tuple) otherwise runs hundreds of collections, some of them full (the query
# benchmark shows the effect on its slowest answers).
GC_THRESHOLDS = (50_000, 10, 10)


def tune_gc() -> None:
    """The collector as the server runs: start-up objects frozen, collections less frequent.

    What start-up made (modules, settings, validation specs: tens of thousands of objects) lives as long as
    the process, yet every full collection walked it, a pause inside whichever requests were in flight.
    Frozen, the collector skips it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run(make_app: Callable[[], web.Application], host: str, port: int, *, reuse_port: bool = False) -> None:
    """Serve until SIGTERM/SIGINT, in this process."""
    app = make_app()
    tune_gc()
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        reuse_port=reuse_port,
        print=None,
        access_log=logging.getLogger("lineage.access"),
        access_log_class=AccessLogger,
        # The body reader inflates gzip itself, under a limit; aiohttp's own inflating has none.
        auto_decompress=False,
    )


def run_workers(
    make_app: Callable[[], web.Application],
    host: str,
    port: int,
    workers: int,
    *,
    child_exit: Callable[[int], None] = lambda pid: None,
) -> int:
    """Fork `workers` processes that each serve on host:port; restart one that dies; stop all on a signal.
    `child_exit(pid)` is called for each worker that ended (the metrics' bookkeeping of the dead).

    Forking happens before any event loop, thread or store connection exists in this process, so each
    worker builds its own (make_app runs in the child).
    """
    stopping = False
    children: dict[int, int] = {}  # pid -> worker number

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:
            _worker(make_app, host, port, number)
        children[pid] = number

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _signal(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(workers):
        spawn(number)
    logger.info("%d workers serving on http://%s:%d", workers, host, port)
    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # a signal arrived; the handler already forwarded it
            continue
        if pid not in children:
            continue
        number = children.pop(pid)
        child_exit(pid)
        code = os.waitstatus_to_exitcode(status)
        if not stopping:
            logger.error("worker %d (pid %d) exited with %d; starting it again", number, pid, code)
            time.sleep(RESTART_PAUSE)
            if not stopping:  # a stop signal during the pause: a worker started now would never be stopped
                spawn(number)
        elif code != 0:
            failed = True
    sys.stdout.flush()
    return 1 if failed else 0


def _worker(make_app: Callable[[], web.Application], host: str, port: int, number: int) -> NoReturn:
    """The body of a forked worker: serve until a signal, then leave without running the parent's exit code."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code = 0
    try:
        run(make_app, host, port, reuse_port=True)
    except BaseException:
        logger.exception("worker %d failed", number)
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
