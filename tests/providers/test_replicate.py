"""The Replicate client and PredictionServices against the fake Replicate over real HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import time
from pathlib import Path

import pytest

from actorvid.domain import models
from actorvid.errors import ProviderError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.providers.base import (
    CreateOutcomeUnknown,
    MusicInput,
    OutputExpired,
    RenderInput,
)
from actorvid.providers.replicate import ReplicateMusic, ReplicateRenderer
from tests.conftest import wait_until
from tests.fakes.replicate import FakeReplicate
from tests.fakes.replicate.models import REGISTRY
from tests.providers.conftest import Blobs, wait_terminal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000


def _render(blobs: Blobs, model: str = "veo3", duration: int = 4, **kw: object) -> RenderInput:
    return RenderInput(model=model, first_frame=blobs.add(PNG), last_frame=blobs.add(PNG),  # type: ignore[arg-type]
                       prompt="  slow   dolly in ", duration=duration, **kw)  # type: ignore[arg-type]


@pytest.fixture
def renderer(make_client, blobs: Blobs) -> ReplicateRenderer:
    return ReplicateRenderer(make_client(), blobs.read)


def test_lifecycle_to_success_and_download(renderer: ReplicateRenderer, blobs: Blobs,
                                           fake_replicate: FakeReplicate, tmp_path: Path) -> None:
    inputs = _render(blobs, duration=4)
    # Held in ``processing`` until the test has seen it there: a poll that comes late (a
    # loaded machine) would otherwise see ``starting`` and then ``succeeded``.
    fake_replicate.set_timing("google/veo-3.1", queue=REGISTRY["google/veo-3.1"].queue,
                              run=1e6)
    created = renderer.create(inputs, tag="job-1/scene-1/a1")
    assert created.status == "starting" and created.model == "google/veo-3.1"
    wait_until(lambda: renderer.get(created.id).status == "processing", timeout=30)
    fake_replicate.finish_now(created.id)

    final, _ = wait_terminal(renderer.get, created.id, timeout=30)
    assert final.status == "succeeded"
    assert final.output and final.output.startswith(fake_replicate.url + "/delivery/")
    assert final.predict_time and final.predict_time > 0

    out = tmp_path / "clip.mp4"
    with out.open("wb") as dest:
        written = renderer.download(final, dest)
    assert written == out.stat().st_size > 0
    info = FFmpeg.locate().probe(out)
    assert info.duration == pytest.approx(4, abs=0.2)
    assert renderer.cost(inputs, final) == pytest.approx(0.8)

    sent = fake_replicate.journal.requests("create")[0]
    assert sent["path"] == "/v1/models/google/veo-3.1/predictions"
    assert sent["headers"]["Cancel-After"] == "30m"
    assert sent["body"]["input"]["prompt"] == "slow dolly in"
    assert sent["body"]["input"]["generate_audio"] is False
    assert sent["headers"]["Authorization"] == f"Bearer {fake_replicate.token}"


def test_a_netrc_entry_for_the_host_never_replaces_the_token(
        renderer: ReplicateRenderer, blobs: Blobs, fake_replicate: FakeReplicate,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests puts ~/.netrc credentials over an ``Authorization`` header: the token goes
    as ``auth``, which it leaves alone."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-the-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    created = renderer.create(_render(blobs), tag="netrc")
    assert renderer.get(created.id).id == created.id
    for sent in fake_replicate.journal.requests("create"):
        assert sent["headers"]["Authorization"] == f"Bearer {fake_replicate.token}"


@pytest.mark.parametrize("outcome", ["failed", "aborted"])
def test_failure_statuses_are_terminal(renderer: ReplicateRenderer, blobs: Blobs,
                                       fake_replicate: FakeReplicate, outcome: str) -> None:
    fake_replicate.next_outcome(outcome)
    created = renderer.create(_render(blobs), tag=f"t-{outcome}")
    final, _ = wait_terminal(renderer.get, created.id)
    assert final.status == outcome and final.terminal
    assert final.output is None
    if outcome == "failed":
        assert "E005" in (final.error or "")
    with pytest.raises(ProviderError):
        renderer.download(final, io.BytesIO())
    assert renderer.cost(_render(blobs), final) == 0


def test_cancel_after_deadline_aborts_a_queued_and_cancels_a_running_prediction(
        make_client, blobs: Blobs, fake_replicate: FakeReplicate) -> None:
    service = ReplicateRenderer(make_client(cancel_after="5s"), blobs.read)
    fake_replicate.next_outcome("stuck")
    queued = service.create(_render(blobs), tag="stuck")
    fake_replicate.set_timing("google/veo-3.1", queue=0, run=10_000)
    running = service.create(_render(blobs), tag="long")

    final_queued, _ = wait_terminal(service.get, queued.id)
    final_running, _ = wait_terminal(service.get, running.id)
    assert final_queued.status == "aborted"
    assert "started_at" not in service.client.get(queued.id)
    assert final_running.status == "canceled"
    raw = service.client.get(running.id)
    assert raw["started_at"] and raw["deadline"]  # it had started: canceled, not aborted


def test_cancel_stops_a_running_prediction(renderer: ReplicateRenderer, blobs: Blobs,
                                           fake_replicate: FakeReplicate) -> None:
    fake_replicate.set_timing("google/veo-3.1", queue=0, run=10_000)
    created = renderer.create(_render(blobs), tag="c")
    assert renderer.cancel(created.id).status == "canceled"
    assert renderer.get(created.id).status == "canceled"
    assert renderer.cancel(created.id).status == "canceled"  # twice is harmless


def test_429_on_create_says_when_to_retry_and_never_waits(renderer: ReplicateRenderer,
                                                            blobs: Blobs,
                                                            fake_replicate: FakeReplicate) -> None:
    fake_replicate.inject("create", status=429)  # retry_after 1 in body and header
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        renderer.create(_render(blobs), tag="throttled")
    assert time.monotonic() - started < 1.0  # the caller (an actor) waits on a timer instead
    assert info.value.retryable and info.value.http_status == 429
    assert info.value.retry_after == 1
    assert renderer.create(_render(blobs), tag="throttled-2").status == "starting"
    assert fake_replicate.journal.create_requests == 2
    assert fake_replicate.journal.creates == 1


def test_rate_limit_bucket_throttles_with_retry_after(make_client, blobs: Blobs,
                                                       fake_replicate: FakeReplicate) -> None:
    fake_replicate.set_rate_limit("create", per_minute=60, burst=1)
    client = make_client()
    client.create(model=models.VEO_MODEL, input={"prompt": "a"}, tag="r1")
    with pytest.raises(ProviderError) as info:
        # The server's word comes back as retry_after; nothing was created.
        client.create(model=models.VEO_MODEL, input={"prompt": "b"}, tag="r2")
    assert info.value.retryable and info.value.http_status == 429
    assert info.value.retry_after == 1
    assert fake_replicate.journal.creates == 1


@pytest.mark.parametrize("kind", ["slow", "reset"])
def test_lost_create_answer_is_found_not_duplicated(make_client, blobs: Blobs,
                                                    fake_replicate: FakeReplicate,
                                                    kind: str) -> None:
    service = ReplicateRenderer(make_client(create_timeout=0.4), blobs.read)
    fake_replicate.inject("create", kind, seconds=1.5, after=True)
    found = service.create(_render(blobs), tag="job-9/scene-1/a1")
    assert fake_replicate.journal.create_requests == 1
    assert fake_replicate.journal.creates == 1
    assert found.id == fake_replicate.all_predictions()[0].id
    assert service.find("job-9/scene-1/a1") == service.get(found.id) or \
        service.find("job-9/scene-1/a1").id == found.id  # type: ignore[union-attr]
    assert service.find("another-tag") is None


def test_create_lost_before_the_server_acted_reports_unknown(make_client, blobs: Blobs,
                                                             fake_replicate: FakeReplicate
                                                             ) -> None:
    service = ReplicateRenderer(make_client(), blobs.read)
    fake_replicate.inject("create", "reset", after=False)
    with pytest.raises(CreateOutcomeUnknown) as info:
        service.create(_render(blobs), tag="lost")
    assert info.value.retryable and info.value.tag == "lost"
    assert fake_replicate.journal.creates == 0
    assert service.find("lost") is None  # so a new attempt is safe


def test_find_uses_the_webhook_tag_after_a_restart(make_client, blobs: Blobs,
                                                   fake_replicate: FakeReplicate) -> None:
    hook = "http://127.0.0.1:9/hooks/replicate?src=test"  # never answers: only the tag matters
    first = ReplicateRenderer(make_client(webhook_url=hook), blobs.read)
    created = first.create(_render(blobs), tag="job-3/scene-2/a1")
    restarted = ReplicateRenderer(make_client(webhook_url=hook), blobs.read)  # no memory
    found = restarted.find("job-3/scene-2/a1")
    assert found is not None and found.id == created.id
    body = fake_replicate.journal.requests("create")[0]["body"]
    assert body["webhook"].endswith("src=test&tag=job-3%2Fscene-2%2Fa1")


def test_get_makes_one_attempt_and_reports_5xx_and_resets_as_retryable(
        renderer: ReplicateRenderer, blobs: Blobs, fake_replicate: FakeReplicate) -> None:
    created = renderer.create(_render(blobs), tag="g")
    fake_replicate.inject("get", status=503)
    fake_replicate.inject("get", "reset", after=True)
    for expected in (503, None):
        with pytest.raises(ProviderError) as info:
            renderer.get(created.id)
        assert info.value.retryable and info.value.http_status == expected
    assert renderer.get(created.id).id == created.id
    assert len(fake_replicate.journal.requests("get")) == 3


def test_create_is_not_retried_on_5xx(make_client, fake_replicate: FakeReplicate) -> None:
    fake_replicate.inject("create", status=502)
    with pytest.raises(CreateOutcomeUnknown):
        make_client().create(model=models.VEO_MODEL, input={"prompt": "x"}, tag="5")
    assert fake_replicate.journal.create_requests == 1


@pytest.mark.parametrize(("status", "words"), [(402, "credit"), (401, "token")])
def test_account_errors_are_not_retryable(make_client, fake_replicate: FakeReplicate,
                                          status: int, words: str) -> None:
    fake_replicate.inject("create", status=status)
    with pytest.raises(ProviderError) as info:
        make_client().create(model=models.VEO_MODEL, input={"prompt": "x"}, tag="acct")
    assert not info.value.retryable and words in info.value.message
    assert fake_replicate.journal.create_requests == 1


def test_wrong_token_is_refused(fake_replicate: FakeReplicate) -> None:
    from actorvid.providers.replicate import ReplicateClient
    client = ReplicateClient(fake_replicate.api_url, "r8_wrong")
    with pytest.raises(ProviderError) as info:
        client.get("x")
    assert info.value.http_status == 401 and not info.value.retryable


def test_expired_output_fails_clearly(renderer: ReplicateRenderer, blobs: Blobs,
                                      fake_replicate: FakeReplicate) -> None:
    created = renderer.create(_render(blobs), tag="e")
    final, _ = wait_terminal(renderer.get, created.id)
    assert final.status == "succeeded"
    fake_replicate.expire(created.id)

    with pytest.raises(OutputExpired) as stale:  # the URL we held is gone (404)
        renderer.download(final, io.BytesIO())
    assert not stale.value.retryable and "expired" in stale.value.message

    purged = renderer.get(created.id)
    assert purged.data_removed and purged.output is None
    with pytest.raises(OutputExpired) as fresh:
        renderer.download(purged, io.BytesIO())
    assert "expired" in fresh.value.message


def test_outputs_expire_after_the_retention_time(renderer: ReplicateRenderer, blobs: Blobs,
                                                 fake_replicate: FakeReplicate) -> None:
    fake_replicate.retention = 30  # simulated seconds: 0.3 s real
    created = renderer.create(_render(blobs), tag="r")
    wait_terminal(renderer.get, created.id)
    deadline = time.monotonic() + 10
    while not renderer.get(created.id).data_removed:
        assert time.monotonic() < deadline, "output never expired"
        time.sleep(0.02)


def test_prefer_wait_returns_the_finished_prediction(make_client,
                                                     fake_replicate: FakeReplicate) -> None:
    fake_replicate.time_scale = 0.005
    body = make_client().create(model=models.VEO_MODEL, tag="w", wait=60, input={
        "prompt": "p", "duration": 4})
    assert body["status"] == "succeeded" and body["output"]
    assert fake_replicate.journal.requests("create")[0]["headers"]["Prefer"] == "wait=60"


def test_music_uses_the_pinned_version_and_a_continuation(make_client, blobs: Blobs,
                                                          fake_replicate: FakeReplicate,
                                                          tmp_path: Path) -> None:
    music = ReplicateMusic(make_client(), blobs.read)
    previous = blobs.add(b"ID3" + b"\x00" * 5000, "audio/mpeg")
    inputs = MusicInput(prompt="warm piano", duration=3, continue_from=previous,
                        continue_from_seconds=8.6)
    created = music.create(inputs, tag="m1")
    final, _ = wait_terminal(music.get, created.id)
    assert final.status == "succeeded"
    out = tmp_path / "seg.mp3"
    with out.open("wb") as dest:
        music.download(final, dest)
    assert FFmpeg.locate().probe(out).duration == pytest.approx(3, abs=0.15)
    sent = fake_replicate.journal.requests("create")[0]
    assert sent["path"] == "/v1/predictions"
    assert sent["body"]["version"] == models.MUSICGEN_VERSION
    body = sent["body"]["input"]
    assert body["input_audio"].startswith("data:audio/mpeg;base64,")
    assert (body["continuation"], body["continuation_start"], body["continuation_end"]) == (
        True, 6, 8)
    assert body["output_format"] == "mp3"
    assert music.cost(inputs, final) > 0


def test_small_images_go_as_data_uris_and_big_ones_through_the_files_api(
        make_client, blobs: Blobs, fake_replicate: FakeReplicate) -> None:
    service = ReplicateRenderer(make_client(), blobs.read)
    small = blobs.add(b"\x89PNG" + os.urandom(200 * 1024))
    big_bytes = b"\x89PNG" + os.urandom(300 * 1024)
    big = blobs.add(big_bytes)
    service.create(RenderInput(model="hailuo", first_frame=small, last_frame=big, prompt="p",
                               duration=6), tag="files")
    sent = fake_replicate.journal.requests("create")[0]["body"]["input"]
    assert sent["first_frame_image"].startswith("data:image/png;base64,")
    assert sent["last_frame_image"].startswith(fake_replicate.api_url + "/files/")
    assert len(fake_replicate.journal.requests("files")) == 1
    (stored,) = fake_replicate.files.values()
    assert stored["checksums"]["sha256"] == hashlib.sha256(big_bytes).hexdigest()


def test_public_base_url_sends_our_own_access_url(make_client, blobs: Blobs,
                                                  fake_replicate: FakeReplicate) -> None:
    minted: list[str] = []

    def mint(ref):
        minted.append(ref.asset_id)
        return f"https://studio.example/api/v3/assets/{ref.asset_id}/data?token=t"

    service = ReplicateRenderer(make_client(), blobs.read, mint_url=mint,
                                public_base_url="https://studio.example")
    service.create(_render(blobs), tag="pub")
    sent = fake_replicate.journal.requests("create")[0]["body"]["input"]
    assert sent["image"].startswith("https://studio.example/api/v3/assets/")
    assert len(minted) == 2 and not blobs.reads  # no bytes read, nothing uploaded


def test_invalid_input_is_refused_with_the_fields(make_client,
                                                  fake_replicate: FakeReplicate) -> None:
    with pytest.raises(ProviderError) as info:
        make_client().create(model=models.VEO_MODEL, tag="bad", input={
            "prompt": "p", "duration": 5, "aspect_ratio": "1:1"})
    assert info.value.http_status == 422 and not info.value.retryable
    assert "duration" in info.value.message
    assert fake_replicate.journal.creates == 0


def test_in_flight_counter_per_tag_prefix(make_client, fake_replicate: FakeReplicate) -> None:
    client = make_client()
    fake_replicate.set_timing("google/veo-3.1", queue=0, run=10_000)
    ids = [client.create(model=models.VEO_MODEL, input={"prompt": str(i)},
                         tag=f"job-1/scene-{i}")["id"] for i in range(3)]
    client.create(model=models.VEO_MODEL, input={"prompt": "x"}, tag="job-2/scene-1")
    assert fake_replicate.journal.in_flight("job-1/") == 3
    for prediction_id in ids:
        client.cancel(prediction_id)
    client.create(model=models.VEO_MODEL, input={"prompt": "y"}, tag="job-1/scene-9")
    assert fake_replicate.journal.in_flight("job-1/") == 1
    assert fake_replicate.journal.max_in_flight("job-1/") == 3
    assert fake_replicate.journal.max_in_flight("job-2/") == 1


def test_find_by_input_after_a_restart_without_webhooks(make_client, blobs: Blobs,
                                                         fake_replicate: FakeReplicate) -> None:
    from datetime import UTC, datetime

    since = datetime.now(UTC)
    inputs = _render(blobs)
    first = ReplicateRenderer(make_client(), blobs.read)
    created = first.create(inputs, tag="job-4/scene-1/a1")
    restarted = ReplicateRenderer(make_client(), blobs.read)  # a new process: no memory
    assert restarted.find("job-4/scene-1/a1") is None  # the tag alone cannot say
    found = restarted.find("job-4/scene-1/a1", inputs=inputs, since=since)
    assert found is not None and found.id == created.id
    other = dataclasses.replace(inputs, prompt="a different scene")
    assert restarted.find("job-4/scene-2/a1", inputs=other, since=since) is None
    assert fake_replicate.journal.creates == 1
