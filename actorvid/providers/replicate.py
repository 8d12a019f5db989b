"""Replicate as our prediction services: video clips (Veo 3.1, Hailuo-02) and MusicGen.

The HTTP protocol (one attempt per call, finding a create whose answer was lost, streamed
downloads) lives in :mod:`actorvid.providers.replicate_client`; this module turns our render and
music inputs into model inputs, gets stored files to Replicate, and prices the outcome.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

from actorvid.domain import models
from actorvid.errors import ProviderError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.providers.base import (
    ImageInput,
    MintUrl,
    MusicInput,
    OutputExpired,
    Prediction,
    ReadBlob,
    RenderInput,
)
from actorvid.providers.replicate_client import ANY_FILE, ReplicateClient, to_prediction
from actorvid.sizedlru import SizedLRU

__all__ = ["ReplicateClient", "ReplicateMusic", "ReplicateRenderer", "centre_crop"]

DATA_URI_MAX_BYTES = 256 * 1024  # Replicate's advice for data: URIs
# A photo whose shape is within this share of the ratio a model renders is sent as it is.
RATIO_TOLERANCE = 0.01
# Photos cut to a model's shape, kept for the next scene that sends the same photo.
CROP_CACHE_BYTES = 8 * 1024 * 1024


class CropCache:
    """Photos cut to a ratio, by (blob, ratio): a thread-safe LRU of at most ``max_bytes``.

    A stored blob never changes, so the same photo cut to the same ratio is the same PNG
    every time. Scenes send the same photos over and over (a pair's last frame is often the
    next pair's first, and every job of a campaign draws on its images), and each cut is an
    ffmpeg run that waits for a media slot behind the shots being made: 30 jobs of 10 scenes
    cut 600 frames of 4 photos. Concurrent scenes wanting the same cut wait for the one run.
    """

    def __init__(self, max_bytes: int = CROP_CACHE_BYTES) -> None:
        # A huge photo would evict all the others: at most a quarter of the bound each.
        self._kept: SizedLRU[tuple[str, str], bytes] = SizedLRU(
            max_bytes, size_of=len, max_item_bytes=max_bytes // 4)
        self._guard = threading.Lock()
        self._making: dict[tuple[str, str], threading.Lock] = {}

    def get_or_make(self, key: tuple[str, str], make: Callable[[], bytes]) -> bytes:
        found = self._kept.get(key)
        if found is not None:
            return found
        with self._guard:
            lock = self._making.setdefault(key, threading.Lock())
        with lock:
            found = self._kept.get(key)
            if found is not None:
                return found
            try:
                data = make()
                self._kept.put(key, data)
            finally:  # kept or failed, the next scene finds the cut or tries again itself
                with self._guard:
                    self._making.pop(key, None)
        return data


class _ReplicateService:
    """The PredictionService parts that video and music share."""

    name = "replicate"

    def __init__(self, client: ReplicateClient, read_blob: ReadBlob, *,
                 mint_url: MintUrl | None = None, public_base_url: str = "",
                 data_uri_max: int = DATA_URI_MAX_BYTES) -> None:
        self.client = client
        self._read_blob = read_blob
        self._mint_url = mint_url
        self._public_base_url = public_base_url
        self._data_uri_max = data_uri_max

    def file_uri(self, ref: ImageInput, *, upload: bool = True) -> str:
        """How a stored file reaches Replicate without being public.

        Our own short-lived URL when the service is reachable from outside, else a ``data:``
        URI up to 256 KB, else an upload to Replicate's Files API (``upload=False``: only
        say so, with :data:`ANY_FILE`, to rebuild an input for matching).
        """
        if ref.access_url:
            return ref.access_url
        if self._public_base_url and self._mint_url is not None:
            return self._mint_url(ref)
        return self.bytes_uri(self._read_blob(ref.blob_id), ref.content_type,
                              name=ref.asset_id, upload=upload)

    def bytes_uri(self, pieces: Iterator[bytes], content_type: str, *, name: str,
                  upload: bool = True) -> str:
        """A ``data:`` URI of the bytes up to 256 KB, else a Files API upload."""
        with tempfile.SpooledTemporaryFile(max_size=self._data_uri_max + 1) as spool:
            size = 0
            for piece in pieces:
                spool.write(piece)
                size += len(piece)
            spool.seek(0)
            if size <= self._data_uri_max:
                encoded = base64.b64encode(spool.read()).decode("ascii")
                return f"data:{content_type};base64,{encoded}"
            if not upload:
                return ANY_FILE
            ext = content_type.rsplit("/", 1)[-1].split("+")[0] or "bin"
            spooled: Any = spool  # a SpooledTemporaryFile is a binary file object
            return self.client.upload_file(spooled, filename=f"{name}.{ext}",
                                           content_type=content_type)

    def find(self, tag: str, inputs: RenderInput | MusicInput | None = None,
             since: datetime | None = None) -> Prediction | None:
        found = self.client.find(tag)
        if found is None and inputs is not None and since is not None:
            model, version, body = self.match_key(inputs)
            found = self.client.find_by_input(model=model, version=version, input=body,
                                              since=since)
        return to_prediction(found) if found else None

    def match_key(self, inputs: RenderInput | MusicInput
                  ) -> tuple[str, str | None, dict[str, Any]]:
        """(model, version, input) as a create would send them, without uploading files."""
        raise NotImplementedError

    def get(self, prediction_id: str) -> Prediction:
        return to_prediction(self.client.get(prediction_id))

    def cancel(self, prediction_id: str) -> Prediction:
        return to_prediction(self.client.cancel(prediction_id))

    def download(self, prediction: Prediction, dest: BinaryIO) -> int:
        if prediction.status != "succeeded":
            raise ProviderError(f"Prediction {prediction.id} has no output "
                                f"(status {prediction.status})")
        if prediction.data_removed or not prediction.output:
            raise OutputExpired(f"The output of prediction {prediction.id} has expired "
                                "(Replicate removed it); it cannot be downloaded any more")
        return self.client.download(prediction.output, dest, prediction_id=prediction.id)


class ReplicateRenderer(_ReplicateService):
    """Video clips: first frame → last frame with Veo 3.1 or Hailuo-02.

    A photo of another shape than the model will render is cropped around its centre first
    (:func:`~actorvid.domain.models.frame_ratio`): Hailuo-02 has no aspect input and
    follows its first frame, and a Veo frame of the wrong shape would be fitted by the model
    its own way. Cropping needs ``ffmpeg`` and the photo's size; without them the photo goes
    as it is.
    """

    def __init__(self, client: ReplicateClient, read_blob: ReadBlob, *,
                 ffmpeg: FFmpeg | None = None, crops: CropCache | None = None,
                 **kwargs: Any) -> None:
        super().__init__(client, read_blob, **kwargs)
        self._ffmpeg = ffmpeg
        self.crops = crops or CropCache()

    def build_input(self, inputs: RenderInput, *, upload: bool = True
                    ) -> tuple[str, dict[str, Any]]:
        spec = models.render_spec(inputs.model, inputs.duration, inputs.resolution,
                                  inputs.aspect_ratio)
        ratio = models.frame_ratio(spec.model, inputs.aspect_ratio)
        # No frames: a text-to-video prediction (the image fields are left out).
        first = self.frame_uri(inputs.first_frame, ratio, upload=upload) \
            if inputs.first_frame else None
        last = self.frame_uri(inputs.last_frame, ratio, upload=upload) \
            if inputs.last_frame else None
        if spec.model == "veo3":
            return models.VEO_MODEL, models.veo_input(spec, prompt=inputs.prompt, image=first,
                                                      last_frame=last)
        return models.HAILUO_MODEL, models.hailuo_input(
            spec, prompt=inputs.prompt, first_frame_image=first, last_frame_image=last)

    def frame_uri(self, ref: ImageInput, ratio: str, *, upload: bool = True) -> str:
        """:meth:`file_uri` of the photo, cropped at its centre to ``ratio`` when its own
        shape differs (the cropped PNG goes as bytes: our URL serves the original)."""
        if self._ffmpeg is None or not ref.width or not ref.height:
            return self.file_uri(ref, upload=upload)
        target = models.ratio_value(ratio)
        if abs(ref.width / ref.height - target) <= RATIO_TOLERANCE * target:
            return self.file_uri(ref, upload=upload)
        data = self.crops.get_or_make((ref.blob_id, ratio),
                                      lambda: self._crop(ref, target))
        return self.bytes_uri(iter([data]), "image/png", name=f"{ref.asset_id}-{ratio}",
                              upload=upload)

    def _crop(self, ref: ImageInput, target: float) -> bytes:
        """The photo cut at its centre to ``target`` (width/height), as PNG bytes."""
        assert self._ffmpeg is not None and ref.width and ref.height
        with tempfile.TemporaryDirectory(prefix="actorvid-frame-") as folder:
            source = os.path.join(folder, "source")
            with open(source, "wb") as handle:
                for piece in self._read_blob(ref.blob_id):
                    handle.write(piece)
            cropped = os.path.join(folder, "cropped.png")
            self._ffmpeg.run(["-y", "-i", source, "-vf",
                              centre_crop(ref.width, ref.height, target),
                              "-frames:v", "1", "-update", "1", cropped], timeout=60)
            with open(cropped, "rb") as handle:
                return handle.read()

    def match_key(self, inputs: RenderInput | MusicInput
                  ) -> tuple[str, str | None, dict[str, Any]]:
        if not isinstance(inputs, RenderInput):
            raise TypeError("ReplicateRenderer renders RenderInput only")
        model, body = self.build_input(inputs, upload=False)
        return model, None, body

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        if not isinstance(inputs, RenderInput):
            raise TypeError("ReplicateRenderer renders RenderInput only")
        model, body = self.build_input(inputs)
        return to_prediction(self.client.create(model=model, input=body, tag=tag))

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        if not isinstance(inputs, RenderInput) or prediction.status != "succeeded":
            return 0.0  # per-output pricing: failed or cancelled clips are not billed
        spec = models.render_spec(inputs.model, inputs.duration, inputs.resolution,
                                  inputs.aspect_ratio)
        return models.render_cost(spec.model, spec.duration, spec.resolution)


class ReplicateMusic(_ReplicateService):
    """Soundtrack segments with MusicGen (pinned version), continuing the previous segment."""

    def build_input(self, inputs: MusicInput, *, upload: bool = True) -> dict[str, Any]:
        audio = (self.file_uri(inputs.continue_from, upload=upload) if inputs.continue_from
                 else None)
        return models.musicgen_input(prompt=inputs.prompt, duration=inputs.duration,
                                     input_audio=audio,
                                     previous_seconds=inputs.continue_from_seconds)

    def match_key(self, inputs: RenderInput | MusicInput
                  ) -> tuple[str, str | None, dict[str, Any]]:
        if not isinstance(inputs, MusicInput):
            raise TypeError("ReplicateMusic makes MusicInput only")
        return (models.MUSICGEN_MODEL, models.MUSICGEN_VERSION,
                self.build_input(inputs, upload=False))

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        if not isinstance(inputs, MusicInput):
            raise TypeError("ReplicateMusic makes MusicInput only")
        return to_prediction(self.client.create(
            model=models.MUSICGEN_MODEL, version=models.MUSICGEN_VERSION,
            input=self.build_input(inputs), tag=tag))

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        # Billed by hardware time, whatever the outcome.
        if prediction.predict_time is None:
            return 0.0
        duration = inputs.duration if isinstance(inputs, MusicInput) else 0
        return models.music_cost(duration, prediction.predict_time)


def centre_crop(width: int, height: int, ratio: float) -> str:
    """ffmpeg filter: the largest ``ratio`` (width/height) rectangle at the centre of a
    ``width``×``height`` picture, even sides."""
    w = min(width, round(height * ratio))
    h = min(height, round(width / ratio))
    return f"crop={max(2, w - w % 2)}:{max(2, h - h % 2)},setsar=1"
