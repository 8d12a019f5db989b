"""The joined sound made of the shots' own AAC frames: where each sound goes, which frames
are copied, and that the result decodes to what encoding it whole would give.

A tone is the strict case: two encodings of a sine agree to within the codec's error, so any
splice that does not cancel, or a frame in the wrong place, shows as a block of large error.
"""

from __future__ import annotations

import array
import math
import subprocess
from pathlib import Path

import pytest

from actorvid.domain.creative import Transition
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.mp4index import sound_packets
from actorvid.media.output import SAMPLES_PER_FRAME, audio_encoder_args
from actorvid.media.shots import Shot, normalise_shot, overlaps, shot_placements
from actorvid.media.soundjoin import (
    FRAME,
    MARGIN,
    SHOT_FORMAT,
    SILENCE,
    Placement,
    aac_format,
    adts_header,
    copyable,
    frame_count,
    join_sound,
    place_sounds,
    placed_graph,
    windows,
)

SECOND = 48000


def test_sounds_on_the_grid_stay_where_their_pictures_are():
    placed = place_sounds([8 * SECOND] * 3, [0, 0], grid=FRAME)  # 8 s = 375 frames exactly
    assert placed == [Placement(0, 8 * SECOND), Placement(8 * SECOND, 8 * SECOND),
                      Placement(16 * SECOND, 8 * SECOND)]


def test_sounds_off_the_grid_move_at_most_half_a_frame_and_never_drift():
    lengths = [SECOND] * 40  # 1 s shots: 46.875 frames each
    placed = place_sounds(lengths, [0] * 39, grid=FRAME)
    for index, place in enumerate(placed):
        assert place.start % FRAME == 0
        assert abs(place.start - index * SECOND) <= FRAME // 2
    # Where neighbours moved towards each other they crossfade over the overlap; apart, the
    # gap is under one frame.
    for left, right in zip(placed, placed[1:], strict=False):
        overlap = left.end - right.start
        assert left.fade_out == right.fade_in == max(overlap, 0)
        assert -FRAME < overlap < FRAME


