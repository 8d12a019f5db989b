"""A job's title and end cards as shots, for the finish step to join around its clips.

One small entry point, :func:`card_shots`: the finish step gives it the job, its creative
options and a still of the first and last scene (:func:`scene_still` takes one from a clip),
and gets back the card shots in the output format to put before and after the clips
(:meth:`CardShots.around`). Colours and font weight come from the client's brand guidelines
(``colors``: primary then secondary; the weight the first of ``fonts`` names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.domain.creative import Card, CreativeOptions
from actorvid.media.cards import card_args
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.shots import Shot, normalise_shot
from actorvid.pipelines.deps import PipelineDeps, owner_scope
from actorvid.pipelines.soundtrack import screen_times
from actorvid.store import clients as client_store
from actorvid.store.jobs import Job
from actorvid.workflows.brand import brand_colors, brand_font_weight


@dataclass(frozen=True)
class CardShots:
    """The rendered cards (None where the job has none)."""

    title: Path | None = None
    end: Path | None = None


def music_lengths(options: CreativeOptions, clip_seconds: Sequence[float]) -> list[float]:
    """Seconds of music per clip in a video with the cards of ``options``: each card plays
    under the music of the scene beside it, so the music still changes only on the clips'
    joins and the track lasts the whole video (``options.video_seconds``)."""
    title, end = options.title_card, options.end_card
    segments = [*([title.seconds] if title else []), *clip_seconds,
                *([end.seconds] if end else [])]
    times = screen_times(segments, options.transition.overlap)
    if title:
        times = [times[0] + times[1], *times[2:]]
    if end:
        times = [*times[:-2], times[-2] + times[-1]]
    return times


def scene_still(ffmpeg: FFmpeg, clip: Path, out: Path, *, last: bool) -> Path:
    """The first (or last) frame of ``clip`` as a PNG: what a card beside it is drawn over."""
    seek = ["-sseof", "-0.1"] if last else []
    ffmpeg.run(["-y", *seek, "-i", str(clip), "-frames:v", "1", "-update", "1", str(out)],
               timeout=60)
    return out


def card_shots(deps: PipelineDeps, job: Job, options: CreativeOptions,
               first_still: Path | None, last_still: Path | None, workdir: Path) -> CardShots:
    """Render the job's title card (over ``first_still``) and end card (over ``last_still``)
    at its frame size into ``workdir``. Without a still a card falls back to the brand colour."""
    if not options.cards():
        return CardShots()
    guidelines = None
    if job.client_id:
        with deps.db.read() as conn:
            client = client_store.get_client(conn, job.client_id, scope=owner_scope(job))
        guidelines = client.brand_guidelines if client else None
    return render_cards(deps.ffmpeg(), options, first_still, last_still, workdir,
                        guidelines=guidelines)


def with_cards(deps: PipelineDeps, job: Job, options: CreativeOptions, shots: Sequence[Shot],
               workdir: Path, ffmpeg: FFmpeg) -> list[Shot]:
    """``[title, *shots, end]`` for the finish step: the cards drawn over the first frame of
    the first shot and the last frame of the last, made into shots of the job (its frame and
    the keyframes its transition needs) so they join like any clip."""
    if not options.cards() or not shots:
        return list(shots)
    first = scene_still(ffmpeg, shots[0].path, workdir / "first_still.png", last=False)
    last = scene_still(ffmpeg, shots[-1].path, workdir / "last_still.png", last=True)
    cards = card_shots(deps, job, options, first, last, workdir)
    width, height = options.frame_size()

    def shot(card: Path | None) -> list[Shot]:
        if card is None:
            return []
        return [normalise_shot(ffmpeg, card, card.with_name(f"{card.stem}_shot.mp4"),
                               width=width, height=height, fit=options.fit,
                               transition=options.transition)]

    return [*shot(cards.title), *shots, *shot(cards.end)]


def render_cards(ffmpeg: FFmpeg, options: CreativeOptions, first_still: Path | None,
                 last_still: Path | None, workdir: Path, *,
                 guidelines: dict[str, object] | None = None,
                 size: tuple[int, int] | None = None) -> CardShots:
    """:func:`card_shots` without the job: the cards of ``options`` in the brand of
    ``guidelines`` (defaults when None), at ``size`` (default: the job's frame; a preview
    asks for its own smaller one)."""
    primary, secondary = brand_colors(guidelines)
    weight = brand_font_weight(guidelines)
    width, height = size or options.frame_size()

    def render(card: Card | None, still: Path | None, name: str) -> Path | None:
        if card is None:
            return None
        out = workdir / f"{name}.mp4"
        ffmpeg.run(card_args(card, out, workdir, width=width, height=height, still=still,
                             primary=primary, secondary=secondary, weight=weight),
                   timeout=300)
        return out

    return CardShots(render(options.title_card, first_still, "title_card"),
                     render(options.end_card, last_still, "end_card"))
