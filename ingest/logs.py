"""Logging for the server: text or JSON lines, each carrying the request id, with secrets redacted.

Only the CLI calls configure_logging(); library modules just use `logging.getLogger(__name__)`.

The request id lives in a context variable. aiohttp runs every request in a task of its own (a copy of
the connection's context), so the error middleware sets it once per request with set_request_id() and
needs no reset: the value cannot leak into the next request, and it is still set when the access log
line is written at the end of the same task. Tasks a handler starts inherit it.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
FORMATS = ("text", "json")
NO_REQUEST = "-"
HANDLER_NAME = "lineage"  # marks the handler configure_logging() installed, so a second call replaces it

_request_id: ContextVar[str | None] = ContextVar("lineage_request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

_SECRETS = (
    # A whole Authorization header value, scheme included, in "name: value", "name=value" or dict reprs.
    (re.compile(r"(?i)\b((?:proxy-)?authorization)([\"']?\s*[:=]\s*[\"']?)[^\r\n\"']+"), r"\1\2[REDACTED]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [REDACTED]"),
    (
        re.compile(
            r"(?i)\b([\w-]*(?:password|passwd|pwd|api[_-]?keys?|secret|token))([\"']?\s*[:=]\s*[\"']?)[^\s\"';&]+"
        ),
        r"\1\2[REDACTED]",
    ),
    # user:password@ in a URL or DSN.
    (re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@/\s]*@"), r"\1:[REDACTED]@"),
)


def set_request_id(value: str) -> Token[str | None]:
    """Make value the request id of every log line written from this context (and tasks started in it)."""
    return _request_id.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


# A word one of the patterns above needs, in lower case. An ASCII text holding none of them has nothing to redact:
# most lines (every access line) are that, and looking for the words costs a fraction of the four searches. Only for
# ASCII text: under IGNORECASE a pattern's letter also matches a few other characters (the Kelvin sign is a k), which
# a look for the lower-cased word would miss.
_SECRET_WORDS = (
    "authorization",
    "bearer",
    "basic",
    "password",
    "passwd",
    "pwd",
    "apikey",
    "api_key",
    "api-key",
    "secret",
    "token",
    "://",
)


def redact(text: str) -> str:
    """text with credentials masked: Authorization values, bearer/basic tokens, passwords, URL user:password."""
    if text.isascii():
        lowered = text.lower()
        if not any(word in lowered for word in _SECRET_WORDS):
            return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`: the current request's id, or "-" outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or NO_REQUEST
        return True


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, with the finished line (traceback included) redacted."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or NO_REQUEST
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, request_id when there is
    one, exc_info and stack_info when present, then every `extra=` field that JSON can carry."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id and request_id != NO_REQUEST:
            line["request_id"] = request_id
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = redact(record.exc_text)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in line and key != "request_id" and _serialisable(value):
                line[key] = redact(value) if isinstance(value, str) else value
        return orjson.dumps(line).decode()


def _serialisable(value: object) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    try:
        orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return False
    return True


def parse_level(level: str) -> int:
    """A level name (any case) as its number; ValueError naming the value otherwise."""
    number = logging.getLevelNamesMapping().get(level.strip().upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return number


def configure_logging(level: str, fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record at level and above to stream (stderr by default) in fmt, "text" or "json".

    Replaces the handler an earlier call installed and leaves any other root handler alone. Returns the
    handler, so that a caller (a test) can remove it.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use text or json")
    number = parse_level(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(number)
    return handler


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path without its query string, status, duration, request id.

    Never headers (Authorization) nor query strings. The raw, still percent-encoded path is logged, so
    that an encoded newline cannot forge a line. Use it with `web.run_app(..., access_log=
    logging.getLogger("lineage.access"), access_log_class=AccessLogger)`.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        request_id = _request_id.get() or response.headers.get("X-Request-ID") or NO_REQUEST
        path = request.rel_url.raw_path
        duration_ms = round(time * 1000, 3)
        self.logger.info(
            "%s %s %d %.1fms",
            request.method,
            path,
            response.status,
            duration_ms,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status,
                "duration_ms": duration_ms,
                "request_id": request_id,
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class Throttle:
    """At most `lines` log lines per `period` seconds for one kind of event, so that a flood (a scanner's
    malformed requests, a shortage of file descriptors) costs a few lines and a count, not a line each: a log
    that writes thousands of lines a second is itself an outage. The first line after a suppressed stretch
    says how many were left out. For one event loop (not thread-safe)."""

    def __init__(self, lines: int = 5, period: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.lines, self.period, self._clock = lines, period, clock
        self._window_start = -period
        self._used = 0
        self.suppressed = 0  # lines left out since the last one written

    def log(self, logger: logging.Logger, level: int, msg: str, *args: object) -> bool:
        """Log `msg % args` unless this period's lines are used up; True when it was written."""
        now = self._clock()
        if now - self._window_start >= self.period:
            self._window_start, self._used = now, 0
        if self._used >= self.lines:
            self.suppressed += 1
            return False
        self._used += 1
        if self.suppressed:
            msg, args = f"{msg} (and %d more like it not logged)", (*args, self.suppressed)
            self.suppressed = 0
        logger.log(level, msg, *args)
        return True
