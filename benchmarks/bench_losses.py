"""BMC loss forward+backward (torch CPU, BMCLoss) at B = 1, 256, 4096, the numpy loss, and constrain() throughput.

Run: python benchmarks/bench_losses.py
Prints the median over repeated runs (ms) and hands/s. Targets of the issue: loss fwd+bwd at B=256 ≤ 2 ms,
constrain ≥ 10,000 poses/s.
"""

import argparse
import time

import numpy as np
from timing import median_ms

import handkin
from handkin import BMCLoss, HandSkeleton, JointLimits, constrain


def poses(n: int, rng) -> np.ndarray:
    angles = np.stack([rng.uniform(-0.8, 2.4, (n, 15)), rng.uniform(-0.8, 0.8, (n, 15))], axis=-1)
    return np.asarray(handkin.posed_hand(angles).normalized().joints)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--compile", action="store_true", help="also time torch.compile(BMCLoss) at B=256 (slow to compile)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (1 is steadier for the compiled loss on a busy machine)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    limits = JointLimits.default()
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    if torch is not None:
        module = BMCLoss(limits)
        for b in (1, 256, 4096):
            x = torch.tensor(poses(b, rng), dtype=torch.float32, requires_grad=True)

            def step(x=x):
                module(x).backward()

            print(f"BMCLoss torch float32 forward+backward  B={b:>5}: {median_ms(step, args.repeats):8.2f} ms")
        if args.compile:
            compiled = torch.compile(module, dynamic=False)
            x = torch.tensor(poses(256, rng), dtype=torch.float32, requires_grad=True)
            t0 = time.perf_counter()
            compiled(x).backward()
            print(f"torch.compile(BMCLoss): compiled in {time.perf_counter() - t0:.0f} s")

            def compiled_step(x=x):
                compiled(x).backward()

            rounds = sorted(median_ms(compiled_step, args.repeats) for _ in range(5))
            print(
                f"compiled BMCLoss forward+backward       B=  256: {rounds[2]:8.2f} ms "
                f"(medians of 5 rounds of {args.repeats}: {', '.join(f'{r:.2f}' for r in rounds)})"
            )
    for b in (256, 4096):
        j = poses(b, rng)
        print(
            f"JointLimits.loss numpy float64 forward B={b:>5}: {median_ms(lambda j=j: limits.loss(j), args.repeats):8.2f} ms"
        )
    for n, distort in ((10_000, False), (10_000, True)):
        angles = np.stack([rng.uniform(-1.5, 2.5, (n, 15)), rng.uniform(-1.0, 1.0, (n, 15))], axis=-1)
        joints = np.asarray(handkin.posed_hand(angles).joints).copy()
        if distort:
            joints[:, [1, 5, 13, 17]] += rng.normal(scale=8.0, size=(n, 4, 3))
        hands = HandSkeleton(joints=joints, units="mm")
        ms = median_ms(lambda h=hands: constrain(h, limits), 3)
        label = "palms distorted" if distort else "palms plausible"
        print(f"constrain, {n} implausible hands ({label}): {n / ms * 1e3:10,.0f} poses/s")


if __name__ == "__main__":
    main()
