"""BMC loss forward+backward: handkin's BMCLoss (eager, and torch.compile with --compile) against the plain
Hand-BMC-style reference of benchmarks/bmc_reference.py; then the numpy loss and constrain() throughput.

Run: python benchmarks/bench_losses.py [--compile] [--quick]

The torch rows are measured INTERLEAVED: every round runs each (threads, input, B, contender) cell once, in an order
rotated from round to round, and the table gives the median over rounds of each round's median (of ≤ --repeats
calls, fewer once 0.5 s is spent), in ms per forward+backward step (float32, mean reduction).

Inputs: the real hands of ../shared/data/rhd_excerpt (right hands, normalised by the reference bone, resampled with
replacement to B) as they are ("real": inside the default limits) and with N(0, 0.05) noise in reference-bone units
on every coordinate ("noisy": ~90 % of the hands violate a limit, ~12 % of the joint angles lie outside their
polygons); without the shared data, hands posed with random angles stand in. It also prints the ATen ops per step
(a TorchDispatchMode counting func.overloadpacket) of each eager contender at B=256.

Targets of the issue: loss fwd+bwd at B=256 ≤ 2 ms, constrain ≥ 10,000 poses/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

import handkin
from handkin import HandSkeleton, JointLimits, constrain
from handkin.tables import format_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bmc_reference import ReferenceBMC  # noqa: E402
from timing import interleaved_ms, median_ms  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: Noise (reference-bone units, per coordinate) of the "noisy" input.
NOISE_REF = 0.05
#: The batch size of the op counts.
COUNT_B = 256


def poses(n: int, rng) -> np.ndarray:
    """``n`` right hands posed with random angles, normalised by the reference bone ``(n, 21, 3)``."""
    angles = np.stack([rng.uniform(-0.8, 2.4, (n, 15)), rng.uniform(-0.8, 0.8, (n, 15))], axis=-1)
    return np.asarray(handkin.posed_hand(angles).normalized().joints)


def real_hands() -> np.ndarray | None:
    """The RHD excerpt's hands as right hands normalised by the reference bone ``(3, 21, 3)``, or None if absent."""
    path = Path(os.environ.get("HANDKIN_SHARED_DATA", REPO.parent / "shared" / "data")) / "rhd_excerpt"
    path = path / "excerpt_mp21_mm.npz"
    if not path.exists():
        return None
    d = np.load(path)
    hands = HandSkeleton(joints=d["xyz_cam_mm"], units="mm", side=d["side"]).as_right().normalized()
    return np.asarray(hands.joints)


def batches(b: int, hands: np.ndarray | None, rng) -> dict[str, np.ndarray]:
    """The "real" and "noisy" inputs ``(b, 21, 3)``: ``hands`` resampled with replacement (or posed hands)."""
    real = poses(b, rng) if hands is None else hands[rng.integers(0, len(hands), b)]
    return {"real": real, "noisy": real + rng.normal(scale=NOISE_REF, size=real.shape)}


