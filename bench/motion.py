"""Smoothness of the local renderer's camera move on detailed photos.

Renders one 4 s clip per (photo, size) with the real ``transition_args`` and reports what a
viewer would see: frames ``mpdecimate`` takes for duplicates, the mean and largest
frame-to-frame luma change (of 255), and the render's wall time. Photos are 1920×1080 JPEGs
(full range, like a camera's): a test pattern with grain, and a Mandelbrot set with grain.

    .venv/bin/python bench/motion.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from actorvid.media import inspect
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.render import transition_args

PHOTOS = {"pattern+grain": "testsrc2=s=1920x1080,noise=alls=40:allf=u",
          "mandelbrot+grain": "mandelbrot=s=1920x1080,noise=alls=40:allf=u"}
SIZES = ((640, 360), (1280, 720))


def main() -> int:
    ffmpeg = FFmpeg.locate()
    with tempfile.TemporaryDirectory(prefix="actorvid-motion-") as folder:
        work = Path(folder)
        print("| photo | size | frames | duplicates | mean change | max change | render (s) |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for name, source in PHOTOS.items():
            photo = work / f"{name}.jpg"
            ffmpeg.run(["-f", "lavfi", "-i", source, "-frames:v", "1", "-q:v", "2", "-y",
                        str(photo)])
            for width, height in SIZES:
                clip = work / f"{name}-{height}.mp4"
                started = time.monotonic()
                ffmpeg.run(transition_args(photo, photo, clip, duration=4.0, width=width,
                                           height=height))
                took = time.monotonic() - started
                mean, peak = inspect.frame_change(ffmpeg, clip)
                print(f"| {name} | {width}×{height} | {inspect.frame_count(ffmpeg, clip)} | "
                      f"{inspect.duplicated_frames(ffmpeg, clip)} | {mean:.2f} | {peak:.2f} | "
                      f"{took:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
