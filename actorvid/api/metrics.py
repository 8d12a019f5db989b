"""``GET /metrics``: the Prometheus text format, for admins or the ``ACTORVID_METRICS_TOKEN``
bearer; and the middleware that counts and times every request.

Like the debug endpoint, anyone else gets 404 (its existence is not advertised); no
credential at all is a 401.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import falcon

from actorvid.api.operations import AUTH, Op, described
from actorvid.config import Secret
from actorvid.errors import NotFound
from actorvid.metrics import CONTENT_TYPE, Metrics


class MetricsResource:
    def __init__(self, metrics: Metrics, token: Secret) -> None:
        self.metrics = metrics
        self._token = token

    def other_credential(self, req: falcon.Request) -> bool:
        """``Authorization: Bearer <ACTORVID_METRICS_TOKEN>`` (compared in constant time)."""
        if not self._token:
            return False
        scheme, _, credential = (req.get_header("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), self._token.reveal().encode())

    @described(Op(
        "Metrics in the Prometheus text format (admins, or the metrics token)", ("service",),
        binary="text/plain", errors=(401, 404), security=[*AUTH, {"metricsToken": []}],
        description="Jobs by status, scenes in flight, predictions created/failed/retried by "
                    "model, create-limiter tokens and pauses, ffmpeg slots busy/waiting, "
                    "requests by route template, method and status with their latency, blob "
                    "bytes and database size. Authorization: Bearer <ACTORVID_METRICS_TOKEN>, "
                    "or an admin's credentials; anyone else gets 404."))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user = getattr(req.context, "user", None)
        if user is None and not self.other_credential(req):
            raise NotFound()
        if user is not None and not getattr(user, "is_admin", False):
            raise NotFound()
        resp.content_type = CONTENT_TYPE
        resp.data = self.metrics.exposition()


class RequestMetricsMiddleware:
    """Count and time every request by its route *template* (never the raw path: ids would
    make a series per job), method and final status."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        # ``labels()`` takes the metric's lock and validates the values on every call; the
        # children it returns are fixed per label set, so each is looked up once. Bounded by
        # routes × methods × statuses (route templates, never raw paths).
        self._series: dict[tuple[str, str, int], Any] = {}

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.monotonic()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "metrics_started", None)
        if started is None:
            return
        key = (req.uri_template or "unmatched", req.method, resp.status_code)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self.metrics.requests.labels(
                key[0], key[1], str(key[2]))
        series.observe(time.monotonic() - started)
