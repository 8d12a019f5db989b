"""Uploads over real HTTP: the bytes decide type and format, refusals store nothing."""

from __future__ import annotations

import pytest
import requests

from .conftest import Media, counts, make_campaign, upload

API = "/api/v3/assets"


@pytest.mark.parametrize(("name", "asset_type", "fmt", "size", "duration", "thumb"), [
    ("image.png", "image", "png", (64, 48), None, True),
    ("image.jpg", "image", "jpeg", (64, 48), None, True),
    ("image.gif", "image", "gif", (64, 48), None, True),
    ("image.webp", "image", "webp", (64, 48), None, True),
    ("logo.svg", "image", "svg", (40, 30), None, False),
    ("pixel.png", "image", "png", (1, 1), None, True),  # one-digit sizes are still media
    ("strip.jpg", "image", "jpeg", (9, 3), None, True),
    ("video.mp4", "video", "mp4", (64, 48), 0.5, True),
    ("video.mov", "video", "mov", (64, 48), 0.5, True),
    ("video.webm", "video", "webm", (64, 48), 0.5, True),
    ("video.mkv", "video", "mkv", (64, 48), 0.5, True),
    ("audio.mp3", "audio", "mp3", None, 0.5, False),
    ("audio.wav", "audio", "wav", None, 0.5, False),
    ("audio.ogg", "audio", "ogg", None, 0.5, False),
    ("audio.aac", "audio", "aac", None, 0.5, False),
    ("audio.m4a", "audio", "m4a", None, 0.5, False),
    ("audio-only.mp4", "audio", "m4a", None, 0.5, False),
    ("doc.pdf", "document", "pdf", None, None, False),
])
def test_upload_each_type(live_server, user, media: Media, name, asset_type, fmt, size,
                          duration, thumb) -> None:
    data = media.bytes(name)
    # The client's filename and Content-Type are deliberately wrong: only the bytes count.
    resp = upload(live_server, user, "whatever.bin", data, content_type="text/plain")
    assert resp.status_code == 201, resp.text
    asset = resp.json()["data"]
    assert (asset["type"], asset["format"], asset["size"]) == (asset_type, fmt, len(data))
    assert asset["userId"] == str(user.id)
    assert asset["url"] == f"{API}/{asset['id']}/data"
    assert resp.headers["Location"] == f"{API}/{asset['id']}"
    if size:
        assert (asset["width"], asset["height"]) == size
    if duration:
        assert asset["durationSeconds"] == pytest.approx(duration, abs=0.1)
    assert bool(asset["thumbnailBlobId"]) is thumb
    body = live_server.get(asset["url"], headers=user.headers)
    assert body.status_code == 200
    assert body.content == data
    if thumb:
        jpeg = live_server.get(f"{API}/{asset['id']}/thumbnail", headers=user.headers)
        assert jpeg.status_code == 200
        assert jpeg.headers["Content-Type"] == "image/jpeg"
        assert jpeg.content.startswith(b"\xff\xd8")


def test_thumbnail_fits_256_and_keeps_aspect(live_server, user, media: Media, ctx) -> None:
    from actorvid.media.ffmpeg import FFmpeg

    asset = upload(live_server, user, "wide.png", media.bytes("wide.png")).json()["data"]
    jpeg = live_server.get(f"{API}/{asset['id']}/thumbnail", headers=user.headers).content
    path = ctx.settings.data_dir / "thumb.jpg"
    path.write_bytes(jpeg)
    info = FFmpeg.locate().probe(path)
    assert (info.width, info.height) == (256, 64)


def test_half_second_video_gets_a_thumbnail(live_server, user, media: Media) -> None:
    asset = upload(live_server, user, "v.mp4", media.bytes("video.mp4")).json()["data"]
    assert asset["durationSeconds"] == pytest.approx(0.5, abs=0.05)
    assert asset["thumbnailUrl"] == f"{API}/{asset['id']}/thumbnail"


