"""Speed of the built-in synthetic training data (handkin_train.data.synthetic): poses (handkin.sampling), cameras,
the rasteriser alone (.raster, on the hands' primitives) and the whole rendering.

Run: python benchmarks/bench_render.py [--n 512] [--size 128] [--grid /tmp/synthetic_grid.png]
Prints images per second for each stage on one core (BLAS and torch limited to one thread), as wall-clock
and as this process's CPU time (the latter is less disturbed by other load on a shared machine), the best
of a few runs; optionally saves a 4 × 4 grid of rendered samples as a PNG.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import handkin  # noqa: E402
from handkin.sampling import sample_poses  # noqa: E402
from handkin_train.data.synthetic import (  # noqa: E402
    SyntheticConfig,
    SyntheticHands,
    hand_primitives,
    rasterize,
    render,
    sample_cameras,
)


def best(fn, repeats: int) -> tuple[float, float]:
    """The fastest wall-clock and CPU seconds of ``repeats`` runs of ``fn`` after one warm-up run."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="images per timed run")
    parser.add_argument("--size", type=int, default=128, help="image side, pixels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grid", default=None, help="save a 4 x 4 grid of samples to this PNG")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = SyntheticConfig(image_size=args.size)
    limits = handkin.JointLimits.default()
    rng = np.random.default_rng(0)
    hands = sample_poses(args.n, limits, rng, config)
    joints, K = sample_cameras(hands, rng, config)
    primitives = hand_primitives(joints)

    stages = {
        "sample_poses": lambda: sample_poses(args.n, limits, np.random.default_rng(1), config),
        "sample_cameras": lambda: sample_cameras(hands, np.random.default_rng(2), config),
        "rasterize (hand primitives)": lambda: rasterize(K, (args.size, args.size), *primitives),
        "render (background only)": lambda: render(joints, K, np.random.default_rng(3), config, draw_hand=False),
        "render": lambda: render(joints, K, np.random.default_rng(3), config),
        "SyntheticHands (all of it)": lambda: SyntheticHands(args.n, seed=4, config=config),
    }
    print(f"{args.n} hands, {args.size}x{args.size} px, best of {args.repeats} (one thread)")
    print(f"{'stage':<28} {'wall img/s':>11} {'CPU img/s':>10} {'CPU ms/img':>11}")
    for name, fn in stages.items():
        wall, cpu = best(fn, args.repeats)
        print(f"{name:<28} {args.n / wall:>11.0f} {args.n / cpu:>10.0f} {1e3 * cpu / args.n:>11.2f}")

    if args.grid:
        from PIL import Image

        images = SyntheticHands(16, seed=0, config=config).images
        s = args.size
        grid = images.reshape(4, 4, s, s, 3).transpose(0, 2, 1, 3, 4).reshape(4 * s, 4 * s, 3)
        Image.fromarray(grid).save(args.grid)
        print(f"saved {args.grid}")


if __name__ == "__main__":
    main()
