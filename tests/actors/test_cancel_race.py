"""A cancel that lands while a create is on the wire still cancels that prediction."""

from __future__ import annotations

import threading

from tests.actors.fakes import FakeProvider
from tests.actors.helpers import job_row, make_job, scene_rows, wait_until


def test_a_prediction_answered_after_a_cancel_is_cancelled_at_once(db, user_id, make_system,
                                                                   provider: FakeProvider):
    provider.hang_create = threading.Event()
    system = make_system()
    job_id = make_job(db, user_id, scenes=1)
    system.coordinator.start_job(job_id)
    assert provider.created.wait(10)  # the prediction exists; its answer has not arrived
    system.coordinator.cancel(job_id)
    wait_until(lambda: job_row(db, job_id).status == "cancelled")
    provider.hang_create.set()  # now the create call returns to a cancelled scene
    wait_until(lambda: provider.cancels == ["pred-1"], message="the late prediction cancelled")
    assert provider.in_flight() == []
    assert scene_rows(db, job_id)[0].provider_id is None  # never adopted by the cancelled row
    wait_until(lambda: not system.snapshot(timeout=1)["children"][0]["children"],
               message="no job actor left")
