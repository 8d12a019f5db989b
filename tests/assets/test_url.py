"""Ingestion from URLs: the happy paths, and every way a URL could be turned against us.

All traffic stays on 127.0.0.1: refusals by address happen before any connection, and the
``trap`` server proves it by never being hit.
"""

from __future__ import annotations

import pytest
import requests

from .conftest import Media, Remote, counts, elapsed, make_campaign

API = "/api/v3/assets"
NOTHING = {"assets": 0, "blobs": 0, "blob_chunks": 0}


def from_url(live_server, user, url: str, *, type_: str = "image", **extra) -> requests.Response:
    return requests.post(live_server.url + f"{API}/from-url", headers=user.headers, timeout=60,
                         json={"name": "Remote", "type": type_, "url": url, **extra})


def test_from_url_stores_and_probes(live_server, user, remote: Remote, media: Media) -> None:
    url = remote.serve_bytes("/img.png", media.bytes("image.png"), "image/png")
    client_id, campaign_id = make_campaign(live_server, user)
    resp = from_url(live_server, user, url, campaignId=campaign_id, tags=["subject"])
    assert resp.status_code == 201, resp.text
    asset = resp.json()["data"]
    assert asset["sourceUrl"] == url
    assert (asset["type"], asset["format"], asset["width"]) == ("image", "png", 64)
    assert (asset["clientId"], asset["campaignId"], asset["tags"]) == (
        client_id, campaign_id, ["subject"])
    assert asset["thumbnailBlobId"]
    assert live_server.get(asset["url"], headers=user.headers).content == media.bytes(
        "image.png")


def test_from_url_video_without_content_length(live_server, user, remote: Remote,
                                               media: Media) -> None:
    url = remote.serve_bytes("/v.mp4", media.bytes("video.mp4"), "video/mp4", length=False)
    resp = from_url(live_server, user, url, type_="video")
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["durationSeconds"] == pytest.approx(0.5, abs=0.05)


def test_the_servers_content_type_is_not_trusted(live_server, user, remote: Remote,
                                                 ctx) -> None:
    url = remote.serve_bytes("/fake.png", b"<html><script>alert(1)</script></html>",
                             "image/png")
    resp = from_url(live_server, user, url)
    assert resp.status_code == 415
    assert counts(ctx) == NOTHING


def test_type_mismatch_from_url_is_415(live_server, user, remote: Remote, media: Media,
                                       ctx) -> None:
    url = remote.serve_bytes("/a.mp3", media.bytes("audio.mp3"), "audio/mpeg")
    resp = from_url(live_server, user, url, type_="video")
    assert resp.status_code == 415
    assert counts(ctx) == NOTHING


def test_redirects_within_the_allow_list_are_followed(live_server, user, remote: Remote,
                                                      media: Media) -> None:
    target = remote.serve_bytes("/img.png", media.bytes("image.png"), "image/png")
    hop = remote.redirect("/hop", "/img.png", 307)
    start = remote.redirect("/start", remote.url + "/hop")
    resp = from_url(live_server, user, start)
    assert resp.status_code == 201
    assert resp.json()["data"]["sourceUrl"] == start
    assert [path for path, _ in remote.hits] == ["/start", "/hop", "/img.png"]
    assert hop and target


def test_connection_goes_to_the_checked_address_with_the_original_host(
        live_server, user, remote: Remote, media: Media) -> None:
    remote.serve_bytes("/img.png", media.bytes("image.png"), "image/png")
    resp = from_url(live_server, user, f"http://cdn.example.com:{remote.port}/img.png")
    assert resp.status_code == 201, resp.text
    assert remote.hits == [("/img.png", f"cdn.example.com:{remote.port}")]


@pytest.mark.parametrize("template", [
    "http://127.0.0.1/x",
    "http://127.0.0.1:{trap}/x",
    "http://localhost:{trap}/x",
    "http://LOCALHOST.:{trap}/x",
    "http://[::1]:{trap}/x",
    "http://[::ffff:127.0.0.1]:{trap}/x",
    "http://[::127.0.0.1]:{trap}/x",
    "http://[64:ff9b::7f00:1]:{trap}/x",
    "http://[2002:7f00:1::]:{trap}/x",
    "http://2130706433:{trap}/x",
    "http://127.1:{trap}/x",
    "http://0.0.0.0:{trap}/x",
    "http://10.0.0.1/x",
    "http://172.16.5.4/x",
    "http://192.168.1.1/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/x",
    "http://224.0.0.1/x",
    "http://240.0.0.1/x",
    "http://[fe80::1]/x",
    "http://[fd00::1]/x",
    "http://[ff02::1]/x",
    "http://evil.example.com:{trap}/x",
    "http://mixed.example.com/x",
    "http://no-such-host.invalid/x",
    "http://user:secret@127.0.0.1:{remote}/x",
    "https://127.0.0.1:{trap}/x",
    "file:///etc/passwd",
    "ftp://127.0.0.1/x",
    "gopher://127.0.0.1:{trap}/_x",
    "javascript:alert(1)",
    "//127.0.0.1:{trap}/x",
    "http:///x",
    "http://127.0.0.1:99999/x",
])
def test_ssrf_targets_are_refused_before_connecting(live_server, user, ctx, remote: Remote,
                                                    trap: Remote, template: str) -> None:
    url = template.format(trap=trap.port, remote=remote.port)
    resp = from_url(live_server, user, url)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"].startswith("Failed to download asset: ")
    assert body["meta"]["details"][0]["loc"] == ["body", "url"]
    for secret in ("127.0.0.1", "::1", "10.1.2.3"):
        assert secret not in body["error"] or secret in url
    assert trap.hits == [] and remote.hits == []
    assert counts(ctx) == NOTHING


