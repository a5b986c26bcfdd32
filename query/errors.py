"""The one HTTP error base class, and the query layer's errors.

Every error a client can be answered with is a subclass of `HttpError` with its own status and code (one
class per code, so the set of codes is the set of subclasses). query never imports ingest, so the base
lives here; ingest.http subclasses it and its error middleware renders every one in the one error shape
{"error", "message", "code", "details": [{"path", "message"}], "request_id"} (`message` repeats `error` for
Marquez's web UI, which shows `code` and `message`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class HttpError(Exception):
    """A refusal the client sees: `status` and a stable `code` (set by each subclass), a sentence, per-path
    details, headers to send with it (WWW-Authenticate, ...), and `fields`: members shown beside the error's
    own in the body (the readiness checks)."""

    status: ClassVar[int]
    code: ClassVar[str]

    def __init__(
        self,
        message: str,
        details: Sequence[tuple[str, str]] = (),
        *,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})


class BadRequest(HttpError):
    """A query parameter out of its bounds, or a body that cannot be read whole."""

    status = 400
    code = "BAD_REQUEST"


class NotFound(HttpError):
    """Nothing by that name: a namespace, dataset, field, job, run or database, or a path no route serves."""

    status = 404
    code = "NOT_FOUND"


class AmbiguousDataset(HttpError):
    """A dataset name shared by several namespaces, given where only an id or a unique name will do."""

    status = 409
    code = "AMBIGUOUS_DATASET"


def bad_parameter(name: str, message: str) -> BadRequest:
    return BadRequest(f"{name}: {message}", [(name, message)])


def not_found(what: str, name: str) -> NotFound:
    return NotFound(f"{what} {name!r} was not found")
