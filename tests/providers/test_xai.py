"""The chat client, selector and storyboard writer against the fake xAI over real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from actorvid.errors import ProviderError
from actorvid.providers.base import AssetSummary, SelectionRequest, StoryboardRequest
from actorvid.providers.http import RetryPolicy
from actorvid.providers.llm import ChatSelector, ChatStoryboardWriter
from actorvid.providers.xai import BadAnswer, ChatClient, extract_json
from tests.fakes.xai import FakeXAI
from tests.providers.conftest import Blobs

FAST = RetryPolicy(tries=3, base=0.01, cap=0.05, max_wait=5)
SCENES = ("Grand Arrival", "Culinary Excellence", "Wellness & Recreation")


@pytest.fixture
def client(fake_xai: FakeXAI) -> ChatClient:
    return ChatClient(fake_xai.api_url, fake_xai.key, retry=FAST, timeout=5)


def _assets() -> list[AssetSummary]:
    return [AssetSummary(f"a{i}", f"photo-{i}.jpg", tags) for i, tags in enumerate([
        ("exterior",), ("entrance",), ("dining",), ("restaurant",), ("pool",), ("spa",),
        ("bedroom",), ("view",)])]


@pytest.mark.parametrize("text", [
    '{"pairs": [1]}',
    '```json\n{"pairs": [1]}\n```',
    '```\n{"pairs": [1]}\n```',
    'Sure! Here you go:\n{"pairs": [1]}\nAnything else?',
    'Note {not json} then {"pairs": [1]} done',
])
def test_extract_json_finds_the_answer(text: str) -> None:
    assert extract_json(text) == {"pairs": [1]}


def test_extract_json_refuses_prose() -> None:
    with pytest.raises(ValueError):
        extract_json("I cannot help with that.")


def test_request_shape_and_usage(client: ChatClient, fake_xai: FakeXAI) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    answer, result = client.complete_json(
        [{"role": "user", "content": "Please check whether this works."}], schema=schema,
        schema_name="check")
    assert answer == {"ok": True}
    assert result.prompt_tokens > 0 and result.cost > 0
    sent = fake_xai.requests()[0]
    assert sent["body"]["model"] == "grok-4-1-fast-non-reasoning"
    assert sent["body"]["response_format"]["type"] == "json_schema"
    assert sent["body"]["response_format"]["json_schema"]["name"] == "check"
    assert sent["headers"]["AUTHORIZATION"] == f"Bearer {fake_xai.key}"


def test_a_netrc_entry_for_the_host_never_replaces_the_key(
        client: ChatClient, fake_xai: FakeXAI, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-the-key\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    answer, _ = client.complete_json([{"role": "user", "content": "Still ours?"}],
                                     schema=schema, schema_name="check")
    assert answer == {"ok": True}
    assert fake_xai.requests()[-1]["headers"]["AUTHORIZATION"] == f"Bearer {fake_xai.key}"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(client: ChatClient, fake_xai: FakeXAI,
                                      status: int) -> None:
    fake_xai.fail(status, times=2)
    fake_xai.reply('{"ok": true}')
    answer, _ = client.complete_json([{"role": "user", "content": "hi"}])
    assert answer == {"ok": True}
    assert len(fake_xai.requests()) == 3


def test_retry_after_is_honoured(client: ChatClient, fake_xai: FakeXAI) -> None:
    fake_xai.fail(429, retry_after=1)
    started = time.monotonic()
    client.complete([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started >= 1.0


def test_retries_are_bounded(client: ChatClient, fake_xai: FakeXAI) -> None:
    fake_xai.fail(503, times=5)
    with pytest.raises(ProviderError) as info:
        client.complete([{"role": "user", "content": "hi"}])
    assert info.value.retryable and len(fake_xai.requests()) == FAST.tries


def test_wrong_key_is_an_auth_error_not_retried(fake_xai: FakeXAI) -> None:
    bad = ChatClient(fake_xai.api_url, "xai-wrong-key", retry=FAST)
    with pytest.raises(ProviderError) as info:
        bad.complete([{"role": "user", "content": "hi"}])
    assert not info.value.retryable and info.value.http_status == 400
    assert "API key" in info.value.message and "xai-wrong-key" not in info.value.message
    assert len(fake_xai.requests()) == 1


@pytest.mark.parametrize(("status", "model"), [(403, None), (404, "grok-beta")])
def test_permission_and_unknown_model_are_not_retried(fake_xai: FakeXAI, status: int,
                                                      model: str | None) -> None:
    chat = ChatClient(fake_xai.api_url, fake_xai.key, model or "grok-4-1-fast-non-reasoning",
                      retry=FAST)
    if status == 403:
        fake_xai.fail(403)
    with pytest.raises(ProviderError) as info:
        chat.complete([{"role": "user", "content": "hi"}])
    assert info.value.http_status == status and not info.value.retryable
    assert len(fake_xai.requests()) == 1


def test_timeout_is_retried(fake_xai: FakeXAI) -> None:
    chat = ChatClient(fake_xai.api_url, fake_xai.key, retry=FAST, timeout=0.3)
    fake_xai.slow(1.0, '{"late": true}')
    fake_xai.reply('{"ok": true}')
    answer, _ = chat.complete_json([{"role": "user", "content": "hi"}])
    assert answer == {"ok": True}


def test_no_json_is_a_bad_answer(client: ChatClient, fake_xai: FakeXAI) -> None:
    fake_xai.reply("I'd rather not.")
    with pytest.raises(BadAnswer):
        client.complete_json([{"role": "user", "content": "hi"}])


def test_selector_uses_a_valid_schema_answer(client: ChatClient, fake_xai: FakeXAI) -> None:
    result = ChatSelector(client).select(SelectionRequest(assets=_assets(), num_pairs=3))
    assert result.provider == "xai" and not result.notes
    assert [(p.first_id, p.last_id) for p in result.pairs] == [
        ("a0", "a1"), ("a2", "a3"), ("a4", "a5")]  # synthesised from the enum schema
    assert result.cost > 0


@pytest.mark.parametrize("wrap", ["fence", "prose"])
def test_selector_parses_wrapped_answers(client: ChatClient, fake_xai: FakeXAI,
                                         wrap: str) -> None:
    fake_xai.reply_json({"pairs": [{"first_id": "a6", "last_id": "a7", "score": 0.9,
                                    "reasoning": "r"},
                                   {"first_id": "a0", "last_id": "a1", "score": 0.8,
                                    "reasoning": "r"}]}, wrap=wrap)
    result = ChatSelector(client).select(SelectionRequest(assets=_assets(), num_pairs=2))
    assert [(p.first_id, p.last_id) for p in result.pairs] == [("a6", "a7"), ("a0", "a1")]
    assert result.provider == "xai" and len(fake_xai.requests()) == 1


def test_selector_retries_wrong_ids_then_falls_back_to_local(client: ChatClient,
                                                             fake_xai: FakeXAI) -> None:
    wrong = {"pairs": [{"first_id": "nope", "last_id": "a1", "score": 1, "reasoning": ""},
                       {"first_id": "a2", "last_id": "a2", "score": 1, "reasoning": ""}]}
    for _ in range(3):
        fake_xai.reply_json(wrong)
    result = ChatSelector(client, attempts=3).select(
        SelectionRequest(assets=_assets(), num_pairs=2))
    assert len(fake_xai.requests()) == 3
    assert result.provider == "local"
    assert any("unknown image" in n for n in result.notes)
    assert len(result.pairs) == 2


def test_selector_falls_back_when_the_key_is_wrong(fake_xai: FakeXAI) -> None:
    bad = ChatClient(fake_xai.api_url, "xai-wrong", retry=FAST)
    result = ChatSelector(bad).select(SelectionRequest(assets=_assets(), num_pairs=2))
    assert result.provider == "local" and len(fake_xai.requests()) == 1
    assert any("API key" in n for n in result.notes)


def test_scene_mode_repairs_repeats_and_missing_scenes(client: ChatClient,
                                                       fake_xai: FakeXAI) -> None:
    fake_xai.reply_json({"pairs": [
        {"first_id": "a0", "last_id": "a1", "scene_type": "Grand Arrival", "score": 0.9,
         "reasoning": "front"},
        {"first_id": "a1", "last_id": "a2", "scene_type": "Culinary Excellence",
         "score": 0.9, "reasoning": "repeats a1"},
    ]})
    result = ChatSelector(client).select(SelectionRequest(
        assets=_assets(), num_pairs=3, scene_types=SCENES))
    assert len(fake_xai.requests()) == 1  # repaired, not paid again
    assert [p.scene_type for p in result.pairs] == list(SCENES)
    ids = [i for p in result.pairs for i in (p.first_id, p.last_id)]
    assert len(ids) == len(set(ids))
    assert (result.pairs[0].first_id, result.pairs[0].last_id) == ("a0", "a1")
    assert {result.pairs[1].first_id, result.pairs[1].last_id} == {"a2", "a3"}  # by tags
    assert result.provider == "xai"
    assert any("filled by the local selector" in n for n in result.notes)


def test_selector_sends_small_images_as_data_uris(client: ChatClient, fake_xai: FakeXAI,
                                                  blobs: Blobs) -> None:
    image = blobs.add(b"\xff\xd8\xff" + b"\x00" * 1000, "image/jpeg")
    assets = [AssetSummary("x", "x.jpg", image=image), AssetSummary("y", "y.jpg")]
    ChatSelector(client, read_blob=blobs.read).select(SelectionRequest(assets=assets,
                                                                       num_pairs=1))
    parts = fake_xai.requests()[0]["body"]["messages"][1]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/jpeg;base64,")


def test_storyboard_writer_scales_durations(client: ChatClient, fake_xai: FakeXAI) -> None:
    scenes = [{"description": f"Scene {i}", "script": "", "shot_type": "wide",
               "transition": "cut", "duration": d} for i, d in enumerate([2, 2, 4, 2])]
    fake_xai.reply_json({"scenes": scenes})
    drafts = ChatStoryboardWriter(client).write(StoryboardRequest(
        brief={"product": "lamp"}, target_duration=30, scene_count=4, asset_ids=("a", "b")))
    assert [d.duration for d in drafts] == [6.0, 6.0, 12.0, 6.0]
    assert [d.scene_number for d in drafts] == [1, 2, 3, 4]
    assert drafts[3].assets == ("b",)
    sent = fake_xai.requests()[0]["body"]
    assert json.loads(json.dumps(sent["response_format"]))["json_schema"]["name"] == "storyboard"


def test_storyboard_writer_falls_back_to_templates(client: ChatClient,
                                                   fake_xai: FakeXAI) -> None:
    fake_xai.reply("no")
    fake_xai.reply("still no")
    drafts = ChatStoryboardWriter(client).write(StoryboardRequest(
        brief={}, target_duration=15, scene_count=0))
    assert len(drafts) == 3 and sum(d.duration for d in drafts) == pytest.approx(15)
    assert drafts[0].metadata["generator"] == "local-template"
