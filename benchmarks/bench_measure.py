"""Throughput and peak memory of the full measurement set — bone lengths, palm curvature and angles, 15 bone frames
with their origins and 15 joint-angle pairs — via ``HandSkeleton.measure()``, and of forward kinematics.

Run: python benchmarks/bench_measure.py [--sizes 100000 1000000 3000000] [--repeats 3] [--threads 1] [--no-peak]

Part 1, numpy float32 and torch float32 (CPU, no gradient), with fresh outputs and with reused ones
(``out=MeasuredArrays.empty(...)``): hands/s (best of the repeats) and, each in a fresh subprocess, the peak
resident memory of one call above the memory before it (VmHWM − VmRSS, Linux; with ``out=``, a second call into
the same buffers), next to the size of the outputs themselves.
Part 2 (sizes up to 1e6): frames/s of measure, joint angles only and forward kinematics, numpy and torch, float32
and float64. Issue 20's target: ≥ 1.5 M hands/s numpy float32 at 1e6 and 3e6, peak memory ≈ the outputs.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from timing import best_seconds

import handkin
from handkin import HandSkeleton

BYTES_PER_HAND = (20 + 4 + 4 + 30 + 135 + 45) * 4  # float32 outputs of measure() with frames and origins


def hands(n: int, dtype=np.float32) -> np.ndarray:
    """``n`` noisy posed hands (mm), built in slices so that building them leaves no large temporaries."""
    rng = np.random.default_rng(0)
    angles_deg = np.stack([rng.uniform(-20, 90, (1000, 15)), rng.uniform(-20, 20, (1000, 15))], -1)
    poses = np.asarray(handkin.posed_hand(angles_deg, degrees=True).joints).astype(dtype)
    out = np.empty((n, 21, 3), dtype=dtype)
    for start in range(0, n, 100_000):
        stop = min(start + 100_000, n)
        out[start:stop] = poses[rng.integers(0, len(poses), stop - start)]
        out[start:stop] += rng.standard_normal((stop - start, 21, 3), dtype=np.float32).astype(dtype)
    return out


def skeleton(joints: np.ndarray, backend: str) -> HandSkeleton:
    if backend == "torch":
        import torch

        return HandSkeleton.unchecked(torch.from_numpy(joints), units="mm")
    return HandSkeleton.unchecked(joints, units="mm")


def buffers(sk: HandSkeleton):
    """Reusable outputs for ``sk.measure(out=...)``, or None where measure() has no ``out=`` (older handkin)."""
    from handkin.frames import MeasuredArrays

    empty = getattr(MeasuredArrays, "empty", None)
    return None if empty is None else empty(sk.batch_shape, like=sk.joints)


def call(sk: HandSkeleton, out):
    return sk.measure() if out is None else sk.measure(out=out)


def peak_child(backend: str, n: int, reuse: bool) -> None:
    """Print the peak resident memory (MB) of one measure() above the memory before it, as JSON."""
    if backend == "torch":
        import torch

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    sk = skeleton(hands(n), backend)
    out = buffers(sk) if reuse else None
    if reuse and out is None:
        print(json.dumps(None))
        return
    small = skeleton(hands(10), backend)
    call(small, buffers(small) if reuse else None)  # imports and first-call set-up outside the measurement
    if reuse:
        call(sk, out)  # reused buffers: their pages are in already (the steady state of repeated calls)
    before = _status_kb("VmRSS")
    result = call(sk, out)
    after = _status_kb("VmHWM")  # the high-water mark of this process (not inherited, unlike ru_maxrss)
    del result
    print(json.dumps((after - before) / 1024))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_mb(backend: str, n: int, reuse: bool, threads: int) -> float | None:
    env = {**os.environ, "BENCH_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--peak-child", backend, str(n), str(int(reuse))]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def throughput(sizes: list[int], repeats: int, threads: int, peak: bool) -> None:
    print(f"HandSkeleton.measure() with frames and origins, {threads} torch thread(s)")
    print(f"{'case':<34} {'N':>9} {'hands/s':>12} {'ms':>9} {'peak MB':>9} {'outputs MB':>11}")
    for n in sizes:
        joints = hands(n)
        for backend in ("numpy", "torch"):
            sk = skeleton(joints, backend)
            for reuse in (False, True):
                out = buffers(sk) if reuse else None
                name = f"{backend} float32" + (", out=" if reuse else "")
                if reuse and out is None:
                    print(f"{name:<34} {n:>9} {'(no out=)':>12}")
                    continue
                sec = best_seconds(lambda sk=sk, out=out: call(sk, out), repeats)
                mb = peak_mb(backend, n, reuse, threads) if peak else None
                mb_text = "" if mb is None else f"{mb:9.0f}"
                print(
                    f"{name:<34} {n:>9} {n / sec:>12,.0f} {sec * 1e3:>9.1f} {mb_text:>9} "
                    f"{n * BYTES_PER_HAND / 2**20:>11.0f}",
                    flush=True,
                )
            del sk
        del joints


def cases(sizes: list[int], repeats: int) -> None:
    try:
        import torch
    except ImportError:
        torch = None
    print(f"\n{'case':<46} {'N':>9} {'frames/s':>12} {'ms':>9}")
    for n in sizes:
        joints = hands(n, np.float64)
        inputs = [("numpy float64", joints), ("numpy float32", joints.astype(np.float32))]
        if torch is not None:
            inputs += [
                ("torch cpu float32", torch.from_numpy(joints).float()),
                ("torch cpu float64", torch.from_numpy(joints)),
            ]
        for name, j in inputs:
            sk = HandSkeleton.unchecked(j, units="mm")
            m = sk.measure()
            fns = {
                "measure (lengths+palm+frames+angles)": sk.measure,
                "joint angles only": lambda sk=sk: sk.joint_angles,
                "forward kinematics": lambda sk=sk, m=m: HandSkeleton.from_angles(m.joint_angles, m.bone_lengths, sk),
            }
            for case, fn in fns.items():
                sec = best_seconds(fn, repeats)
                print(f"{name + ': ' + case:<46} {n:>9} {n / sec:>12,.0f} {sec * 1e3:>9.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--no-peak", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--no-cases", action="store_true", help="skip part 2")
    parser.add_argument("--peak-child", nargs=3, metavar=("BACKEND", "N", "REUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_child:
        backend, n, reuse = args.peak_child
        peak_child(backend, int(n), bool(int(reuse)))
        return
    import torch

    torch.set_num_threads(args.threads)
    throughput(args.sizes, args.repeats, args.threads, not args.no_peak)
    if not args.no_cases:
        cases([n for n in args.sizes if n <= 1_000_000], args.repeats)


if __name__ == "__main__":
    main()
