"""HTTP/1.1 spoken by hand over a blocking socket, for what a client library refuses to send: malformed
framing, folded or oversized headers, broken chunking, requests on a connection at a chosen moment."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import orjson

TIMEOUT = 15.0  # seconds a read waits: the server's body timeout is 15 s


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    raw: bytes  # everything read, head included

    def json(self) -> object:
        return orjson.loads(self.body)


def connect(port: int, timeout: float = TIMEOUT) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    """A well-formed request; header names are given with `_` for `-` (Content_Type=...)."""
    fields = {
        "Host": "127.0.0.1",
        "Content-Length": str(len(body)),
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1") + body


def read_answer(sock: socket.socket) -> Answer:
    """One response from sock; AssertionError when the connection ends (or resets) before a whole one."""
    raw = b""
    try:
        while b"\r\n\r\n" not in raw:
            raw += _recv(sock, raw)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = _recv(sock, raw)
            raw += chunk
            body += chunk
    except ConnectionResetError:
        raise AssertionError(f"the connection was reset after {raw[:200]!r}") from None
    return Answer(int(lines[0].split()[1]), headers, body[:length], raw)


def _recv(sock: socket.socket, so_far: bytes) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise AssertionError(f"the connection closed without a whole answer after {so_far[:200]!r}")
    return chunk


def exchange(port: int, data: bytes, timeout: float = TIMEOUT) -> Answer:
    """Send data on a new connection and read one answer."""
    with connect(port, timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)
