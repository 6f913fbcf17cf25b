"""Throughput of HandSkeleton construction (validated vs unchecked), reordering and bone lengths.

Run: python benchmarks/bench_skeleton.py [--sizes 100000 1000000]
Prints frames per second (best of several repeats).
"""

import argparse

import numpy as np
from timing import best_seconds

import handkin
from handkin import HandSkeleton


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    base = np.asarray(handkin.flat_hand().joints)
    rng = np.random.default_rng(0)
    print(f"{'case':<44} {'N':>9} {'frames/s':>14}")
    for n in args.sizes:
        joints64 = base + rng.normal(scale=3.0, size=(n, 21, 3))
        rhd64 = handkin.get_order("rhd").from_canonical(joints64)
        inputs = [
            ("numpy float64", joints64, rhd64),
            ("numpy float32", joints64.astype(np.float32), rhd64.astype(np.float32)),
        ]
        if torch is not None:
            inputs.append(("torch cpu float32", torch.from_numpy(joints64).float(), torch.from_numpy(rhd64).float()))
        for name, j, rhd in inputs:
            cases = {
                "validated construction": lambda j=j: HandSkeleton(joints=j, units="mm"),
                "unchecked construction": lambda j=j: HandSkeleton.unchecked(j, units="mm"),
                "validated construction from rhd order": lambda rhd=rhd: HandSkeleton(
                    joints=rhd, order="rhd", units="mm"
                ),
                "bone lengths": lambda j=j: HandSkeleton.unchecked(j, units="mm").bone_lengths,
                "normalized": lambda j=j: HandSkeleton.unchecked(j, units="mm").normalized(),
            }
            for case, fn in cases.items():
                sec = best_seconds(fn)
                print(f"{name + ': ' + case:<44} {n:>9} {n / sec:>14,.0f}")


if __name__ == "__main__":
    main()