def test_mp4_duration_is_read_from_the_index_without_reading_it_whole(media: Media,
                                                                     tmp_path) -> None:
    """An MP4's thumbnail time comes from its mvhd, so probe and thumbnail share one ffmpeg
    run; a file that hides or inflates its index gets None (two runs), not a huge read."""
    from actorvid.media.mp4index import movie_duration as mp4_duration

    assert mp4_duration(media.path("video.mp4")) == pytest.approx(0.5, abs=0.05)
    assert mp4_duration(media.path("video.mov")) == pytest.approx(0.5, abs=0.05)
    assert mp4_duration(media.path("video.webm")) is None
    hostile = tmp_path / "hostile.mp4"
    # A moov box claiming 4 GiB with no mvhd in its first bytes, then garbage.
    hostile.write_bytes(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"
                        + b"\xff\xff\xff\xffmoov" + b"\0\0\0\x10free" * 8)
    assert mp4_duration(hostile) is None


@pytest.mark.parametrize(("name", "declared", "fragment"), [
    ("image.png", "video", "image (png)"),
    ("video.mp4", "image", "video (mp4)"),
    ("audio.mp3", "document", "audio (mp3)"),
    ("doc.pdf", "image", "document (pdf)"),
    ("logo.svg", "audio", "image (svg)"),
    ("audio.wav", "video", "audio (wav)"),
])
def test_declared_type_that_disagrees_is_415(live_server, user, media: Media, ctx, name,
                                             declared, fragment) -> None:
    resp = upload(live_server, user, name, media.bytes(name), params={"type": declared})
    assert resp.status_code == 415
    body = resp.json()
    assert body["meta"]["code"] == "unsupported_media_type"
    assert fragment in body["error"] and declared in body["error"]
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_declared_type_in_a_field_after_the_file_is_checked_too(live_server, user,
                                                                media: Media, ctx) -> None:
    resp = upload(live_server, user, "a.png", media.bytes("image.png"),
                  fields={"type": "video"})
    assert resp.status_code == 415
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_video_container_declared_as_audio_must_hold_only_audio(live_server, user,
                                                                media: Media, ctx) -> None:
    resp = upload(live_server, user, "v.mp4", media.bytes("video.mp4"), params={"type": "audio"})
    assert resp.status_code == 415
    assert counts(ctx)["blobs"] == 0
    ok = upload(live_server, user, "a.mp4", media.bytes("audio-only.mp4"),
                params={"type": "audio"})
    assert ok.status_code == 201 and ok.json()["data"]["format"] == "m4a"


@pytest.mark.parametrize("data", [
    b"<html><body>not an image</body></html>",
    b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 5000,
    b"PK\x03\x04" + b"\x00" * 100,
])
def test_unknown_bytes_are_415(live_server, user, ctx, data) -> None:
    resp = upload(live_server, user, "photo.png", data, params={"type": "image"},
                  content_type="image/png")
    assert resp.status_code == 415
    assert "Unsupported file type" in resp.json()["error"]
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_media_ffmpeg_cannot_read_is_415_not_a_broken_asset(live_server, user, media: Media,
                                                            ctx) -> None:
    resp = upload(live_server, user, "b.mp4", media.bytes("broken.mp4"))
    assert resp.status_code == 415
    assert "could not be read" in resp.json()["error"]
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_empty_file_is_415(live_server, user, ctx) -> None:
    resp = upload(live_server, user, "empty.png", b"")
    assert resp.status_code == 415
    assert counts(ctx)["blobs"] == 0


def test_metadata_from_form_fields(live_server, user, media: Media) -> None:
    client_id, campaign_id = make_campaign(live_server, user)
    resp = upload(live_server, user, "ignored.png", media.bytes("image.png"), fields={
        "name": "Hero shot", "type": "image", "campaignId": campaign_id,
        "tags": '["first_frame", "Bedroom 1"]'})
    assert resp.status_code == 201, resp.text
    asset = resp.json()["data"]
    assert asset["name"] == "Hero shot"
    assert asset["campaignId"] == campaign_id
    assert asset["clientId"] == client_id  # implied by the campaign
    assert asset["tags"] == ["first_frame", "Bedroom 1"]


def test_metadata_from_query_like_the_old_backend(live_server, user, media: Media) -> None:
    client_id, _ = make_campaign(live_server, user)
    resp = upload(live_server, user, "x.jpg", media.bytes("image.jpg"), params={
        "name": "From query", "clientId": client_id, "tags": "just one tag"})
    assert resp.status_code == 201
    asset = resp.json()["data"]
    assert (asset["name"], asset["clientId"], asset["tags"]) == (
        "From query", client_id, ["just one tag"])


def test_name_defaults_to_the_filename(live_server, user, media: Media) -> None:
    asset = upload(live_server, user, "beach.png", media.bytes("image.png")).json()["data"]
    assert asset["name"] == "beach.png"


