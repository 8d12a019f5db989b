"""``/api/auth``: login, logout and API keys."""

from __future__ import annotations

from typing import Any

import falcon

from actorvid.accounts import Accounts, Login
from actorvid.api.envelope import ok
from actorvid.api.middleware import COOKIE_NAME
from actorvid.api.operations import (
    BODY,
    INT,
    JSON,
    PUBLIC,
    STR,
    Op,
    described,
    list_of,
    message,
    param,
    ref,
)
from actorvid.api.validation import Field, Schema, read_json
from actorvid.errors import NotFound, Unauthorized, ValidationFailed
from actorvid.store import users as user_store
from actorvid.store.users import ApiKey
from actorvid.throttle import LoginThrottle

LOGIN = Schema((
    Field("username", "string", required=True, min_length=1, max_length=150),
    Field("password", "string", required=True, min_length=1, max_length=1024),
    Field("grant_type", "string", nullable=True),
), name="LoginRequest")

NEW_API_KEY = Schema((
    Field("name", "string", required=True, min_length=1, max_length=200),
    Field("expires_days", "integer", nullable=True, minimum=1, maximum=3650),
), name="ApiKeyRequest")


def api_key_json(key: ApiKey) -> dict[str, object]:
    # snake_case, as the old backend's auth routes answered.
    return {"id": key.id, "name": key.name, "prefix": key.key_prefix,
            "is_active": key.is_active, "created_at": key.created_at,
            "last_used": key.last_used, "expires_at": key.expires_at}


def _login_ok() -> dict[str, Any]:
    return {"type": "object",
            "required": ["access_token", "token_type", "expires_in", "username"],
            "properties": {"access_token": STR, "token_type": {"const": "bearer"},
                           "expires_in": INT, "message": STR, "username": STR}}


def _new_key() -> dict[str, Any]:
    return {"allOf": [ref("ApiKey"), {"type": "object", "required": ["api_key"],
                                      "properties": {"api_key": {"type": "string",
                                                                 "pattern": "^sk_"}}}]}


class LoginResource:
    auth = "none"

    def __init__(self, accounts: Accounts, *, max_body: int, cookie_secure: bool,
                 throttle: LoginThrottle | None = None) -> None:
        self.accounts = accounts
        self.max_body = max_body
        self.cookie_secure = cookie_secure
        self.throttle = throttle or LoginThrottle()

    @described(Op(
        "Log in: sets the access_token cookie and returns the token", ("auth",), _login_ok(),
        description="Like every /api/auth route, it answers snake_case keys: the old "
                    "backend's login shape (message, username) plus the token's.",
        body=LOGIN, content=(JSON, "application/x-www-form-urlencoded"),
        security=PUBLIC, errors=(400, 401, 413, 415, 422, 429)))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, LOGIN, max_bytes=self.max_body)
        if body.get("grant_type") not in (None, "", "password"):
            raise ValidationFailed.field(["body", "grant_type"], "grant_type must be password",
                                         "literal_error")
        login = self._login(body["username"], body["password"], req.remote_addr or "")
        resp.set_cookie(COOKIE_NAME, login.token, max_age=login.expires_in, path="/",
                        secure=self.cookie_secure, http_only=True, same_site="Lax")
        ok(resp, {"access_token": login.token, "token_type": "bearer",
                  "expires_in": login.expires_in, "message": "Login successful",
                  "username": login.user.username})


    def _login(self, username: str, password: str, address: str) -> Login:
        self.throttle.check(username, address)  # 429 before any hashing while backing off
        try:
            login = self.accounts.login(username, password)
        except Unauthorized:
            self.throttle.failed(username, address)
            raise
        self.throttle.succeeded(username, address)
        return login


class LogoutResource:
    auth = "none"

    def __init__(self, accounts: Accounts, *, cookie_secure: bool) -> None:
        self.accounts = accounts
        self.cookie_secure = cookie_secure

    @described(Op(
        "Log out: revokes the session and clears the cookie", ("auth",), message(),
        security=PUBLIC, errors=()))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        tokens = list(req.get_cookie_values(COOKIE_NAME) or [])
        scheme, _, credential = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and credential and not credential.startswith("sk_"):
            tokens.append(credential.strip())
        for token in tokens:
            self.accounts.logout(token)
        resp.unset_cookie(COOKIE_NAME, path="/")
        ok(resp, {"message": "Logout successful"})


class ApiKeyCollection:
    def __init__(self, accounts: Accounts, *, max_body: int) -> None:
        self.accounts = accounts
        self.max_body = max_body

    @described(Op(
        "The caller's API keys (never the keys themselves)", ("auth",), list_of("ApiKey"),
        errors=(401,)))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.accounts.db.read() as conn:
            keys = user_store.list_api_keys(conn, user_id=req.context.user.id)
        ok(resp, [api_key_json(k) for k in keys])

    @described(Op(
        "Create an API key (shown once)", ("auth",), _new_key(), status=201,
        body=NEW_API_KEY, errors=(401, *BODY)))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, NEW_API_KEY, max_bytes=self.max_body)
        new = self.accounts.create_api_key(req.context.user.id, body["name"].strip(),
                                           expires_days=body.get("expires_days"))
        ok(resp, {"api_key": new.key, **api_key_json(new.record)}, status=falcon.HTTP_201)


class ApiKeyItem:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    @described(Op(
        "Revoke one of the caller's API keys", ("auth",), message(),
        params=(param("key_id", INT, "path"),)))
    def on_delete(self, req: falcon.Request, resp: falcon.Response, key_id: int) -> None:
        if not self.accounts.revoke_api_key(key_id, user_id=req.context.user.id):
            raise NotFound("API key not found")
        ok(resp, {"message": "API key revoked successfully"})
