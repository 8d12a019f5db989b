"""The one place where errors become HTTP responses, always in the envelope.

Our own :class:`~actorvid.errors.ActorvidError` carries its status and code; Falcon's own
errors (unknown route, wrong method, bad query parameter, malformed body) are translated to the
same shape; anything else is a 500 with a generic sentence and the request id, the traceback
going to the log only. Nothing from an exception's text reaches a client unless we wrote it for
clients.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from actorvid import errors
from actorvid.api.envelope import envelope, request_id_var
from actorvid.api.validation import malformed_json

logger = logging.getLogger(__name__)


def _respond(resp: falcon.Response, status: int, code: str, message: str,
             **meta_extra: Any) -> None:
    resp.status = status
    resp.media = envelope(None, message, code=code, **meta_extra)
    # A streamed body may have been attached before the error.
    resp.stream = None
    resp.text = None
    resp.data = None


def handle_actorvid_error(req: falcon.Request, resp: falcon.Response,
                          ex: errors.ActorvidError, params: dict[str, Any]) -> None:
    if isinstance(ex, errors.ProviderError) and ex.public:
        _respond(resp, 502, "bad_gateway", ex.message)
        return
    if isinstance(ex, errors.ProviderError):
        logger.warning("provider error on %s %s (request %s): %s", req.method, req.path,
                       request_id_var.get(), ex.message)
        _respond(resp, 502, "bad_gateway", "An upstream service failed; try again later")
        return
    if ex.status >= 500 and not isinstance(ex, errors.ServiceUnavailable):
        logger.error("internal error on %s %s (request %s)", req.method, req.path,
                     request_id_var.get(), exc_info=ex)
        _respond(resp, 500, "internal_error", "Internal server error")
        return
    extra: dict[str, Any] = {}
    if isinstance(ex, errors.ValidationFailed):
        extra["details"] = ex.details
    if isinstance(ex, errors.RateLimited) and ex.retry_after is not None:
        resp.set_header("Retry-After", str(max(1, int(ex.retry_after + 0.999))))
    if isinstance(ex, errors.Unauthorized):
        resp.set_header("WWW-Authenticate", "Bearer")
    if isinstance(ex, errors.RangeNotSatisfiable):
        resp.set_header("Content-Range", f"bytes */{ex.size}")
    _respond(resp, ex.status, ex.code, ex.message, **extra)


# Falcon's own errors, by class, as (status, code, message) or translated below.
_FALCON_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Not authenticated. Login required."),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    411: ("length_required", "Content-Length is required"),
    413: ("payload_too_large", "Request body is too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    416: ("range_not_satisfiable", "Requested range not satisfiable"),
    429: ("rate_limited", "Too many requests"),
}


def handle_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError,
                      params: dict[str, Any]) -> None:
    if isinstance(ex, falcon.MediaMalformedError):
        _respond(resp, 400, "malformed_json", malformed_json(ex).message)
        return
    if isinstance(ex, (falcon.HTTPInvalidParam, falcon.HTTPMissingParam)):
        name = (ex.description or "").split("\"")[1] if "\"" in (ex.description or "") else ""
        msg = "Missing parameter" if isinstance(ex, falcon.HTTPMissingParam) else (
            "Invalid parameter")
        detail = {"loc": ["query", name] if name else ["query"], "msg": ex.description or msg,
                  "type": "missing" if isinstance(ex, falcon.HTTPMissingParam) else "value_error"}
        _respond(resp, 422, "validation_failed", ex.description or msg, details=[detail])
        return
    if isinstance(ex, falcon.HTTPMethodNotAllowed):
        resp.set_header("Allow", (dict(ex.headers or {})).get("Allow", ""))
    status = ex.status_code
    code, message = _FALCON_CODES.get(status, ("error", "Request failed"))
    if status >= 500:
        logger.error("falcon error %s on %s %s (request %s): %s", status, req.method, req.path,
                     request_id_var.get(), ex.title)
        code, message = "internal_error", "Internal server error"
    _respond(resp, status, code, message)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: dict[str, Any]) -> None:
    logger.error("unhandled error on %s %s (request %s)", req.method, req.path,
                 request_id_var.get(), exc_info=ex)
    _respond(resp, 500, "internal_error", "Internal server error")


def install(app: falcon.App) -> None:
    # Falcon picks the most specific handler by MRO, so order does not matter.
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(errors.ActorvidError, handle_actorvid_error)
