"""Issue #11: the paper's weak-supervision effect (Tab. 2, 4, 5, 6) on a CPU, with a lifting network.

Run:    python benchmarks/weak_supervision.py            full run: 3 seeds × 10 rows (~10.5 min on 2 free cores)
        python benchmarks/weak_supervision.py --quick    smoke test: 1 seed, 60 small steps (< 1 min)
        python benchmarks/weak_supervision.py --diagnostics --seeds 1   + the oracle rows (see docs)

Everything but the image backbone is handkin_train's: a small MLP lifts noisy 2D keypoints (+ K) to the
2.5D pose, then :func:`handkin_train.model.lift_25d` (the head of ``HandPoseNet``: Ẑ_root by the quadratic,
the Eq. 8 refiner, joints with the clamped Ẑ_root) gives the 3D joints; the loss is
:class:`handkin_train.objective.Objective` (Eq. 10 with the has_2d / has_3d masks, handkin's BMCLoss), the
scores :func:`handkin.metrics.evaluate`. docs/weak_supervision.md has the setup, the results and the discussion.

* Domain A (3D labels): right hands posed by forward kinematics inside handkin's literature limits
  (:func:`~handkin_train.data.synthetic.sample_poses`) in front of random crop cameras
  (:func:`~handkin_train.data.synthetic.sample_cameras`: uniform 3D rotations, f 150–300 px, 128 px crops).
* Domain B (2D labels only): the real hand of ``../shared/data/mediapipe_video_sequence`` (621 frames) and
  the InterHand / RHD excerpt hands (left hands mirrored), rescaled to random hand sizes, seen by other
  cameras (palm — or back — towards the camera, tilt ≤ 70°, roll ±60°, f 350–700 px, off-centre principal
  point: farther, weaker perspective). The video is cut into 10 blocks; blocks 2, 5, 8 are held out with a
  10-frame gap on each side, and their 3D is used for the evaluation only. Without ../shared/data a
  synthetic stand-in is used (and said so).
* Network input: the 2D keypoints plus Gaussian "detection" noise (σ = ``--noise`` px, default 2), as rays
  K⁻¹(u, v, 1) relative to the wrist's and scaled to unit RMS size, plus the wrist ray and the log size.
  Output: the clean (u, v) — so the 2D column measures the network, not a pass-through — and 20 relative
  depths (the wrist's is 0).
* Columns, on B's held-out frames (joints × the true reference-bone length, as the paper evaluates with the
  ground-truth scale): 2D px (the network's u, v), Z mm (root-relative depth error |ΔZ|), 3D mm
  (root-relative EPE), AUC (root-relative PCK 0–50 mm), PA mm (EPE after Procrustes), Z_root mm (absolute
  error of the refined root depth), ΔZ (Z against the 3D_A + 2D_B row of the same seed); mean ± standard
  deviation over seeds.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

SHARED_DATA = Path(os.environ.get("HANDKIN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
IMAGE_SIZE = 128
PAPER_WEIGHTS = {"bone_length": 0.1, "root_bone": 0.1, "angle": 0.01}
NO_BMC = {"bone_length": 0.0, "root_bone": 0.0, "angle": 0.0}
#: The row every ΔZ is measured against.
BASELINE = "3D_A + 2D_B"


# ============================================================================================ configuration


@dataclass(frozen=True)
class Row:
    """One training configuration: one line of the table."""

    name: str
    table: str
    """The paper's table the row mirrors."""
    domain_b: str = "none"
    """``none`` (3D_A only), ``2d`` (B's 2D labels) or ``3d`` (B's 3D labels too: the upper bound)."""
    weights: dict[str, float] = field(default_factory=lambda: dict(NO_BMC))
    limits: str = "fit_b"
    """``fit_b``: fitted on B's training frames (the paper's "computed" limits come from the weakly labelled
    set's 3D); ``fit_a``: fitted on domain A (Tab. 6's "approximated"); ``default``: handkin's literature."""
    boxes: bool = False
    """Independent min/max boxes instead of the angle polygons (Tab. 5)."""
    bmc_root: str = "quadratic"
    """``LossConfig.bmc_root``: BMC scores joints built with the quadratic's Ẑ_root and its gradient
    (``quadratic``, handkin_train's default) or the prediction's joints with the detached refined Ẑ_root
    (``refined``, the head's joints; the previous default, which collapses under L_RB here)."""
    oracle: bool = False
    """Diagnostic, not a method: BMC scores B's samples only, on joints built from the *true* Ẑ_root and the
    predicted (u, v) detached, so it can act on the relative depths alone and never sees a wrong scale."""


