"""The one error hierarchy of actorvid.

Client-facing errors are named after the ``code`` the API answers with in the error envelope
(``not_found``, ``validation_failed``, ...; see docs/architecture.md, HTTP) and carry their status;
``actorvid.api.errors`` is the only place that turns them into responses. Internal errors end
in ``Error`` and never reach a client as they are: the API reports them as a generic 500 (or
502 for a provider) with the request id, and logs the detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ActorvidError(Exception):
    """Base of every error we raise on purpose."""

    code = "internal_error"
    status = 500
    message = "Internal server error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


# --- client-facing -------------------------------------------------------------------------


class BadRequest(ActorvidError):
    code = "bad_request"
    status = 400
    message = "Bad request"


class MalformedJSON(BadRequest):
    code = "malformed_json"
    message = "Request body is not valid JSON"


class Unauthorized(ActorvidError):
    code = "unauthorized"
    status = 401
    message = "Not authenticated. Login required."


class Forbidden(ActorvidError):
    code = "forbidden"
    status = 403
    message = "Not allowed"


class NotFound(ActorvidError):
    code = "not_found"
    status = 404
    message = "Not found"


class Conflict(ActorvidError):
    code = "conflict"
    status = 409
    message = "Conflict"


class PayloadTooLarge(ActorvidError):
    code = "payload_too_large"
    status = 413
    message = "Request body is too large"


class UnsupportedMediaType(ActorvidError):
    code = "unsupported_media_type"
    status = 415
    message = "Unsupported media type"


class RangeNotSatisfiable(ActorvidError):
    code = "range_not_satisfiable"
    status = 416
    message = "Requested range not satisfiable"

    def __init__(self, size: int, message: str | None = None) -> None:
        super().__init__(message)
        self.size = size


class ValidationFailed(ActorvidError):
    """Bad input; ``details`` lists every bad field as ``{loc, msg, type}``."""

    code = "validation_failed"
    status = 422
    message = "Validation failed"

    def __init__(self, message: str | None = None,
                 details: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.details = list(details)

    @classmethod
    def field(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error",
              message: str | None = None) -> ValidationFailed:
        return cls(message or msg, [{"loc": list(loc), "msg": msg, "type": type_}])


class RateLimited(ActorvidError):
    code = "rate_limited"
    status = 429
    message = "Too many requests"

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(ActorvidError):
    code = "service_unavailable"
    status = 503
    message = "Service unavailable"


# --- internal ------------------------------------------------------------------------------


class StoreError(ActorvidError):
    """The database could not do what was asked (not a client mistake)."""


class MediaError(ActorvidError):
    """ffmpeg failed or is missing; ``stderr_tail`` is for logs, never for clients."""

    def __init__(self, message: str | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class ProviderError(ActorvidError):
    """An external provider failed. ``retryable`` and ``retry_after`` steer the caller."""

    status = 502
    code = "bad_gateway"
    # True when ``message`` was written for clients (e.g. a URL we could not download);
    # otherwise a provider's own words stay in the log and clients get a generic sentence.
    public = False

    def __init__(self, message: str | None = None, *, retryable: bool = False,
                 retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.http_status = status
