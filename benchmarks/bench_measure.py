"""Throughput of the full measurement set — bone lengths, palm curvature and angles, 15 bone frames and
15 joint-angle pairs — via ``HandSkeleton.measure()``, and of forward kinematics.

Run: python benchmarks/bench_measure.py [--sizes 100000 1000000] [--repeats 3]
Prints frames per second (best of the repeats). Target: ≥ 650,000 frames/s in numpy on 2 cores.
"""

import argparse

import numpy as np
from timing import best_seconds

import handkin
from handkin import HandSkeleton


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    angles_deg = np.stack([rng.uniform(-20, 90, (1000, 15)), rng.uniform(-20, 20, (1000, 15))], -1)
    poses = np.asarray(handkin.posed_hand(angles_deg, degrees=True).joints)
    print(f"{'case':<46} {'N':>9} {'frames/s':>12} {'ms':>9}")
    for n in args.sizes:
        joints = poses[rng.integers(0, len(poses), n)] + rng.normal(scale=1.0, size=(n, 21, 3))
        inputs = [("numpy float64", joints), ("numpy float32", joints.astype(np.float32))]
        if torch is not None:
            inputs += [
                ("torch cpu float32", torch.from_numpy(joints).float()),
                ("torch cpu float64", torch.from_numpy(joints)),
            ]
        for name, j in inputs:
            sk = HandSkeleton.unchecked(j, units="mm")
            m = sk.measure()
            cases = {
                "measure (lengths+palm+frames+angles)": sk.measure,
                "joint angles only": lambda sk=sk: sk.joint_angles,
                "forward kinematics": lambda sk=sk, m=m: HandSkeleton.from_angles(m.joint_angles, m.bone_lengths, sk),
            }
            for case, fn in cases.items():
                sec = best_seconds(fn, args.repeats)
                print(f"{name + ': ' + case:<46} {n:>9} {n / sec:>12,.0f} {sec * 1e3:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