@dataclass(frozen=True)
class Settings:
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 600
    batch: int = 128
    """Samples per domain per step (a 3D_A + 2D_B step sees 2 × batch)."""
    lr: float = 1e-3
    """Adam, cosine decay to 0."""
    width: int = 512
    blocks: int = 1
    """Residual blocks of two Linear–BN–ReLU layers after the input layer."""
    pool_a: int = 20000
    pool_b: int = 20000
    eval_b: int = 2000
    noise_px: float = 2.0
    uv_scale: float | None = None
    """``LossConfig.uv_scale``: 2D errors in units of this many pixels (``None``: the crop size, 128)."""
    jobs: int = 2
    a_views: str = "all"
    """Domain A's cameras: ``all`` (uniform rotations) or ``palm`` (only views of the palm side: the hands whose
    back faces the camera are turned 180° about the image's vertical axis through their centre)."""
    refine_root: bool = True
    refiner_batchnorm: bool = True


def rows(extra_weights: dict[str, float] | None = None, diagnostics: bool = False) -> list[Row]:
    """The table: the paper's ladder, Tab. 5 and 6 variants, the upper bound, the full BMC at
    ``extra_weights`` and (``diagnostics``) the oracle rows."""
    w = PAPER_WEIGHTS
    out = [
        Row("3D_A", "Tab. 2"),
        Row(BASELINE, "Tab. 2, 4", "2d"),
        Row("+ L_BL", "Tab. 4", "2d", {**NO_BMC, "bone_length": w["bone_length"]}),
        Row("+ L_RB", "Tab. 4", "2d", {**w, "angle": 0.0}),
        Row("+ L_A (full BMC)", "Tab. 2, 4", "2d", dict(w)),
        Row("full BMC, min/max boxes", "Tab. 5", "2d", dict(w), boxes=True),
        Row("full BMC, limits fitted on A", "Tab. 6", "2d", dict(w), limits="fit_a"),
        Row("full BMC, literature limits", "Tab. 6", "2d", dict(w), limits="default"),
        Row("3D_A + 3D_B (upper bound)", "Tab. 2, 4", "3d"),
        Row("full BMC, detached refined Ẑ_root", "design", "2d", dict(w), bmc_root="refined"),
    ]
    if extra_weights is not None and extra_weights != w:
        label = "/".join(f"{v:g}" for v in extra_weights.values())
        out.append(Row(f"full BMC, weights {label}", "weights", "2d", dict(extra_weights)))
    if diagnostics:
        out += [
            Row("oracle: BMC on B, true Ẑ_root, depth only", "diagnostic", "2d", dict(w), oracle=True),
            Row("oracle, literature limits", "diagnostic", "2d", dict(w), limits="default", oracle=True),
            Row("oracle, weights ×10", "diagnostic", "2d", {k: 10 * v for k, v in w.items()}, oracle=True),
        ]
    return out


# ============================================================================================ data