def count_ops(loss, x) -> tuple[Counter, Counter]:
    """ATen ops (by overload packet) of one forward and of its backward of ``loss(x)``."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.ops: Counter = Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops[str(func.overloadpacket)] += 1
            return func(*args, **(kwargs or {}))

    x = x.detach().clone().requires_grad_(True)
    with Count() as forward:
        value = loss(x)
    with Count() as backward:
        value.backward()
    return forward.ops, backward.ops


def torch_rows(args, torch, hands, rng) -> None:
    """The interleaved timing table of the torch contenders, their op counts and the speed-ups."""
    from handkin import BMCLoss

    limits = JointLimits.default()
    module, reference = BMCLoss(limits), ReferenceBMC(limits)
    contenders = {"handkin eager": module, "reference eager": reference}
    sizes = (1, 256) if args.quick else (1, 256, 4096)
    data = {b: batches(b, hands, rng) for b in sorted({*sizes, COUNT_B})}
    tensors = {
        (b, kind): torch.tensor(x, dtype=torch.float32, requires_grad=True)
        for b in sizes
        for kind, x in data[b].items()
    }
    if args.compile:
        import torch._inductor.config as inductor_config

        inductor_config.cpp.dynamic_threads = True  # kernels follow torch.set_num_threads, not the compile-time count
        compiled = torch.compile(module, dynamic=False)
        torch.set_num_threads(max(args.threads))
        for b in sizes:
            t0 = time.perf_counter()
            compiled(tensors[b, "real"]).backward()
            print(f"torch.compile(BMCLoss, dynamic=False) at B={b}: compiled in {time.perf_counter() - t0:.1f} s")
        contenders = {"handkin eager": module, "handkin compiled": compiled, "reference eager": reference}

    def step(loss, x):
        def run():
            x.grad = None
            loss(x).backward()

        return run

    cells = {
        (threads, kind, b, name): step(loss, tensors[b, kind])
        for threads in args.threads
        for kind in ("real", "noisy")
        for b in sizes
        for name, loss in contenders.items()
    }
    terms = reference.terms(torch.tensor(data[max(sizes)]["noisy"], dtype=torch.float64))
    print(
        f"noisy input at B={max(sizes)}: {float((terms.total > 0).double().mean()):.0%} of the hands violate a limit "
        f"({float((terms.angle > 0).double().mean()):.0%} an angle polygon, {float((terms.root_bone > 0).double().mean()):.0%} "
        "the palm)"
    )
    warmup = 0 if args.quick else 1
    results = interleaved_ms(cells, args.rounds, args.repeats, warmup, before=lambda key: torch.set_num_threads(key[0]))
    head = ["threads", "input", "B", *(f"{n} ms" for n in contenders), "reference / handkin eager"]
    rows = []
    for threads in args.threads:
        for kind in ("real", "noisy"):
            for b in sizes:
                ms = {n: results[threads, kind, b, n] for n in contenders}
                cells_ = [f"{m:.2f} [{min(r):.2f}–{max(r):.2f}]" for m, r in ms.values()]
                ratio = ms["reference eager"][0] / ms["handkin eager"][0]
                rows.append([threads, kind, b, *cells_, f"{ratio:.1f}×"])
    print(
        f"\nforward+backward per step: median of {args.rounds} interleaved rounds [fastest–slowest round], each the "
        f"median of ≤ {args.repeats} calls (≤ 0.5 s) after {warmup} warm-up call in the first round"
    )
    print(format_table(head, rows))

    torch.set_num_threads(1)
    x = torch.tensor(data[COUNT_B]["noisy"], dtype=torch.float32)
    print(f"\nATen ops per step at B={COUNT_B} (noisy input; TorchDispatchMode over func.overloadpacket)")
    counts = {n: count_ops(contenders[n], x) for n in ("handkin eager", "reference eager")}
    count_rows = [
        [n, sum(f.values()), sum(b.values()), sum(f.values()) + sum(b.values())] for n, (f, b) in counts.items()
    ]
    print(format_table(["contender", "forward", "backward", "total"], count_rows))
    for name, (fwd, bwd) in counts.items():
        top = (fwd + bwd).most_common(6)
        print(f"  {name} most frequent: " + ", ".join(f"{op} {k}" for op, k in top))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed calls per cell and round, at most (fewer once 0.5 s is spent; their median is kept)",
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (the table gives their median)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(BMCLoss) (minutes to compile)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to interleave")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 rounds of 1 call (no warm-up), B=1 and 256 only"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.repeats = 2, 1
    rng = np.random.default_rng(0)
    limits = JointLimits.default()
    hands = real_hands()
    try:
        import torch
    except ImportError:
        torch = None
    source = (
        f"RHD excerpt ({len(hands)} hands, right, ref-normalised, resampled with replacement)"
        if hands is not None
        else "posed hands with random angles (shared data absent)"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"bench_losses: torch {torch.__version__ if torch else '(absent)'}, numpy {np.__version__}, "
        f"{os.cpu_count()} cores, load average {load}\n"
        f"torch threads {', '.join(map(str, args.threads))} (torch.set_num_threads, interleaved); float32; "
        f"limits JointLimits.default() (ref)\n"
        f"inputs: real = {source}; noisy = real + N(0, {NOISE_REF}) per coordinate"
    )
    threads_before = torch.get_num_threads() if torch else None
    try:
        if torch is not None:
            torch_rows(args, torch, hands, rng)
    finally:
        if torch is not None:
            torch.set_num_threads(threads_before)
    print()
    numpy_repeats = 3 if args.quick else 30
    for b in (256,) if args.quick else (256, 4096):
        j = poses(b, rng)
        ms = median_ms(lambda j=j: limits.loss(j), numpy_repeats)
        print(f"JointLimits.loss numpy float64 forward B={b:>5}: {ms:8.2f} ms")
    n = 1_000 if args.quick else 10_000
    for distort in (False, True):
        angles = np.stack([rng.uniform(-1.5, 2.5, (n, 15)), rng.uniform(-1.0, 1.0, (n, 15))], axis=-1)
        joints = np.asarray(handkin.posed_hand(angles).joints).copy()
        if distort:
            joints[:, [1, 5, 13, 17]] += rng.normal(scale=8.0, size=(n, 4, 3))
        skeletons = HandSkeleton(joints=joints, units="mm")
        ms = median_ms(lambda h=skeletons: constrain(h, limits), 1 if args.quick else 3, warmup=1)
        label = "palms distorted" if distort else "palms plausible"
        print(f"constrain, {n} implausible hands ({label}): {n / ms * 1e3:10,.0f} poses/s")


if __name__ == "__main__":
    main()
