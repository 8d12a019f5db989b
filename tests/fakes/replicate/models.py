"""What each model accepts: the fake's model registry and the input rules it enforces.

Data from ``reference/external_apis.md`` §2; a create whose input breaks a rule is refused with
Replicate's 422 ``invalid_fields`` (or, with ``cross_field="failed"``, fails later as the
models' own code does).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from actorvid.domain.models import MUSICGEN_VERSION

OLD_MUSICGEN_VERSION = "b05b1dff1d8c6dc63d14b0cdb42135378dcb87f6373b0d3d341ede46e59e2b38"
URI = "uri"


@dataclass(frozen=True)
class Field:
    type: str  # string | integer | number | boolean | uri | array
    required: bool = False
    enum: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str  # owner/name
    official: bool
    versions: tuple[str, ...]
    fields: dict[str, Field]
    output: str  # "video" | "audio"
    queue: float = 2.0  # simulated seconds
    run: float = 20.0


REGISTRY: dict[str, ModelSpec] = {
    "google/veo-3.1": ModelSpec("google/veo-3.1", True, (), {
        "prompt": Field("string", required=True),
        "aspect_ratio": Field("string", enum=("16:9", "9:16")),
        "duration": Field("integer", enum=(4, 6, 8)),
        "image": Field(URI), "last_frame": Field(URI),
        "reference_images": Field("array"),
        "negative_prompt": Field("string"),
        "resolution": Field("string", enum=("720p", "1080p")),
        "generate_audio": Field("boolean"), "seed": Field("integer"),
    }, "video", queue=3, run=30),
    "minimax/hailuo-02": ModelSpec("minimax/hailuo-02", True, (), {
        "prompt": Field("string", required=True),
        "first_frame_image": Field(URI), "last_frame_image": Field(URI),
        "duration": Field("integer", enum=(6, 10)),
        "resolution": Field("string", enum=("512p", "768p", "1080p")),
        "prompt_optimizer": Field("boolean"),
    }, "video", queue=3, run=30),
    "meta/musicgen": ModelSpec("meta/musicgen", False, (MUSICGEN_VERSION, OLD_MUSICGEN_VERSION), {
        "prompt": Field("string"),
        "model_version": Field("string", enum=("stereo-melody-large", "stereo-large",
                                               "melody-large", "large")),
        "input_audio": Field(URI), "duration": Field("integer", minimum=1, maximum=30),
        "continuation": Field("boolean"),
        "continuation_start": Field("integer", minimum=0),
        "continuation_end": Field("integer", minimum=0),
        "multi_band_diffusion": Field("boolean"),
        "normalization_strategy": Field("string", enum=("loudness", "clip", "peak", "rms")),
        "top_k": Field("integer"), "top_p": Field("number"), "temperature": Field("number"),
        "classifier_free_guidance": Field("integer"),
        "output_format": Field("string", enum=("wav", "mp3")), "seed": Field("integer"),
    }, "audio", queue=1, run=10),
}


def validate_input(spec: ModelSpec, data: Any) -> list[dict[str, str]]:
    """Replicate-style ``invalid_fields`` for ``data`` (empty when valid)."""
    if not isinstance(data, dict):
        return [{"type": "type", "field": "input", "description": "input must be an object"}]
    errors: list[dict[str, str]] = []
    for name, spec_field in spec.fields.items():
        if spec_field.required and name not in data:
            errors.append({"type": "required", "field": "input",
                           "description": f"{name} is required"})
    for name, value in data.items():
        f = spec.fields.get(name)
        loc = f"input.{name}"
        if f is None:
            errors.append({"type": "additional_property_not_allowed", "field": "input",
                           "description": f"Additional property {name} is not allowed"})
            continue
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
            URI: isinstance(value, str) and value.startswith(("http://", "https://", "data:")),
        }[f.type]
        if not ok:
            kind = "a URI" if f.type == URI else f"of type {f.type}"
            errors.append({"type": "invalid_type", "field": loc,
                           "description": f"{name} must be {kind}"})
            continue
        if f.type == URI and value.startswith("data:") and not re.match(
                r"^data:[\w.+-]+/[\w.+-]+(;[\w=.+-]+)*;base64,[A-Za-z0-9+/=]+$", value):
            errors.append({"type": "format", "field": loc,
                           "description": f"{name} is not a valid data URI"})
        if f.enum and value not in f.enum:
            allowed = ", ".join(json.dumps(e) for e in f.enum)
            errors.append({"type": "enum", "field": loc,
                           "description": f"{name} must be one of the following: {allowed}"})
        if f.minimum is not None and value < f.minimum:
            errors.append({"type": "number_gte", "field": loc,
                           "description": f"{name} must be greater than or equal to "
                                          f"{f.minimum:g}"})
        if f.maximum is not None and value > f.maximum:
            errors.append({"type": "number_lte", "field": loc,
                           "description": f"{name} must be less than or equal to "
                                          f"{f.maximum:g}"})
    return errors


def cross_field_problem(model: str, data: dict[str, Any]) -> str | None:
    """Rules the models enforce in their own code (external_apis.md §2)."""
    if model == "minimax/hailuo-02" and data.get("duration") == 10 and \
            data.get("resolution", "1080p") != "768p":
        return "10 second videos are only supported at 768p resolution"
    if model == "google/veo-3.1" and data.get("reference_images") and (
            data.get("aspect_ratio", "16:9") != "16:9" or data.get("duration", 8) != 8):
        return "reference_images require 16:9 and 8 seconds"
    # An end frame interpolates from a first frame (§2: "used with image"); a prompt alone is
    # text-to-video and valid for both models.
    for first, last in (("image", "last_frame"), ("first_frame_image", "last_frame_image")):
        if data.get(last) and not data.get(first):
            return f"{last} needs {first}"
    return None
