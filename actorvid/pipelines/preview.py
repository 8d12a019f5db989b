"""Render a preview (issue 19) locally only.

The photo scenes are drawn here, all in one ffmpeg run (360p, camera move drawn at 15 fps,
marked, made as shots); scenes without photos go to a
:class:`~actorvid.providers.local.LocalRenderer` and the bed to a
:class:`~actorvid.providers.local.LocalMusic` built for previews alone
(``actorvid.wiring.preview_maker``); every ffmpeg child runs at the media slots' preview
priority, nice 19 — never ``Services.providers``, so no key configured for paid work can ever
be used by a preview. Each shot is as long as the clip the final video gets for its scene (the
same whole-second rounding as ``VideoPipeline.render_input``), and
:func:`actorvid.media.preview.compose` joins them as the finish step does.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
from pathlib import Path
from typing import Any

from actorvid import tempspace
from actorvid.actors.preview import RenderedPreview
from actorvid.domain.creative import CreativeOptions
from actorvid.domain.storyboard import Scene, Storyboard
from actorvid.errors import MediaError, ProviderError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.preview import (
    PREVIEW_FPS,
    PREVIEW_KEYFRAMES,
    PREVIEW_RESOLUTION,
    PREVIEW_SUPERSAMPLE,
    CancellableFFmpeg,
    CancelToken,
    PreviewCancelled,
    compose,
    mark_filter,
    preview_shot,
    preview_size,
)
from actorvid.media.render import RenderPart, batch_args, transition_part
from actorvid.media.shots import Shot, read_shot
from actorvid.pipelines.cards import render_cards, scene_still
from actorvid.pipelines.deps import PipelineDeps, stored_image
from actorvid.providers.base import ImageInput, MusicInput, Prediction, RenderInput
from actorvid.providers.local import LocalMusic, LocalRenderer
from actorvid.store import blobs
from actorvid.store import clients as client_store
from actorvid.store.jobs import Job
from actorvid.store.models import Scope
from actorvid.store.previews import Preview
from actorvid.workflows.brand import first_brand_color

logger = logging.getLogger(__name__)

# How long one wait for a prediction's notice lasts before asking it again (a lost notice
# costs at most this much).
_NOTICE_WAIT = 1.0
# One run draws every photo scene of a preview; a generous bound for a busy machine.
_DRAW_TIMEOUT = 900.0


class PreviewMaker:
    """Makes previews from storyboards; :meth:`close` stops its local providers."""

    def __init__(self, deps: PipelineDeps, renderer: LocalRenderer, music: LocalMusic,
                 ffmpeg: FFmpeg) -> None:
        self.deps = deps
        self.renderer = renderer
        self.music = music
        self.ffmpeg = ffmpeg
        self._notices: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        for service in (renderer, music):
            service.on_change = self._notice

    # --- what the PreviewActor calls ------------------------------------------------------

    def render_job(self, job: Job, token: CancelToken) -> RenderedPreview | None:
        return self.render(job.user_id, job.client_id, job.board,
                           job.params.creative, token)

    def render_draft(self, preview: Preview, token: CancelToken) -> RenderedPreview | None:
        data = preview.input
        return self.render(preview.user_id, data.get("clientId"),
                           Storyboard.from_document(data.get("storyboard")),
                           CreativeOptions.from_document(data.get("options")), token)

    def close(self) -> None:
        self.renderer.close()
        self.music.close()

    # --- the work -------------------------------------------------------------------------

    def render(self, user_id: int, client_id: str | None, storyboard: Storyboard | None,
               options: CreativeOptions, token: CancelToken) -> RenderedPreview | None:
        """Render, store and return the preview; None when ``token`` was cancelled (nothing
        is left behind then)."""
        scenes = sorted(storyboard.scenes if storyboard else (), key=lambda s: s.scene_number)
        if not scenes:
            raise MediaError("The storyboard has no scenes to preview")
        workdir = tempspace.make_dir("actorvid-preview-")
        try:
            inputs = [self.shot_input(user_id, client_id, scene, options) for scene in scenes]
            total = options.video_seconds([float(i.duration) for i in inputs])
            bed = MusicInput("preview bed", max(1, math.ceil(total)),
                             scene_type=scenes[0].scene_type or "")
            # Scenes without photos are text clips from the renderer; photo scenes are drawn
            # here, all in one ffmpeg run (below).
            texts = {n: self._start(self.renderer, i, token)
                     for n, i in enumerate(inputs) if i.first_frame is None}
            music = self._start(self.music, bed, token)
            ffmpeg = CancellableFFmpeg(self.ffmpeg.binary, self.ffmpeg.slots,
                                       self.ffmpeg.slot_wait, self.ffmpeg.priority, token)
            drawn = self._draw_photo_scenes(ffmpeg, inputs, options, workdir)
            made_shots = [
                read_shot(drawn[n]) if n in drawn else self._text_shot(
                    ffmpeg, self._fetch(self.renderer, texts[n], token,
                                        workdir / f"text_{n:03d}.mp4"), options)
                for n in range(len(inputs))]
            track = self._fetch(self.music, music, token, workdir / "bed.mp3")
            made_shots = self._with_cards(ffmpeg, user_id, client_id, options, made_shots,
                                          workdir)
            output = workdir / "preview.mp4"
            duration = compose(ffmpeg, made_shots, output, options=options, music=track)
            token.check()
            with output.open("rb") as handle:
                blob = blobs.write_blob_from_file(self.deps.db, handle)
            return RenderedPreview(blob.id, round(duration, 3))
        except PreviewCancelled:
            return None
        except Exception:
            # A failed preview stops what it started (text clips, the bed) instead of leaving
            # them to run to their end; the error still reaches the PreviewActor.
            token.cancel()
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _draw_photo_scenes(self, ffmpeg: FFmpeg, inputs: list[RenderInput],
                           options: CreativeOptions, workdir: Path) -> dict[int, Path]:
        """Every scene with photos, drawn as a marked shot at the preview's frame (15 fps
        camera move, 2× supersampled, written as a 30 fps shot with the IDR frames any
        transition may need), all in **one** ffmpeg run: each scene's graph runs on its own
        thread, so the preview uses every core while it holds one media slot (previews never
        take the last one) at nice 19. Returns scene index → shot file."""
        width, height = preview_size(options)
        parts: list[RenderPart] = []
        drawn: dict[int, Path] = {}
        for n, given in enumerate(inputs):
            if given.first_frame is None:
                continue
            first = self._materialize(given.first_frame, workdir / f"scene{n:03d}_first")
            last = (self._materialize(given.last_frame, workdir / f"scene{n:03d}_last")
                    if given.last_frame else first)
            drawn[n] = workdir / f"shot_{n + 1:03d}.mp4"
            parts.append(transition_part(
                first, last, drawn[n], duration=float(given.duration), width=width,
                height=height, fps=PREVIEW_FPS, supersample=PREVIEW_SUPERSAMPLE,
                overlay=mark_filter(width, height), shot_keyframes=PREVIEW_KEYFRAMES,
                first_input=3 * len(parts), label=f"v{len(parts)}"))
        if parts:
            ffmpeg.run(batch_args(parts), timeout=_DRAW_TIMEOUT)
        return drawn

    def _materialize(self, image: ImageInput, stem: Path) -> Path:
        """A stored photo as a file ffmpeg can open (its type in the suffix)."""
        path = stem.with_suffix("." + image.content_type.rsplit("/", 1)[-1])
        with path.open("wb") as handle:
            blobs.copy_blob_to_file(self.deps.db, image.blob_id, handle)
        return path

    @staticmethod
    def _text_shot(ffmpeg: FFmpeg, clip: Path, options: CreativeOptions) -> Shot:
        """A scene without photos comes from the renderer as a text clip, marked and
        normalised here."""
        return preview_shot(ffmpeg, clip, clip.with_name(f"{clip.stem}_shot.mp4"),
                            options=options)

    def _with_cards(self, ffmpeg: FFmpeg, user_id: int, client_id: str | None,
                    options: CreativeOptions, shots: list[Shot], workdir: Path) -> list[Shot]:
        """``[title, *shots, end]``: the job's cards, drawn as the finish step draws them
        (over the first and last scene, in the client's brand) at the preview's size, made
        into marked shots."""
        if not options.cards():
            return shots
        first = scene_still(ffmpeg, shots[0].path, workdir / "first_still.png", last=False)
        last = scene_still(ffmpeg, shots[-1].path, workdir / "last_still.png", last=True)
        cards = render_cards(ffmpeg, options, first, last, workdir,
                             guidelines=self._guidelines(user_id, client_id),
                             size=preview_size(options))

        def shot(card: Path | None) -> list[Shot]:
            if card is None:
                return []
            return [preview_shot(ffmpeg, card, card.with_name(f"{card.stem}_shot.mp4"),
                                 options=options)]

        return [*shot(cards.title), *shots, *shot(cards.end)]

    def shot_input(self, user_id: int, client_id: str | None, scene: Scene,
                   options: CreativeOptions) -> RenderInput:
        """The local render of one scene: its photos, its clip's length, at 360p."""
        first = self._image(user_id, scene.first_asset_id)
        last = self._image(user_id, scene.last_asset_id) or first
        return RenderInput(model="veo3", first_frame=first, last_frame=last,
                           prompt=scene.prompt or "",
                           duration=int(round(scene.duration)),
                           aspect_ratio=options.aspect_ratio,
                           resolution=PREVIEW_RESOLUTION,
                           background="" if first else self._brand_color(user_id, client_id))

    def _image(self, user_id: int, asset_id: str | None) -> ImageInput | None:
        return stored_image(self.deps, asset_id, Scope(user_id)) if asset_id else None

    def _guidelines(self, user_id: int, client_id: str | None) -> dict[str, Any] | None:
        if not client_id:
            return None
        with self.deps.db.read() as conn:
            client = client_store.get_client(conn, client_id, scope=Scope(user_id))
        return client.brand_guidelines if client else None

    def _brand_color(self, user_id: int, client_id: str | None) -> str:
        return first_brand_color(self._guidelines(user_id, client_id))

    def _notice(self, prediction_id: str) -> None:
        with self._lock:
            event = self._notices.setdefault(prediction_id, threading.Event())
        event.set()

    def _start(self, service: LocalRenderer | LocalMusic, inputs: RenderInput | MusicInput,
               token: CancelToken) -> Prediction:
        token.check()
        prediction = service.create(inputs, tag=f"preview-{id(token)}")
        token.on_cancel(lambda: service.cancel(prediction.id))
        return prediction

    def _fetch(self, service: LocalRenderer | LocalMusic, prediction: Prediction,
               token: CancelToken, dest: Path) -> Path:
        """Wait for ``prediction`` (woken by its notice) and download its output."""
        with self._lock:
            event = self._notices.setdefault(prediction.id, threading.Event())
        try:
            while not (prediction := service.get(prediction.id)).terminal:
                token.check()
                event.wait(_NOTICE_WAIT)
        finally:
            with self._lock:
                self._notices.pop(prediction.id, None)
        token.check()
        if prediction.status != "succeeded":
            raise MediaError(f"A preview shot could not be rendered: {prediction.error}")
        with dest.open("wb") as handle:
            try:
                service.download(prediction, handle)
            except ProviderError as exc:
                raise MediaError(f"A preview shot was lost: {exc.message}") from None
        return dest

