"""Creative options on every job request: validated up front, stored with the job, shown in
its view and priced and timed by the dry-run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actorvid.domain.creative import Card, CreativeOptions, Transition
from actorvid.media.ffmpeg import FFmpeg
from tests.conftest import wait_until
from tests.fakes.replicate import png_size
from tests.jobs.conftest import download


def test_bad_creative_options_are_a_422_naming_every_field(offline):
    api = offline.api
    campaign = api.campaign()
    resp = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "aspectRatio": "4:3", "fit": "stretch",
        "transition": "wipe", "transitionSeconds": 2, "musicVolume": 1.5,
        "titleCard": {"text": "", "seconds": 9, "background": "video"}})
    assert resp.status_code == 422, resp.text
    locs = {tuple(d["loc"]) for d in resp.json()["meta"]["details"]}
    assert locs == {("body", "aspectRatio"), ("body", "fit"), ("body", "transition"),
                    ("body", "transitionSeconds"), ("body", "musicVolume"),
                    ("body", "titleCard", "text"), ("body", "titleCard", "seconds"),
                    ("body", "titleCard", "background")}
    tofu = api.post("/api/v3/jobs/from-image-pairs", json={
        "campaignId": campaign["id"], "endCard": {"text": "Villa 🏠", "subtitle": "東京"}})
    assert tofu.status_code == 422, tofu.text
    details = tofu.json()["meta"]["details"]
    assert [d["loc"] for d in details] == [["body", "endCard", "text"],
                                           ["body", "endCard", "subtitle"]]
    assert "U+1F3E0" in details[0]["msg"]


def test_options_are_stored_shown_and_the_defaults_change_nothing(offline):
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 2)
    plain = api.pairs_job(campaign["id"], numPairs=1, autoApprove=False)
    styled = api.pairs_job(campaign["id"], numPairs=1, autoApprove=False, aspectRatio="1:1",
                           resolution="1080p", fit="pad", transition="crossfade",
                           transitionSeconds=0.75, musicVolume=0.3,
                           titleCard={"text": "12 Ocean Drive", "subtitle": "€1.2M"},
                           endCard={"text": "Call Ana · 555-0100", "seconds": 2,
                                    "background": "brand"})
    with offline.ctx.db.read() as conn:
        stored = dict(conn.execute("SELECT id, parameters FROM jobs").fetchall())
    assert CreativeOptions.from_document(
        json.loads(stored[plain])["creative_options"]) == CreativeOptions()
    expected = CreativeOptions(
        aspect_ratio="1:1", resolution="1080p", fit="pad",
        transition=Transition("crossfade", 0.75), music_volume=0.3,
        title_card=Card("12 Ocean Drive", "€1.2M", 3.0, "still"),
        end_card=Card("Call Ana · 555-0100", "", 2.0, "brand"))
    assert CreativeOptions.from_document(
        json.loads(stored[styled])["creative_options"]) == expected
    view = api.job(styled)["creativeOptions"]
    assert view["aspectRatio"] == "1:1" and view["frameSize"] == {"width": 1080,
                                                                 "height": 1080}
    assert view["titleCard"]["text"] == "12 Ocean Drive" and view["transition"] == "crossfade"
    assert api.job(plain)["creativeOptions"]["frameSize"] == {"width": 1280, "height": 720}


def test_the_dry_run_times_the_cards_and_transitions(offline):
    api = offline.api
    base = api.post("/api/v3/jobs/dry-run", json={"numPairs": 3, "clipDuration": 4}).json()
    assert base["data"]["totalDuration"] == 12
    assert base["data"]["creativeOptions"]["transition"] == "cut"
    resp = api.post("/api/v3/jobs/dry-run", json={
        "numPairs": 3, "clipDuration": 4, "aspectRatio": "9:16", "transition": "fadeblack",
        "transitionSeconds": 0.5, "titleCard": {"text": "Villa", "seconds": 3},
        "endCard": {"text": "Call Ana", "seconds": 2}})
    data = resp.json()["data"]
    # 3 + 4 + 4 + 4 + 2 seconds, four joins of 0.5 s
    assert data["totalDuration"] == 15
    assert data["creativeOptions"]["frameSize"] == {"width": 720, "height": 1280}
    assert set(data["costByModel"]) == {"veo3", "hailuo"}


def test_a_brief_takes_the_options_too_and_its_two_ratios_must_agree(offline):
    api = offline.api
    client = api.post("/api/v3/clients", json={"name": "Acme"}).json()["data"]
    brief = {"context": {"clientId": client["id"]},
             "adBasics": {"product": "Villa", "targetAudience": "families",
                          "keyMessage": "sea views", "callToAction": "Call Ana"},
             "creative": {"videoSpecs": {"duration": 12, "format": "9:16"},
                          "direction": {"style": "bright"}}}
    clash = api.post("/api/v3/jobs", json={**brief, "aspectRatio": "1:1"})
    assert clash.status_code == 422, clash.text
    assert clash.json()["meta"]["details"][0]["loc"] == ["body", "aspectRatio"]
    made = api.post("/api/v3/jobs", json={**brief, "transition": "crossfade"})
    assert made.status_code == 201, made.text
    view = api.job(made.json()["data"]["id"])["creativeOptions"]
    assert view["aspectRatio"] == "9:16" and view["transition"] == "crossfade"
    brief["creative"]["videoSpecs"].pop("format")
    square = api.post("/api/v3/jobs", json={**brief, "aspectRatio": "1:1"})
    assert square.status_code == 201, square.text
    assert api.job(square.json()["data"]["id"])["creativeOptions"]["frameSize"] == {
        "width": 720, "height": 720}


def test_on_replicate_each_model_gets_the_ratio_its_way_and_the_dry_run_prices_it(
        remote, fake_replicate, tmp_path):
    api = remote.api
    dry = {res: api.post("/api/v3/jobs/dry-run", json={
        "numPairs": 2, "clipDuration": 6, "resolution": res,
        "aspectRatio": "1:1"}).json()["data"]["costByModel"] for res in ("720p", "1080p")}
    # Veo 3.1 costs the same per second at both sizes; Hailuo-02's 1080p clip costs more.
    assert dry["720p"]["veo3"] == dry["1080p"]["veo3"] == pytest.approx(2 * 6 * 0.20)
    assert dry["1080p"]["hailuo"] == pytest.approx(2 * 0.49)
    assert dry["720p"]["hailuo"] < dry["1080p"]["hailuo"]
    campaign = api.campaign()
    api.images(campaign["id"], 2)  # 320×240 photos: 4:3, the shape of no video
    made = [api.pairs_job(campaign["id"], numPairs=1, videoModel="hailuo", aspectRatio="1:1",
                          transition="fadeblack"),
            api.pairs_job(campaign["id"], numPairs=1, videoModel="veo3", aspectRatio="1:1",
                          transition="crossfade")]
    wait_until(lambda: len(fake_replicate.journal.inputs()) >= 2, timeout=120,
               message="both clips to be asked for")
    (hailuo,) = fake_replicate.journal.inputs("minimax/hailuo-02")
    (veo,) = fake_replicate.journal.inputs("google/veo-3.1")
    assert "aspect_ratio" not in hailuo
    assert png_size(hailuo["first_frame_image"]) == (240, 240)
    assert png_size(hailuo["last_frame_image"]) == (240, 240)
    assert veo["aspect_ratio"] == "16:9" and png_size(veo["image"]) == (320, 180)
    # Whatever shape each model sent back, the finished video is the square frame.
    for job_id in made:
        job = api.wait_status(job_id, "completed", timeout=180)
        info = FFmpeg.locate().probe(download(api, job["videoUrl"], tmp_path / f"{job_id}.mp4"))
        assert (info.width, info.height) == (720, 720), job_id


@pytest.mark.timeout(300)  # six local 4 s renders at 720p: about 100 s on a loaded 2-core box
def test_offline_jobs_in_every_ratio_have_the_frame_and_the_formulas_duration(offline,
                                                                             tmp_path):
    """End to end: the cards join the clips as shots; cuts and a crossfade keep the formula."""
    api = offline.api
    campaign = api.campaign()
    api.images(campaign["id"], 4)
    title = {"text": "12 Ocean Drive", "seconds": 2}
    end = {"text": "Call Ana · 555-0100", "seconds": 2, "background": "brand"}
    wishes: dict[str, dict[str, Any]] = {
        "16:9": {"titleCard": title},
        "9:16": {"titleCard": title, "endCard": end},
        "1:1": {"endCard": end, "transition": "crossfade", "transitionSeconds": 0.5}}
    jobs = {ratio: api.pairs_job(campaign["id"], numPairs=2, clipDuration=4, allowReuse=True,
                                 aspectRatio=ratio, **fields)
            for ratio, fields in wishes.items()}
    for ratio, job_id in jobs.items():
        job = api.wait_status(job_id, "completed", timeout=300)
        options = CreativeOptions.from_document(job["creativeOptions"])
        path = download(api, job["videoUrl"], tmp_path / f"{job_id}.mp4")
        info = FFmpeg.locate().probe(path)
        assert (info.width, info.height) == options.frame_size(), ratio
        expected = options.video_seconds([s["duration"] for s in job["scenes"]])
        assert info.duration is not None
        assert abs(info.duration - expected) <= 1 / 30 + 1e-6, (ratio, info.duration, expected)
