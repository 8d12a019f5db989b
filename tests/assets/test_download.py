"""Serving asset bytes: Range, HEAD, ETag/304, safe headers, ownership, tokens, delete."""

from __future__ import annotations

import hashlib

import pytest
import requests

from .conftest import Media, counts, upload

API = "/api/v3/assets"


@pytest.fixture
def video(live_server, user, media: Media) -> tuple[dict, bytes]:
    data = media.bytes("long.mp4")
    resp = upload(live_server, user, "clip.mp4", data)
    assert resp.status_code == 201
    return resp.json()["data"], data


def get(live_server, user, asset, **headers) -> requests.Response:
    return live_server.get(asset["url"], headers={**user.headers, **headers})


def test_full_body_headers(live_server, user, video) -> None:
    asset, data = video
    resp = get(live_server, user, asset)
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["Content-Type"] == "video/mp4"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "private"
    assert resp.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert resp.headers["Content-Disposition"] == 'inline; filename="clip.mp4"'


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-0", 0, 0),  # the first byte
    ("bytes=0-99", 0, 99),
    ("bytes=100-199", 100, 199),
    ("bytes=-1", -1, None),  # the last byte
    ("bytes=-500", -500, None),  # suffix
    ("bytes=1000-", 1000, None),  # open-ended
    ("bytes=1000-99999999", 1000, None),  # end past the size is clamped
    ("bytes=-99999999", 0, None),  # suffix longer than the file: all of it
])
def test_single_ranges_are_206(live_server, user, video, header, start, end) -> None:
    asset, data = video
    size = len(data)
    first = start if start >= 0 else max(0, size + start)
    last = size - 1 if end is None else end
    resp = get(live_server, user, asset, Range=header)
    assert resp.status_code == 206
    assert resp.content == data[first:last + 1]
    assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert resp.headers["Content-Length"] == str(last - first + 1)


def test_last_byte_by_explicit_range(live_server, user, video) -> None:
    asset, data = video
    size = len(data)
    resp = get(live_server, user, asset, Range=f"bytes={size - 1}-{size - 1}")
    assert resp.status_code == 206
    assert resp.content == data[-1:]


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{more}", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(live_server, user, video, header) -> None:
    asset, data = video
    resp = get(live_server, user, asset,
               Range=header.format(size=len(data), more=len(data) + 10))
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(data)}"
    assert resp.json()["meta"]["code"] == "range_not_satisfiable"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=0-0, -1", "items=0-5",
                                    "bytes=5-2", "bytes=abc", "bytes="])
def test_multi_range_and_invalid_ranges_get_the_whole_body(live_server, user, video,
                                                           header) -> None:
    asset, data = video
    resp = get(live_server, user, asset, Range=header)
    assert resp.status_code == 200
    assert resp.content == data
    assert "Content-Range" not in resp.headers


def test_range_spanning_blob_chunks(live_server, user, media: Media, ctx) -> None:
    from actorvid.store import blobs

    # Small chunks make a range cross several chunk rows.
    data = media.bytes("long.mp4")
    info = blobs.write_blob(ctx.db, [data], chunk_size=1000)
    asset = upload(live_server, user, "c.mp4", data).json()["data"]
    with ctx.db.write() as conn:
        old = conn.execute("SELECT blob_id FROM assets WHERE id = ?",
                           (asset["id"],)).fetchone()[0]
        conn.execute("UPDATE assets SET blob_id = ? WHERE id = ?", (info.id, asset["id"]))
    blobs.delete_blob(ctx.db, old)
    resp = get(live_server, user, asset, Range="bytes=999-3001")
    assert resp.status_code == 206
    assert resp.content == data[999:3002]


def test_if_none_match_is_304(live_server, user, video) -> None:
    asset, _ = video
    etag = get(live_server, user, asset).headers["ETag"]
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        resp = get(live_server, user, asset, **{"If-None-Match": value})
        assert resp.status_code == 304
        assert resp.content == b""
        assert resp.headers["ETag"] == etag
    assert get(live_server, user, asset, **{"If-None-Match": '"stale"'}).status_code == 200


