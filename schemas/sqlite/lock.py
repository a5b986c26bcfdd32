"""Turn-taking between the processes that write one SQLite file: an flock on a file beside it.

Why not leave it to SQLite: `lineage serve --workers N` (and `lineage ingest` next to a running server) write
the same file, and a writer that finds it locked sleeps in SQLite's default busy handler, the only one
Python's sqlite3 offers, for 1, 2, 5, 10, 15 ... ms in turn. A group commit takes a few milliseconds, so two
busy workers spent much of their time asleep after the lock was already free. Waiting on a lock of our own,
polled every half millisecond, lets the next writer in within that half millisecond (the ingestion benchmark,
tests/bench, reports what that is worth on a given machine). Writers that do not take this lock (the sqlite3
shell, the Teradata application's tools) are still kept apart by SQLite's own locking.

The lock file (the database's name plus `-writer`) is empty and may be deleted while nothing runs; it is
opened read-only (an flock needs no more), so a file left by another user still serves. An flock
belongs to one open file description, so each store opens its own after any fork, and two stores in one
process exclude each other as two processes do.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from schemas.store import StoreError, StoreUnavailable

SUFFIX = "-writer"
POLL_SECONDS = 0.0005


class WriterLock:
    def __init__(self, database: str, timeout_seconds: float) -> None:
        self.path = database + SUFFIX
        self._timeout = timeout_seconds
        try:
            self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise StoreError(f"the SQLite store's lock file {self.path} cannot be opened: {error}") from error

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block; StoreUnavailable when another writer keeps it past the timeout."""
        fd = self._open_fd()
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(
                        f"another process has held the SQLite write lock ({self.path}) for {self._timeout:g} s"
                    ) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def try_hold(self) -> bool:
        """Take the lock if it is free right now; True when taken (then `release()` it)."""
        try:
            fcntl.flock(self._open_fd(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self._open_fd(), fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open_fd(self) -> int:
        if self._fd is None:
            raise StoreError("the SQLite store is closed")
        return self._fd
