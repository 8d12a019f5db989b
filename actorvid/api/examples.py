"""An example request body for every operation that takes one, shown by the API explorer.

Ids are placeholders a reader replaces with their own; everything else is a value the route
accepts as it is (``tests/contract/test_openapi_examples.py`` validates each example with the
route's own schema).
"""

from __future__ import annotations

from typing import Any

from actorvid.api.paths import API

CLIENT_ID = "3f6c1a52-8a8e-4b7e-9a51-0c1d2e3f4a5b"
CAMPAIGN_ID = "9b2d4e6f-1a3c-4e5f-8a7b-6c5d4e3f2a1b"
ASSET_IDS = ("5e0f7a9c-2b4d-4c6e-8f1a-3b5c7d9e1f20", "6a1b8c0d-3e5f-4a7b-9c2d-4e6f8a0b2c31")

_CLIENT = {"name": "Casa Azul Hotels", "description": "Boutique hotels on the coast",
           "homepage": "https://casa-azul.example",
           "brandGuidelines": {"colors": ["#1d4e89", "#f4d35e"], "tone": "warm, relaxed"},
           "metadata": {"accountManager": "ana"}}
_CAMPAIGN = {"clientId": CLIENT_ID, "name": "Summer 2026", "goal": "Direct bookings",
             "status": "active", "productUrl": "https://casa-azul.example/summer",
             "brief": {"audience": "couples"}, "metadata": {}}
_SCENE_EDIT = {"description": "Sunrise over the pool",
               "prompt": "Slow dolly across the pool at sunrise, soft light",
               "duration": 5}
_PAIRS = {"campaignId": CAMPAIGN_ID, "numPairs": 2, "clipDuration": 4, "videoModel": "hailuo",
          "aspectRatio": "16:9", "autoApprove": False, "generateAudio": True}
_ROOMS = ("exterior", "living room", "kitchen", "bedroom", "bathroom", "pool", "terrace")

EXAMPLES: dict[tuple[str, str], Any] = {
    ("/api/webhooks/replicate", "POST"): {
        "id": "ufawqhfynnddngldkgtslldrkq", "status": "succeeded",
        "output": "https://replicate.delivery/example/output.mp4"},
    ("/api/auth/login", "POST"): {"username": "admin", "password": "your password"},
    ("/api/auth/api-keys", "POST"): {"name": "laptop", "expires_days": 90},
    (f"{API}/clients", "POST"): _CLIENT,
    (f"{API}/clients/{{client_id}}", "PUT"): {"description": "Boutique hotels and villas"},
    (f"{API}/clients/{{client_id}}", "PATCH"): {"homepage": None},
    (f"{API}/campaigns", "POST"): _CAMPAIGN,
    (f"{API}/campaigns/{{campaign_id}}", "PUT"): {"status": "archived"},
    (f"{API}/campaigns/{{campaign_id}}", "PATCH"): {"goal": "Autumn bookings"},
    (f"{API}/assets", "POST"): {"name": "Pool at dusk", "type": "image",
                                "campaignId": CAMPAIGN_ID, "tags": '["pool"]'},
    (f"{API}/assets/from-url", "POST"): {
        "name": "Kitchen", "type": "image", "url": "https://casa-azul.example/kitchen.jpg",
        "campaignId": CAMPAIGN_ID, "tags": ["kitchen"]},
    (f"{API}/assets/from-urls", "POST"): {
        "campaignId": CAMPAIGN_ID,
        "assets": [{"name": f"{room.title()}", "type": "image",
                    "url": f"https://casa-azul.example/{room.replace(' ', '-')}.jpg",
                    "tags": [room]} for room in _ROOMS[:2]]},
    (f"{API}/assets/unified", "POST"): {
        "uploadType": "url", "name": "Terrace", "type": "image",
        "url": "https://casa-azul.example/terrace.jpg", "campaignId": CAMPAIGN_ID,
        "tags": ["terrace"], "generateThumbnail": True},
    (f"{API}/jobs", "POST"): {
        "context": {"clientId": CLIENT_ID, "campaignId": CAMPAIGN_ID},
        "adBasics": {"product": "A week at Casa Azul", "targetAudience": "Couples, 30-50",
                     "keyMessage": "Slow mornings by the sea",
                     "callToAction": "Book direct and save 10%"},
        "creative": {"videoSpecs": {"duration": 15, "format": "16:9"},
                     "direction": {"style": "cinematic, warm", "tone": "calm",
                                   "musicStyle": "acoustic"},
                     "assets": [{"assetId": asset_id} for asset_id in ASSET_IDS]},
        "generateAudio": False},
    (f"{API}/jobs/from-image-pairs", "POST"): _PAIRS,
    (f"{API}/jobs/from-property-photos", "POST"): {
        "campaignId": CAMPAIGN_ID,
        "propertyInfo": {"name": "Casa Azul", "location": "Algarve, Portugal",
                         "propertyType": "boutique hotel", "positioning": "quiet luxury"},
        "photos": [{"id": f"photo-{n}", "url": f"https://casa-azul.example/{n}.jpg",
                    "tags": [_ROOMS[n % len(_ROOMS)]]} for n in range(1, 15)],
        "clipDuration": 6, "videoModel": "veo3", "autoApprove": False},
    (f"{API}/jobs/dry-run", "POST"): {k: v for k, v in _PAIRS.items()
                                      if k in ("numPairs", "clipDuration", "videoModel",
                                               "generateAudio")},
    (f"{API}/jobs/{{job_id}}/actions", "POST"): {
        "action": "regenerate_scene",
        "payload": {"sceneId": "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"}},
    (f"{API}/jobs/{{job_id}}/scenes/{{scene_id}}", "PUT"): _SCENE_EDIT,
    (f"{API}/jobs/{{job_id}}/scenes/{{scene_id}}", "PATCH"): {"duration": 6},
    (f"{API}/jobs/{{job_id}}/scenes/{{scene_id}}/regenerate", "POST"): {
        "feedback": "More light, and end on the sea view"},
    (f"{API}/audio/generate-scenes", "POST"): {
        "campaignId": CAMPAIGN_ID, "default_duration": 4,
        "scenes": [{"scene_number": 1, "prompt": "gentle acoustic guitar, morning"},
                   {"scene_number": 2, "prompt": "warm strings swell", "duration": 5}]},
}
