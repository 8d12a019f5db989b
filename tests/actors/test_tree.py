"""The actor tree end to end on a real SQLite file, real threads and a fake provider."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from actorvid.actors import snapshot as snapshots
from actorvid.actors.runtime import ActorSystem, AlreadyRunning, start_system
from actorvid.actors.supervision_policy import InjectFailure
from actorvid.domain.scenes import PlannedScene
from actorvid.store.blobs import read_blob_bytes
from actorvid.store.db import Database
from tests.actors.fakes import FakeProvider, SimplePipeline
from tests.actors.helpers import job_row, make_job, scene_rows, wait_until

MakeSystem = Callable[..., ActorSystem]


def finished(db: Database, *job_ids: int) -> bool:
    return all(job_row(db, j).terminal for j in job_ids)


def all_predictions_stored(db: Database, *job_ids: int) -> bool:
    return all(scene_rows(db, j) and all(s.provider_id for s in scene_rows(db, j))
               for j in job_ids)


def coordinator_urn(system: ActorSystem) -> str | None:
    ref = system.root.ask("coordinator_ref", block=True, timeout=2)
    return ref.actor_urn if ref is not None else None


def test_a_job_runs_from_pending_to_completed(db: Database, user_id: int, provider: FakeProvider,
                                              make_system: MakeSystem) -> None:
    provider.release.set()
    job_id = make_job(db, user_id, scenes=3)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: finished(db, job_id), message="job finished")
    job = job_row(db, job_id)
    assert (job.status, job.stage, job.result) == ("completed", "done", {"scenes": 3, "size": 36})
    assert job.actual_cost == pytest.approx(0.75)
    assert job.video_blob_id is not None
    video = read_blob_bytes(db, job.video_blob_id)
    ids = [s.provider_id for s in scene_rows(db, job_id)]
    assert video == b"".join(f"clip:{pid};".encode() for pid in ids)
    assert sorted(provider.creates_per_scene().values()) == [1, 1, 1]


def test_a_job_waits_for_approval_with_nothing_running(db: Database, user_id: int,
                                                       provider: FakeProvider,
                                                       make_system: MakeSystem) -> None:
    provider.release.set()
    job_id = make_job(db, user_id, scenes=2, review=True)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: job_row(db, job_id).status == "storyboard_ready")
    wait_until(lambda: snapshots.count(system.snapshot(), kind="job") == 0,
               message="job actor gone while waiting")
    assert provider.creates == []
    system.coordinator.approve(job_id)
    wait_until(lambda: finished(db, job_id))
    assert job_row(db, job_id).status == "completed"


def test_a_crashing_scene_is_restarted_and_resumes_its_prediction(
        db: Database, user_id: int, provider: FakeProvider, make_system: MakeSystem) -> None:
    job_id = make_job(db, user_id, scenes=3)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, job_id))
    victim = scene_rows(db, job_id)[1]
    provider.crash_get[victim.id] = 2  # the next two polls of this scene raise
    wait_until(lambda: provider.crash_get[victim.id] == 0, message="two crashes")
    provider.release.set()
    wait_until(lambda: finished(db, job_id))
    assert job_row(db, job_id).status == "completed"
    # The restarted SceneActor polled the stored prediction: no second create.
    assert provider.creates_per_scene()[victim.id] == 1
    assert sum(provider.creates_per_scene().values()) == 3


def test_a_lost_create_answer_is_found_by_tag_not_created_again(
        db: Database, user_id: int, provider: FakeProvider, make_system: MakeSystem) -> None:
    job_id = make_job(db, user_id, scenes=1, review=True)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: job_row(db, job_id).status == "storyboard_ready")
    with db.write() as conn:  # the scene rows exist once approved; lose the first answer
        from actorvid.clock import now_iso
        from actorvid.store import jobs
        jobs.approve_job(conn, job_id, now=now_iso())
        jobs.insert_sub_jobs(conn, job_id, [jobs.NewSubJob(
            "scene-one", PlannedScene(1, "p", 6.0, "hailuo"))], now=now_iso())
    provider.lose_create_answer.add("scene-one")
    provider.release.set()
    system.coordinator.start_job(job_id)  # approved above (a second approve is a 409 now)
    wait_until(lambda: finished(db, job_id))
    [scene] = scene_rows(db, job_id)
    assert job_row(db, job_id).status == "completed"
    assert provider.creates_per_scene() == {"scene-one": 1}
    assert len(provider.finds) == 1 and scene.attempts == 1


def test_expired_output_is_recreated_once_and_recorded(
        db: Database, user_id: int, provider: FakeProvider, make_system: MakeSystem) -> None:
    job_id = make_job(db, user_id, scenes=1)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, job_id))
    [scene] = scene_rows(db, job_id)
    provider.expire_once.add(scene.id)
    provider.release.set()
    wait_until(lambda: finished(db, job_id))
    [after] = scene_rows(db, job_id)
    assert job_row(db, job_id).status == "completed"
    assert provider.creates_per_scene()[scene.id] == 2
    assert after.recreated_from == scene.provider_id != after.provider_id


def test_a_crash_loop_fails_that_job_only(db: Database, user_id: int, provider: FakeProvider,
                                          pipeline: SimplePipeline,
                                          make_system: MakeSystem) -> None:
    provider.release.set()
    bad = make_job(db, user_id, scenes=1, explode=True)
    good = make_job(db, user_id, scenes=2)
    system = make_system()
    system.coordinator.start_job(bad)
    system.coordinator.start_job(good)
    wait_until(lambda: finished(db, bad, good))
    failed = job_row(db, bad)
    assert failed.status == "failed" and failed.error is not None
    # The user reads a sentence about their job; the crash's class and words stay in the log.
    assert "internal error that repeated" in failed.error
    assert "ValueError" not in failed.error and "StepFailed" not in failed.error
    assert pipeline.prepares[bad] == 4  # first run + 3 restarts, then the give-up
    assert job_row(db, good).status == "completed"


def test_a_scene_crash_loop_fails_its_job_with_the_reason(
        db: Database, user_id: int, provider: FakeProvider, pipeline: SimplePipeline,
        make_system: MakeSystem) -> None:
    provider.release.set()
    # One scene crashing for good leaves a partial video; every scene crashing fails the job.
    pipeline.crash_render_input[1] = 100
    pipeline.crash_render_input[2] = 100
    job_id = make_job(db, user_id, scenes=2)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: finished(db, job_id))
    job = job_row(db, job_id)
    assert job.status == "failed" and job.error is not None
    assert "scene 2: This scene could not be rendered because of an internal error" in job.error
    assert "blew up" not in job.error and "RuntimeError" not in job.error
    assert pipeline.crash_render_input[2] == 100 - 4


def test_a_coordinator_crash_restarts_the_subtree_without_duplicate_creates(
        db: Database, user_id: int, provider: FakeProvider, make_system: MakeSystem) -> None:
    job_ids = [make_job(db, user_id, scenes=3) for _ in range(3)]
    system = make_system()
    for job_id in job_ids:
        system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, *job_ids))
    before = coordinator_urn(system)
    old_scenes = {n["urn"] for n in _nodes(system.snapshot(timeout=1), "scene")}
    assert len(old_scenes) == 9
    system.root.ask("coordinator_ref", block=True, timeout=2).tell(InjectFailure("coordinator bug"))
    wait_until(lambda: coordinator_urn(system) not in (None, before), message="new coordinator")
    # Every scene actor was replaced (the subtree went down and came back from SQLite).
    wait_until(lambda: len({n["urn"] for n in _nodes(system.snapshot(timeout=1), "scene")}
                           - old_scenes) == 9, message="scenes back")
    provider.release.set()
    wait_until(lambda: finished(db, *job_ids))
    assert all(job_row(db, j).status == "completed" for j in job_ids)
    assert sum(provider.creates_per_scene().values()) == 9
    assert set(provider.creates_per_scene().values()) == {1}
    tree = system.snapshot(timeout=1)
    assert tree["children"][0]["restarts"] == 1


def test_cancel_reaches_every_leaf_within_a_second(db: Database, user_id: int,
                                                   provider: FakeProvider,
                                                   make_system: MakeSystem) -> None:
    job_id = make_job(db, user_id, scenes=5)
    other = make_job(db, user_id, scenes=2)
    system = make_system(poll_first=0.3, poll_max=0.5, poll_min=0.2)  # scenes mostly waiting
    system.coordinator.start_job(job_id)
    system.coordinator.start_job(other)
    wait_until(lambda: all_predictions_stored(db, job_id, other))
    ids = {s.provider_id for s in scene_rows(db, job_id)}
    started = time.monotonic()
    system.coordinator.cancel(job_id)
    wait_until(lambda: set(provider.cancels) == ids and job_row(db, job_id).status == "cancelled"
               and all(s.status == "cancelled" for s in scene_rows(db, job_id))
               and snapshots.count(system.snapshot(), job_id=job_id) == 0,
               timeout=1.0, message="cancel at every leaf")
    assert time.monotonic() - started < 1.0
    assert not set(provider.in_flight()) & ids
    provider.release.set()
    wait_until(lambda: finished(db, other))
    assert job_row(db, other).status == "completed"


def _nodes(tree: dict, kind: str) -> list[dict]:
    out = [tree] if tree["kind"] == kind else []
    for child in tree["children"]:
        out += _nodes(child, kind)
    return out


def answering_tree(system: ActorSystem, *, scenes: int, jobs: int | None = None
                   ) -> dict[str, Any] | None:
    """A snapshot in which ``scenes`` scene actors (and ``jobs`` job actors) answered, else
    None: asked again by ``wait_until`` when a CPU-starved moment made one late, since
    lateness is the machine's while an actor that never answers fails the wait."""
    tree = system.snapshot(timeout=1)
    if snapshots.count(tree, kind="scene", responding=True) != scenes:
        return None
    if jobs is not None and snapshots.count(tree, kind="job", responding=True) != jobs:
        return None
    return tree


