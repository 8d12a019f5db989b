"""What a scene decides without threads: its next step from its row, its attempt tags, the
sentence a provider error becomes, and the JSON its inputs are stored as.

Kept apart from :class:`~actorvid.actors.scene.SceneActor` so each rule is tested on plain
rows (``tests/actors/test_decisions.py``), the way ``actors.job_steps.next_step`` is for jobs.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Literal

from actorvid.clock import isoformat_z
from actorvid.errors import ProviderError
from actorvid.providers.base import Prediction
from actorvid.store import jobs

logger = logging.getLogger(__name__)

Step = Literal["done", "poll", "find", "create"]
# The provider no longer has the prediction (or its output): create it again, once.
LOST_STATUSES = frozenset({404, 410})
# Looks for a prediction whose create answer was lost, spaced by poll delays, before a new
# create is risked (a listing may lag the create by a moment).
FIND_TRIES = 3


def next_step(sub_job: jobs.SubJob) -> Step:
    """What a (re)started scene does first, from its row alone."""
    if sub_job.terminal:
        return "done"
    if sub_job.provider_id:
        return "poll"
    if sub_job.attempt_tag:
        return "find"
    return "create"


def new_tag(sub_job: jobs.SubJob, unique: str) -> str:
    """Unique per attempt (``unique``: a fresh id); carries the job and sub-job ids so a
    provider's journal can be read per job and per scene."""
    return f"job{sub_job.job_id}/{sub_job.id}/{sub_job.attempts + 1}/{unique.replace('-', '')[:8]}"

_FAILED_WORDS = {"failed": "failed to render", "canceled": "cancelled",
                 "aborted": "aborted"}


def failure_sentence(prediction: Prediction) -> str:
    """Why a prediction that ended without an output did, in the provider's words."""
    return (f"The provider {_FAILED_WORDS.get(prediction.status, prediction.status)} "
            f"this scene: {prediction.error or 'no reason given'}")


def user_error(what: str, exc: ProviderError) -> str:
    """A sentence about the user's work; the provider's own words, never our internals."""
    detail = exc.message.rstrip(".")
    logger.info("scene error: %s: %s", what, detail)
    return f"{what}: {detail}."


def as_json(value: Any) -> dict[str, Any]:
    """Inputs as stored in ``sub_jobs.input``: plain JSON, times as ISO strings."""
    is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
    data = dataclasses.asdict(value) if is_instance else dict(value)
    return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return isoformat_z(value) if hasattr(value, "astimezone") else str(value)
