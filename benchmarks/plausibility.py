"""Issue 17: do joint limits accept real hands and reject impossible ones? A leave-one-source-out benchmark.

Run:    python benchmarks/plausibility.py                          default limits, every source held out in turn
        python benchmarks/plausibility.py --limits default,hand_bmc,fit
        python benchmarks/plausibility.py --builder mymodule:build  any Callable[[dict[str, RealSet]], JointLimits]
        python benchmarks/plausibility.py --no-holdout --limits fit  build on every real source, test on each
        python benchmarks/plausibility.py --max-per-source 500 --json out.json

The sources are :mod:`real_sets`' (``../shared/data``, or ``$HANDKIN_SHARED_DATA``). For each held-out source
the limits are built from the other *real* sources (a builder that ignores its data, such as ``default``, gets
them all the same; the synthetic RHD control is never used for building) and tested on the held-out hands and
on their impossible twins (:mod:`handkin.twins`, which keep bone lengths):

* **accept %** — real hands within every limit (:attr:`handkin.report.LimitReport.ok`);
* **depth flip %** — detected (not ok) twins with every joint's depth reflected about the wrist's along its ray
  (projection kept; camera-frame sets only, "—" otherwise);
* **finger flip %** — one random finger per hand reflected in depth about its MCP (thumb: CMC) along the rays of
  the camera (wrist-local sets: a virtual camera 500 mm away, :func:`handkin.twins.to_virtual_camera`);
* **bend −60° %** — one random angle joint per hand (the 14 MCP/PIP/DIP/IP joints, thumb included, not the thumb
  CMC) at −60° flexion;
* **twist ±40° %** — ±40° (random sign) added to the abduction at one random PIP/DIP/thumb-IP hinge;
* **AUROC** — of the BMC score (``limits.loss(skeleton, reduction="none").total``, higher = less plausible),
  real hands against all their twins pooled (ties count half);
* (``--json`` only) **<twin> (of accepted)** — the detection among the twins of the real hands that were accepted,
  i.e. not explained by a constraint the twin inherits from its original (bone lengths, palm);
* **rejected by** — the % of real hands outside at least one bone-length / palm (curvature or angle) /
  joint-angle (or coupling) limit, and the three constraints that reject most.

Every random choice is drawn from ``--seed`` and the source's name, so a row does not depend on which other rows
run. Each set is measured vectorised (one check and one loss over the real hands and their twins together).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_sets import RealSet, load_real_sets, shared_data  # noqa: E402

from handkin import HandSkeleton, JointLimits, limits_sources, twins  # noqa: E402
from handkin.anatomy import AngleJoint, Bone  # noqa: E402
from handkin.limits import PALM_PAIRS  # noqa: E402
from handkin.tables import format_table  # noqa: E402

Builder = Callable[[dict[str, RealSet]], JointLimits]

TWINS = ("depth flip", "finger flip", "bend -60", "twist ±40")
#: Angle joints bent back: every MCP/PIP/DIP and the thumb's MCP/IP (the thumb CMC is left out).
BEND_JOINTS = np.array([int(a) for a in AngleJoint if a != AngleJoint.thumb_cmc])
HINGES = np.array([int(a) for a in twins.HINGE_JOINTS])
VIRTUAL_DISTANCE_MM = 500.0


# ============================================================================================ builders


def _hands(train: dict[str, RealSet]) -> HandSkeleton:
    return HandSkeleton(joints=np.concatenate([s.joints_mm for s in train.values()]), units="mm")


def build_default(train: dict[str, RealSet]) -> JointLimits:
    """``JointLimits.default()`` (ignores the training data)."""
    return JointLimits.default()


def build_hand_bmc(train: dict[str, RealSet]) -> JointLimits:
    """Hand-BMC-pytorch's shipped limits (bones, palm; no angle polygons)."""
    return JointLimits.from_hand_bmc(shared_data() / "hand_bmc_reference_limits")


def build_fit(train: dict[str, RealSet]) -> JointLimits:
    """A reference: ``JointLimits.fit`` on the training hands in ``ref`` units, no margin, no percentiles."""
    return JointLimits.fit(_hands(train), units="ref")


def build_calibrated(train: dict[str, RealSet]) -> JointLimits:
    """``handkin.limits_sources.calibrated_limits({name: HandSkeleton in mm})``, when handkin has it."""
    return limits_sources.calibrated_limits({n: HandSkeleton(joints=s.joints_mm, units="mm") for n, s in train.items()})


BUILDERS: dict[str, Builder] = {
    "default": build_default,
    "hand_bmc": build_hand_bmc,
    "fit": build_fit,
    "calibrated": build_calibrated,
}


