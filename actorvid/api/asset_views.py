"""How an asset is shown: its JSON object (the reference's keys, in its order) and the URLs and
download names it is served under; and a failed item of a bulk import, as the old backend
reported it. Split out of ``api/assets.py`` (issue 16).
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

from actorvid.api.paths import API
from actorvid.errors import ActorvidError
from actorvid.netfetch import DownloadFailed, UrlRefused
from actorvid.store.assets import Asset

logger = logging.getLogger(__name__)


def data_url(asset_id: str) -> str:
    return f"{API}/assets/{asset_id}/data"


def thumbnail_url(asset: Asset) -> str | None:
    return f"{API}/assets/{asset.id}/thumbnail" if asset.thumbnail_blob_id else None


def asset_json(asset: Asset) -> dict[str, Any]:
    """The reference's asset object, keys in its order, type-specific keys last."""
    out: dict[str, Any] = {
        "id": asset.id,
        "userId": str(asset.user_id),
        "clientId": asset.client_id,
        "campaignId": asset.campaign_id,
        "name": asset.name,
        "url": data_url(asset.id),
        "size": asset.size,
        "uploadedAt": asset.uploaded_at,
        "tags": list(asset.tags),
        "thumbnailBlobId": asset.thumbnail_blob_id,
        "sourceUrl": asset.source_url,
        "type": asset.asset_type,
        "format": asset.format,
        "contentType": asset.content_type,
    }
    # The old contract's ints (0 when unknown); the exact duration alongside.
    duration = {"duration": int(round(asset.duration or 0)),
                "durationSeconds": asset.duration}
    if asset.asset_type == "image":
        out.update(width=asset.width or 0, height=asset.height or 0,
                   thumbnailUrl=thumbnail_url(asset))
    elif asset.asset_type == "video":
        out.update(width=asset.width or 0, height=asset.height or 0, **duration,
                   thumbnailUrl=thumbnail_url(asset) or "")
    elif asset.asset_type == "audio":
        out.update(**duration, waveformUrl=None)
    else:
        out.update(pageCount=None, thumbnailUrl=None)
    return out


def download_name(asset: Asset, suffix: str = "", extension: str | None = None) -> str:
    """The asset's name with exactly one extension, one that fits its bytes.

    ``photo0.jpg`` holding JPEG stays ``photo0.jpg`` (not ``photo0.jpg.jpeg``); a media
    extension that lies (``photo.png`` holding JPEG) is replaced by the format's; a name
    without one gets the format's.
    """
    stem, dot, current = asset.name.rpartition(".")
    if not (dot and stem and _is_extension(current, asset.format)):
        stem, current = asset.name, ""  # no extension, or a dot that is part of the name
    if extension is None:
        extension = current if _fits(current, asset) else asset.format
    return f"{stem}{suffix}.{extension}"


def _is_extension(text: str, fmt: str) -> bool:
    return text.lower() == fmt.lower() or mimetypes.guess_type(f"x.{text}")[0] is not None


def _fits(extension: str, asset: Asset) -> bool:
    # jpg, jpe and jpeg all name JPEG: the uploader's spelling is kept.
    return bool(extension) and (
        extension.lower() == asset.format.lower()
        or f".{extension.lower()}" in mimetypes.guess_all_extensions(asset.content_type))


def bulk_failure(exc: BaseException) -> dict[str, Any]:
    """One failed item of a bulk import, as the old backend reported it."""
    if isinstance(exc, UrlRefused | DownloadFailed):
        error = f"Failed to download: {exc.reason}"
    elif isinstance(exc, ActorvidError) and exc.status < 500:
        error = exc.message
    else:
        logger.error("a bulk asset item failed", exc_info=exc)
        error = "Processing failed"
    return {"asset": None, "success": False, "error": error}