def test_the_snapshot_answers_with_100_scenes_in_flight(
        db: Database, user_id: int, provider: FakeProvider, make_system: MakeSystem) -> None:
    job_ids = [make_job(db, user_id, scenes=10) for _ in range(10)]
    system = make_system()
    for job_id in job_ids:
        system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, *job_ids), timeout=60)

    tree = wait_until(lambda: answering_tree(system, scenes=100, jobs=10), timeout=60,
                      message="all 110 actors answering")
    # A snapshot never hangs: it answers by its deadline whatever the actors do (a generous
    # margin, since how fast is the business of a benchmark, not of a test).
    started = time.monotonic()
    system.snapshot(timeout=0.2)
    assert time.monotonic() - started < 5.0
    scene = _nodes(tree, "scene")[0]
    assert scene["state"]["provider_id"] and scene["scene_id"] and scene["job_id"] in job_ids
    assert scene["last_message"] in ("PollPrediction", "Resume")
    text = snapshots.render_text(tree)
    assert text.count("\n") == 1 + 1 + 10 + 100 - 1 and "scene" in text


def test_a_stuck_actor_is_reported_as_not_responding(db: Database, user_id: int,
                                                     provider: FakeProvider,
                                                     make_system: MakeSystem) -> None:
    import threading
    job_id = make_job(db, user_id, scenes=3)
    system = make_system()
    system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, job_id))
    victim = scene_rows(db, job_id)[0]
    provider.hang_get[victim.id] = threading.Event()  # its next poll blocks the mailbox
    wait_until(lambda: any(n["scene_id"] == victim.id and not n["responding"]
                           for n in _nodes(system.snapshot(timeout=0.3), "scene")),
               message="stuck scene reported")
    started = time.monotonic()
    system.snapshot(timeout=0.3)
    assert time.monotonic() - started < 5.0  # answers by its deadline, never hangs
    # The two healthy scenes answer (asked again if the machine made one late); the stuck one
    # never does.
    tree = wait_until(lambda: answering_tree(system, scenes=2), timeout=60,
                      message="the healthy scenes answering")
    [stuck] = [n for n in _nodes(tree, "scene") if n["scene_id"] == victim.id]
    assert stuck["last_message"] == "PollPrediction" and stuck["alive"]
    assert not stuck["responding"]
    assert "NOT RESPONDING" in snapshots.render_text(tree)
    provider.hang_get[victim.id].set()


