"""Fitting and checking JointLimits: seconds for JointLimits.fit on N poses, hands/s for check().

Run: python benchmarks/bench_limits.py [--sizes 100000 1000000]
"""

import argparse
import time

import numpy as np
from timing import best_seconds

import handkin
from handkin import JointLimits
from handkin.hull import fit_polygon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
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