def test_transitions_crossfade_over_their_overlap():
    placed = place_sounds([4 * SECOND, 4 * SECOND], [SECOND // 2], grid=1)
    assert placed == [Placement(0, 4 * SECOND, 0, SECOND // 2),
                      Placement(4 * SECOND - SECOND // 2, 4 * SECOND, SECOND // 2, 0)]


def test_only_the_frames_around_joins_and_the_end_are_encoded():
    total = 3 * 8 * SECOND
    placed = place_sounds([8 * SECOND] * 3, [0, 0], grid=FRAME)
    owners = copyable(placed, total)
    assert len(owners) == frame_count(total) == total // FRAME + 1
    found = windows(owners, total)
    # Frame q encodes the blocks q-2 and q-1: at a join on frame boundary j only frame j+1
    # straddles it, and MARGIN clean frames on each side are encoded with it.
    assert [(w.first, w.end) for w in found] == [(375 + 1 - MARGIN, 375 + 2 + MARGIN),
                                                 (750 + 1 - MARGIN, 750 + 2 + MARGIN)]
    assert owners[0] == 0 and owners[-1] == 2  # the first sound's start, the last's end
    for window in found:
        assert window.start % FRAME == 0 and window.start < window.first * FRAME
        assert all(owners[frame] is None for frame in range(window.first, window.end))
    encoded = sum(w.end - w.first for w in found)
    assert encoded < 0.02 * len(owners)


def test_silence_is_copied_wherever_it_falls():
    # Off the grid, silent shots (Hailuo clips, cards, the local renderer) still need no
    # window: a frame of digital silence decodes the same anywhere.
    total = 10 * SECOND
    placed = place_sounds([SECOND] * 10, [0] * 9, grid=FRAME)
    owners = copyable(placed, total, [True] * 10)
    assert set(owners) == {SILENCE} and windows(owners, total) == []
    # A sounding shot between silent ones: windows only at its edges.
    owners = copyable(placed, total, [i != 4 for i in range(10)])
    found = windows(owners, total)
    assert len(found) == 2
    assert {owner for owner in owners if owner is not None} == {SILENCE, 4}


def test_a_fade_is_never_copied():
    total = 2 * 4 * SECOND - SECOND // 2
    placed = place_sounds([4 * SECOND] * 2, [SECOND // 2], grid=FRAME)
    owners = copyable(placed, total)
    fade_frames = range(placed[1].start // FRAME, placed[0].end // FRAME + 2)
    assert all(owners[frame] is None for frame in fade_frames)


def test_the_adts_header_states_the_frame():
    form = aac_format(bytes.fromhex("119056e500"))  # ffmpeg's AAC-LC, 48 kHz, stereo
    assert form == SHOT_FORMAT
    header = adts_header(form, 400)
    assert header[:2] == b"\xff\xf1"
    assert ((header[3] & 3) << 11) | (header[4] << 3) | (header[5] >> 5) == 407
    assert (header[2] >> 2) & 0x0F == 3  # 48 kHz
    assert ((header[2] & 1) << 2) | (header[3] >> 6) == 2  # stereo


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate()


def tone_shots(ffmpeg: FFmpeg, workdir: Path, seconds: list[float],
               transition: Transition = Transition()) -> list[Shot]:
    """Shots cut from one continuous tone, so the sound runs on across the joins."""
    shots, at = [], 0.0
    for index, length in enumerate(seconds):
        clip = workdir / f"clip{index}.mp4"
        ffmpeg.run(["-f", "lavfi", "-i", f"color=c=gray:s=64x36:r=30:d={length}",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=30",
                    "-af", f"atrim=start={at}:duration={length},asetpts=PTS-STARTPTS",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
                    "-y", str(clip)])
        at += length
        shots.append(normalise_shot(ffmpeg, clip, workdir / f"shot{index}.mp4", width=64,
                                    height=36, transition=transition))
    return shots


def decoded(ffmpeg: FFmpeg, path: Path) -> array.array:
    out = subprocess.run([ffmpeg.binary, "-v", "error", "-i", str(path), "-map", "0:a:0",
                          "-f", "f32le", "-ac", "1", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    return array.array("f", out)


def worst_block_error_db(left: array.array, right: array.array) -> float:
    """The largest error between two decodings over any 1024-sample block, in dB against
    the block's level."""
    worst = -200.0
    for start in range(0, len(right) - FRAME + 1, FRAME):
        error = sum((a - b) ** 2 for a, b in zip(left[start:start + FRAME],
                                                  right[start:start + FRAME], strict=True))
        level = sum(b * b for b in right[start:start + FRAME]) or 1e-12
        worst = max(worst, 10 * math.log10(max(error, 1e-20) / level))
    return worst


@pytest.mark.parametrize("seconds, transition", [
    ([32 / 30, 32 / 30, 48 / 30], Transition()),  # on the grid: cuts copied through
    ([1.0, 1.3, 0.9], Transition("crossfade", 0.5)),  # off it, with crossfades
])
def test_the_copied_track_decodes_as_encoding_it_whole_would(ffmpeg, tmp_path, seconds,
                                                               transition):
    shots = tone_shots(ffmpeg, tmp_path, seconds, transition)
    laps = overlaps(len(shots) - 1, transition)
    placed = shot_placements(shots, laps, grid=FRAME)
    total = (sum(shot.frames for shot in shots) - sum(laps)) * SAMPLES_PER_FRAME
    track = join_sound(ffmpeg, [shot.path for shot in shots], placed, total,
                       tmp_path / "joined.m4a")
    assert track is not None
    whole = tmp_path / "whole.m4a"
    ffmpeg.run([*[arg for shot in shots for arg in ("-i", str(shot.path))],
                "-filter_complex", placed_graph(placed, start=0, end=total), "-map", "[a]",
                *audio_encoder_args(), "-y", str(whole)])

    copied, encoded = decoded(ffmpeg, track), decoded(ffmpeg, whole)
    assert len(copied) == len(encoded) == total
    # The codec's own error between two encodings of a tone is far below -40 dB; a
    # misplaced frame or a splice that does not cancel is near 0 dB.
    assert worst_block_error_db(copied, encoded) < -40
    packets = sound_packets(track)
    assert packets is not None and len(packets.spans) == frame_count(total)


def test_silent_shots_join_without_an_encode(ffmpeg, tmp_path):
    shots = [normalise_shot(ffmpeg, clip, tmp_path / f"shot{i}.mp4", width=64, height=36)
             for i, clip in enumerate(silent_clips(ffmpeg, tmp_path, [1.0, 0.9, 1.2]))]
    laps = overlaps(len(shots) - 1, Transition())
    placed = shot_placements(shots, laps, grid=FRAME)
    total = sum(shot.frames for shot in shots) * SAMPLES_PER_FRAME
    track = join_sound(ffmpeg, [shot.path for shot in shots], placed, total,
                       tmp_path / "joined.m4a")
    assert track is not None
    sound = decoded(ffmpeg, track)
    assert len(sound) == total and max(abs(sample) for sample in sound) == 0.0


def silent_clips(ffmpeg: FFmpeg, workdir: Path, seconds: list[float]) -> list[Path]:
    clips = []
    for index, length in enumerate(seconds):
        clip = workdir / f"silent{index}.mp4"
        ffmpeg.run(["-f", "lavfi", "-i", f"color=c=gray:s=64x36:r=30:d={length}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-y", str(clip)])
        clips.append(clip)
    return clips


def test_sound_that_cannot_be_copied_is_left_to_the_caller(ffmpeg, tmp_path):
    shots = tone_shots(ffmpeg, tmp_path, [1.0, 1.0])
    other = tmp_path / "other.mp4"  # 44.1 kHz: not the shots' AAC configuration
    ffmpeg.run(["-i", str(shots[1].path), "-c:v", "copy", "-c:a", "aac", "-ar", "44100",
                "-y", str(other)])
    placed = place_sounds([SECOND, SECOND], [0], grid=FRAME)
    assert join_sound(ffmpeg, [shots[0].path, other], placed, 2 * SECOND,
                      tmp_path / "joined.m4a") is None
