"""The connection layer (ingest.http.connections) under a real `lineage serve` process, spoken to over raw
sockets: aiohttp's protocol errors in the one JSON shape and one log line without secrets; a stop that answers
the requests on open connections; running out of file descriptors without a flood of tracebacks."""

from __future__ import annotations

import resource
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from aiohttp import http_exceptions

from ingest.http.connections import PROTOCOL_LOG_LINES, protocol_sentence
from tests.ingest.processes import (
    LINEAGE,
    SHUTDOWN_SECONDS,
    environment,
    free_port,
    get,
    listening_sockets,
    rows,
    serving,
    upgrade_schema,
    wait_for,
    wait_for_health,
)
from tests.ingest.rawhttp import Answer, connect, exchange, read_answer, request

SINGLE = "/api/v1/lineage"
KEY = "hd2-connection-key-0123456789"
ERROR_FIELDS = {"error", "message", "code", "details", "request_id"}


def event(job: str = "connections") -> bytes:
    return orjson.dumps(
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-05-01T10:00:00.000Z",
            "producer": "https://github.com/lineage-server/tests",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "tests", "name": job},
        }
    )


AUTH = f"Authorization: Bearer {KEY}\r\n".encode()
POST = b"POST /api/v1/lineage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
# What aiohttp's parser refuses before the app sees the request; each holds the key, so none may echo it.
PROTOCOL_ERRORS = {
    "folded_authorization": POST + b"Authorization: Bearer\r\n " + KEY.encode() + b"\r\nContent-Length: 2\r\n\r\n{}",
    "oversized_header": b"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    + KEY.encode()
    + b"a" * 9000
    + b"\r\n\r\n",
    "duplicate_content_length": POST + AUTH + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "content_length_and_chunked": POST + AUTH + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad_chunk_size": POST + AUTH + b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\nZZ\r\n' + KEY.encode() + b"\r\n",
    "chunk_longer_than_said": POST + AUTH + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX\r\n0\r\n\r\n",
    "too_many_headers": b"GET /health HTTP/1.1\r\n" + AUTH + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
    "control_character_in_a_value": b"GET /health HTTP/1.1\r\nX-Key: " + KEY.encode() + b"\x01\r\n\r\n",
    "not_http_at_all": KEY.encode() + b"\r\n\r\n",
    "bad_version": b"GET /health HTTP/9." + KEY.encode() + b"\r\n\r\n",
}


def assert_one_shape(answer: Answer, status: int, code: str) -> dict[str, object]:
    assert answer.status == status, answer.raw[:300]
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = answer.json()
    assert isinstance(body, dict) and set(body) == ERROR_FIELDS and body["code"] == code, body
    return body


def test_protocol_errors_answer_the_one_shape_and_log_one_line_without_the_key(tmp_path: Path) -> None:
    with serving(tmp_path, LINEAGE_API_KEYS=KEY) as server:
        for name, data in PROTOCOL_ERRORS.items():
            answer = exchange(server.port, data)
            assert_one_shape(answer, 400, "BAD_REQUEST")
            assert KEY.encode() not in answer.raw, name
        for _ in range(3 * PROTOCOL_LOG_LINES):  # a scanner's flood
            assert exchange(server.port, PROTOCOL_ERRORS["not_http_at_all"]).status == 400
        # The server goes on serving, and a good request on its own connection is not hurt.
        authorized = request("POST", SINGLE, event(), Content_Type="application/json", Authorization=f"Bearer {KEY}")
        assert exchange(server.port, authorized).status == 201
        assert server.stop() == 0
        log = server.log_text()
    assert KEY not in log, log
    assert "Traceback" not in log, log
    lines = [line for line in log.splitlines() if "not valid HTTP" in line]
    assert 1 <= len(lines) <= PROTOCOL_LOG_LINES, lines


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (http_exceptions.LineTooLong(b"Authorization: Bearer " + KEY.encode(), 8190), "longer than 8190 bytes"),
        (http_exceptions.InvalidHeader(b"Authorization: Bearer\r\n " + KEY.encode()), "a header field is malformed"),
        (
            http_exceptions.BadHttpMessage(f"Invalid header value char:\n\n  b'{KEY}'\n     ^"),
            "Invalid header value char",
        ),
        (http_exceptions.BadHttpMessage(f"{KEY} and more: words"), "not valid HTTP/1.1"),
        (None, "not valid HTTP/1.1"),
    ],
)
def test_protocol_sentences_never_quote_the_request(exc: Exception | None, sentence: str) -> None:
    said = protocol_sentence(exc)
    assert sentence in said and KEY not in said


