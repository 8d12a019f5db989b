"""Chat completions (xAI Grok; OpenAI-compatible); the selector and storyboard writer on top
are in ``providers/llm.py``.

xAI quirks handled here (from xAI's API reference and its observed answers): a wrong key is a
**400** "Incorrect API key" (not retryable, unlike other 400s it is an auth problem), error
bodies are flat ``{"code","error"}``, and even with ``response_format`` a model may wrap JSON
in fences or prose, so answers are parsed defensively and then checked against what was asked.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import requests

from actorvid.config import Secret
from actorvid.domain import models
from actorvid.errors import ProviderError
from actorvid.providers.http import (
    BearerAuth,
    RetryPolicy,
    Sleep,
    ThreadSessions,
    error_detail,
    json_body,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "grok-4-1-fast-non-reasoning"


class BadAnswer(ProviderError):
    """The model answered, but not with what was asked (no JSON, wrong ids, wrong counts)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class ChatResult:
    content: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"

    @property
    def cost(self) -> float:
        return models.llm_cost(self.model, self.prompt_tokens, self.completion_tokens)


class ChatClient:
    """``POST {base_url}/chat/completions`` with retries on 429/5xx/transport errors."""

    provider = "xai"

    def __init__(self, base_url: str, api_key: Secret | str, model: str = DEFAULT_MODEL, *,
                 timeout: float = 60.0, connect_timeout: float = 5.0,
                 retry: RetryPolicy | None = None, session: requests.Session | None = None,
                 sleep: Sleep = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self.model = model
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry or RetryPolicy(tries=4, base=1.0, cap=20.0, max_wait=60.0)
        # One session per thread unless the caller hands one in (tests do).
        self._sessions = ThreadSessions(f"actorvid/0.1 (+{self.provider})")
        self._given_session = session
        self._sleep = sleep

    def complete(self, messages: list[dict[str, Any]], *, schema: dict[str, Any] | None = None,
                 schema_name: str = "answer", temperature: float = 0.3,
                 max_tokens: int | None = None) -> ChatResult:
        body: dict[str, Any] = {"model": self.model, "messages": messages,
                                "temperature": temperature, "stream": False}
        if schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": schema_name, "schema": schema, "strict": True}}
        if max_tokens:
            body["max_tokens"] = max_tokens
        data = self._post(body)
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BadAnswer(f"{self.provider} answered without a message") from None
        if isinstance(content, list):  # some servers send content as fragments
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        usage = data.get("usage") or {}
        return ChatResult(content=content or "", model=str(data.get("model") or self.model),
                          prompt_tokens=int(usage.get("prompt_tokens") or 0),
                          completion_tokens=int(usage.get("completion_tokens") or 0),
                          finish_reason=str(choice.get("finish_reason") or "stop"))

    def complete_json(self, messages: list[dict[str, Any]], **kwargs: Any
                      ) -> tuple[Any, ChatResult]:
        result = self.complete(messages, **kwargs)
        try:
            return extract_json(result.content), result
        except ValueError:
            raise BadAnswer(f"{self.provider} answered without JSON"
                            + (" (cut off)" if result.finish_reason == "length" else "")
                            ) from None

    def _session(self) -> requests.Session:
        return self._given_session or self._sessions.get()

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._session().post(url, json=body, headers=headers,
                                            auth=BearerAuth(self._key.reveal()),
                                            timeout=(self.connect_timeout, self.timeout))
            except requests.RequestException as exc:
                if attempt < self.retry.tries:
                    self._sleep(self.retry.delay(attempt))
                    continue
                raise ProviderError(f"{self.provider} did not answer ({type(exc).__name__})",
                                    retryable=True) from exc
            data = json_body(resp)
            if resp.status_code < 300 and isinstance(data, dict):
                return data
            status = resp.status_code
            detail = error_detail(data, resp)
            if status == 429 or status >= 500 or resp.status_code < 300:
                wait_for = retry_after_seconds(resp, None)
                if attempt < self.retry.tries and (wait_for or 0) <= self.retry.max_wait:
                    wait = self.retry.delay(attempt, wait_for)
                    logger.info("%s answered %s; retry %d in %.2fs", self.provider, status,
                                attempt, wait)
                    self._sleep(wait)
                    continue
                raise ProviderError(f"{self.provider} is unavailable ({status}): {detail}",
                                    retryable=True, retry_after=wait_for, status=status)
            if "incorrect api key" in detail.lower() or status == 401:
                raise ProviderError(f"{self.provider} refused the API key ({status})",
                                    status=status)
            raise ProviderError(f"{self.provider} rejected the request ({status}): {detail}",
                                status=status)


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer: plain, in a code fence, or inside prose.

    Raises ``ValueError`` when there is none.
    """
    text = text.strip().lstrip("\ufeff")
    try:
        return json.loads(text)
    except ValueError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict | list) and value:
            return value
    raise ValueError("no JSON value found")