@pytest.mark.parametrize(("fields", "loc"), [
    ({"type": "photo"}, ["body", "type"]),
    ({"tags": '{"not": "a list"}'}, ["body", "tags"]),
    ({"tags": "[1, 2]"}, ["body", "tags"]),
    ({"tags": "[unclosed"}, ["body", "tags"]),
    ({"clientId": "no-such-client"}, ["body", "clientId"]),
    ({"campaignId": "no-such-campaign"}, ["body", "campaignId"]),
    ({"name": "x" * 300}, ["body", "name"]),
])
def test_bad_metadata_is_422_and_stores_nothing(live_server, user, media: Media, ctx, fields,
                                                loc) -> None:
    resp = upload(live_server, user, "a.png", media.bytes("image.png"), fields=fields)
    assert resp.status_code == 422, resp.text
    assert resp.json()["meta"]["details"][0]["loc"] == loc
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_another_users_campaign_or_client_is_422(live_server, user, other_user, media: Media,
                                                 ctx) -> None:
    client_id, campaign_id = make_campaign(live_server, other_user)
    for fields, field in (({"campaignId": campaign_id}, "campaignId"),
                          ({"clientId": client_id}, "clientId")):
        resp = upload(live_server, user, "a.png", media.bytes("image.png"), params=fields)
        assert resp.status_code == 422
        assert resp.json()["meta"]["details"][0]["loc"] == ["body", field]
    assert counts(ctx)["assets"] == 0


def test_campaign_of_another_client_is_422(live_server, user, media: Media) -> None:
    client_a, _ = make_campaign(live_server, user)
    _, campaign_b = make_campaign(live_server, user)
    resp = upload(live_server, user, "a.png", media.bytes("image.png"),
                  fields={"clientId": client_a, "campaignId": campaign_b})
    assert resp.status_code == 422
    assert resp.json()["meta"]["details"][0]["msg"] == "Campaign does not belong to this client"


def test_missing_file_is_422(live_server, user) -> None:
    resp = requests.post(live_server.url + API, files=[("name", (None, "x"))],
                         headers=user.headers, timeout=30)
    assert resp.status_code == 422
    assert resp.json()["meta"]["details"][0]["loc"] == ["body", "file"]


def test_not_multipart_is_415(live_server, user) -> None:
    resp = requests.post(live_server.url + API, json={"name": "x"}, headers=user.headers,
                         timeout=30)
    assert resp.status_code == 415


def test_malformed_multipart_is_400(live_server, user, ctx) -> None:
    resp = requests.post(live_server.url + API, data=b"--b\r\nContent-Disposition: form-data; "
                         b'name="file"; filename="a"\r\n\r\n\x89PNG\r\n\x1a\n no end',
                         headers={**user.headers,
                                  "Content-Type": "multipart/form-data; boundary=b"},
                         timeout=30)
    assert resp.status_code == 400
    assert resp.json()["error"] == "Malformed multipart body"
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_two_files_are_refused(live_server, user, media: Media, ctx) -> None:
    png = media.bytes("image.png")
    resp = requests.post(live_server.url + API, files=[("file", ("a.png", png)),
                                                       ("file", ("b.png", png))],
                         headers=user.headers, timeout=30)
    assert resp.status_code == 422
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_upload_needs_auth(live_server, media: Media) -> None:
    resp = requests.post(live_server.url + API, files={"file": ("a.png", media.bytes(
        "image.png"))}, timeout=30)
    assert resp.status_code == 401


@pytest.mark.asset_settings(max_upload_bytes=64 * 1024)
def test_oversize_upload_is_413_and_leaves_nothing(live_server, user, media: Media,
                                                   ctx) -> None:
    # Valid PNG magic, then far more bytes than the cap; Content-Length is under the
    # multipart allowance, so the cap is enforced while streaming.
    data = media.bytes("image.png") + b"\x00" * (300 * 1024)
    resp = upload(live_server, user, "big.png", data)
    assert resp.status_code == 413
    assert resp.json()["meta"]["code"] == "payload_too_large"
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


