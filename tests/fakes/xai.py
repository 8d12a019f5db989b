"""A fake xAI (and OpenAI-compatible) chat-completions server, following their API references.

Replies come from a queue of scripted ones (``reply``, ``reply_json``, ``fail``, ``slow``);
when the queue is empty a reply is synthesised from the request's ``response_format`` schema.
The synthesiser hands out ``enum`` values round-robin per enum list, so a schema whose ids are
enums gets distinct ids (a plausible, valid selection).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import falcon

from tests.fakes.server import LoopbackFake, LoopbackServer

DEFAULT_MODELS = ("grok-4-1-fast-non-reasoning", "grok-4-1-fast-reasoning",
                  "grok-4-fast-non-reasoning", "grok-4-fast-reasoning", "grok-4", "gpt-4o-mini")
RETIRED = {"grok-beta": "The model grok-beta was deprecated on 2025-09-15 and is no longer "
                        "accessible via the API. Please use grok-3 instead."}
CODES = {
    400: "Client specified an invalid argument",
    401: "The request does not have valid authentication credentials",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    429: "Some resource has been exhausted",
    500: "Internal error",
    503: "The service is currently unavailable",
}
DATA_IMAGE = re.compile(r"^data:image/(jpeg|png);base64,([A-Za-z0-9+/=]+)$")
MAX_IMAGE_BYTES = 10 * 1024 * 1024


@dataclass
class Reply:
    content: str | Callable[[dict[str, Any]], str] | None = None
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"
    empty_choices: bool = False


class FakeXAI(LoopbackFake):
    """``api_url`` is what to configure as ``xai_base_url`` / ``openai_base_url``."""

    def __init__(self, *, keys: tuple[str, ...] = ("xai-test",),
                 models: tuple[str, ...] = DEFAULT_MODELS) -> None:
        self.keys = set(keys)
        self.models = set(models)
        self.replies: deque[Reply] = deque()
        self.journal: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._enum_counters: dict[str, int] = {}
        self.server = LoopbackServer(_build_app(self), name="fake-xai")

    @property
    def key(self) -> str:
        return next(iter(sorted(self.keys)))

    # scripting
    def reply(self, content: str | Callable[[dict[str, Any]], str], **kwargs: Any) -> None:
        with self.lock:
            self.replies.append(Reply(content=content, **kwargs))

    def reply_json(self, obj: Any, *, wrap: str = "") -> None:
        """``wrap``: "" (plain), "fence" (```json … ```), "prose" (sentences around it)."""
        text = json.dumps(obj)
        if wrap == "fence":
            text = f"```json\n{text}\n```"
        elif wrap == "prose":
            text = f"Sure! Here is the selection you asked for:\n{text}\nLet me know if " \
                   "you want changes."
        self.reply(text)

    def fail(self, status: int, error: str = "", *, retry_after: int | None = None,
             times: int = 1) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        default = {429: "The service is temporarily at capacity. Please retry your request "
                        "shortly.",
                   403: "Your team has either used all available credits or reached its "
                        "monthly spending limit."}.get(status, "Internal error")
        with self.lock:
            for _ in range(times):
                self.replies.append(Reply(status=status, error=error or default,
                                          headers=dict(headers)))

    def slow(self, seconds: float, content: str | None = None) -> None:
        with self.lock:
            self.replies.append(Reply(content=content, delay=seconds))

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.journal)

    # synthesis
    def synthesize(self, schema: dict[str, Any]) -> Any:
        return self._instance(schema, schema)

    def _instance(self, schema: dict[str, Any], root: dict[str, Any]) -> Any:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return self._instance(root.get("$defs", {}).get(name, {}), root)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            values = schema["enum"]
            key = json.dumps(values, sort_keys=True)
            with self.lock:
                index = self._enum_counters.get(key, 0)
                self._enum_counters[key] = index + 1
            return values[index % len(values)]
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return self._instance(schema[key][0], root)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            props = schema.get("properties", {})
            return {name: self._instance(sub, root) for name, sub in props.items()}
        if kind == "array":
            count = schema.get("minItems", 1)
            return [self._instance(schema.get("items", {}), root) for _ in range(count)]
        if kind == "string":
            return "synthesized"
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return float(schema.get("minimum", 0.5))
        if kind == "boolean":
            return True
        return None


def _error(resp: falcon.Response, status: int, message: str,
           headers: dict[str, str] | None = None) -> None:
    resp.status = status
    resp.media = {"code": CODES.get(status, "Unknown"), "error": message}
    for key, value in (headers or {}).items():
        resp.set_header(key, value)


def _validate(fake: FakeXAI, body: Any) -> tuple[int, str] | None:
    if not isinstance(body, dict):
        return 400, "Request body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return 400, "model is required"
    if model in RETIRED:
        return 404, RETIRED[model]
    if model not in fake.models:
        return 404, f"The model {model} does not exist or your team does not have access to it."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "messages must be a non-empty array"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in (
                "system", "user", "assistant", "tool"):
            return 400, "Each message needs a valid role"
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return 400, "content must be a string or an array of parts"
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "image_url"):
                return 400, "content parts must be of type text or image_url"
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                return 400, "text parts need text"
            if part["type"] == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                if url.startswith(("http://", "https://")):
                    continue
                match = DATA_IMAGE.match(url)
                if not match:
                    return 400, "image_url.url must be an http(s) URL or a jpeg/png data URI"
                try:
                    raw = base64.b64decode(match.group(2), validate=True)
                except (binascii.Error, ValueError):
                    return 400, "image_url.url is not valid base64"
                if len(raw) > MAX_IMAGE_BYTES:
                    return 400, "Image is too large"
    temperature = body.get("temperature")
    if temperature is not None and not (isinstance(temperature, int | float)
                                        and 0 <= temperature <= 2):
        return 400, "temperature must be between 0 and 2"
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            return 400, "response_format.type must be text, json_object or json_schema"
        if kind == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or "name" not in spec or "schema" not in spec:
                return 400, "json_schema needs name and schema"
    return None


class _Chat:
    def __init__(self, fake: FakeXAI) -> None:
        self.fake = fake

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        fake = self.fake
        raw = req.bounded_stream.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with fake.lock:
            fake.journal.append({"headers": dict(req.headers), "body": body,
                                 "time": time.monotonic()})
        auth = req.get_header("Authorization")
        if not auth:
            _error(resp, 401, "No credentials presented.")
            return
        scheme, _, key = auth.partition(" ")
        if scheme != "Bearer" or key not in fake.keys:
            masked = (key[:2] + "***" + key[-2:]) if len(key) > 4 else "***"
            _error(resp, 400, f"Incorrect API key provided: {masked}. You can obtain an API "
                              "key from https://console.x.ai.")
            return
        problem = _validate(fake, body)
        if problem:
            _error(resp, *problem)
            return
        with fake.lock:
            reply = fake.replies.popleft() if fake.replies else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            _error(resp, reply.status, reply.error, reply.headers)
            return
        content = reply.content
        if callable(content):
            content = content(body)
        if content is None:
            fmt = body.get("response_format") or {}
            if fmt.get("type") == "json_schema":
                content = json.dumps(fake.synthesize(fmt["json_schema"]["schema"]))
            elif fmt.get("type") == "json_object":
                content = json.dumps({"result": "ok"})
            else:
                content = "This is a canned answer."
        prompt_chars = 0
        images = 0
        for message in body["messages"]:
            parts = message["content"] if isinstance(message["content"], list) else [
                {"type": "text", "text": message["content"]}]
            for part in parts:
                if part["type"] == "text":
                    prompt_chars += len(part["text"])
                else:
                    images += 1
        prompt_tokens = prompt_chars // 4 + 256 * images
        completion_tokens = max(1, len(content) // 4)
        resp.media = {
            "id": str(uuid.uuid4()), "object": "chat.completion", "created": int(time.time()),
            "model": body["model"],
            "choices": [] if reply.empty_choices else [{
                "index": 0, "message": {"role": "assistant", "content": content,
                                        "refusal": None},
                "finish_reason": reply.finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"text_tokens": prompt_chars // 4,
                                                "audio_tokens": 0,
                                                "image_tokens": 256 * images,
                                                "cached_tokens": 0}},
            "system_fingerprint": "fp_fake",
        }


def _build_app(fake: FakeXAI) -> falcon.App:
    app = falcon.App()
    app.add_route("/v1/chat/completions", _Chat(fake))
    return app
