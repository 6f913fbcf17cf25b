"""Evaluation metrics as FreiHAND's evaluation defines them, plus the paper's 2D / depth split (Tab. 2).

* end-point error (EPE): the Euclidean distance per keypoint; the *mean* EPE is the mean over keypoints of
  each keypoint's mean over samples, the *median* EPE the mean over keypoints of each keypoint's median;
* PCK: per keypoint, the fraction of samples with error ``<=`` each threshold (100 thresholds from 0 to
  50 mm inclusive by default), averaged over keypoints; AUC: the trapezoid area under each keypoint's
  curve divided by the threshold range, averaged over keypoints;
* alignments before scoring: ``"none"``; ``"root"`` (both root-relative); ``"scale_translation"``
  (HO-3D: the prediction scaled to the ground truth's reference-bone length and moved onto its root);
  ``"procrustes"`` (similarity transform: scale, rotation, translation by least squares; proper rotations
  only unless ``reflection=True`` — FreiHAND's script allows reflections);
* the paper's split of 3D error: 2D error of the projections in pixels and depth error ``|Z − Ẑ|`` in mm.

The building blocks take numpy arrays or torch tensors with any leading batch shape; :func:`evaluate`
gathers them into an :class:`Evaluation` (host-side floats) that prints as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from . import anatomy
from .backend import Array, length_from_squared, namespace, to_numpy
from .camera import ROOT, check_intrinsics, project
from .errors import ShapeError
from .skeleton import HandSkeleton
from .tables import format_table
from .units import DEFAULT_REFERENCE_BONE, scale_factor
from .validation import HandkinModel

Alignment = Literal["none", "root", "scale_translation", "procrustes"]
ALIGNMENTS: tuple[str, ...] = ("none", "root", "scale_translation", "procrustes")

#: FreiHAND's PCK thresholds: 100 values from 0 to 50 mm inclusive.
PCK_THRESHOLDS_MM = (0.0, 50.0, 100)


def keypoint_errors(pred: Array, gt: Array) -> Array:
    """Euclidean distance per keypoint ``(..., K)`` of points ``(..., K, D)`` (D = 2 or 3)."""
    if tuple(pred.shape) != tuple(gt.shape):
        raise ShapeError(f"prediction {tuple(pred.shape)} and ground truth {tuple(gt.shape)} differ in shape.")
    xp = namespace(pred, gt)
    d = pred - gt
    return length_from_squared(xp.sum(d * d, axis=-1))


def pck_curve(errors: Array, thresholds: Array, visible: Array | None = None) -> Array:
    """Per-keypoint PCK ``(K, T)``: the fraction of samples (axis 0 of ``errors (N, K)``) with error ``<=``
    each threshold; only ``visible (N, K)`` entries count. A keypoint never visible has NaN."""
    xp = namespace(errors)
    vis = xp.ones_like(errors) if visible is None else xp.astype(visible, errors.dtype)
    hit = xp.astype(errors[..., None] <= thresholds, errors.dtype) * vis[..., None]  # (N, K, T)
    return xp.sum(hit, axis=0) / xp.sum(vis, axis=0)[:, None]


def auc(curve: Array, thresholds: Array) -> Array:
    """Trapezoid area under ``curve (..., T)`` over ``thresholds (T,)``, divided by their range (1 = perfect)."""
    steps = thresholds[1:] - thresholds[:-1]
    area = namespace(curve).sum((curve[..., 1:] + curve[..., :-1]) / 2 * steps, axis=-1)
    return area / (thresholds[-1] - thresholds[0])


class Procrustes(NamedTuple):
    """A similarity transform taking ``pred`` onto ``gt``: ``aligned = scale · pred · rotationᵀ + translation``."""

    aligned: Array
    """(..., K, 3) the transformed prediction."""
    rotation: Array
    """(..., 3, 3)."""
    scale: Array
    """(...)."""
    translation: Array
    """(..., 3)."""


def procrustes(pred: Array, gt: Array, scale: bool = True, reflection: bool = False) -> Procrustes:
    """The least-squares similarity transform of ``pred (..., K, 3)`` onto ``gt`` (Umeyama / Kabsch via SVD).

    ``reflection=False`` (the default) keeps a proper rotation (det = +1); ``True`` allows det = −1 as
    FreiHAND's evaluation does. ``scale=False`` fits rotation and translation only. Batched; meant for
    evaluation (SVD gradients are undefined for symmetric point sets).
    """
    if tuple(pred.shape) != tuple(gt.shape) or pred.shape[-1] != 3:
        raise ShapeError(
            f"procrustes needs two (..., K, 3) arrays of one shape, got {tuple(pred.shape)} and {tuple(gt.shape)}."
        )
    xp = namespace(pred, gt)
    mp, mg = xp.mean(pred, axis=-2, keepdims=True), xp.mean(gt, axis=-2, keepdims=True)
    p, g = pred - mp, gt - mg
    h = xp.matrix_transpose(p) @ g  # (..., 3, 3) Σ p_i g_iᵀ
    u, s, vt = xp.linalg.svd(h)
    v = xp.matrix_transpose(vt)
    ut = xp.matrix_transpose(u)
    ones = xp.ones_like(s[..., 0])
    if reflection:
        sign = ones
    else:
        det = xp.linalg.det(v @ ut)
        sign = xp.where(det < 0, -ones, ones)
    d = xp.stack([ones, ones, sign], axis=-1)  # diag(1, 1, ±1)
    rotation = (v * d[..., None, :]) @ ut
    if scale:
        norm_sq = xp.sum(p * p, axis=(-2, -1))
        tiny = float(xp.finfo(norm_sq.dtype).smallest_normal)
        factor = xp.sum(s * d, axis=-1) * (xp.astype(norm_sq > tiny, s.dtype) / xp.maximum(norm_sq, tiny))
    else:
        factor = ones
    rotated = p @ xp.matrix_transpose(rotation)
    aligned = factor[..., None, None] * rotated + mg
    translation = mg[..., 0, :] - factor[..., None] * (mp @ xp.matrix_transpose(rotation))[..., 0, :]
    return Procrustes(aligned, rotation, factor, translation)


def align(pred: Array, gt: Array, alignment: Alignment = "procrustes", reflection: bool = False) -> Array:
    """``pred (..., 21, 3)`` aligned to ``gt`` as ``alignment`` says; with ``"root"`` both are made root-relative,
    so compare the result with ``gt - gt[..., :1, :]`` (:func:`aligned_pair` returns both)."""
    return aligned_pair(pred, gt, alignment, reflection)[0]


def aligned_pair(
    pred: Array, gt: Array, alignment: Alignment = "procrustes", reflection: bool = False
) -> tuple[Array, Array]:
    """(aligned prediction, matching ground truth) for ``alignment`` (see the module docs)."""
    if tuple(pred.shape[-2:]) != (21, 3) or tuple(pred.shape) != tuple(gt.shape):
        raise ShapeError(
            f"alignment needs two (..., 21, 3) arrays of one shape, got {tuple(pred.shape)} and {tuple(gt.shape)}."
        )
    if alignment == "none":
        return pred, gt
    if alignment == "root":
        return pred - pred[..., ROOT : ROOT + 1, :], gt - gt[..., ROOT : ROOT + 1, :]
    if alignment == "scale_translation":
        xp = namespace(pred, gt)
        reference = anatomy.bone(DEFAULT_REFERENCE_BONE)
        child, parent = int(reference.child), int(reference.parent)
        lp = keypoint_errors(pred[..., child, :], pred[..., parent, :])
        lg = keypoint_errors(gt[..., child, :], gt[..., parent, :])
        tiny = float(xp.finfo(lp.dtype).smallest_normal)
        ratio = xp.where(
            lp > tiny, lg / xp.maximum(lp, tiny), xp.ones_like(lp)
        )  # a collapsed prediction keeps its scale
        rel = pred - pred[..., ROOT : ROOT + 1, :]
        return rel * ratio[..., None, None] + gt[..., ROOT : ROOT + 1, :], gt
    if alignment == "procrustes":
        return procrustes(pred, gt, scale=True, reflection=reflection).aligned, gt
    raise ValueError(f"unknown alignment {alignment!r}; use one of {', '.join(ALIGNMENTS)}.")


class Scores(HandkinModel):
    """Scores of one alignment: EPE and PCK/AUC as FreiHAND computes them (lengths in mm)."""

    alignment: str
    epe_mean: float
    epe_median: float
    auc: float
    per_keypoint: list[float]
    """Mean EPE of each of the 21 keypoints (NaN for a keypoint never visible)."""
    pck: list[float]
    """The PCK curve over :attr:`Evaluation.thresholds`, averaged over keypoints."""


class Evaluation(HandkinModel):
    """The result of :func:`evaluate`: one :class:`Scores` per alignment, and the 2D / depth split of the
    unaligned error when intrinsics were given. Print it for a table."""

    n_samples: int
    thresholds: list[float]
    """PCK thresholds, mm."""
    scores: dict[str, Scores]
    error_2d_px: float | None = None
    """Mean distance of the projected joints, pixels (needs ``K`` and camera-space joints)."""
    error_z_mm: float | None = None
    """Mean absolute camera-space depth error ``|Z − Ẑ|``, mm (needs ``K``: camera-space joints)."""

    def __getitem__(self, alignment: str) -> Scores:
        return self.scores[alignment]

    def table(self) -> str:
        lo, hi = self.thresholds[0], self.thresholds[-1]
        lines = [f"{self.n_samples} hands; PCK over {len(self.thresholds)} thresholds {lo:g}–{hi:g} mm"]
        rows = [[s.alignment, f"{s.epe_mean:.2f}", f"{s.epe_median:.2f}", f"{s.auc:.3f}"] for s in self.scores.values()]
        lines.append(format_table(["alignment", "mean EPE mm", "median mm", "AUC"], rows, markdown=False))
        if self.error_2d_px is not None:
            lines.append(f"2D error {self.error_2d_px:.2f} px")
        if self.error_z_mm is not None:
            lines.append(f"Z error  {self.error_z_mm:.2f} mm")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _mm(x: HandSkeleton | Array, units: str) -> np.ndarray:
    """Joints ``(N, 21, 3)`` in mm as float64 numpy."""
    if isinstance(x, HandSkeleton):
        joints, units = x.joints, x.units.value
    else:
        joints = x
    a = np.asarray(to_numpy(joints), dtype=np.float64)
    if a.shape[-2:] != (21, 3):
        raise ShapeError(f"joints must have shape (..., 21, 3), got {a.shape}.")
    return a.reshape(-1, 21, 3) * scale_factor(units, "mm")


def _scores(errors: np.ndarray, visible: np.ndarray, thresholds: np.ndarray, alignment: str) -> Scores:
    masked = np.where(visible, errors, np.nan)
    seen = visible.any(axis=0)
    with np.errstate(invalid="ignore"):
        per_keypoint = np.nanmean(np.where(seen, masked, 0.0), axis=0)
        medians = np.nanmedian(np.where(seen, masked, 0.0), axis=0)
    curve = pck_curve(errors, thresholds, visible)
    per_keypoint[~seen] = np.nan
    return Scores(
        alignment=alignment,
        epe_mean=float(per_keypoint[seen].mean()),
        epe_median=float(medians[seen].mean()),
        auc=float(auc(curve[seen], thresholds).mean()),
        per_keypoint=per_keypoint.tolist(),
        pck=curve[seen].mean(axis=0).tolist(),
    )


def evaluate(
    pred: HandSkeleton | Array,
    gt: HandSkeleton | Array,
    *,
    units: str = "mm",
    alignments: Sequence[Alignment] = ("none", "procrustes"),
    K: Array | None = None,
    visible: Array | None = None,
    thresholds: tuple[float, float, int] = PCK_THRESHOLDS_MM,
    reflection: bool = False,
) -> Evaluation:
    """Score predicted hands against ground truth, ``(N, 21, 3)`` each (or :class:`HandSkeleton`s, whose units
    are used; plain arrays are in ``units``), for each of ``alignments``.

    ``visible (N, 21)`` masks keypoints out of every score. Giving ``K`` (``(3, 3)`` or ``(N, 3, 3)``) says the
    joints are camera-space and adds the paper's split of the unaligned error into the 2D error of the
    projections (px) and the depth error ``|Z − Ẑ|`` (mm).
    ``thresholds = (start_mm, stop_mm, count)`` inclusive, e.g. ``(20, 50, 100)`` for Dexter+Object's AUC.
    """
    p, g = _mm(pred, units), _mm(gt, units)
    if p.shape != g.shape:
        raise ShapeError(f"prediction {p.shape} and ground truth {g.shape} hold different numbers of hands.")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(g))):
        raise ShapeError("evaluate() needs finite joints; mask missing keypoints with `visible` instead of NaN.")
    vis = np.ones(p.shape[:2], bool) if visible is None else np.asarray(to_numpy(visible), bool).reshape(p.shape[:2])
    t = np.linspace(*thresholds[:2], int(thresholds[2]))
    scores = {}
    for alignment in alignments:
        a, b = aligned_pair(p, g, alignment, reflection)
        scores[alignment] = _scores(keypoint_errors(a, b), vis, t, alignment)
    error_2d = error_z = None
    if K is not None:
        k = np.broadcast_to(np.asarray(to_numpy(K), dtype=np.float64), (p.shape[0], 3, 3))
        check_intrinsics(k)
        error_2d = float(keypoint_errors(project(p, k), project(g, k))[vis].mean())
        error_z = float(np.abs(p[..., 2] - g[..., 2])[vis].mean())
    return Evaluation(
        n_samples=p.shape[0], thresholds=t.tolist(), scores=scores, error_2d_px=error_2d, error_z_mm=error_z
    )


__all__ = [
    "ALIGNMENTS",
    "PCK_THRESHOLDS_MM",
    "Alignment",
    "Evaluation",
    "Procrustes",
    "Scores",
    "align",
    "aligned_pair",
    "auc",
    "evaluate",
    "keypoint_errors",
    "pck_curve",
    "procrustes",
]