def available(name: str) -> str | None:
    """Why a built-in builder cannot run, or None."""
    if name == "calibrated" and not hasattr(limits_sources, "calibrated_limits"):
        return "not available (handkin.limits_sources.calibrated_limits does not exist yet)"
    if name == "hand_bmc" and not (shared_data() / "hand_bmc_reference_limits").exists():
        return "not available (no ../shared/data/hand_bmc_reference_limits)"
    return None


def load_builder(spec: str) -> Builder:
    """``module:function`` → the function (the module imported by name, or from a ``.py`` path)."""
    module_name, _, func = spec.partition(":")
    if not func:
        raise SystemExit(f"--builder needs module:function, got {spec!r}")
    if module_name.endswith(".py"):
        spec_obj = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
        module = importlib.util.module_from_spec(spec_obj)
        spec_obj.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    return getattr(module, func)


# ============================================================================================ twins and scores


def make_twins(s: RealSet, seed: int) -> dict[str, np.ndarray | None]:
    """The four kinds of twins of every hand of ``s`` (``None`` where a kind does not apply)."""
    rng = np.random.default_rng([seed, zlib.crc32(s.name.encode())])
    n = len(s)
    j = s.joints_mm
    camera = j if s.camera_frame else twins.to_virtual_camera(j, VIRTUAL_DISTANCE_MM, view=s.view)
    return {
        "depth flip": twins.depth_flip(j) if s.camera_frame else None,
        "finger flip": twins.finger_depth_flip(camera, rng.integers(0, 5, n)),
        "bend -60": twins.bend_back(j, rng.choice(BEND_JOINTS, n), -60.0),
        "twist ±40": twins.twist(j, rng.choice(HINGES, n), rng.choice([-40.0, 40.0], n)),
    }


