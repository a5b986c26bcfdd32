"""Running the server: one process, or N worker processes sharing one port (SO_REUSEPORT).

Timeouts: 15 s to receive a request body (ingest.http.body), 60 s for a handler to answer, 60 s idle
keep-alive, 30 s graceful shutdown. On SIGTERM or SIGINT a process stops accepting connections, answers
every request on its open connections (in progress: as usual; started after the stop: 503 SHUTTING_DOWN, see
ingest.http.connections), drains the queue and commits the last batch (the app's cleanup), then exits.
A server that cannot start says why in one line (StartupError).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

from aiohttp import web

from ingest.http.connections import LineageRunner, LineageServer
from ingest.logs import AccessLogger, Throttle
from schemas.store import StoreError

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


class StartupError(Exception):
    """The server cannot start: the address is in use, the host does not resolve, the app failed to start.
    The message is the one line the operator reads."""


def bind(host: str, port: int, *, reuse_port: bool) -> list[socket.socket]:
    """Sockets bound to every address of host:port (not yet listening), as asyncio would bind them.

    Without `reuse_port` the bind fails while anything listens on the port, a set of SO_REUSEPORT workers
    included: a second server never silently shares the port with the first."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: the host does not resolve ({exc.strerror})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise StartupError(f"cannot listen on {_where(address)}: {_why(exc)}") from None
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _where(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _why(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the address is in use (another server listens there; stop it, or choose --port or API_PORT)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no interface of this machine has that address (LINEAGE_HOST)"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return exc.strerror or str(exc)


def run(
    make_app: Callable[[], web.Application],
    listen: Callable[[], list[socket.socket]],
    *,
    parent: int | None = None,
) -> None:
    """Serve on the sockets `listen()` binds until SIGTERM/SIGINT (or until process `parent` is gone).

    StartupError when it cannot start; whatever failed is then closed again."""
    asyncio.run(_serve(make_app, listen, parent))


async def _serve(
    make_app: Callable[[], web.Application], listen: Callable[[], list[socket.socket]], parent: int | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # First of all: a SIGTERM while starting is then a stop after the start, never a kill by the default action.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watch = asyncio.create_task(_watch_parent(parent, stop)) if parent is not None else None
    try:
        sockets = listen()
        try:
            await _serve_on(make_app, sockets, stop)
        finally:
            for sock in sockets:
                sock.close()
    finally:
        if watch is not None:
            watch.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _serve_on(make_app: Callable[[], web.Application], sockets: list[socket.socket], stop: asyncio.Event) -> None:
    try:
        app = make_app()
    except StoreError:
        raise
    except Exception as exc:
        raise _startup_failure(exc) from exc
    runner = LineageRunner(
        app,
        handle_signals=False,  # _serve's own handlers: a stop is an event, not an exception
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        access_log=logging.getLogger("lineage.access"),
        access_log_class=AccessLogger,
        # The body reader inflates gzip itself, under a limit; aiohttp's own inflating has none.
        auto_decompress=False,
    )
    try:
        await _start(runner, sockets)
        tune_gc()
        asyncio.get_running_loop().set_exception_handler(partial(_loop_error, runner.lineage_server))
        await stop.wait()
        logger.info("stopping: answering what is in progress, draining the queue (at most %g s)", SHUTDOWN_TIMEOUT)
    finally:
        await runner.cleanup()


async def _start(runner: LineageRunner, sockets: list[socket.socket]) -> None:
    try:
        await runner.setup()
        for sock in sockets:
            await web.SockSite(runner, sock).start()
    except Exception as exc:
        raise _startup_failure(exc) from exc
    for sock in sockets:
        logger.info("listening on http://%s", _where(sock.getsockname()))


def _startup_failure(exc: Exception) -> StartupError:
    # One line for the operator; the traceback only at debug level (a bug of ours needs it, a bad setting not).
    logger.debug("start-up failed", exc_info=exc)
    return StartupError(f"cannot start: {exc.__class__.__name__}: {exc}")


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """Stop once the parent is gone (a child is then adopted, and getppid() changes)."""
    while True:
        if os.getppid() != parent:
            break
        await asyncio.sleep(PARENT_POLL)
    logger.warning("the parent process %d is gone: stopping", parent)
    stop.set()


# asyncio's accept loop reports running out of descriptors here, once a second per listening socket, and
# retries a second later; the default handler logs each with a traceback.
ACCEPT_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_accept_log = Throttle(lines=3, period=60.0)


def _loop_error(server: LineageServer, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in ACCEPT_ERRORS:
        shed = server.shed_idle()
        _accept_log.log(
            logger,
            logging.ERROR,
            "cannot accept connections: %s; closed %d idle keep-alive connections "
            "(raise LimitNOFILE / ulimit -n if this recurs)",
            exc.strerror,
            shed,
        )
        return
    if isinstance(exc, ValueError) and "._start_serving(" in context.get("message", ""):
        # That retry, run after a stop closed the listening socket (its descriptor is then -1): nothing is left
        # to accept. asyncio does not cancel the retry when the server closes.
        logger.debug("a retry of accepting found its listening socket closed by the stop")
        return
    loop.default_exception_handler(context)


# Workers -----------------------------------------------------------------------------------------------------

EXIT_STARTUP = 3  # a worker's exit status when it could not start: restarting it would fail the same way
PARENT_POLL = 1.0  # seconds between a worker's looks at its parent's pid
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


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

    The address is tried here first, without SO_REUSEPORT: a busy port or an unresolvable host is one
    StartupError before any worker exists. A worker that cannot start (EXIT_STARTUP) stops them all, with exit
    status 2, instead of being restarted forever. Each worker dies with this process (die_with_parent).
    Forking happens before any event loop, thread or store connection exists in this process, so each worker
    builds its own (make_app runs in the child).
    """
    for sock in bind(host, port, reuse_port=False):
        sock.close()
    master = _Master(make_app, host, port, child_exit)
    signal.signal(signal.SIGTERM, master.stop)
    signal.signal(signal.SIGINT, master.stop)
    for number in range(workers):
        master.spawn(number)
    logger.info("%d workers serving on http://%s:%d", workers, host, port)
    return master.wait()


class _Master:
    """The parent of the workers: who runs, whether it is stopping, and how the workers ended."""

    def __init__(
        self, make_app: Callable[[], web.Application], host: str, port: int, child_exit: Callable[[int], None]
    ) -> None:
        self.make_app, self.host, self.port, self.child_exit = make_app, host, port, child_exit
        self.pid = os.getpid()
        self.children: dict[int, int] = {}  # pid -> worker number
        self.stopping = self.failed = self.startup_failed = False

    def spawn(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:
            _worker(self.make_app, self.host, self.port, number, self.pid)
        self.children[pid] = number

    def stop(self, signum: int, _frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            _signal(pid, signal.SIGTERM)

    def wait(self) -> int:
        """Reap workers until none is left: 0 all stopped cleanly, 1 one failed, 2 one could not start."""
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # a signal arrived; the handler already forwarded it
                continue
            if pid in self.children:
                self.child_exit(pid)
                self._ended(pid, self.children.pop(pid), os.waitstatus_to_exitcode(status))
        sys.stdout.flush()
        return 2 if self.startup_failed else 1 if self.failed else 0

    def _ended(self, pid: int, number: int, code: int) -> None:
        if code == EXIT_STARTUP and not self.startup_failed:
            self.startup_failed = True
            logger.error("worker %d could not start: stopping the others", number)
            self.stop(signal.SIGTERM, None)
        elif not self.stopping:
            logger.error("worker %d (pid %d) exited with %d; starting it again", number, pid, code)
            time.sleep(RESTART_PAUSE)
            if not self.stopping:  # a stop signal during the pause: a worker started now would never be stopped
                self.spawn(number)
        elif code not in (0, -signal.SIGTERM):  # -SIGTERM: stopped by the master before it could install handlers
            self.failed = True


def _worker(make_app: Callable[[], web.Application], host: str, port: int, number: int, parent: int) -> NoReturn:
    """The body of a forked worker: serve until a signal, then leave without running the parent's exit code."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code = 0
    try:
        die_with_parent(parent)
        run(make_app, partial(bind, host, port, reuse_port=True), parent=parent)
    except (StartupError, StoreError) as exc:
        logger.error("worker %d: %s", number, exc)
        code = EXIT_STARTUP
    except BaseException:
        logger.exception("worker %d failed", number)
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def die_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux: prctl PR_SET_PDEATHSIG), so
    that a SIGKILLed master leaves no orphan serving the port; the worker then stops as on any SIGTERM
    (answers what is in progress, commits its queue). Elsewhere run()'s parent watch does it within
    PARENT_POLL seconds; on Linux the watch stays as a second line.

    StartupError when the parent is already gone (it died between fork and prctl)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            logger.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != parent:
        raise StartupError(f"the parent process {parent} is gone")


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