def _rotation(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: ``(n, 3, 3)`` rotations about unit ``axis (n, 3)`` by ``angle (n,)``."""
    x, y, z = axis.T
    c, s, t = np.cos(angle), np.sin(angle), 1 - np.cos(angle)
    return np.stack(
        [
            np.stack([t * x * x + c, t * x * y - s * z, t * x * z + s * y], -1),
            np.stack([t * x * y + s * z, t * y * y + c, t * y * z - s * x], -1),
            np.stack([t * x * z - s * y, t * y * z + s * x, t * z * z + c], -1),
        ],
        axis=1,
    )


def _palm_frame(joints: np.ndarray) -> np.ndarray:
    """``(n, 3, 3)`` rows: palm normal (out of the palm), finger direction (wrist → middle_mcp), their cross product."""
    up = joints[:, 9] - joints[:, 0]
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    across = joints[:, 5] - joints[:, 17]  # little → index: towards the thumb
    normal = np.cross(across, up)  # right hand: points out of the palm
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    side = np.cross(normal, up)  # a right-handed frame: mapping it onto another is a proper rotation
    return np.stack([normal, up, side], axis=1)


def place_b(joints: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Domain B's cameras for right hands ``(n, 21, 3)`` mm: ``(camera-space joints, K)``.

    The palm (or, for a third of the hands, the back of the hand) faces the camera with the fingers up, then
    a tilt of up to 70° about a random in-plane axis and a roll of ±60°; f 350–700 px on a 128 px crop, the
    principal point up to 12 px off-centre, the hand's 2D box 35–75 % of the crop at a random place in it.
    """
    n = len(joints)
    frame = _palm_frame(joints)  # hand → (normal, up, side)
    back = rng.random(n) < 1 / 3
    # palm view: normal → −z (towards the camera), up → −y (image up), side → the remaining axis
    target = np.zeros((n, 3, 3))
    target[:, 0] = np.where(back[:, None], [0, 0, 1.0], [0, 0, -1.0])
    target[:, 1] = [0, -1.0, 0]
    target[:, 2] = np.cross(target[:, 0], target[:, 1])
    base = np.einsum("nki,nkj->nij", target, frame)  # maps frame rows onto target rows
    phi = rng.uniform(0, 2 * np.pi, n)
    tilt_axis = np.stack([np.cos(phi), np.sin(phi), np.zeros(n)], -1)
    tilt = _rotation(tilt_axis, np.radians(70.0) * np.sqrt(rng.random(n)))
    roll = _rotation(np.tile([0, 0, 1.0], (n, 1)), np.radians(rng.uniform(-60, 60, n)))
    rot = roll @ tilt @ base
    assert np.all(np.linalg.det(rot) > 0.99), "a mirror would turn the right hands into left hands"
    centre = 0.5 * (joints.max(1) + joints.min(1))
    local = np.einsum("nij,nkj->nki", rot, joints - centre[:, None])
    f = rng.uniform(350.0, 700.0, n)
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = K[:, 1, 1] = f
    K[:, :2, 2] = (IMAGE_SIZE - 1) / 2 + rng.uniform(-12, 12, (n, 2))
    K[:, 2, 2] = 1
    span = rng.uniform(0.35, 0.75, n) * (IMAGE_SIZE - 1)
    extent = (local[..., :2].max(1) - local[..., :2].min(1)).max(1)
    depth = np.maximum(f * extent / span, 150.0 - local[..., 2].min(1))
    slack = np.maximum(IMAGE_SIZE - 1 - span, 0) / 2
    target_px = (IMAGE_SIZE - 1) / 2 + rng.uniform(-0.8, 0.8, (n, 2)) * slack[:, None]
    t = np.zeros((n, 3))
    t[:, 2] = depth
    t[:, :2] = (target_px - K[:, :2, 2]) * depth[:, None] / f[:, None]
    return local + t[:, None], K


def palm_side_views(joints: np.ndarray) -> np.ndarray:
    """Camera-space right hands ``(n, 21, 3)`` turned so that the palm faces the camera: hands whose palm normal
    points away (+z) are rotated 180° about the image's vertical axis through their box centre (x, z mirrored
    about it: a proper rotation, so they stay right hands, at the same place in the crop)."""
    away = _palm_frame(joints)[:, 0, 2] > 0
    centre = 0.5 * (joints.max(1) + joints.min(1))
    turned = joints.copy()
    turned[..., 0] = 2 * centre[:, None, 0] - joints[..., 0]
    turned[..., 2] = 2 * centre[:, None, 2] - joints[..., 2]
    return np.where(away[:, None, None], turned, joints)


@dataclass
class Domain:
    """Camera-space joints (mm), K and the 2.5D labels of one domain's samples."""

    joints: np.ndarray
    K: np.ndarray

    def __post_init__(self) -> None:
        from handkin import camera

        pose = camera.to_25d(self.joints, self.K)
        self.uv = np.asarray(pose.uv, np.float32)
        self.z_rel = np.asarray(pose.z_rel, np.float32)
        self.scale = np.asarray(pose.scale, np.float32)
        self.z_root = np.asarray(pose.z_root / pose.scale, np.float32)

    def __len__(self) -> int:
        return len(self.joints)


def load_b_hands() -> tuple[np.ndarray, np.ndarray, str]:
    """``(train hands, held-out hands, description)``, right hands in mm (hand frame arbitrary).

    The video's 621 frames are split into 10 blocks; blocks 2, 5, 8 are held out, and 10 frames on each side
    of a held-out block are dropped, so no training frame neighbours a test frame. The excerpt hands join
    the training pool. Without ``../shared/data`` a stand-in is made (see :func:`stand_in_b`).
    """
    path = SHARED_DATA / "mediapipe_video_sequence" / "sequence_mp21_mm.npz"
    if not path.is_file():
        return stand_in_b()
    video = np.load(path)["xyz_wrist_frame_mm"].astype(np.float64)
    n = len(video)
    block = np.arange(n) * 10 // n
    test = np.isin(block, (2, 5, 8))
    near = np.zeros(n, bool)
    for i in np.flatnonzero(test):
        near[max(i - 10, 0) : i + 11] = True
    train_idx = np.flatnonzero(~near)
    test_idx = np.flatnonzero(test)
    extra = []
    for name in ("interhand26m_excerpt", "rhd_excerpt"):
        p = SHARED_DATA / name / "excerpt_mp21_mm.npz"
        if p.is_file():
            d = np.load(p)
            xyz = d["xyz_cam_mm"].astype(np.float64)
            left = d["side"] == "left"
            xyz[left, :, 0] *= -1  # a mirror (x → −x) makes a left hand a right hand
            extra.append(xyz)
    train = np.concatenate([video[train_idx], *extra])
    text = (
        f"video frames: {len(train_idx)} train / {len(test_idx)} held out (blocks 2, 5, 8 of 10, ±10-frame gaps); "
        f"{sum(len(e) for e in extra)} excerpt hands in training"
    )
    return train, video[test_idx], text


def stand_in_b() -> tuple[np.ndarray, np.ndarray, str]:
    """Without the shared data: B = natural finger curls only (A mixes them with uniform poses), larger hands;
    hands 0–559 train, 600–799 held out."""
    from handkin import JointLimits
    from handkin_train.data.synthetic import SyntheticConfig, sample_poses

    rng = np.random.default_rng(12345)
    config = SyntheticConfig(natural_fraction=1.0, reference_mm=(80.0, 100.0))
    hands = sample_poses(800, JointLimits.default(units="ref"), rng, config)
    return hands[:560], hands[600:], "stand-in (no ../shared/data): 800 natural FK poses, last 200 held out"


def scale_hands(hands: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random hand sizes: wrist→middle_mcp uniform 70–100 mm (the shape is the frame's)."""
    ref = np.linalg.norm(hands[:, 9] - hands[:, 0], axis=-1)
    return hands * (rng.uniform(70.0, 100.0, len(hands)) / ref)[:, None, None]


@dataclass
class SeedData:
    a: Domain
    b: Domain


def make_seed_data(seed: int, settings: Settings, b_train: np.ndarray) -> SeedData:
    """Domain A and B's training pool for one seed."""
    from handkin import JointLimits
    from handkin_train.data.synthetic import SyntheticConfig, sample_cameras, sample_poses

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(11,)))
    config = SyntheticConfig(image_size=IMAGE_SIZE)
    hands = sample_poses(settings.pool_a, JointLimits.default(units="ref"), rng, config)
    joints, K = sample_cameras(hands, rng, config)
    if settings.a_views == "palm":
        joints = palm_side_views(joints)
    a = Domain(joints, K)
    pick = rng.integers(0, len(b_train), settings.pool_b)
    joints_b, K_b = place_b(scale_hands(b_train[pick], rng), rng)
    return SeedData(a, Domain(joints_b, K_b))


def make_eval_b(b_test: np.ndarray, n: int) -> Domain:
    """The held-out evaluation set: fixed for every seed and row."""
    rng = np.random.default_rng(2024)
    pick = np.arange(n) % len(b_test)
    joints, K = place_b(scale_hands(b_test[pick], rng), rng)
    return Domain(joints, K)


def fitted_limits(hands_mm: np.ndarray):
    """Limits in ``ref`` units fitted (min/max, 10-point polygons) on right hands in mm."""
    from handkin import HandSkeleton, JointLimits

    return JointLimits.fit(HandSkeleton(hands_mm, units="mm", side="right"), units="ref")


def as_boxes(limits):
    """The same limits with each angle polygon replaced by its min/max box (Tab. 5's "independent")."""
    from handkin.limits import AnglePolygon

    boxes = {}
    for name, polygon in limits.joint_angles.items():
        lo, hi = polygon.array.min(axis=0), polygon.array.max(axis=0)
        boxes[name] = AnglePolygon.box((lo[0], hi[0]), (lo[1], hi[1]))
    return limits.model_copy(update={"joint_angles": boxes})


# ============================================================================================ model


def lifting_net(width: int, blocks: int, refine_root: bool, refiner_batchnorm: bool):
    """The lifting network: noisy 2D keypoints + K → (u, v, z_rel) → :func:`handkin_train.model.lift_25d`.

    Input: the rays K⁻¹(u, v, 1) relative to the wrist's, divided by their RMS size (42), the wrist ray (2) and
    the log size (1). A Linear–BN–ReLU layer of ``width`` and ``blocks`` residual blocks; the head (starting
    near 0) corrects the rays (in units of the size) and gives the 20 non-wrist relative depths. The refiner
    is the paper's (Eq. 8, supplementary Tab. 6), as in ``HandPoseNet``.
    """
    import torch
    from torch import nn

    from handkin import camera
    from handkin_train.model import RootRefiner, lift_25d

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.Sequential(
                nn.Linear(width, width),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.Linear(width, width),
                nn.BatchNorm1d(width),
                nn.ReLU(),
            )

        def forward(self, x):
            return x + self.layers(x)

    class LiftingNet(nn.Module):
        IN = 21 * 2 + 2 + 1

        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(self.IN, width), nn.BatchNorm1d(width), nn.ReLU(), *[Block() for _ in range(blocks)]
            )
            self.head = nn.Linear(width, 21 * 2 + 20)
            nn.init.normal_(self.head.weight, std=1e-3)
            nn.init.zeros_(self.head.bias)
            self.refiner = RootRefiner(batchnorm=refiner_batchnorm) if refine_root else None

        def forward(self, uv_in, K):
            r = camera.rays(uv_in, K)[..., :2]
            rel = r - r[:, :1]
            size = rel.square().sum(-1).mean(-1).sqrt().clamp(min=1e-6)  # RMS distance from the wrist ray
            x = torch.cat([(rel / size[:, None, None]).flatten(1), r[:, 0], size.log()[:, None]], dim=1)
            out = self.head(self.body(x))
            rays = r + out[:, :42].view(-1, 21, 2) * size[:, None, None]  # corrected (denoised) rays
            uv = camera.project(torch.cat([rays, torch.ones_like(rays[..., :1])], dim=-1), K)
            z_rel = torch.cat([torch.zeros_like(out[:, :1]), out[:, 42:]], dim=1)  # the wrist's is 0
            return lift_25d(uv, z_rel, K, self.refiner)

    return LiftingNet()