@pytest.mark.parametrize("location", [
    "http://127.0.0.1:{trap}/stolen",
    "http://localhost:{trap}/stolen",
    "http://[::1]:{trap}/stolen",
    "http://169.254.169.254/latest/meta-data/",
    "http://evil.example.com:{trap}/stolen",
    "file:///etc/passwd",
])
def test_redirects_to_internal_addresses_are_refused(live_server, user, ctx, remote: Remote,
                                                     trap: Remote, location: str) -> None:
    # Allow-listed and public-looking (cdn.example.com) at first, then it points inside.
    remote.redirect("/go", location.format(trap=trap.port))
    resp = from_url(live_server, user, f"http://cdn.example.com:{remote.port}/go")
    assert resp.status_code == 422
    text = resp.text
    assert str(trap.port) not in text and "169.254" not in text and "stolen" not in text
    assert [path for path, _ in remote.hits] == ["/go"]
    assert trap.hits == []
    assert counts(ctx) == NOTHING


def test_too_many_redirects_is_502(live_server, user, remote: Remote, ctx) -> None:
    for i in range(10):
        remote.redirect(f"/r{i}", f"/r{i + 1}")
    resp = from_url(live_server, user, remote.url + "/r0")
    assert resp.status_code == 502
    assert len(remote.hits) == ctx.settings.fetch_max_redirects + 1
    assert counts(ctx) == NOTHING


def test_remote_errors_are_502(live_server, user, remote: Remote, trap: Remote, ctx) -> None:
    assert from_url(live_server, user, remote.url + "/missing").status_code == 502
    # A port nobody listens on (the trap's, once closed), on an allowed name: the refused
    # connection is the remote's failure, not the caller's.
    port = trap.port
    trap.server.stop()
    resp = from_url(live_server, user, f"http://cdn.example.com:{port}/missing")
    assert resp.status_code == 502, resp.text
    assert str(port) not in resp.text
    assert counts(ctx) == NOTHING


@pytest.mark.asset_settings(fetch_timeout_seconds=1.0)
@pytest.mark.parametrize("in_headers", [False, True])
def test_slow_drip_is_stopped_by_the_total_deadline(live_server, user, remote: Remote,
                                                    media: Media, ctx, in_headers) -> None:
    # A byte every 50 ms never trips a per-read timeout; only a total deadline stops it.
    url = remote.drip("/slow.png", media.bytes("image.png")[:64], in_headers=in_headers)
    resp, seconds = elapsed(lambda: from_url(live_server, user, url))
    assert resp.status_code == 502
    assert resp.json()["meta"]["code"] == "bad_gateway"
    assert seconds < 5
    assert counts(ctx) == NOTHING


@pytest.mark.asset_settings(max_upload_bytes=64 * 1024)
@pytest.mark.parametrize("declared_length", [True, False])
def test_oversize_download_is_413(live_server, user, remote: Remote, media: Media, ctx,
                                  declared_length) -> None:
    body = media.bytes("image.png") + b"\x00" * (256 * 1024)
    url = remote.serve_bytes("/big.png", body, "image/png", length=declared_length)
    resp = from_url(live_server, user, url)
    assert resp.status_code == 413
    assert counts(ctx) == NOTHING


def test_from_url_validation(live_server, user, other_user, remote: Remote) -> None:
    bad = requests.post(live_server.url + f"{API}/from-url", headers=user.headers, timeout=30,
                        json={"name": "x", "type": "picture"})
    assert bad.status_code == 422
    locs = {tuple(d["loc"]) for d in bad.json()["meta"]["details"]}
    assert locs == {("body", "type"), ("body", "url")}
    _, campaign_id = make_campaign(live_server, other_user)
    resp = from_url(live_server, user, remote.url + "/x", campaignId=campaign_id)
    assert resp.status_code == 422
    assert resp.json()["meta"]["details"][0]["loc"] == ["body", "campaignId"]
    assert remote.hits == []  # refused before fetching
    malformed = requests.post(live_server.url + f"{API}/from-url", data=b"{not json",
                              headers={**user.headers, "Content-Type": "application/json"},
                              timeout=30)
    assert malformed.status_code == 400


# --- bulk ----------------------------------------------------------------------------


