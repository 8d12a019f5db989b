"""OpenAI-compatible chat completions for the storyboard writer: the xAI client, renamed.

OpenAI reports a bad key as 401 and nests its error bodies; :func:`error_detail` reads both
shapes, so nothing else differs.
"""

from __future__ import annotations

from actorvid.providers.xai import ChatClient

DEFAULT_MODEL = "gpt-4o-mini"


class OpenAIChatClient(ChatClient):
    provider = "openai"