# ============================================================================================ one run


def _tensors(d: Domain) -> dict[str, Any]:
    import torch

    return {
        "uv": torch.from_numpy(d.uv),
        "z_rel": torch.from_numpy(d.z_rel),
        "z_root": torch.from_numpy(d.z_root),
        "K": torch.from_numpy(d.K.astype(np.float32)),
    }


def train_and_evaluate(row: Row, seed: int, settings: Settings, data: SeedData, eval_b: Domain, limits) -> dict:
    """Train one row with one seed; its scores on B's held-out frames."""
    import torch

    from handkin import BMCLoss, camera
    from handkin_train.config import LossConfig
    from handkin_train.objective import Objective

    torch.set_num_threads(1 if settings.jobs > 1 else 2)
    t0 = time.perf_counter()
    torch.manual_seed(seed)  # the same initial network for every row of a seed
    model = lifting_net(settings.width, settings.blocks, settings.refine_root, settings.refiner_batchnorm)
    lim = as_boxes(limits[row.limits]) if row.boxes else limits[row.limits]
    weights = NO_BMC if row.oracle else row.weights
    config = LossConfig(**weights, uv_scale=settings.uv_scale, bmc_root=row.bmc_root)
    objective = Objective(config, limits=lim, image_size=IMAGE_SIZE)
    oracle_bmc = BMCLoss(lim, weights={**row.weights, "coupling": 0.0}) if row.oracle else None
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / settings.steps)))
    pools = [(_tensors(data.a), True)]
    if row.domain_b != "none":
        pools.append((_tensors(data.b), row.domain_b == "3d"))
    # one generator per domain: A's batches (and noise) are the same in every row of a seed
    gens = [torch.Generator().manual_seed(seed * 1000 + k) for k in range(len(pools))]
    model.train()
    for _ in range(settings.steps):
        parts = []
        for (pool, has_3d), g in zip(pools, gens, strict=True):
            idx = torch.randint(0, len(pool["uv"]), (settings.batch,), generator=g)
            part = {k: v[idx] for k, v in pool.items()}
            part["uv_in"] = part["uv"] + settings.noise_px * torch.randn(part["uv"].shape, generator=g)
            part["has_3d"] = torch.full((settings.batch,), has_3d)
            parts.append(part)
        batch = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        batch["has_2d"] = torch.ones(len(batch["uv"]), dtype=torch.bool)
        pred = model(batch["uv_in"], batch["K"])
        loss = objective(pred, batch).total
        if oracle_bmc is not None:
            b = slice(settings.batch, None)  # the B half
            joints = camera.from_25d(pred.uv[b].detach(), pred.z_rel[b], batch["K"][b], batch["z_root"][b])
            loss = loss + oracle_bmc(joints)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sched.step()
    return {"row": row.name, "seed": seed, **evaluate_b(model, eval_b, settings, limits["fit_b"]),
            "seconds": time.perf_counter() - t0}  # fmt: skip


