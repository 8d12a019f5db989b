"""A finished local clip reaches its scene at once: the local provider notifies like a webhook.

Polls are set an hour apart here, so the job can only move if each finished local prediction
pokes its scene; no timing of this machine enters the test.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from actorvid.actors.services import RuntimeOptions
from tests.conftest import wait_until
from tests.jobs.conftest import FAST
from tests.jobs.test_remote import start_pairs

HOUR = 3600.0


@pytest.fixture
def options() -> RuntimeOptions:
    return replace(FAST, poll_first=HOUR, poll_max=HOUR, poll_min=HOUR)


def test_progress_moves_with_every_local_clip_without_polling(offline):
    api = offline.api
    job_id = start_pairs(api, numPairs=2, clipDuration=4)

    def done() -> bool:
        return api.job(job_id)["status"] == "completed"

    wait_until(done, timeout=240, interval=0.05, message="the job, with polls an hour apart")
    assert api.job(job_id)["progress"]["scenesCompleted"] == 2
