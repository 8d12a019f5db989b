"""Pure decisions about previews (issue 19): which storyboard version a preview shows, and
whether a job gets one.

``rendered_for`` is a short hash of the canonical storyboard and creative options, so an edit
changes it at once — there is no counter to keep in step with the edits, and any reader can
tell whether a stored preview still shows the current storyboard by computing it again.
"""

from __future__ import annotations

import hashlib
import json

from actorvid.domain.creative import CreativeOptions
from actorvid.domain.parameters import JobParameters
from actorvid.domain.storyboard import Storyboard

# Statuses in which a job's storyboard can still be shown before it is paid for.
PREVIEW_STATUSES = ("storyboard_ready",)
# Dry-run previews live this long.
DRAFT_TTL_SECONDS = 3600


def rendered_for(storyboard: Storyboard | None, options: CreativeOptions) -> str:
    """The version of (storyboard, options) a preview shows: 12 hex digits of a SHA-256."""
    board = storyboard.to_document() if storyboard else {}
    canonical = json.dumps({"storyboard": board, "options": options.to_document()},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def job_rendered_for(storyboard: Storyboard | None, parameters: JobParameters) -> str:
    return rendered_for(storyboard, parameters.creative)


def wants_preview(parameters: JobParameters, status: str) -> bool:
    """A job shows a preview while its storyboard awaits approval, unless the request said
    ``preview: false``; an ``autoApprove`` job is never waited on, so it gets one only when
    asked (``preview: true``), and then also while it renders."""
    wish = parameters.preview
    if wish is False:
        return False
    if parameters.auto_approve:
        return wish is True and status in ("storyboard_ready", "video_processing")
    return status in PREVIEW_STATUSES


def keep_after_completion(parameters: JobParameters) -> bool:
    return parameters.keep_preview
