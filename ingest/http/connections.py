"""The layer under the app: aiohttp's connection handler and server, changed where an operator needs it.

- Protocol errors: a request aiohttp's parser refuses (a malformed request line or header, a header folded
  over two lines, a header line over 8190 bytes, more than 128 headers, a duplicate Content-Length, broken
  chunked framing) never reaches the app. aiohttp answers it in plain text that echoes the offending bytes
  (an Authorization header among them) and logs a traceback that holds them. Here it is answered in the one
  JSON error shape (400 BAD_REQUEST, a fixed sentence, never the request's bytes) and logged as one line
  without them, at most PROTOCOL_LOG_LINES a minute.
- Stopping: aiohttp closes every connection the moment it stops listening, so a request a client had just
  sent on a keep-alive connection is dropped unanswered, and a request whose body is still arriving stops
  being read. Here every request that starts after the stop is answered 503 SHUTTING_DOWN with
  `Connection: close`; requests in progress finish (their bodies still read); idle keep-alive connections
  stay open SHUTDOWN_GRACE seconds to answer what was already on its way, then close.
- Out of file descriptors: `shed_idle()` closes idle keep-alive connections so that accepting resumes.

aiohttp has no hook for any of this but subclassing its RequestHandler (`handle_error`, `finish_response`) and
its low-level Server; the few private attributes read here are named in comments, and
tests/ingest/http/test_connections.py holds each behaviour to the installed aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from typing import Any

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

from ingest.http.errors import Internal, error_response
from ingest.http.receiver import ShuttingDown
from ingest.http.typedefs import SETTINGS
from ingest.logs import Throttle
from query.errors import BadRequest

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE = 1.0  # seconds an idle keep-alive connection stays open after the stop, answering 503
POLL = 0.05  # seconds between looks at the connections while stopping
PROTOCOL_LOG_LINES = 5  # protocol errors logged per minute at most (a scanner sends thousands)

# What the client is told, by aiohttp's exception class: fixed sentences, because aiohttp's own messages quote
# the request's bytes. The first match in order wins (subclasses before their bases).
_SENTENCES: tuple[tuple[type[Exception], str], ...] = (
    (http_exceptions.LineTooLong, "a request line or header field is longer than 8190 bytes"),
    (http_exceptions.InvalidHeader, "a header field is malformed"),
    (http_exceptions.BadHttpMethod, "the request line does not start with an HTTP method"),
    (http_exceptions.BadStatusLine, "the request line is malformed"),
    (http_exceptions.InvalidURLError, "the request target is not a valid URL"),
    (http_exceptions.TransferEncodingError, "the chunked body is malformed"),
    (http_exceptions.ContentLengthError, "the body does not match its Content-Length"),
)
# llhttp's descriptions ("Invalid header value char", "Duplicate Content-Length") are fixed texts, followed by
# the bytes at fault after a colon or a newline: only a leading plain phrase is kept.
_DESCRIPTION = re.compile(r"[A-Za-z][A-Za-z '`-]{2,80}")


def protocol_sentence(exc: BaseException | None) -> str:
    """What was wrong with a request aiohttp's parser refused, in words that never quote the request."""
    for kind, sentence in _SENTENCES:
        if isinstance(exc, kind):
            return sentence
    if isinstance(exc, http_exceptions.HttpProcessingError):
        first = re.split(r"[:\n]", exc.message, maxsplit=1)[0].strip().rstrip(".")
        if _DESCRIPTION.fullmatch(first):
            return first
    return "the request is not valid HTTP/1.1"


class LineageRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol, with JSON protocol errors and a stop that answers what it accepted."""

    def __init__(self, server: LineageServer, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self.lineage_server = server

    @property
    def idle(self) -> bool:
        """Waiting for a request, none in progress or queued (aiohttp's `_request_in_progress`, `_messages`)."""
        return not self._request_in_progress and not self._messages and self.transport is not None

    @property
    def busy(self) -> bool:
        return bool(self._request_in_progress)

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """aiohttp calls this for a request its parser refused (400) and for an error that escaped the app
        (500; the app's error middleware leaves none, so that is a bug). Either way the connection closes."""
        if request.writer.output_size > 0:  # as aiohttp: an answer was started, the connection is broken
            raise ConnectionError("the response had started; no error can be sent")
        error: Internal | BadRequest
        if status >= 500:
            logger.error("unexpected error below the app, from %s", request.remote, exc_info=exc)
            error = Internal("internal error")
        else:
            sentence = protocol_sentence(exc)
            message = "refused a request from %s that is not valid HTTP: %s"
            self.lineage_server.protocol_log.log(logger, logging.WARNING, message, request.remote, sentence)
            error = BadRequest(f"the request is not valid HTTP/1.1: {sentence}")
        response = error_response(error, secrets.token_hex(16), self.lineage_server.retry_after)
        response.force_close()
        return response

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        if self.lineage_server.stopping:  # the client reconnects elsewhere instead of sending more here
            resp.force_close()
        return await super().finish_response(request, resp, start_time)


class LineageServer(Server):
    """aiohttp's low-level server, making LineageRequestHandlers; `stopping` once the listening sockets close."""

    def __init__(self, handler: Any, *, retry_after: str, **kwargs: Any) -> None:
        super().__init__(self._dispatch, **kwargs)
        self._app_handler = handler
        self.retry_after = retry_after
        self.stopping = False
        self.protocol_log = Throttle(PROTOCOL_LOG_LINES, 60.0)

    def __call__(self) -> LineageRequestHandler:
        return LineageRequestHandler(self, loop=self._loop, **self._kwargs)

    async def _dispatch(self, request: BaseRequest) -> web.StreamResponse:
        # Read per request, not per connection: a request that starts after the stop is refused, one that
        # started before goes on.
        if self.stopping:
            refusal = ShuttingDown("the server is shutting down; retry against another instance")
            return error_response(refusal, secrets.token_hex(16), self.retry_after)
        response: web.StreamResponse = await self._app_handler(request)
        return response

    def pre_shutdown(self) -> None:
        # aiohttp closes every connection here; see the module's docstring for why this one does not.
        self.stopping = True

    # aiohttp's signature, `timeout` included: Server.shutdown is what its runner calls.
    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait SHUTDOWN_GRACE (while a connection is open) and until no request is in progress, within
        `timeout`; then close every connection as aiohttp does, cancelling what still runs."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + (timeout or 0.0)
        while self.connections and loop.time() < deadline:
            if loop.time() - start >= SHUTDOWN_GRACE and not any(_busy(c) for c in self.connections):
                break
            await asyncio.sleep(POLL)
        # aiohttp's ceil_timeout treats 0 as "no limit": what is left, but never 0.
        await super().shutdown(max(deadline - loop.time(), POLL))

    def shed_idle(self) -> int:
        """Close every idle keep-alive connection (a client reconnects when it needs to); how many closed."""
        idle = [c for c in self.connections if isinstance(c, LineageRequestHandler) and c.idle]
        for connection in idle:
            connection.force_close()
        return len(idle)


def _busy(connection: RequestHandler) -> bool:
    return isinstance(connection, LineageRequestHandler) and connection.busy


class LineageRunner(web.AppRunner):
    """web.AppRunner serving through LineageServer."""

    lineage_server: LineageServer  # set by setup()

    async def _make_server(self) -> Server:
        made = await super()._make_server()
        self.lineage_server = LineageServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            retry_after=str(self.app[SETTINGS].http.retry_after_seconds),
            loop=asyncio.get_running_loop(),
            **made._kwargs,  # the handler options the app chose (access log, timeouts, debug)
        )
        return self.lineage_server
