"""Cross-cutting concerns: request ids and authentication."""

from __future__ import annotations

import re
import uuid
from typing import Any

import falcon

from actorvid.accounts import Accounts
from actorvid.api.envelope import request_id_var
from actorvid.errors import Forbidden, Unauthorized
from actorvid.security import API_KEY_PREFIX
from actorvid.store.models import Scope

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

COOKIE_NAME = "access_token"


class RequestIdMiddleware:
    """Give every request an id (the client's ``X-Request-ID`` if it is sane) and echo it."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        incoming = req.get_header("X-Request-ID") or ""
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        req.context.request_id = request_id
        request_id_var.set(request_id)
        resp.set_header("X-Request-ID", request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        # The server thread goes on to other work: its later log lines are not this request's.
        request_id_var.set("")


class AuthMiddleware:
    """Resolve the caller before the responder runs.

    Resources say what they need with class attributes: ``auth = "none"`` for public routes,
    ``access_token_resource(params) -> str`` for binary GETs that also take ``?token=``.
    Accepted credentials, first match wins: ``X-API-Key``, ``Authorization: Bearer`` (an API key
    or a session token), the ``access_token`` cookie, then ``?token=`` where allowed.
    """

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        req.context.user = None
        req.context.scope = None
        if resource is None or req.method == "OPTIONS":
            return
        if getattr(resource, "auth", "required") == "none":
            return
        user = self._authenticate(req, resource, params)
        if not user.is_active:
            raise Forbidden("Inactive user")
        req.context.user = user
        req.context.scope = Scope(user.id, user.is_admin)

    def _authenticate(self, req: falcon.Request, resource: Any, params: dict[str, Any]) -> Any:
        api_key = req.get_header("X-API-Key")
        if api_key:
            user = self.accounts.authenticate_api_key(api_key.strip())
            if user is not None:
                return user
        authorization = req.get_header("Authorization") or ""
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer" and credential:
            if credential.startswith(API_KEY_PREFIX):
                user = self.accounts.authenticate_api_key(credential)
            else:
                user = self.accounts.authenticate_session(credential)
            if user is not None:
                return user
        cookies = req.get_cookie_values(COOKIE_NAME) or []
        cookie = cookies[0] if cookies else None
        if cookie:
            user = self.accounts.authenticate_session(cookie)
            if user is not None:
                return user
        token = req.get_param("token")
        resource_of = getattr(resource, "access_token_resource", None)
        if token and resource_of is not None and req.method in ("GET", "HEAD"):
            user = self.accounts.authenticate_access_token(token, resource_of(params))
            if user is not None:
                return user
            raise Unauthorized("Invalid or expired access token")
        if api_key or authorization or cookie:
            raise Unauthorized("Could not validate credentials")
        raise Unauthorized()
