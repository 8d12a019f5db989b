"""Scene types and scene templates: the words sent to the video and music models.

Two lists, for two kinds of job, each used for selection *and* rendering, so the scene a pair was
chosen for is the scene whose prompt is rendered (the old backend chose hotel scene types and
rendered residential prompts by list index).

- :data:`PROPERTY_SCENES`: the seven typed scenes of a property video, in order.
- :data:`PAIR_TEMPLATES`: camera templates for image-pair jobs, cycling 1..7 over the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneType:
    number: int
    name: str
    # What the local selector matches photo tags and names on (providers/local.py); the one
    # copy of these tags.
    ideal_tags: tuple[str, ...]
    purpose: str
    prompt: str
    music_prompt: str


_STYLE = ("Photorealistic, natural light, smooth stabilised camera, no people appearing, "
          "no text, no warping, the first frame and the last frame are the two given photos.")

PROPERTY_SCENES: tuple[SceneType, ...] = (
    SceneType(1, "Grand Arrival",
              ("exterior", "architecture", "entrance", "facade", "driveway", "landscape"),
              "First impression of the property from outside",
              "Slow low-angle dolly forward toward the entrance, revealing the facade and its "
              "setting. " + _STYLE,
              "Cinematic ambient opening, warm synth pads and soft strings, slow build, 90 BPM"),
    SceneType(2, "Refined Interiors",
              ("lobby", "interior", "lounge", "reception", "design", "furniture", "chandelier",
               "living"),
              "Design and atmosphere of the shared spaces",
              "Lateral truck through the interior with gentle parallax across the furniture, "
              "soft reflections on polished surfaces. " + _STYLE,
              "Elegant lounge piano with light brushed percussion, relaxed, 95 BPM"),
    SceneType(3, "Guest Room Sanctuary",
              ("bedroom", "suite", "bed", "room_view", "balcony", "bathroom", "amenities"),
              "Comfort and privacy of the rooms",
              "Slow sideways glide across the bedroom toward the window light, calm and "
              "intimate. " + _STYLE,
              "Soft felt piano and warm pads, peaceful and intimate, 80 BPM"),
    SceneType(4, "Culinary Excellence",
              ("restaurant", "dining", "food", "plating", "bar", "wine", "chef", "cuisine",
               "kitchen"),
              "Dining and food experience",
              "Near-static tripod shot with a subtle drift across the dining setting, candle and "
              "glass highlights. " + _STYLE,
              "Acoustic guitar and soft jazz brushes, convivial, 100 BPM"),
    SceneType(5, "Wellness & Recreation",
              ("pool", "spa", "fitness", "yoga", "massage", "wellness", "recreation",
               "activities"),
              "Pool, spa and leisure",
              "Gentle dolly along the water with rippling reflections, serene and airy. "
              + _STYLE,
              "Spa ambience with harp arpeggios and gentle chimes, meditative, 75 BPM"),
    SceneType(6, "Unique Experiences",
              ("experience", "unique", "culture", "local", "activity", "sunset", "beach",
               "nature"),
              "What makes the place special",
              "Slow pan revealing the distinctive feature of the place, golden atmosphere. "
              + _STYLE,
              "Uplifting world-music percussion and marimba, curious and bright, 105 BPM"),
    SceneType(7, "Lasting Impression",
              ("sunset", "view", "landscape", "ocean", "mountains", "hero_shot", "panorama"),
              "A closing hero shot to remember",
              "Slow drone-like pull-back into a wide establishing view, warm evening glow. "
              + _STYLE,
              "Grand orchestral finale with swelling strings, resolving gently, 85 BPM"),
)

PAIR_TEMPLATES: tuple[SceneType, ...] = (
    SceneType(1, "The Hook", ("exterior", "pool", "courtyard", "terrace", "water"),
              "Open on the strongest exterior feature",
              "Low-angle wide shot with a subtle dolly push-in, gently moving water and light. "
              + _STYLE,
              "Cinematic ambient opening, water textures, synth pads and strings, 110 BPM"),
    SceneType(2, "The Hero Room", ("bedroom", "master bedroom", "interior", "windows"),
              "The signature room",
              "Pure linear sideways truck with parallax between foreground and background, no "
              "zoom. " + _STYLE,
              "Soft piano over warm pads, calm, 90 BPM"),
    SceneType(3, "Details in Symmetry", ("bathroom", "vanity", "interior", "mirror"),
              "Symmetry and materials",
              "Sideways truck in the opposite direction, reflections shifting across mirrors "
              "and stone. " + _STYLE,
              "Spa ambience with chimes and water, airy, 85 BPM"),
    SceneType(4, "Depth", ("bathroom", "tub", "shower", "spa"),
              "A centrepiece seen in depth",
              "Slow dolly forward toward the centrepiece, shallow depth of field. " + _STYLE,
              "Harp arpeggios, meditative, 80 BPM"),
    SceneType(5, "The Sweep", ("living room", "interior", "seating", "lounge"),
              "The main living space",
              "Wide sideways sweep across the room with floating dust particles in the light. "
              + _STYLE,
              "Orchestral sweep building energy, 100 BPM"),
    SceneType(6, "Atmosphere", ("dining", "kitchen", "lifestyle", "indoor-outdoor"),
              "Lifestyle and atmosphere",
              "Near-static shot with a subtle drift, lived-in warmth. " + _STYLE,
              "Acoustic guitar with soft jazz, 100 BPM"),
    SceneType(7, "The Outro", ("exterior", "deck", "entrance", "view", "establishing"),
              "Close on a wide establishing view",
              "Dolly out into a wide establishing shot, warm interior glow at dusk. " + _STYLE,
              "Grand orchestral finale, resolving, 90 BPM"),
)

PROPERTY_SCENE_NAMES: tuple[str, ...] = tuple(s.name for s in PROPERTY_SCENES)


def property_scene(name: str) -> SceneType:
    for scene in PROPERTY_SCENES:
        if scene.name == name:
            return scene
    raise KeyError(name)


def pair_template(scene_number: int) -> SceneType:
    """The template of scene ``scene_number`` (1-based), cycling over the seven."""
    return PAIR_TEMPLATES[(scene_number - 1) % len(PAIR_TEMPLATES)]
