"""Cross-cutting concerns: request ids and authentication."""

from __future__ import annotations

import os
import random
import re
from typing import Any
from urllib.parse import urlsplit

import falcon

from actorvid.accounts import Accounts
from actorvid.api.envelope import request_id_var
from actorvid.errors import Forbidden, Unauthorized, UnsupportedMediaType
from actorvid.limits import ConcurrencySlots
from actorvid.security import API_KEY_PREFIX
from actorvid.serving import SendDeadline
from actorvid.store.models import Scope

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

COOKIE_NAME = "access_token"

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COOKIE_WRITE_TYPES = frozenset({"application/json", "multipart/form-data"})


# Request ids need to be unique, not secret: a generator seeded once from the OS gives 32 hex
# digits, as ``uuid4().hex`` did, without a system call per request. (``os.urandom`` gives up
# the GIL for its ``getrandom`` call, and under 16 busy threads taking it back is a wait.)
_request_ids = random.Random(os.urandom(32))


def _new_request_id() -> str:
    return f"{_request_ids.getrandbits(128):032x}"


class RequestIdMiddleware:
    """Give every request an id (the client's ``X-Request-ID`` if it is sane) and echo it."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        incoming = req.get_header("X-Request-ID") or ""
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else _new_request_id()
        req.context.request_id = request_id
        request_id_var.set(request_id)
        resp.set_header("X-Request-ID", request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        # The server thread goes on to other work: its later log lines are not this request's.
        request_id_var.set("")


class StreamGuardMiddleware:
    """Put every request's connection under the send deadline, and give binary routes the
    process's stream slots (``actorvid/api/binary.py``)."""

    def __init__(self, deadline: SendDeadline, slots: ConcurrencySlots) -> None:
        self.deadline = deadline
        self.slots = slots

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.deadline.watch(req.env)
        req.context.stream_slots = self.slots


class AuthMiddleware:
    """Resolve the caller before the responder runs.

    Resources say what they need with class attributes: ``auth = "none"`` for public routes,
    ``access_token_resource(params) -> str`` for binary GETs that also take ``?token=``.
    Accepted credentials, first match wins: ``X-API-Key``, ``Authorization: Bearer`` (an API key
    or a session token), the ``access_token`` cookie, then ``?token=`` where allowed.
    """

    def __init__(self, accounts: Accounts, *, allowed_origins: tuple[str, ...] = ()) -> None:
        self.accounts = accounts
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        req.context.user = None
        req.context.scope = None
        if resource is None or req.method == "OPTIONS":
            return
        if getattr(resource, "auth", "required") == "none":
            return
        other = getattr(resource, "other_credential", None)
        if other is not None and other(req):
            return  # a credential of the resource's own (e.g. the metrics token): no user
        user, by_cookie = self._authenticate(req, resource, params)
        if by_cookie and req.method not in _SAFE_METHODS:
            self._refuse_cross_site(req)
        if not user.is_active:
            raise Forbidden("Inactive user")
        req.context.user = user
        req.context.scope = Scope(user.id, user.is_admin)

    def _refuse_cross_site(self, req: falcon.Request) -> None:
        """A browser sends the cookie with cross-site requests too; only headers a page on
        another site cannot forge without CORS (a JSON content type, a foreign ``Origin``)
        tell them apart. API keys and bearer tokens are never sent by a browser on its own."""
        content_type = (req.content_type or "").split(";")[0].strip().lower()
        if content_type and content_type not in _COOKIE_WRITE_TYPES:
            raise UnsupportedMediaType(
                "Requests signed in with the session cookie must send application/json or "
                "multipart/form-data")
        origin = (req.get_header("Origin") or "").rstrip("/").lower()
        if not origin:
            return
        same_host = urlsplit(origin).netloc == (req.get_header("Host") or "").lower()
        if not same_host and origin not in self.allowed_origins:
            raise Forbidden("Cross-site request refused: its Origin is not allowed")

    def _authenticate(self, req: falcon.Request, resource: Any, params: dict[str, Any]
                      ) -> tuple[Any, bool]:
        """The caller, and whether the session cookie (a credential browsers send on their
        own) is what identified them."""
        api_key = req.get_header("X-API-Key")
        if api_key:
            user = self.accounts.authenticate_api_key(api_key.strip())
            if user is not None:
                return user, False
        authorization = req.get_header("Authorization") or ""
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer" and credential:
            if credential.startswith(API_KEY_PREFIX):
                user = self.accounts.authenticate_api_key(credential)
            else:
                user = self.accounts.authenticate_session(credential)
            if user is not None:
                return user, False
        cookies = req.get_cookie_values(COOKIE_NAME) or []
        cookie = cookies[0] if cookies else None
        if cookie:
            user = self.accounts.authenticate_session(cookie)
            if user is not None:
                return user, True
        token = req.get_param("token")
        resource_of = getattr(resource, "access_token_resource", None)
        if token and resource_of is not None and req.method in ("GET", "HEAD"):
            user = self.accounts.authenticate_access_token(token, resource_of(params))
            if user is not None:
                return user, False
            raise Unauthorized("Invalid or expired access token")
        if api_key or authorization or cookie:
            raise Unauthorized("Could not validate credentials")
        raise Unauthorized()
