"""Soundtracks with MusicGen on the fake Replicate: the chain, its failures, the mux."""

from __future__ import annotations

from tests.conftest import wait_until
from tests.jobs.conftest import download, probe
from tests.jobs.test_offline import loudness
from tests.jobs.test_remote import start_pairs

FRAME = 1 / 30


def musicgen_creates(fake):
    return [r["body"] for r in fake.journal.requests("create") if "version" in r["body"]]


def test_audio_job_chains_musicgen_to_the_requested_duration(remote, fake_replicate, tmp_path):
    api = remote.api
    resp = api.post("/api/v3/audio/generate-scenes", json={
        "scenes": [{"scene_number": 1, "prompt": "calm piano", "duration": 5},
                   {"scene_number": 2, "prompt": "warm strings", "duration": 4},
                   {"scene_number": 3, "prompt": "bright finale"}],
        "default_duration": 3})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["data"]["jobId"]
    api.wait_status(job_id, "completed", timeout=120)
    status = api.get(f"/api/v3/audio/status/{job_id}").json()["data"]
    assert status["audio"]["status"] == "completed"
    assert status["audio"]["segments"] == 3
    track = download(api, f"/api/v3/audio/{job_id}/download", tmp_path / "track.m4a")
    assert abs(probe(track).duration - 12.0) <= 0.1
    bodies = musicgen_creates(fake_replicate)
    assert len(bodies) == 3
    first, second, third = (b["input"] for b in bodies)
    assert "input_audio" not in first and first["prompt"] == "calm piano"
    # Each next segment continues the previous one, never past the model's 30 s.
    for body in (second, third):
        assert body["continuation"] is True
        assert body["input_audio"].startswith("data:audio/")
        assert isinstance(body["continuation_start"], int)
        assert isinstance(body["continuation_end"], int)
        assert body["continuation_end"] - body["continuation_start"] + body["duration"] <= 30
    ranged = api.get(f"/api/v3/audio/{job_id}/download", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.content) == 10


def test_a_failure_mid_chain_keeps_what_was_made(remote, fake_replicate, tmp_path):
    fake_replicate.next_outcome("succeeded", model="meta/musicgen")
    # A segment is a prediction like a clip: it is created again up to the attempts allowed
    # (3), and only then does the chain stop.
    for _ in range(3):
        fake_replicate.next_outcome("failed", error="CUDA out of memory", model="meta/musicgen")
    api = remote.api
    job_id = api.post("/api/v3/audio/generate-scenes", json={
        "scenes": [{"scene_number": 1, "prompt": "a", "duration": 4},
                   {"scene_number": 2, "prompt": "b", "duration": 4},
                   {"scene_number": 3, "prompt": "c", "duration": 4}]}).json()["data"]["jobId"]
    job = api.wait_status(job_id, "completed", timeout=120)
    status = api.get(f"/api/v3/audio/status/{job_id}").json()["data"]
    assert status["audio"]["status"] == "failed"
    assert "segment 2 of 3" in status["audio"]["error"]
    assert "CUDA out of memory" in status["audio"]["error"]
    assert job["partial"] is True
    assert len(musicgen_creates(fake_replicate)) == 1 + 3  # the fold stopped at the failure
    track = download(api, f"/api/v3/audio/{job_id}/download", tmp_path / "part.m4a")
    # Segment 1 whole: its 4 s plus the half crossfade that centres its change on the cut.
    assert abs(probe(track).duration - 4.25) <= 0.1
    assert status["total_duration"] == 4.25


def test_video_soundtrack_is_muxed_without_cutting_the_video(remote, fake_replicate, tmp_path):
    api = remote.api
    job_id = start_pairs(api, numPairs=2, clipDuration=4, generateAudio=True)
    job = api.wait_status(job_id, "completed", timeout=180)
    assert job["audio"]["status"] == "completed", job["audio"]
    final = download(api, job["videoUrl"], tmp_path / "scored.mp4")
    info = probe(final)
    assert info.has_video and info.audio_codec == "aac"
    assert abs(info.duration - 8.0) <= FRAME + 1e-6
    middle, end = loudness(final, [(3.0, 2.0), (7.9, 0.1)])
    assert middle > -45, middle  # the fake's MusicGen output is a real tone
    assert end < middle - 10, (middle, end)  # faded out at the last frame
    assert len(musicgen_creates(fake_replicate)) == 2  # one segment per scene


def test_a_failed_soundtrack_leaves_a_completed_silent_video(remote, fake_replicate, tmp_path):
    for _ in range(3):  # every attempt the segment is allowed
        fake_replicate.next_outcome("failed", error="The input or output was flagged",
                                    model="meta/musicgen")
    api = remote.api
    job_id = start_pairs(api, numPairs=2, clipDuration=4, generateAudio=True)
    job = api.wait_status(job_id, "completed", timeout=180)
    assert job["audio"]["status"] == "failed"
    assert "segment 1 of 2" in job["audio"]["error"]
    final = download(api, job["videoUrl"], tmp_path / "silent.mp4")
    info = probe(final)
    assert abs(info.duration - 8.0) <= FRAME + 1e-6
    (level,) = loudness(final, [(2.0, 4.0)])
    assert level < -80  # the stitched video's own silence, not music


def test_the_soundtrack_step_shows_in_progress(remote, fake_replicate):
    fake_replicate.set_timing("meta/musicgen", queue=10, run=200)  # 2 s a segment
    api = remote.api
    job_id = start_pairs(api, numPairs=2, clipDuration=4, generateAudio=True)

    def in_soundtrack():
        progress = api.job(job_id)["progress"]
        return progress["stage"] == "soundtrack" and progress["message"].startswith(
            "Making the soundtrack") and progress["scenesCompleted"] == 2

    wait_until(in_soundtrack, timeout=120, interval=0.1, message="the soundtrack stage")
    job = api.wait_status(job_id, "completed", timeout=180)
    assert job["audio"]["status"] == "completed"
