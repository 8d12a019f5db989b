"""What an upload or import is checked against before its row is written: the bytes are of a
type we take and agree with the declared one (415), and the client and campaign it names exist
and are the caller's (422). Split out of ``ingest/__init__.py`` (issue 16); the API calls
:func:`check_references` for job requests too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actorvid.errors import UnsupportedMediaType, ValidationFailed
from actorvid.media import magic
from actorvid.store import campaigns as campaign_store
from actorvid.store import clients as client_store
from actorvid.store.db import Database
from actorvid.store.models import Scope


def check_type(sniffed: magic.Sniffed | None, declared: str | None) -> magic.Sniffed:
    """Refuse unknown bytes and bytes that disagree with the declared type (415)."""
    if sniffed is None:
        raise UnsupportedMediaType(
            "Unsupported file type: the content is not a supported image (PNG, JPEG, GIF, "
            "WebP, SVG), video (MP4, MOV, WebM, MKV, AVI), audio (MP3, WAV, OGG, AAC, M4A) "
            "or document (PDF)")
    if not sniffed.matches(declared):
        raise UnsupportedMediaType(
            f"The file content is {sniffed.asset_type} ({sniffed.format}), "
            f"but its type was given as {declared}")
    return sniffed


def check_references(db: Database, scope: Scope, *, client_id: str | None,
                     campaign_id: str | None, loc: Sequence[str] = ("body",)
                     ) -> tuple[str | None, str | None]:
    """Make sure the client and campaign exist and are the caller's (422 on the field).

    A campaign implies its client: ``client_id`` is filled from it, and must agree if given.
    """
    details: list[dict[str, Any]] = []
    with db.read() as conn:
        if client_id is not None and client_store.get_client(conn, client_id,
                                                             scope=scope) is None:
            details.append({"loc": [*loc, "clientId"], "msg": "Client not found",
                            "type": "not_found"})
        if campaign_id is not None:
            campaign = campaign_store.get_campaign(conn, campaign_id, scope=scope)
            if campaign is None:
                details.append({"loc": [*loc, "campaignId"], "msg": "Campaign not found",
                                "type": "not_found"})
            elif client_id is None:
                client_id = campaign.client_id
            elif client_id != campaign.client_id:
                details.append({"loc": [*loc, "campaignId"],
                                "msg": "Campaign does not belong to this client",
                                "type": "mismatch"})
    if details:
        raise ValidationFailed(details[0]["msg"], details)
    return client_id, campaign_id