@pytest.mark.asset_settings(max_upload_bytes=64 * 1024)
def test_oversize_chunked_upload_is_413(live_server, user, media: Media, ctx) -> None:
    boundary = "zzz"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.png\"\r\n\r\n").encode()

    def body():  # no Content-Length: sent chunked
        yield head + media.bytes("image.png")
        for _ in range(40):
            yield b"\x00" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = requests.post(live_server.url + API, data=body(), timeout=60, headers={
        **user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 413
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


@pytest.mark.asset_settings(max_upload_bytes=64 * 1024)
def test_declared_length_far_over_the_cap_is_413_before_reading(live_server, user,
                                                                 ctx) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
    resp = upload(live_server, user, "huge.png", data)
    assert resp.status_code == 413
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_large_upload_streams_through_several_chunks(live_server, user, media: Media,
                                                     ctx) -> None:
    # A real video padded past several 1 MiB blob chunks; bytes come back identical.
    from actorvid.media.ffmpeg import FFmpeg

    path = ctx.settings.data_dir / "big.mp4"
    FFmpeg.locate().run(["-f", "lavfi", "-i",
                         "testsrc=size=320x240:rate=25:duration=1.6,noise=alls=80:allf=t+u",
                         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
                         "-pix_fmt", "yuv420p", "-y", str(path)])
    data = path.read_bytes()
    assert len(data) > 2 * 1024 * 1024
    asset = upload(live_server, user, "big.mp4", data).json()["data"]
    assert asset["size"] == len(data) and asset["width"] == 320
    assert counts(ctx)["blob_chunks"] >= 3
    got = live_server.get(asset["url"], headers=user.headers)
    assert got.content == data


def test_file_under_another_part_name_says_which_parts_came(live_server, user, ctx,
                                                            media: Media) -> None:
    resp = requests.post(live_server.url + API, headers=user.headers, timeout=30,
                         files=[("image", ("photo.png", media.bytes("image.png"), "image/png")),
                                ("name", (None, "Hero"))])
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == ("file is required: no part named file "
                             "(received: image, name)")
    assert body["meta"]["details"][0]["loc"] == ["body", "file"]
    assert counts(ctx)["blobs"] == 0  # the stray part's bytes were not kept


@pytest.mark.parametrize(("name", "fixture", "expected"), [
    ("photo0.jpg", "image.jpg", "photo0.jpg"),  # not photo0.jpg.jpeg
    ("photo0.JPEG", "image.jpg", "photo0.JPEG"),
    ("photo0.png", "image.jpg", "photo0.jpeg"),  # the bytes are JPEG: one, true extension
    ("v1.2 final", "image.png", "v1.2 final.png"),
    ("Hero shot", "image.png", "Hero shot.png"),
])
def test_download_name_has_one_true_extension(live_server, user, media: Media, name, fixture,
                                              expected) -> None:
    asset = upload(live_server, user, "ignored.bin", media.bytes(fixture),
                   fields={"name": name}).json()["data"]
    resp = live_server.get(asset["url"], headers=user.headers)
    assert resp.headers["Content-Disposition"] == f'inline; filename="{expected}"'
    thumb = live_server.get(f"{API}/{asset['id']}/thumbnail", headers=user.headers)
    stem = expected.rsplit(".", 1)[0]
    assert thumb.headers["Content-Disposition"] == f'inline; filename="{stem}_thumbnail.jpg"'


def _probe_copies() -> list[str]:
    from actorvid import tempspace

    return sorted(p.name for p in tempspace.process_root().glob("actorvid-asset-*"))


@pytest.mark.parametrize(("name", "params", "status"), [
    ("video.mp4", {}, 201),
    ("video.mp4", {"type": "audio"}, 415),  # refused after ffmpeg looked inside
    ("broken.mp4", {}, 415),  # ffmpeg cannot read it
])
def test_the_probe_copy_made_while_receiving_is_always_removed(live_server, user,
                                                              media: Media, name, params,
                                                              status) -> None:
    before = _probe_copies()
    resp = upload(live_server, user, name, media.bytes(name), params=params)
    assert resp.status_code == status, resp.text
    assert _probe_copies() == before


@pytest.mark.asset_settings(max_upload_bytes=64 * 1024)
def test_an_upload_cut_off_at_the_cap_leaves_no_probe_copy(live_server, user,
                                                           media: Media) -> None:
    before = _probe_copies()
    data = media.bytes("image.png") + b"\x00" * (300 * 1024)  # as in the 413 test above
    assert upload(live_server, user, "big.png", data).status_code == 413
    assert _probe_copies() == before