def test_sigterm_answers_the_requests_on_open_connections(tmp_path: Path) -> None:
    """Idle keep-alive connections get 503 SHUTTING_DOWN with Connection: close for a request sent after the
    stop, never a reset; a request whose body was still arriving is read whole, committed and answered 201."""
    with serving(tmp_path) as server:
        idle = [connect(server.port) for _ in range(4)]
        for sock in idle:
            sock.sendall(request("POST", SINGLE, event("before"), Content_Type="application/json"))
            assert read_answer(sock).status == 201
        slow_body = event("slow")
        slow = connect(server.port)
        half = len(slow_body) // 2
        slow.sendall(request("POST", SINGLE, slow_body, Content_Type="application/json")[: -len(slow_body) + half])
        time.sleep(0.3)  # the server has the head and is reading the body
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: not listening_sockets(server.port), 10, "the listening socket closed", pause=0.02)
        for sock in idle:
            sock.sendall(request("POST", SINGLE, event("after"), Content_Type="application/json"))
            answer = read_answer(sock)
            assert_one_shape(answer, 503, "SHUTTING_DOWN")
            assert answer.headers["connection"].lower() == "close" and "retry-after" in answer.headers
        slow.sendall(slow_body[half:])
        answer = read_answer(slow)
        assert answer.status == 201, answer.raw
        assert answer.headers["connection"].lower() == "close"
        code = server.process.wait(timeout=SHUTDOWN_SECONDS)
        for sock in [*idle, slow]:
            sock.close()
        log = server.log_text()
    assert code == 0, log
    assert "Traceback" not in log, log
    jobs = rows(tmp_path, "SELECT name, COUNT(*) FROM OL_JOB JOIN OL_RUN USING (job_id) GROUP BY name ORDER BY name")
    assert jobs == [("before", 4), ("slow", 1)]


DESCRIPTORS = 64  # RLIMIT_NOFILE of the server under test: start-up takes about half
IDLE_CONNECTIONS = 100


@contextmanager
def few_descriptors(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """`lineage serve` limited to DESCRIPTORS open files, its stderr in a log; killed if still running at the end.
    Yields the process, its port and the log, after the first /health answered."""
    env = environment(tmp_path)
    upgrade_schema(env)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [LINEAGE, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))
            wait_for_health(port, process)
            yield process, port, log
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=SHUTDOWN_SECONDS)


def test_out_of_descriptors_logs_a_few_lines_and_service_resumes(tmp_path: Path) -> None:
    with few_descriptors(tmp_path) as (process, port, log):
        held = [connect(port) for _ in range(IDLE_CONNECTIONS)]  # more than the server may open
        # Service goes on while they are held: idle connections are shed to free descriptors.
        status, _, body = wait_for(lambda: _health(port), 30, "/health while descriptors ran out")
        assert status == 200, body
        for sock in held:
            sock.close()
        # And once the clients are gone, it answers at once.
        assert get(f"http://127.0.0.1:{port}/health", timeout=10)[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SHUTDOWN_SECONDS) == 0
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[:3000]
    accept_lines = [line for line in text.splitlines() if "cannot accept connections" in line]
    assert 1 <= len(accept_lines) <= 3, accept_lines


def test_a_stop_while_out_of_descriptors_ends_cleanly(tmp_path: Path) -> None:
    """SIGTERM while accepting waits for descriptors: asyncio retries a second after running out, and that retry
    then finds the listening socket closed by the stop. It exits 0, logging no traceback."""
    with few_descriptors(tmp_path) as (process, port, log):
        held = [connect(port) for _ in range(IDLE_CONNECTIONS)]
        wait_for(lambda: "cannot accept connections" in log.read_text(errors="replace"), 30, "running out")
        process.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # the retry of accepting, due within a second, runs while the server stops
        for sock in held:
            sock.close()
        assert process.wait(timeout=SHUTDOWN_SECONDS) == 0
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[:3000]


def _health(port: int) -> tuple[int, dict[str, str], bytes] | None:
    try:
        return get(f"http://127.0.0.1:{port}/health", timeout=3)
    except OSError:
        return None
