"""Replicate's HTTP protocol: create, find, poll, cancel, download, upload.

Why raw ``requests`` and not the official client: that client never retries a POST (fine) but
also cannot find a create whose answer was lost, treats ``aborted`` as non-terminal, and reads
outputs into memory. Here:

* a create is sent once. If its answer is lost (timeout, reset, 5xx) we look for it by its tag
  (in the webhook URL when webhooks are on, else by listing recent predictions and matching model
  and exact input) and raise :class:`CreateOutcomeUnknown` if one look cannot find it; the
  caller looks again (``find``) before it ever creates anew, so it never pays twice for a scene;
* every call is one attempt and never sleeps: a 429 (with the body's ``retry_after`` or the
  ``Retry-After`` header), a 5xx or a broken connection comes back as a retryable
  :class:`ProviderError` saying when to try again, and the calling actor waits on a timer
  message (so a cancel is never stuck behind a retry loop);
* outputs stream into a file object in pieces; an expired output says so and is not retried.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from actorvid.clock import isoformat_z
from actorvid.config import Secret
from actorvid.errors import ProviderError
from actorvid.providers.base import CreateOutcomeUnknown, OutputExpired, Prediction
from actorvid.providers.http import (
    BearerAuth,
    ThreadSessions,
    error_detail,
    json_body,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

DOWNLOAD_PIECE = 256 * 1024
STATUSES = ("starting", "processing", "succeeded", "failed", "canceled", "aborted")



@dataclass(frozen=True)
class _Attempt:
    """What a create sent, kept so ``find(tag)`` can recognise it in a listing."""

    model: str
    version: str | None
    input: dict[str, Any]
    created_after: datetime


class ReplicateClient:
    """The predictions, files and webhook-secret endpoints of one Replicate account."""

    def __init__(
        self,
        base_url: str,
        token: Secret | str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        create_timeout: float = 30.0,
        download_timeout: float = 120.0,
        cancel_after: str = "30m",
        webhook_url: str = "",
        webhook_events: tuple[str, ...] = ("start", "completed"),
        list_pages: int = 3,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.create_timeout = create_timeout
        self.download_timeout = download_timeout
        self.cancel_after = cancel_after
        self.webhook_url = webhook_url
        self.webhook_events = webhook_events
        self.list_pages = list_pages
        # One session per thread unless the caller hands one in (tests do).
        self._sessions = ThreadSessions("actorvid/0.1 (+replicate)")
        self._given_session = session
        self._attempts: OrderedDict[str, _Attempt] = OrderedDict()
        self._attempts_lock = threading.Lock()

    # --- plumbing --------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        return self._given_session or self._sessions.get()

    def _auth(self) -> BearerAuth:
        return BearerAuth(self._token.reveal())

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def _request(self, method: str, path: str, *, timeout: float | None = None,
                 **kwargs: Any) -> Any:
        """One attempt; returns the JSON body or raises a :class:`ProviderError` that says
        whether trying again can help (``retryable``) and when (``retry_after``).

        Never sleeps: the callers are actors, which wait on timer messages, so a cancel is never
        stuck behind a retry loop.
        """
        url = self._url(path)
        try:
            resp = self._session().request(
                method, url, auth=self._auth(),
                timeout=(self.connect_timeout, timeout or self.timeout), **kwargs)
            body = json_body(resp)
        except requests.RequestException as exc:
            raise ProviderError(f"Replicate did not answer ({type(exc).__name__})",
                                retryable=True) from exc
        if resp.status_code < 300:
            return body
        detail = error_detail(body, resp)
        status = resp.status_code
        if status == 429:
            raise ProviderError(f"Replicate throttled the request: {detail}", retryable=True,
                                retry_after=retry_after_seconds(resp, body), status=429)
        if status >= 500:
            raise ProviderError(f"Replicate failed ({status}): {detail}", retryable=True,
                                retry_after=retry_after_seconds(resp, body), status=status)
        if status in (401, 403):
            raise ProviderError(f"Replicate refused the API token ({status}): {detail}",
                                status=status)
        if status == 402:
            raise ProviderError(f"Replicate account is out of credit: {detail}", status=402)
        raise ProviderError(f"Replicate rejected the request ({status}): {detail}",
                            status=status)

    # --- predictions -----------------------------------------------------------------------

    def create(self, *, model: str, input: Mapping[str, Any], tag: str,
               version: str | None = None, wait: int | None = None) -> dict[str, Any]:
        """Create a prediction: official-model route, or ``/predictions`` with ``version``.

        On a lost answer the prediction is searched by ``tag``; if it cannot be found
        :class:`CreateOutcomeUnknown` is raised and the caller must ``find(tag)`` again before
        creating anew.
        """
        payload: dict[str, Any] = {"input": dict(input)}
        if version:
            payload["version"] = version
            path = "/predictions"
        else:
            path = f"/models/{model}/predictions"
        if self.webhook_url:
            sep = "&" if "?" in self.webhook_url else "?"
            payload["webhook"] = f"{self.webhook_url}{sep}{urlencode({'tag': tag})}"
            payload["webhook_events_filter"] = list(self.webhook_events)
        # Replicate ignores unknown headers; the tag lets logs and our fake group predictions.
        headers = {"Content-Type": "application/json", "X-Actorvid-Tag": tag}
        if self.cancel_after:
            headers["Cancel-After"] = self.cancel_after
        if wait:
            headers["Prefer"] = f"wait={max(1, min(60, wait))}"
        # Clock skew between us and Replicate must not hide the prediction from the listing.
        attempt = _Attempt(model, version, json.loads(json.dumps(payload["input"])),
                           datetime.now(UTC) - timedelta(minutes=5))
        self._remember(tag, attempt)
        try:
            body = self._request("POST", path, json=payload, headers=headers,
                                 timeout=self.create_timeout + (wait or 0))
        except ProviderError as exc:
            if not exc.retryable or exc.http_status == 429:
                raise  # definitely not created
            logger.warning("Replicate create for tag %s lost its answer (%s); searching",
                           tag, exc.message)
            found = self._find_once(tag)
            if found is not None:
                logger.info("Replicate create for tag %s found as %s", tag, found.get("id"))
                return found
            raise CreateOutcomeUnknown(
                f"Replicate create for tag {tag} may or may not exist: {exc.message}",
                tag=tag) from exc
        if not isinstance(body, dict) or "id" not in body:
            raise ProviderError("Replicate answered a create without a prediction",
                                retryable=False)
        logger.info("Replicate prediction %s created for tag %s (%s)", body["id"], tag, model)
        return body

    def _remember(self, tag: str, attempt: _Attempt) -> None:
        with self._attempts_lock:
            self._attempts[tag] = attempt
            self._attempts.move_to_end(tag)
            while len(self._attempts) > 2000:
                self._attempts.popitem(last=False)

    def _find_once(self, tag: str) -> dict[str, Any] | None:
        # One look right away; later looks are the caller's (a SceneActor's timer), so a lost
        # answer never holds the calling thread.
        try:
            return self.find(tag)
        except ProviderError as exc:
            logger.info("Replicate find(%s) failed: %s", tag, exc.message)
            return None

    def find(self, tag: str) -> dict[str, Any] | None:
        """The prediction created with ``tag``: by webhook tag, else by model and exact input.

        Input matching needs the attempt made by this process; after a restart only the webhook
        tag can identify a prediction.
        """
        with self._attempts_lock:
            attempt = self._attempts.get(tag)
        if attempt is None and not self.webhook_url:
            return None
        created_after = attempt.created_after if attempt else (
            datetime.now(UTC) - timedelta(hours=24))
        for pred in self.list(created_after=created_after):
            if _webhook_tag(pred.get("webhook")) == tag:
                return pred
            if attempt is not None and _same_request(pred, attempt):
                return pred
        return None

    def find_by_input(self, *, model: str, version: str | None, input: dict[str, Any],
                      since: datetime) -> dict[str, Any] | None:
        """A prediction created after ``since`` for the same model and the same input.

        For a create whose answer was lost before a restart (no webhook tag, no memory of
        the attempt): the caller rebuilds the input it sent. Image fields that were uploads
        (``*``) match anything; our own URLs match without their (per-mint) query string.
        """
        wanted = _Attempt(model, version, input, since - timedelta(minutes=5))
        for pred in self.list(created_after=wanted.created_after):
            if _same_request(pred, wanted, loose=True):
                return pred
        return None

    def list(self, *, created_after: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Recent predictions, newest first, at most ``list_pages`` pages."""
        params = {"created_after": isoformat_z(created_after)} if created_after else {}
        url: str | None = "/predictions"
        pages = 0
        while url and pages < self.list_pages:
            body = self._request("GET", url, params=params if pages == 0 else None)
            pages += 1
            if not isinstance(body, dict):
                return
            yield from (p for p in body.get("results") or [] if isinstance(p, dict))
            url = body.get("next")

    def get(self, prediction_id: str) -> dict[str, Any]:
        return self._request("GET", f"/predictions/{prediction_id}")

    def cancel(self, prediction_id: str) -> dict[str, Any]:
        return self._request("POST", f"/predictions/{prediction_id}/cancel")

    # --- files -----------------------------------------------------------------------------

    def upload_file(self, fileobj: BinaryIO, *, filename: str, content_type: str) -> str:
        """Upload through the Files API; returns the URL to use as a model input."""
        body = self._request("POST", "/files", files={
            "content": (filename, fileobj, content_type)},
            data={"filename": filename, "type": content_type})
        try:
            return str(body["urls"]["get"])
        except (KeyError, TypeError):
            raise ProviderError("Replicate answered an upload without a file URL") from None

    def webhook_secret(self) -> str:
        body = self._request("GET", "/webhooks/default/secret")
        return str(body["key"])

    def download(self, url: str, dest: BinaryIO, *, prediction_id: str = "") -> int:
        """Stream ``url`` into ``dest`` in pieces; returns bytes written.

        404/410 means the file was purged: :class:`OutputExpired` (not retryable). Transport
        errors and 5xx are retried while ``dest`` can be rewound.
        """
        # Our token goes only to Replicate's own API host, never to a delivery CDN or elsewhere.
        ours = urlsplit(url).netloc == urlsplit(self.base_url).netloc
        try:
            with self._session().get(url, auth=self._auth() if ours else BearerAuth(None),
                                     stream=True,
                                     timeout=(self.connect_timeout, self.download_timeout)
                                     ) as resp:
                if resp.status_code in (404, 410):
                    raise OutputExpired(
                        f"The output of prediction {prediction_id or url} has expired "
                        "(Replicate removed it); it cannot be downloaded any more")
                if resp.status_code >= 400:
                    raise ProviderError(f"Replicate output download failed "
                                        f"({resp.status_code})",
                                        retryable=resp.status_code >= 500
                                        or resp.status_code == 429,
                                        retry_after=retry_after_seconds(resp),
                                        status=resp.status_code)
                written = 0
                for piece in resp.iter_content(DOWNLOAD_PIECE):
                    dest.write(piece)
                    written += len(piece)
            return written
        except requests.RequestException as exc:
            # The caller starts again into a fresh file on its next try.
            raise ProviderError(f"Replicate output download broke off "
                                f"({type(exc).__name__})", retryable=True) from exc