def evaluate_b(model, eval_b: Domain, settings: Settings, limits_b) -> dict[str, Any]:
    """Scores of ``model`` on B's held-out frames (fixed input noise), in mm with the true hand sizes."""
    import torch

    from handkin import BMCLoss
    from handkin.metrics import evaluate, keypoint_errors

    model.eval()
    ev = _tensors(eval_b)
    noise = torch.randn(ev["uv"].shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        pred = model(ev["uv"] + settings.noise_px * noise, ev["K"])
        # how far the predictions break B's limits (unweighted terms, mean per hand; ref units)
        terms = BMCLoss(limits_b, reduction="mean", return_terms=True)(pred.joints.double())
    scale = eval_b.scale.astype(np.float64)
    joints = pred.joints.double().numpy() * scale[:, None, None]
    gt = eval_b.joints
    # 2D: the network's (u, v) (a joint that a wrong Ẑ_root puts behind the camera would have no projection)
    px2d = float(keypoint_errors(pred.uv.double().numpy(), eval_b.uv.astype(np.float64)).mean())
    rooted = joints - joints[:, :1] + gt[:, :1]  # the prediction moved onto the true root: root-relative errors
    rel = evaluate(rooted, gt, K=eval_b.K, alignments=("root", "procrustes"))
    z_root = pred.z_root.double().numpy() * scale
    z_quadratic = pred.z_root_computed.double().numpy() * scale
    return {
        "px2d": px2d,
        "z": rel.error_z_mm,
        "epe": rel["root"].epe_mean,
        "auc": rel["root"].auc,
        "pa": rel["procrustes"].epe_mean,
        "zroot": float(np.mean(np.abs(z_root - gt[:, 0, 2]))),
        "zroot_quadratic": float(np.mean(np.abs(z_quadratic - gt[:, 0, 2]))),
        "root_valid": float(pred.valid.double().mean()),
        "violation_b": {k: float(getattr(terms, k)) for k in ("bone_length", "root_bone", "angle")},
    }


_WORKER: dict[str, Any] = {}


def _init_worker(shared: dict[str, Any]) -> None:
    _WORKER.update(shared)


def _job(args: tuple[int, int]) -> dict:
    i, seed = args
    w = _WORKER
    return train_and_evaluate(w["rows"][i], seed, w["settings"], w["data"][seed], w["eval_b"], w["limits"])


# ============================================================================================ table


COLUMNS = [("px2d", "2D px", 2), ("z", "Z mm", 2), ("epe", "3D mm", 2), ("auc", "AUC", 3), ("pa", "PA mm", 2),
           ("zroot", "Z_root mm", 0), ("dz", "ΔZ", 0)]  # fmt: skip


def summarise(results: list[dict], table_rows: list[Row]) -> list[dict]:
    """Mean and standard deviation over seeds per row; ΔZ (%) against the baseline row of the same seed."""
    base = {r["seed"]: r["z"] for r in results if r["row"] == BASELINE}
    out = []
    for row in table_rows:
        runs = [r for r in results if r["row"] == row.name]
        for r in runs:
            r["dz"] = 100.0 * (r["z"] / base[r["seed"]] - 1.0) if r["seed"] in base else float("nan")
        entry: dict[str, Any] = {"row": row.name, "table": row.table, "n": len(runs)}
        for key, _, _ in COLUMNS:
            values = np.array([r[key] for r in runs], dtype=float)
            entry[key] = float(values.mean()) if len(values) else float("nan")
            entry[key + "_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out.append(entry)
    return out


def markdown(summary: list[dict]) -> str:
    lines = ["| row | paper | " + " | ".join(label for _, label, _ in COLUMNS) + " |"]
    lines.append("|---|---|" + "---:|" * len(COLUMNS))
    for e in summary:
        cells = []
        for key, _, digits in COLUMNS:
            if key == "dz" and (e["row"] == BASELINE or not math.isfinite(e[key])):
                cells.append("—")  # the baseline itself, or no baseline run to compare with
            elif key == "dz":
                cells.append(f"{round(e[key]) + 0:+d} % ± {e[key + '_sd']:.0f}")
            else:
                cells.append(f"{e[key]:.{digits}f} ± {e[key + '_sd']:.{digits}f}")
        lines.append(f"| {e['row']} | {e['table']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ============================================================================================ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="1 seed, 60 steps of 64 + 64, small pools (< 1 min)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3; --quick 1)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default 600)")
    p.add_argument("--batch", type=int, default=None, help="samples per domain per step (default 128)")
    p.add_argument("--noise", type=float, default=None, help="2D input noise σ in pixels (default 2)")
    p.add_argument("--uv-scale", type=float, default=None, help="LossConfig.uv_scale in px (default: 128)")
    p.add_argument("--no-refiner", action="store_true", help="Ẑ_root from the quadratic alone (no Eq. 8 MLP)")
    p.add_argument("--a-views", choices=("all", "palm"), default="all",
                   help="domain A's cameras: all views (default) or the palm side only (a view gap; see docs)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=2, help="parallel processes, 1 torch thread each (default 2)")
    p.add_argument("--weights", type=float, nargs=3, default=(0.01, 0.01, 0.001), metavar=("BL", "RB", "A"),
                   help="BMC weights of the extra full-BMC row (default 0.01 0.01 0.001: the paper's × 0.1)")  # fmt: skip
    p.add_argument("--diagnostics", action="store_true", help="add the oracle rows (see docs/weak_supervision.md)")
    p.add_argument("--only", default=None, help="comma-separated row numbers to run (0-based; default all)")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table and the command to this file")
    p.add_argument("--json", type=Path, default=None, help="also write every run's scores to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    base = Settings()
    if args.quick:
        base = replace(base, seeds=(0,), steps=60, batch=64, pool_a=2000, pool_b=2000, eval_b=400)
    settings = replace(
        base,
        seeds=tuple(range(args.seeds)) if args.seeds else base.seeds,
        steps=args.steps or base.steps,
        batch=args.batch or base.batch,
        noise_px=base.noise_px if args.noise is None else args.noise,
        uv_scale=args.uv_scale,
        refine_root=not args.no_refiner,
        a_views=args.a_views,
        jobs=max(1, args.jobs),
    )
    table_rows = rows(dict(zip(PAPER_WEIGHTS, args.weights, strict=True)), args.diagnostics)
    if args.only:
        table_rows = [table_rows[int(i)] for i in args.only.split(",")]
    t0 = time.perf_counter()
    b_train, b_test, b_text = load_b_hands()
    print(f"domain B: {b_text}", flush=True)
    data = {seed: make_seed_data(seed, settings, b_train) for seed in settings.seeds}
    eval_b = make_eval_b(b_test, settings.eval_b)

    from handkin import JointLimits

    limits = {
        "fit_b": fitted_limits(b_train),
        "fit_a": fitted_limits(data[settings.seeds[0]].a.joints[:5000]),
        "default": JointLimits.default(units="ref"),
    }
    jobs = [(i, seed) for seed in settings.seeds for i in range(len(table_rows))]
    print(f"data and limits ready ({time.perf_counter() - t0:.0f} s): {len(table_rows)} rows × {len(settings.seeds)} "
          f"seeds, {settings.steps} steps of {settings.batch} per domain, {settings.jobs} processes", flush=True)  # fmt: skip
    shared = {"rows": table_rows, "settings": settings, "data": data, "eval_b": eval_b, "limits": limits}
    results = []
    pool = None
    if settings.jobs == 1:
        _init_worker(shared)
        finished = map(_job, jobs)
    else:
        pool = mp.get_context("spawn").Pool(settings.jobs, initializer=_init_worker, initargs=(shared,))
        finished = pool.imap_unordered(_job, jobs)
    try:
        for k, r in enumerate(finished, 1):
            results.append(r)
            print(f"[{k:2d}/{len(jobs)}] seed {r['seed']}  {r['row']:<44} 2D {r['px2d']:5.2f} px  Z {r['z']:6.2f} mm  "
                  f"3D {r['epe']:6.2f} mm  AUC {r['auc']:.3f}  ({r['seconds']:.0f} s; {time.perf_counter() - t0:.0f} s "
                  "so far)", flush=True)  # fmt: skip
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    summary = summarise(results, table_rows)
    wall = time.perf_counter() - t0
    table = markdown(summary)
    command = " ".join(["python benchmarks/weak_supervision.py", *argv])
    print(f"\n{table}\n\n{command}: {wall:.0f} s wall time")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(f"`{command}` ({wall:.0f} s)\n\n{table}\n")
    if args.json is not None:
        import json

        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"command": command, "wall_seconds": wall, "settings": settings.__dict__, "domain_b": b_text,
                   "summary": summary, "runs": results}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return summary


if __name__ == "__main__":
    main()
