"""Evaluation: the paper's scores of predicted hands (:func:`paper_scores`) and of a model on a loader
(:func:`evaluate_model`, the trainer's validation; :func:`evaluate_dataset` and :func:`scores_table` for
``handkin-train evaluate``), beside the score of a model that knows nothing about the image
(:func:`mean_pose_baseline`: always the training set's mean pose)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from handkin import metrics
from handkin.errors import ShapeError
from handkin.tables import format_table

from .errors import DatasetError
from .loader import EpochSampler, make_loader, to_device
from .runtime import Runtime


def paper_scores(
    pred_mm: np.ndarray,
    gt_mm: np.ndarray,
    K: np.ndarray | None = None,
    *,
    visible: np.ndarray | None = None,
    reflection: bool = True,
    thresholds: tuple[float, float, int] = metrics.PCK_THRESHOLDS_MM,
) -> dict[str, float]:
    """The numbers the paper reports, from predicted and true camera-space joints ``(N, 21, 3)`` mm:

    * ``uv_px`` — mean 2D error of the projections, pixels (needs ``K (N, 3, 3)``), Tab. 2's "2D";
    * ``z_mm`` — mean absolute depth error ``|Z − Ẑ|`` (needs ``K``), and ``z_rel_mm`` the same root-relative;
    * ``epe_mm`` / ``auc`` — unaligned 3D mean EPE and AUC of the PCK over ``thresholds`` (0–50 mm, 100 steps);
    * ``epe_root_mm`` / ``auc_root`` — root-relative (the ablations' "3D", §5.4);
    * ``epe_aligned_mm`` / ``auc_aligned`` — after Procrustes alignment (FreiHAND's "aligned"; its script allows
      reflections, hence ``reflection=True``).

    Means follow FreiHAND's evaluation (per keypoint over samples, then over keypoints);
    :func:`handkin.metrics.evaluate` does the work.
    """
    pred, gt = np.asarray(pred_mm, dtype=np.float64), np.asarray(gt_mm, dtype=np.float64)
    ev = metrics.evaluate(
        pred,
        gt,
        units="mm",
        alignments=("none", "root", "procrustes"),
        K=K,
        visible=visible,
        thresholds=thresholds,
        reflection=reflection,
    )
    out = {
        "epe_mm": ev["none"].epe_mean,
        "auc": ev["none"].auc,
        "epe_root_mm": ev["root"].epe_mean,
        "auc_root": ev["root"].auc,
        "epe_aligned_mm": ev["procrustes"].epe_mean,
        "auc_aligned": ev["procrustes"].auc,
    }
    if K is not None:
        vis = np.ones(pred.shape[:2], bool) if visible is None else np.asarray(visible, bool)
        rel = (pred[..., 2] - pred[..., :1, 2]) - (gt[..., 2] - gt[..., :1, 2])
        out = {"uv_px": ev.error_2d_px, "z_mm": ev.error_z_mm, "z_rel_mm": float(np.abs(rel)[vis].mean()), **out}
    return out


def root_relative_ref(joints_mm: np.ndarray, scale_mm: np.ndarray) -> np.ndarray:
    """Root-relative joints in reference-bone lengths: ``(joints − wrist) / scale``; ``(N, 21, 3)`` mm and
    ``(N,)`` mm (each hand's wrist→middle_mcp length) → ``(N, 21, 3)``."""
    joints, scale = np.asarray(joints_mm, dtype=np.float64), np.asarray(scale_mm, dtype=np.float64)
    return (joints - joints[:, :1]) / scale[:, None, None]


def mean_pose_baseline(mean_ref: np.ndarray, gt_mm: np.ndarray, scale_mm: np.ndarray) -> float:
    """Root-relative 3D EPE (mm) of always predicting ``mean_ref (21, 3)`` — the training set's mean
    root-relative pose in reference-bone lengths (:func:`root_relative_ref`, averaged over its 3D-labelled
    hands; a pose whose wrist row is not 0 is taken relative to it) — for the hands ``gt_mm (N, 21, 3)`` mm with
    bone lengths ``scale_mm (N,)`` mm.

    Scored as :func:`evaluate_model` scores the network (whose joints come in reference lengths): the mean
    pose is scaled by each hand's true bone length and scored by :func:`paper_scores`' ``epe_root_mm``
    (per keypoint over hands, then over keypoints). A model that learnt anything from the images beats it.
    """
    gt = np.asarray(gt_mm, dtype=np.float64)
    if gt.ndim != 3 or gt.shape[1:] != (21, 3) or len(gt) == 0:
        raise ShapeError(f"gt_mm must have shape (N >= 1, 21, 3), got {gt.shape}.")
    mean = np.asarray(mean_ref, dtype=np.float64)
    if mean.shape != (21, 3):
        raise ShapeError(f"mean_ref must have shape (21, 3), got {mean.shape}.")
    scale = np.asarray(scale_mm, dtype=np.float64).reshape(-1)
    if scale.shape != (len(gt),):
        raise ShapeError(f"scale_mm must have shape ({len(gt)},), one bone length per hand, got {scale.shape}.")
    pred = gt[:, :1] + mean[None] * scale[:, None, None]
    return float(metrics.evaluate(pred, gt, units="mm", alignments=("root",))["root"].epe_mean)


#: The 3D scores of :func:`evaluate_model` (NaN when no evaluated hand has 3D labels).
SCORES_3D = (
    "epe_mm",
    "auc",
    "epe_root_mm",
    "auc_root",
    "epe_aligned_mm",
    "auc_aligned",
    "z_mm",
    "z_rel_mm",
    "z_root_mm",
)
#: The keys of :func:`evaluate_model`'s result, in order.
SCORE_ORDER = (*SCORES_3D, "uv_px", "uv_px_all", "n", "n_3d")


@torch.no_grad()
def evaluate_model(
    model: nn.Module,
    loader: DataLoader,
    runtime: Runtime,
    channels_last: bool = False,
    *,
    mean_pose: np.ndarray | None = None,
) -> dict[str, float]:
    """The paper's scores (:func:`paper_scores`) of ``model`` on ``loader``'s hands.

    3D scores — ``z_mm``, ``z_rel_mm``, ``epe_mm``/``auc`` (unaligned), ``epe_root_mm``/``auc_root``,
    ``epe_aligned_mm``/``auc_aligned`` (Procrustes), ``z_root_mm`` — over the hands with 3D labels only
    (``has_3d``), the predicted joints scaled to mm by each hand's true reference-bone length; NaN when there
    are none. ``uv_px``: the 2D error over those same hands (paper_scores' projection error); ``uv_px_all``:
    the 2D error of the predicted keypoints over every hand with 2D labels (visible joints), the 2D-only ones
    included. ``n`` / ``n_3d``: the numbers of hands evaluated and of those with 3D labels.

    With ``mean_pose (21, 3)`` (the training set's mean root-relative pose in reference lengths) the result
    also holds ``baseline_epe_root_mm``: :func:`mean_pose_baseline` on the same hands, to set ``epe_root_mm``
    against (NaN without 3D-labelled hands).
    """
    model.eval()
    keep: dict[str, list[torch.Tensor]] = {k: [] for k in ("pred", "gt", "K", "scale", "z_root", "has_3d")}
    uv_sum, uv_count = 0.0, 0
    for batch in loader:
        b = to_device(batch, runtime.device, channels_last)
        with runtime.autocast():
            p = model(b["image"], b["K"])
        scale = b["scale"][:, None, None]
        keep["pred"].append((p.joints.float() * scale).double().cpu())
        keep["gt"].append(b["joints"].double().cpu())
        keep["K"].append(b["K"].double().cpu())
        keep["scale"].append(b["scale"].double().cpu())
        keep["z_root"].append(((p.z_root.float() - b["z_root"]) * b["scale"]).abs().double().cpu())
        keep["has_3d"].append(b["has_3d"].cpu())
        visible = b["uv_visible"] if "uv_visible" in b else torch.ones(p.uv.shape[:2], dtype=torch.bool)
        visible = visible.to(p.uv.device) & b["has_2d"].to(p.uv.device)[:, None]
        err = (p.uv.float() - b["uv"]).norm(dim=-1)
        uv_sum += float(err[visible].sum())
        uv_count += int(visible.sum())
    model.train()
    if not keep["pred"]:
        raise DatasetError("nothing to evaluate: the evaluation set is empty (give a data set with at least one hand).")
    arrays = {k: torch.cat(v).numpy() for k, v in keep.items()}
    has_3d = arrays["has_3d"].astype(bool)
    n, n3 = len(has_3d), int(has_3d.sum())
    if n3:
        scores = paper_scores(arrays["pred"][has_3d], arrays["gt"][has_3d], arrays["K"][has_3d])
        scores["z_root_mm"] = float(arrays["z_root"][has_3d].mean())
    else:
        scores = {"uv_px": math.nan, **dict.fromkeys(SCORES_3D, math.nan)}
    scores["uv_px_all"] = uv_sum / uv_count if uv_count else math.nan
    scores["n"], scores["n_3d"] = float(n), float(n3)
    out = {k: scores[k] for k in SCORE_ORDER}
    if mean_pose is not None:
        out["baseline_epe_root_mm"] = (
            mean_pose_baseline(mean_pose, arrays["gt"][has_3d], arrays["scale"][has_3d]) if n3 else math.nan
        )
    return out


def evaluate_dataset(
    model: nn.Module,
    data: Dataset,
    runtime: Runtime,
    batch_size: int,
    channels_last: bool = False,
    mean_pose: np.ndarray | None = None,
) -> dict[str, float]:
    """:func:`evaluate_model` over every hand of ``data`` in order, in batches of ``batch_size`` (this process
    only, no loader workers) — ``handkin-train evaluate``'s path, as the trainer's validation loader."""
    loader = make_loader(data, EpochSampler(len(data), 0, 0, 1, shuffle=False), batch_size, 0, runtime.device, False)
    return evaluate_model(model, loader, runtime, channels_last, mean_pose=mean_pose)


def coverage_note(n: int, n_3d: int) -> str:
    """Which hands :func:`evaluate_model`'s scores cover, in words (``n`` hands, ``n_3d`` with 3D labels)."""
    if n_3d == 0:
        return f"none of the {n} hands has 3D labels: the 3D scores (and uv_px) are not defined (n/a, NaN)"
    if n_3d < n:
        return f"3D scores (and uv_px) over the {n_3d} of {n} hands with 3D labels; uv_px_all over all with 2D labels"
    return f"{n} hands, all with 3D labels"


def _cell(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def scores_table(results: Mapping[str, Mapping[str, float]], markdown: bool = False, digits: int = 3) -> str:
    """:func:`evaluate_model` results (``{set name: scores}``) as a table (:func:`handkin.tables.format_table`),
    one row per set: ``data``, ``n``, ``n_3d``, then the scores of :data:`SCORE_ORDER` rounded to ``digits``
    (``_mm`` in mm, ``px`` in pixels, ``auc`` over 0–50 mm); an undefined (NaN) score reads ``n/a``."""
    keys = [k for k in SCORE_ORDER if k not in ("n", "n_3d")]
    if any("baseline_epe_root_mm" in s for s in results.values()):  # (when the checkpoint keeps its mean pose)
        keys.append("baseline_epe_root_mm")
    rows = [
        [name, int(s["n"]), int(s["n_3d"]), *(_cell(s.get(k, math.nan), digits) for k in keys)]
        for name, s in results.items()
    ]
    return format_table(["data", "n", "n_3d", *keys], rows, markdown)


__all__ = [
    "SCORES_3D",
    "SCORE_ORDER",
    "coverage_note",
    "evaluate_dataset",
    "evaluate_model",
    "mean_pose_baseline",
    "paper_scores",
    "root_relative_ref",
    "scores_table",
]
