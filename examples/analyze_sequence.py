"""Analyse a hand recording: angles over time, range of motion, bone-length consistency, frames outside the
limits, and a report with pictures.

Uses the real 621-frame MediaPipe video sequence from ../shared/data when it is there, else the built-in
demo recording (forward kinematics: open hand → fist → pinch → spread).

Run: python examples/analyze_sequence.py [--file FILE] [--out DIR] [--no-pictures]
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from handkin import analysis
from handkin import io as hio
from handkin.demo import demo_sequence

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mediapipe_video_sequence" / "sequence_mp21_mm.npz"


def main(file: str | None, out: Path, pictures: bool) -> None:
    if file:
        seq = hio.load(file)
    elif REAL.exists():
        seq = hio.load(REAL)  # (621, 21, 3) mm at 30 fps, MediaPipe output on a real video
    else:
        seq = demo_sequence()
    print(seq)
    for problem in seq.problems():  # missing joints, NaN frames: reported and masked
        print("warning:", problem)

    smoothed = analysis.smooth(seq, "savgol", window=7)  # Savitzky–Golay over 7 frames
    result = analysis.analyze(smoothed)  # the default (literature) limits
    print(result.summary_table(markdown=False))

    print("\nrange of motion (degrees):")
    print(result.rom.table(markdown=False))

    speed = np.degrees(np.nanmax(np.abs(result.velocities[..., 0]), axis=0))
    fastest = int(np.argmax(speed))
    print(f"\nfastest joint: {analysis.ANGLE_NAMES[fastest]} at {speed[fastest]:.0f}°/{result.time_unit}")
    print("bones that vary most (coefficient of variation):", result.bones.worst_bones(3))
    print(f"frames outside the limits: {len(result.violations.frames)}")
    print(result.violations.table(markdown=False))

    report = analysis.write_report(result, out, pictures=pictures)
    print("report written to", report)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="a recording (.npz .csv .json .c3d or a MediaPipe dump)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "handkin-analysis")
    parser.add_argument("--no-pictures", action="store_true")
    args = parser.parse_args()
    main(args.file, args.out, not args.no_pictures)
