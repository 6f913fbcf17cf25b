"""What each choice of the defaults' recipe costs and buys: the recipe with one change at a time, scored by
``benchmarks/plausibility.py`` leave-one-source-out (seed 0). Prints the table of docs/limits.md.

    python benchmarks/calibration_choices.py
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plausibility as P  # noqa: E402
import real_sets  # noqa: E402

from handkin import HandSkeleton  # noqa: E402
from handkin import limits_sources as LS  # noqa: E402

BASE = copy.deepcopy(LS.JOINT_RANGES_DEG)


def with_ranges(change, **recipe):
    """A builder: the recipe with the priors changed by ``change`` and the keyword arguments ``recipe``."""

    def build(train):
        saved = dict(LS.JOINT_RANGES_DEG)
        try:
            LS.JOINT_RANGES_DEG.clear()
            LS.JOINT_RANGES_DEG.update(change(copy.deepcopy(BASE)))
            hands = {n: HandSkeleton(joints=s.joints_mm, units="mm") for n, s in train.items()}
            return LS.calibrated_limits(hands, **recipe)
        finally:
            LS.JOINT_RANGES_DEG.clear()
            LS.JOINT_RANGES_DEG.update(saved)

    return build


def same(ranges):
    return ranges


def hinge_box(ranges):
    return {k: (f, a, None, g) if k.endswith(("_pip", "_dip")) else (f, a, b, g) for k, (f, a, b, g) in ranges.items()}


def extension(mcp: float, pip: float, dip: float):
    lows = {"mcp": mcp, "pip": pip, "dip": dip}

    def change(ranges):
        return {
            k: (f if k.startswith("thumb") else (lows[k.split("_")[1]], f[1]), a, b, g)
            for k, (f, a, b, g) in ranges.items()
        }

    return change


VARIANTS = {
    "shipped": with_ranges(same),
    "hinge priors a ±15° box (no widening with flexion)": with_ranges(hinge_box),
    "trimming 1–99 %": with_ranges(same, percentiles=(1, 99)),
    "hyperextension priors MCP −45°, PIP −20°, DIP −30°": with_ranges(extension(-45, -20, -30)),
    "hyperextension priors MCP −30°, PIP −5°, DIP −15°": with_ranges(extension(-30, -5, -15)),
    "margin 8°": with_ranges(same, margin_deg=8),
    "margin 6°": with_ranges(same, margin_deg=6),
    "margin 12°": with_ranges(same, margin_deg=12),
    "no literature prior (data only)": with_ranges(same, prior=False),
}


def main() -> None:
    sets = real_sets.load_real_sets()
    if not sets:
        print("no real hand sets found (set HANDKIN_SHARED_DATA)")
        return
    cache: dict = {}
    print(
        "| variant (one change from the shipped recipe) | accept % STB / video / gestures | twist ±40° % STB / video "
        "| finger flip % STB / video | bend −60° % STB / video | video, PIPs/DIPs 6 mm off the palm % "
        "| STB, thumb CMC 12 mm off % |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, build in VARIANTS.items():
        r = P.run(build, sets, seed=0, twin_cache=cache)
        shifts = P.shift_scores(build, sets)

        def f(source, key, r=r):
            return f"{r[source][key]:.1f}"

        print(
            f"| {name} | {f('stb', 'accept')} / {f('mediapipe_video', 'accept')} / {f('mediapipe_gestures', 'accept')} "
            f"| {f('stb', 'twist ±40')} / {f('mediapipe_video', 'twist ±40')} "
            f"| {f('stb', 'finger flip')} / {f('mediapipe_video', 'finger flip')} "
            f"| {f('stb', 'bend -60')} / {f('mediapipe_video', 'bend -60')} "
            f"| {shifts['mediapipe_video']['PIPs/DIPs ±6 mm off the palm']:.1f} "
            f"| {shifts['stb']['thumb CMC ±12 mm off the palm']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
