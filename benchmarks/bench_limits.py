"""Fitting and checking JointLimits: seconds for JointLimits.fit on N poses, hands/s for check(); seconds for
padding a polygon to P points (hull.pad_polygon) and for JointLimits.polygon_array with the largest polygon allowed.

Run: python benchmarks/bench_limits.py [--sizes 100000 1000000] [--pad-sizes 8000 100000] [--only-padding]
"""

import argparse
import time

import numpy as np
from timing import best_seconds

import handkin
from handkin import JointLimits
from handkin.hull import box_polygon, fit_polygon, pad_polygon
from handkin.limits import MAX_POLYGON_VERTICES


def bench_padding(sizes: list[int]) -> None:
    """pad_polygon of a box to each size (issue 21: it was quadratic, 3 s at 8,000 points), and polygon_array of
    limits holding one polygon of MAX_POLYGON_VERTICES points (first access builds the array, later ones copy it)."""
    box = np.array([[0.0, -0.3], [1.6, -0.3], [1.6, 0.3], [0.0, 0.3]])
    for n in sizes:
        t = best_seconds(lambda n=n: pad_polygon(box, n), repeats=3)
        print(f"pad_polygon to {n:>9,} points: {t:9.4f} s", flush=True)
    t = np.linspace(0, 2 * np.pi, MAX_POLYGON_VERTICES, endpoint=False)
    circle = np.c_[0.8 + 0.8 * np.cos(t), 0.3 * np.sin(t)]
    limits = JointLimits.default().with_joint("index_pip", circle)
    t0 = time.perf_counter()
    assert limits.polygon_array.shape == (15, MAX_POLYGON_VERTICES, 2)
    first = time.perf_counter() - t0
    again = best_seconds(lambda: limits.polygon_array, repeats=5)
    big_box = best_seconds(lambda: box_polygon(-1e6, 1e6, -1e6, 1e6, MAX_POLYGON_VERTICES), repeats=3)
    print(
        f"polygon_array with a {MAX_POLYGON_VERTICES}-point polygon: first access {first * 1e3:7.2f} ms, "
        f"later {again * 1e3:7.3f} ms (the padded unconstrained box alone {big_box * 1e3:7.2f} ms)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--pad-sizes", type=int, nargs="+", default=[8_000, 100_000])
    parser.add_argument("--only-padding", action="store_true", help="skip fitting and checking")
    args = parser.parse_args()
    bench_padding(args.pad_sizes)
    if args.only_padding:
        return
    rng = np.random.default_rng(0)
    limits = JointLimits.default()
    for n in args.sizes:
        angles = np.stack([rng.uniform(-0.3, 1.6, (n, 15)), rng.uniform(-0.4, 0.4, (n, 15))], axis=-1)
        t0 = time.perf_counter()
        hands = handkin.posed_hand(angles)
        t_pose = time.perf_counter() - t0
        t0 = time.perf_counter()
        JointLimits.fit(hands)
        t_fit = time.perf_counter() - t0
        t_poly = best_seconds(lambda a=angles: fit_polygon(a[:, 3], 10), repeats=3)
        t_check = best_seconds(lambda h=hands: limits.check(h), repeats=3)
        print(
            f"N={n:>9,}: pose by FK {t_pose:6.2f} s | JointLimits.fit {t_fit:6.2f} s "
            f"(one joint's polygon {t_poly * 1e3:7.1f} ms) | check {n / t_check:>10,.0f} hands/s",
            flush=True,
        )


if __name__ == "__main__":
    main()