def test_if_range_with_a_stale_validator_sends_everything(live_server, user, video) -> None:
    asset, data = video
    etag = get(live_server, user, asset).headers["ETag"]
    fresh = get(live_server, user, asset, Range="bytes=0-9", **{"If-Range": etag})
    assert fresh.status_code == 206
    stale = get(live_server, user, asset, Range="bytes=0-9", **{"If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == data


def test_head_sends_headers_only(live_server, user, video) -> None:
    asset, data = video
    resp = requests.head(live_server.url + asset["url"], headers=user.headers, timeout=30)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["Content-Type"] == "video/mp4"
    ranged = requests.head(live_server.url + asset["url"], timeout=30,
                           headers={**user.headers, "Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.headers["Content-Length"] == "10"


def test_svg_is_an_attachment_with_nosniff(live_server, user, media: Media) -> None:
    asset = upload(live_server, user, "logo.svg", media.bytes("logo.svg"),
                   fields={"name": 'evil".svg; x=<script>'}).json()["data"]
    resp = get(live_server, user, asset)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "image/svg+xml"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert disposition.count('"') == 2  # the quote in the name was replaced
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_non_ascii_filename_is_encoded(live_server, user, media: Media) -> None:
    asset = upload(live_server, user, "x.png", media.bytes("image.png"),
                   fields={"name": "café\r\nSet-Cookie: a=b"}).json()["data"]
    disposition = get(live_server, user, asset).headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="caf_')
    assert "filename*=UTF-8''caf%C3%A9%0D%0ASet-Cookie" in disposition
    assert "\r" not in disposition and "\n" not in disposition


def test_thumbnail_route(live_server, user, video, media: Media) -> None:
    asset, _ = video
    resp = live_server.get(f"{API}/{asset['id']}/thumbnail", headers=user.headers)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["Content-Disposition"] == 'inline; filename="clip_thumbnail.jpg"'
    audio = upload(live_server, user, "a.mp3", media.bytes("audio.mp3")).json()["data"]
    missing = live_server.get(f"{API}/{audio['id']}/thumbnail", headers=user.headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "Thumbnail not available"


def test_another_users_asset_is_404_everywhere(live_server, user, other_user, video) -> None:
    asset, _ = video
    for path in (f"{API}/{asset['id']}", asset["url"], f"{API}/{asset['id']}/thumbnail"):
        resp = live_server.get(path, headers=other_user.headers)
        assert resp.status_code == 404, path
        assert resp.json()["error"] == "Asset not found"
    delete = requests.delete(live_server.url + f"{API}/{asset['id']}",
                             headers=other_user.headers, timeout=30)
    assert delete.status_code == 404
    assert live_server.get(asset["url"], headers=user.headers).status_code == 200


def test_admin_sees_every_asset(live_server, user, admin, video) -> None:
    asset, data = video
    assert live_server.get(asset["url"], headers=admin.headers).content == data


def test_access_token_opens_only_its_asset(live_server, user, ctx, video,
                                           media: Media) -> None:
    from actorvid.store.assets import access_resource

    asset, data = video
    other = upload(live_server, user, "b.png", media.bytes("image.png")).json()["data"]
    token = ctx.accounts.mint_access_token(user.id, access_resource(asset["id"]))
    resp = live_server.get(asset["url"], params={"token": token})
    assert resp.status_code == 200 and resp.content == data
    ranged = live_server.get(asset["url"], params={"token": token},
                             headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206
    assert live_server.get(f"{API}/{asset['id']}/thumbnail",
                           params={"token": token}).status_code == 200
    # Not for another asset, not for the JSON routes, not for writes.
    wrong = live_server.get(other["url"], params={"token": token})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "Invalid or expired access token"
    assert live_server.get(f"{API}/{asset['id']}", params={"token": token}).status_code == 401
    assert live_server.get(API, params={"token": token}).status_code == 401
    assert requests.delete(live_server.url + f"{API}/{asset['id']}", params={"token": token},
                           timeout=30).status_code == 401
    assert live_server.get(asset["url"], params={"token": "forged"}).status_code == 401
    assert live_server.get(asset["url"]).status_code == 401


def test_delete_removes_row_and_blobs(live_server, user, video, ctx) -> None:
    asset, _ = video
    before = counts(ctx)
    assert before["assets"] == 1 and before["blobs"] == 2  # data and thumbnail
    resp = requests.delete(live_server.url + f"{API}/{asset['id']}", headers=user.headers,
                           timeout=30)
    assert resp.status_code == 200
    assert resp.json()["data"] == {"message": "Asset deleted successfully"}
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}
    assert live_server.get(asset["url"], headers=user.headers).status_code == 404
    again = requests.delete(live_server.url + f"{API}/{asset['id']}", headers=user.headers,
                            timeout=30)
    assert again.status_code == 404


def test_deleting_the_campaign_removes_its_assets_and_bytes(live_server, user, media: Media,
                                                            ctx) -> None:
    from .conftest import make_campaign

    _, campaign_id = make_campaign(live_server, user)
    upload(live_server, user, "a.png", media.bytes("image.png"),
           fields={"campaignId": campaign_id})
    assert counts(ctx)["blobs"] == 2
    requests.delete(live_server.url + f"/api/v3/campaigns/{campaign_id}",
                    headers=user.headers, timeout=30)
    assert counts(ctx) == {"assets": 0, "blobs": 0, "blob_chunks": 0}


def test_four_parallel_downloads_get_identical_bytes(live_server, user, video) -> None:
    from concurrent.futures import ThreadPoolExecutor

    asset, data = video
    with ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(lambda _: get(live_server, user, asset).content, range(4)))
    assert all(body == data for body in bodies)
