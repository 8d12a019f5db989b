"""A webhook's poke makes a scene poll at once, and keeps a single polling chain."""

from __future__ import annotations

from tests.actors.fakes import FakeProvider
from tests.actors.helpers import make_job, scene_rows, wait_until
from tests.actors.test_tree import all_predictions_stored


def test_a_poke_polls_now_instead_of_at_the_next_timer(db, user_id, provider: FakeProvider,
                                                        make_system):
    # Polls an hour apart: without the poke nothing would look at the prediction again.
    system = make_system(poll_first=3600.0, poll_max=3600.0, poll_min=3600.0)
    job_id = make_job(db, user_id, scenes=1)
    system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, job_id))
    scene = scene_rows(db, job_id)[0]
    polled = provider.gets
    system.coordinator.poke_scene(job_id, scene.id, scene.provider_id)
    wait_until(lambda: provider.gets > polled, message="a poll after the poke")
    provider.release.set()  # the prediction succeeds; the next poke finds it done
    system.coordinator.poke_scene(job_id, scene.id, scene.provider_id)
    wait_until(lambda: scene_rows(db, job_id)[0].status == "completed",
               message="scene completed on the poke")
