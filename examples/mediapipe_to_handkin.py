"""A real pipeline: MediaPipe's HandLandmarker on a real video (and photos) → handkin → analysis and pictures.

Needs the `mediapipe` package (CPU is enough) and ../shared/data (the model bundle
`mediapipe_model/hand_landmarker.task`, the video `mediapipe_video_sequence/human_hand_video.mp4`
and the photos in `gesture_photos/`). MediaPipe assumes mirrored (selfie) images; these are ordinary
camera images, so handkin's label rule swaps MediaPipe's handedness (``mirrored=False``, the default); the
geometry (fingers flex forwards) then decides which way the labels of a sequence are meant.

Run: python examples/mediapipe_to_handkin.py [--out DIR] [--frames N] [--photos N] [--no-pictures]
"""

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from handkin import analysis
from handkin.io import hands_from_result, sequence_from_results
from handkin.io.mediapipe import geometry_sides

DATA = Path(os.environ.get("HANDKIN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MODEL = DATA / "mediapipe_model" / "hand_landmarker.task"
VIDEO = DATA / "mediapipe_video_sequence" / "human_hand_video.mp4"
PHOTOS = DATA / "gesture_photos"


def landmarker(mode: str):
    """A MediaPipe Tasks HandLandmarker (one hand) in IMAGE or VIDEO mode."""
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.HandLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(MODEL)),
        running_mode=getattr(vision.RunningMode, mode),
        num_hands=1,
    )
    return vision.HandLandmarker.create_from_options(options)


def video_frames(path: Path, every: int, limit: int):
    """Every ``every``-th RGB frame of the video, at most ``limit`` of them."""
    import imageio.v3 as iio

    for i, frame in enumerate(iio.imiter(path, plugin="pyav" if _has("av") else "FFMPEG")):
        if i % every == 0:
            yield i, np.ascontiguousarray(frame[..., :3])
            limit -= 1
            if limit == 0:
                return


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(out: Path, frames: int, photos: int, pictures: bool) -> None:
    import mediapipe as mp

    # --- the video: one result per frame → a HandSequence of world landmarks (metres)
    every, fps = 3, 30.0
    results, size = [], None
    with landmarker("VIDEO") as lm:
        for i, rgb in video_frames(VIDEO, every, frames):
            size = (rgb.shape[1], rgb.shape[0])
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            results.append(lm.detect_for_video(image, int(1000 * i / fps)))
    labels = [r.handedness[0][0].category_name for r in results if r.handedness]
    print(f"video: {len(results)} frames of {size[0]}×{size[1]}, MediaPipe handedness {sorted(set(labels))}")
    seq = sequence_from_results(results, fps=fps / every, source=str(VIDEO))
    print(seq)  # side='right': the label "Left" of the un-mirrored video swapped
    for problem in seq.problems():
        print("warning:", problem)
    result = analysis.analyze(seq)
    print(result.rom.table(markdown=False))
    print(f"frames outside the default limits: {len(result.violations.frames)}")
    print(f"bone-length variation (median cv): {100 * np.nanmedian(result.bones.cv):.1f} %")
    report = analysis.write_report(result, out, pictures=pictures, title="MediaPipe on a real video")
    print("report written to", report)

    # --- photos: one result per image
    paths = sorted(PHOTOS.glob("*/*.jpg"))[:photos]
    found = 0
    with landmarker("IMAGE") as lm:
        for path in paths:
            hands = hands_from_result(lm.detect(mp.Image.create_from_file(str(path))))
            if hands:
                found += 1
                h = hands[0]
                shape = geometry_sides(h.joints)[0]  # the side the fingers' flexion says ("unknown" for a flat hand)
                print(
                    f"{path.parent.name}/{path.name[:8]}: MediaPipe says {h.label!r} ({h.score:.2f}) → "
                    f"{h.side} hand by the label rule, {shape} by the geometry"
                )
    print(f"photos: a hand in {found} of {len(paths)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "handkin-mediapipe")
    parser.add_argument("--frames", type=int, default=60, help="video frames to run (every 3rd frame)")
    parser.add_argument("--photos", type=int, default=8, help="photos to run")
    parser.add_argument("--no-pictures", action="store_true")
    args = parser.parse_args()
    main(args.out, args.frames, args.photos, not args.no_pictures)
