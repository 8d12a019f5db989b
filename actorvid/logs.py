"""Logging set-up shared by ``actorvid`` and ``waitress-serve --call actorvid.app:create_app``.

Two formats: ``text`` (a line per record) and ``json`` (``ACTORVID_LOG_FORMAT=json``: one JSON
object per line, for log collectors). Every record is stamped with the id of the HTTP request
it was logged for (the request-id middleware sets it per request) and with the job and scene
ids it is about: taken from ``extra={"job_id": ..., "scene_id": ...}`` when the caller gave
them, else read from the message's prefix, whose convention is ``job 42 scene <id>: ...``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

from actorvid.clock import isoformat_z

# The id of the HTTP request being served on this thread: set by the API's request-id middleware,
# read by the envelope and by every log record. Kept here, at the bottom of the layers, because
# both the API and the logging set-up read it.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Only the prefix convention counts, so "a job 3 times" in free text names no job.
_PREFIX = re.compile(r"^job (\d+)(?: scene ([^\s:(]+))?")
CONTEXT_KEYS = ("request_id", "job_id", "scene_id")


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``job_id`` and ``scene_id`` (each possibly ``None``) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or None
        needs_job = getattr(record, "job_id", None) is None
        needs_scene = getattr(record, "scene_id", None) is None
        if needs_job or needs_scene:
            found = _PREFIX.match(record.getMessage())
            if needs_job:
                record.job_id = int(found.group(1)) if found else None
            if needs_scene:
                record.scene_id = found.group(2) if found else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the context ids that apply
    and, for errors, the traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": isoformat_z(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "info", fmt: str = "text") -> bool:
    """Log to stderr at ``level`` in ``fmt`` unless the process already logs somewhere.

    Returns whether it did: an embedding program (or pytest) that set up the root logger
    keeps its own handlers.
    """
    root = logging.getLogger()
    if root.handlers:
        return False
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return True
