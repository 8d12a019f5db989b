"""Strict JSON in, valid JSON out.

Python's ``json`` module is lenient both ways: it reads ``NaN``/``Infinity`` (not JSON), keeps
the last of duplicate keys, accepts lone surrogates (``"\\ud800"``, which no UTF-8 writer can
encode) and recurses until ``RecursionError`` on deep nesting; and it writes ``NaN``, which
browsers and most clients refuse to parse. A ``NaN`` duration passed every range check
(``NaN < 1`` is false) and later made every job list invalid JSON.

:func:`loads` is the one JSON reader of request bodies (the Falcon media handler and multipart
JSON fields); :func:`dumps` is the one writer of stored JSON; responses go through
:func:`dumps_response`, which never emits a non-finite number even for an old stored value.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

logger = logging.getLogger(__name__)

# Deep enough for every body we define (the deepest is about 4), shallow enough that no reader
# of ours can hit Python's recursion limit.
MAX_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRejected(ValueError):
    """The text is JSON we refuse; the message is a sentence fit for the client."""


def _refuse_constant(name: str) -> Any:
    raise JSONRejected(f"{name} is not a JSON number; send a finite number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONRejected(f"the key {json.dumps(key)} appears twice in one object")
        out[key] = value
    return out


def _check_tree(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise JSONRejected(f"JSON may be nested at most {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise JSONRejected("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, depth)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def loads(text: str | bytes) -> Any:
    """Parse ``text`` as strict JSON; raises :class:`JSONRejected` (a ``ValueError``) with a
    client-facing sentence, or ``ValueError`` for text that is not JSON at all."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant,
                           object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise JSONRejected(f"JSON may be nested at most {MAX_DEPTH} levels deep") from None
    _check_tree(value, 1)
    return value


def dumps(value: Any, **options: Any) -> str:
    """Serialise ``value``; a non-finite number raises ``ValueError`` instead of writing
    ``NaN``, so invalid JSON is never stored."""
    return json.dumps(value, allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def dumps_response(value: Any) -> str:
    """Serialise a response body: a non-finite number (an old stored value) becomes ``null``
    and is logged, and a lone surrogate is escaped, rather than failing the request or
    sending invalid JSON."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError:
        logger.warning("a response held a non-finite number; sent as null")
        text = json.dumps(_finite(value), allow_nan=False, ensure_ascii=False)
    # A lone surrogate cannot be encoded as UTF-8; escaped it is still valid JSON.
    # ``isascii`` is a flag check: most bodies are ASCII and skip the scan of every character.
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return json.dumps(json.loads(text), ensure_ascii=True)
