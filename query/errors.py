"""The one exception the query layer raises for the client; the app's error middleware renders it.

The middleware (ingest.http.errors) renders any exception with `status`, `code`, `message` and `details`
attributes in the one error shape {"error", "code", "details": [{"path", "message"}], "request_id"}.
query never imports ingest, so it carries its own class with those attributes.
"""

from __future__ import annotations

from collections.abc import Sequence


class QueryError(Exception):
    """A request the query layer refuses: its HTTP status, a stable code, a sentence, (path, message) details."""

    def __init__(self, status: int, code: str, message: str, details: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)


def bad_parameter(name: str, message: str) -> QueryError:
    return QueryError(400, "BAD_REQUEST", f"{name}: {message}", [(name, message)])


def not_found(what: str, name: str) -> QueryError:
    return QueryError(404, "NOT_FOUND", f"{what} {name!r} was not found")