def _webhook_tag(webhook: Any) -> str | None:
    if not isinstance(webhook, str) or "?" not in webhook:
        return None
    values = parse_qs(urlsplit(webhook).query).get("tag")
    return values[0] if values else None


ANY_FILE = "*"  # an input file that was uploaded: its URL cannot be rebuilt


def _same_value(got: Any, want: Any) -> bool:
    if want == ANY_FILE:
        return isinstance(got, str)
    if isinstance(want, str) and isinstance(got, str) and want.startswith(("http://",
                                                                           "https://")):
        return want.split("?", 1)[0] == got.split("?", 1)[0]
    return bool(got == want)


def _same_request(pred: Mapping[str, Any], attempt: _Attempt, *, loose: bool = False) -> bool:
    if pred.get("model") != attempt.model:
        return False
    if attempt.version and pred.get("version") not in (
            attempt.version, attempt.version.rsplit(":", 1)[-1]):
        return False
    got = pred.get("input")
    if not loose or not isinstance(got, dict):
        return got == attempt.input
    return set(got) == set(attempt.input) and all(
        _same_value(got[key], want) for key, want in attempt.input.items())


def to_prediction(body: Mapping[str, Any]) -> Prediction:
    """Our view of a Replicate prediction object (output as one URL, ``aborted`` terminal)."""
    status = body.get("status")
    if status not in STATUSES:
        raise ProviderError(f"Replicate reported an unknown status {status!r}", retryable=True)
    output = body.get("output")
    if isinstance(output, list):
        output = next((o for o in output if isinstance(o, str)), None)
    elif isinstance(output, dict):
        output = output.get("video") or next(
            (o for o in output.values() if isinstance(o, str)), None)
    metrics = body.get("metrics") or {}
    predict_time = metrics.get("predict_time") if isinstance(metrics, dict) else None
    return Prediction(
        id=str(body["id"]), status=status,
        output=output if isinstance(output, str) else None,
        error=str(body["error"]) if body.get("error") else None,
        predict_time=float(predict_time) if isinstance(predict_time, int | float) else None,
        data_removed=bool(body.get("data_removed")),
        model=str(body.get("model") or ""),
        created_at=body.get("created_at"),
    )