def auroc(negative: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting half, from average ranks."""
    scores = np.concatenate([negative, positive])
    if len(negative) == 0 or len(positive) == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    _, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = start + (counts + 1) / 2.0  # 1-based average rank of each tie block
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(average, counts)
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[n_neg:].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _top_constraints(report, real: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` constraints outside which most real hands fall, with their rejection %."""
    tol = report.tolerance
    columns = (
        [("bone " + b.name, report.bone_lengths[real, b]) for b in Bone]
        + [(f"curvature {p}", report.palm_curvature[real, i]) for i, p in enumerate(PALM_PAIRS)]
        + [(f"palm angle {p}", report.palm_angles[real, i]) for i, p in enumerate(PALM_PAIRS)]
        + [("angle " + a.name, report.joint_angles[real, a]) for a in AngleJoint]
        + [("coupling " + c, report.couplings[real, i]) for i, c in enumerate(report.coupling_names)]
    )
    rates = [(name, 100.0 * float(np.mean(v > tol))) for name, v in columns]
    rates = [r for r in rates if r[1] > 0]
    return sorted(rates, key=lambda r: -r[1])[:k]


def score(limits: JointLimits, s: RealSet, twin_sets: dict[str, np.ndarray | None]) -> dict[str, Any]:
    """Acceptance, detection per twin kind, AUROC and the rejection breakdown of one held-out set."""
    n = len(s)
    kinds = [k for k in TWINS if twin_sets[k] is not None]
    joints = np.concatenate([s.joints_mm] + [twin_sets[k] for k in kinds])
    skeleton = HandSkeleton(joints=joints, units="mm")
    report = limits.check(skeleton)
    loss = np.asarray(limits.loss(skeleton, reduction="none").total)
    real = np.arange(n)
    tol = report.tolerance
    out: dict[str, Any] = {"n": n, "accept": 100.0 * float(report.ok[:n].mean())}
    for k in TWINS:
        out[k] = None
        if k in kinds:
            block = n * (1 + kinds.index(k))
            out[k] = 100.0 * float(1 - report.ok[block : block + n].mean())
            accepted = report.ok[:n]  # twins of accepted real hands: detection not explained by the original
            flagged = ~report.ok[block : block + n][accepted]
            out[k + " (of accepted)"] = 100.0 * float(flagged.mean()) if accepted.any() else None
    out["auroc"] = auroc(loss[:n], loss[n:])
    out["rejected_by"] = {
        "bones": 100.0 * float(np.mean((report.bone_lengths[real] > tol).any(-1))),
        "palm": 100.0
        * float(np.mean(((report.palm_curvature[real] > tol) | (report.palm_angles[real] > tol)).any(-1))),
        "angles": 100.0
        * float(
            np.mean(np.concatenate([report.joint_angles[real] > tol, report.couplings[real] > tol], axis=-1).any(-1))
        ),
    }
    out["top"] = _top_constraints(report, real)
    return out


# ============================================================================================ the benchmark


def subsample(s: RealSet, max_n: int | None) -> RealSet:
    """At most ``max_n`` hands, evenly spaced over the set (deterministic)."""
    if max_n is None or len(s) <= max_n:
        return s
    return s.subset(np.unique(np.linspace(0, len(s) - 1, max_n).round().astype(np.int64)))


def run(
    builder: Builder,
    sets: dict[str, RealSet],
    seed: int = 0,
    holdout: bool = True,
    twin_cache: dict[str, dict] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{source: scores}`` for every set, each held out from the builder's training data (unless not ``holdout``)."""
    real = {n: s for n, s in sets.items() if not s.synthetic}
    twin_cache = {} if twin_cache is None else twin_cache
    results = {}
    for name, s in sets.items():
        train = {n: t for n, t in real.items() if not holdout or n != name}
        limits = builder(train)
        if name not in twin_cache:
            twin_cache[name] = make_twins(s, seed)
        results[name] = score(limits, s, twin_cache[name])
    return results


# ============================================================================================ conventions

#: Keypoint-convention shifts (mm) of the ``--shifts`` table: how datasets differ in placing keypoints.
SHIFTS = {
    "wrist ±15 mm along the hand": ("wrist", 15.0),
    "MCPs ±6 mm off the palm": ("mcp", 6.0),
    "PIPs/DIPs ±6 mm off the palm": ("pipdip", 6.0),
    "thumb CMC ±12 mm off the palm": ("cmc", 12.0),
}
_SHIFTED = {"wrist": [0], "mcp": [5, 9, 13, 17], "pipdip": [6, 7, 10, 11, 14, 15, 18, 19], "cmc": [1]}


def shifted(joints: np.ndarray, what: str, mm: float) -> np.ndarray:
    """``joints (n, 21, 3)`` mm with one group of keypoints moved by ``mm``: the wrist along wrist→middle_mcp, the
    others along the palm normal (wrist, index_mcp, little_mcp)."""
    j = joints.copy()
    if what == "wrist":
        axis = j[:, 9] - j[:, 0]
        direction = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    else:
        normal = np.cross(j[:, 5] - j[:, 0], j[:, 17] - j[:, 0])
        direction = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
    j[:, _SHIFTED[what]] += mm * direction[:, None]
    return j


def mirror_congruent(joints: np.ndarray, tol_mm: float = 10.0) -> np.ndarray:
    """``(n,)`` True where a hand's mirror image is the same hand up to a rotation (RMS ≤ ``tol_mm`` after the
    best one, Kabsch): a flat hand. No rotation-invariant score can tell its depth-flip twin from it."""
    a = joints - joints.mean(axis=1, keepdims=True)
    b = a * np.array([-1.0, 1.0, 1.0])
    u, _, vt = np.linalg.svd(np.einsum("nki,nkj->nij", b, a))
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    u[:, :, -1] *= d[:, None]
    rotation = np.einsum("nij,njk->nik", u, vt)
    rms = np.sqrt(np.mean(np.sum((np.einsum("nki,nij->nkj", b, rotation) - a) ** 2, axis=-1), axis=-1))
    return rms <= tol_mm


def shift_scores(builder: Builder, sets: dict[str, RealSet], holdout: bool = True) -> dict[str, dict[str, float]]:
    """``{source: {shift: accept %}}``: the worse of the two signs of each :data:`SHIFTS` entry."""
    real = {n: s for n, s in sets.items() if not s.synthetic}
    out = {}
    for name, s in sets.items():
        limits = builder({n: t for n, t in real.items() if not holdout or n != name})
        row = {}
        for label, (what, mm) in SHIFTS.items():
            rates = []
            for sign in (-1.0, 1.0):
                hands = HandSkeleton(joints=shifted(s.joints_mm, what, sign * mm), units="mm")
                rates.append(100.0 * float(np.mean(limits.check(hands).ok)))
            row[label] = min(rates)
        out[name] = row
    return out


def shift_table(results: dict[str, dict[str, float]], markdown: bool = True) -> str:
    head = ["source", *[f"{k} %" for k in SHIFTS]]
    return format_table(head, [[n, *[_pct(r[k]) for k in SHIFTS]] for n, r in results.items()], markdown=markdown)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def table(results: dict[str, dict[str, Any]], sets: dict[str, RealSet], markdown: bool = True) -> str:
    """One row per source."""
    head = ["held out", "n", "accept %", *[f"{k} %" for k in TWINS], "AUROC", "rejected by bones / palm / angles %"]
    rows = []
    for name, r in results.items():
        label = name + (" (synthetic)" if sets[name].synthetic else "")
        rb = r["rejected_by"]
        rows.append(
            [
                label,
                r["n"],
                _pct(r["accept"]),
                *[_pct(r[k]) for k in TWINS],
                f"{r['auroc']:.3f}",
                f"{rb['bones']:.1f} / {rb['palm']:.1f} / {rb['angles']:.1f}",
            ]
        )
    return format_table(head, rows, markdown=markdown)


def breakdown(results: dict[str, dict[str, Any]]) -> str:
    """The three constraints that reject most real hands of each source."""
    lines = []
    for name, r in results.items():
        top = ", ".join(f"{c} {p:.1f}%" for c, p in r["top"]) or "none"
        lines.append(f"- {name}: {top}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--limits",
        default=None,
        help="comma list of built-in builders: " + ", ".join(BUILDERS) + " (default: default, unless --builder)",
    )
    p.add_argument("--builder", action="append", default=[], help="module:function (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-per-source", type=int, default=None, help="subsample each source (evenly spaced)")
    p.add_argument("--no-holdout", action="store_true", help="build the limits on every real source, held-out included")
    p.add_argument("--sources", default=None, help="comma list of sources (default: all present)")
    p.add_argument("--plain", action="store_true", help="plain-text table instead of Markdown")
    p.add_argument("--json", type=Path, default=None, help="write the numbers to this file")
    p.add_argument(
        "--shifts", action="store_true", help="also the acceptance under keypoint-convention shifts (SHIFTS)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print one table per builder; return (and with ``--json`` write) ``{builder: {source: scores}}``."""
    args = parse_args(argv)
    start = time.perf_counter()
    names = args.sources.split(",") if args.sources else None
    sets = {n: subsample(s, args.max_per_source) for n, s in load_real_sets(names=names).items()}
    if not sets:
        print(f"no real hand sets found under {shared_data()} (set HANDKIN_SHARED_DATA); nothing to score.")
        return {}
    builders: dict[str, Builder] = {}
    chosen = args.limits if args.limits is not None else ("" if args.builder else "default")
    for name in [n.strip() for n in chosen.split(",") if n.strip()]:
        if name not in BUILDERS:
            raise SystemExit(f"unknown --limits {name!r}; choose from {', '.join(BUILDERS)} or use --builder")
        why = available(name)
        if why:
            print(f"## {name}: {why} — skipped\n")
            continue
        builders[name] = BUILDERS[name]
    for spec in args.builder:
        builders[spec] = load_builder(spec)
    mode = "built on every real source" if args.no_holdout else "leave-one-source-out"
    print(f"Plausibility of real hands and their impossible twins ({mode}; seed {args.seed}; data {shared_data()})\n")
    twin_cache: dict[str, dict] = {}
    out: dict[str, Any] = {}
    for name, builder in builders.items():
        results = run(builder, sets, args.seed, holdout=not args.no_holdout, twin_cache=twin_cache)
        out[name] = results
        print(f"## limits: {name}\n")
        print(table(results, sets, markdown=not args.plain))
        print("\nMost rejecting constraints (real hands):")
        print(breakdown(results) + "\n")
        flat = {n: 100.0 * float(np.mean(mirror_congruent(s.joints_mm))) for n, s in sets.items() if s.camera_frame}
        print(
            "Near-flat hands (mirror image = the hand up to a rotation, RMS ≤ 10 mm; their depth flips are plausible hands): "
            + ", ".join(f"{n} {v:.1f}%" for n, v in flat.items())
            + "\n"
        )
        if args.shifts:
            shifts = shift_scores(builder, sets, holdout=not args.no_holdout)
            results_shifts = {n: {"shifts": shifts[n]} for n in shifts}
            for n in results:
                results[n].update(results_shifts[n])
            print("Acceptance under keypoint-convention shifts (the worse sign of each):\n")
            print(shift_table(shifts, markdown=not args.plain) + "\n")
    seconds = time.perf_counter() - start
    print(f"({sum(len(s) for s in sets.values())} real hands, {len(builders)} limit set(s), {seconds:.1f} s)")
    if args.json:
        payload = {
            "seed": args.seed,
            "holdout": not args.no_holdout,
            "max_per_source": args.max_per_source,
            "results": out,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=float))
    return out


if __name__ == "__main__":
    main()