def test_stop_leaves_every_job_resumable(db: Database, user_id: int, provider: FakeProvider,
                                         pipeline: SimplePipeline) -> None:
    from tests.actors.conftest import FAST
    job_ids = [make_job(db, user_id, scenes=3) for _ in range(3)]
    waiting = make_job(db, user_id, scenes=1, review=True)
    pipelines = {"standard": pipeline}
    system = ActorSystem(db, provider=provider, pipelines=pipelines, options=FAST).start()
    for job_id in [*job_ids, waiting]:
        system.coordinator.start_job(job_id)
    wait_until(lambda: all_predictions_stored(db, *job_ids)
               and job_row(db, waiting).status == "storyboard_ready")
    assert system.stop(timeout=5)
    import pykka
    assert pykka.ActorRegistry.get_all() == []
    assert all(job_row(db, j).status == "video_processing" for j in job_ids)
    # A new system on the same file resumes them: same predictions, no new creates.
    provider.release.set()
    again = ActorSystem(db, provider=provider, pipelines=pipelines, options=FAST).start()
    try:
        wait_until(lambda: finished(db, *job_ids))
        assert sum(provider.creates_per_scene().values()) == 9
        assert job_row(db, waiting).status == "storyboard_ready"
    finally:
        assert again.stop(timeout=5)


def test_one_system_per_database_file(db: Database, provider: FakeProvider,
                                      pipeline: SimplePipeline, make_system: MakeSystem) -> None:
    system = make_system()
    assert system.start() is system
    assert start_system(db, provider=provider, pipelines={}) is system
    with pytest.raises(AlreadyRunning):
        ActorSystem(db, provider=provider, pipelines={}).start()