def test_from_urls_one_bad_item_does_not_sink_the_others(live_server, user, remote: Remote,
                                                         trap: Remote, media: Media,
                                                         ctx) -> None:
    good = remote.serve_bytes("/a.png", media.bytes("image.png"), "image/png")
    song = remote.serve_bytes("/s.mp3", media.bytes("audio.mp3"), "audio/mpeg")
    items = [
        {"name": "A", "type": "image", "url": good, "tags": ["first_frame"]},
        {"name": "B", "type": "image", "url": f"http://127.0.0.1:{trap.port}/x"},
        {"name": "C", "type": "video", "url": song},
        {"name": "D", "type": "image"},
        {"name": "E", "type": "audio", "url": song},
    ]
    resp = requests.post(live_server.url + f"{API}/from-urls", headers=user.headers,
                         timeout=60, json={"assets": items})
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["summary"] == {"total": 5, "successful": 2, "failed": 3}
    results = data["results"]
    assert [r["success"] for r in results] == [True, False, False, False, True]
    assert results[0]["asset"]["tags"] == ["first_frame"]
    assert results[0]["asset"]["name"] == "A" and results[4]["asset"]["type"] == "audio"
    assert results[1]["error"].startswith("Failed to download: ")
    assert "audio" in results[2]["error"]
    assert "url is required" in results[3]["error"]
    assert all(r["asset"] is None and r["error"] for r in results[1:4])
    assert trap.hits == []
    assert counts(ctx)["assets"] == 2


def test_from_urls_limits(live_server, user, remote: Remote) -> None:
    post = lambda body: requests.post(live_server.url + f"{API}/from-urls",  # noqa: E731
                                      headers=user.headers, timeout=30, json=body)
    empty = post({"assets": []})
    assert empty.status_code == 422 and empty.json()["error"] == "No assets provided"
    many = post({"assets": [{"name": "x", "type": "image", "url": remote.url + "/x"}] * 101})
    assert many.status_code == 422
    assert many.json()["error"] == "Maximum 100 assets allowed per bulk upload"
    assert post({}).status_code == 422
    assert remote.hits == []


# --- unified -------------------------------------------------------------------------


def test_unified_json_url(live_server, user, remote: Remote, media: Media) -> None:
    url = remote.serve_bytes("/photos/kitchen.jpg", media.bytes("image.jpg"), "image/jpeg")
    resp = requests.post(live_server.url + f"{API}/unified", headers=user.headers, timeout=60,
                         json={"uploadType": "url", "sourceUrl": url, "type": "image",
                               "generateThumbnail": False})
    assert resp.status_code == 201, resp.text
    asset = resp.json()["data"]
    assert (asset["name"], asset["format"], asset["sourceUrl"]) == ("kitchen.jpg", "jpeg", url)
    assert asset["thumbnailBlobId"] is None


def test_unified_json_errors(live_server, user) -> None:
    post = lambda body: requests.post(live_server.url + f"{API}/unified",  # noqa: E731
                                      headers=user.headers, timeout=30, json=body)
    file_type = post({"uploadType": "file", "name": "x", "type": "image"})
    assert file_type.status_code == 422
    assert file_type.json()["error"] == "File is required for file upload type"
    no_url = post({"uploadType": "url", "name": "x", "type": "image"})
    assert no_url.status_code == 422
    assert no_url.json()["error"] == "sourceUrl is required for URL upload type"
    assert post({"uploadType": "magic", "url": "http://x"}).status_code == 422


def test_unified_multipart_file_with_flat_fields(live_server, user, media: Media) -> None:
    resp = requests.post(live_server.url + f"{API}/unified", headers=user.headers, timeout=60,
                         files=[("uploadType", (None, "file")), ("name", (None, "Clip")),
                                ("type", (None, "video")), ("tags", (None, '["a"]')),
                                ("file", ("c.mp4", media.bytes("video.mp4"))),
                                ("generateThumbnail", (None, "false"))])
    assert resp.status_code == 201, resp.text
    asset = resp.json()["data"]
    assert (asset["name"], asset["type"], asset["tags"]) == ("Clip", "video", ["a"])
    assert asset["thumbnailBlobId"] is None


def test_unified_multipart_url(live_server, user, remote: Remote, media: Media) -> None:
    url = remote.serve_bytes("/w.wav", media.bytes("audio.wav"), "audio/wav")
    resp = requests.post(live_server.url + f"{API}/unified", headers=user.headers, timeout=60,
                         files=[("uploadType", (None, "url")), ("url", (None, url)),
                                ("type", (None, "audio"))])
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["format"] == "wav"


def test_unified_multipart_without_file_is_422(live_server, user) -> None:
    resp = requests.post(live_server.url + f"{API}/unified", headers=user.headers, timeout=30,
                         files=[("uploadType", (None, "file")), ("name", (None, "x"))])
    assert resp.status_code == 422
    assert resp.json()["error"] == "File is required for file upload type"


def test_https_is_verified_against_the_url_host(live_server, user, remote: Remote,
                                                ctx) -> None:
    # The allow-listed server speaks plain HTTP: the TLS handshake must fail, not downgrade.
    resp = from_url(live_server, user, f"https://127.0.0.1:{remote.port}/img.png")
    assert resp.status_code == 502
    assert counts(ctx) == NOTHING
