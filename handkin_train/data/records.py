"""Hand records: what every dataset reader returns — one row per hand, in the original image — and their checks.

A row holds the hand's image path, its intrinsics ``K``, its 2D joints (pixels, with per-joint visibility), its
3D joints (camera frame, millimetres), its side and which labels exist. Joints are in canonical MP21 order and
OpenCV's camera frame (x right, y down, z forward) whatever the dataset's own order and frame; pixel centres
are at integer coordinates (pixel ``[row, col]`` is at ``(u, v) = (col, row)``). Left hands stay left here:
the crops of :mod:`.cache` mirror them into right hands.

Readers build their rows with :func:`build_records`, which checks them (shapes, finite values, intrinsics, 3D
joints in front of the camera, hand-sized, 2D agreeing with 3D) and raises a
:class:`~handkin_train.errors.DatasetError` naming the annotation file and the sample at fault.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from handkin import camera
from handkin.errors import CameraError
from handkin.handsize import DATASET_REFERENCE_MM
from handkin.orders import ORDER_MARGIN, _guess_order, get_order
from handkin.skeleton import HandSkeleton

from ..errors import DatasetError

NUM_JOINTS = 21

#: Plausible wrist→middle_mcp lengths of real hands, mm (catches metres read as millimetres and vice versa).
REFERENCE_RANGE_MM = DATASET_REFERENCE_MM
#: 2D joints (foreshortened bones) tell joint orders apart only over several hands: fewer are not checked.
MIN_HANDS_2D = 4


@dataclass
class HandRecords:
    """Hands read from a dataset: ``N`` rows, each one hand in one image (original image coordinates).

    All arrays have ``N`` rows; joints are MP21, 2D in pixels of the original image, 3D in the OpenCV camera
    frame in millimetres. Rows without a label hold zeros there (never NaN) and say so in ``has_2d`` /
    ``has_3d``.
    """

    name: str
    """Dataset name (``freihand``, ``rhd``, …) — provenance."""
    image: np.ndarray
    """(N,) str: image file paths."""
    K: np.ndarray
    """(N, 3, 3) float64 intrinsics, pixels."""
    uv: np.ndarray
    """(N, 21, 2) float64 2D joints, pixels of the original image."""
    uv_visible: np.ndarray
    """(N, 21) bool: the 2D joint is labelled (and, where a dataset says so, visible)."""
    joints: np.ndarray
    """(N, 21, 3) float64 3D joints, camera frame, mm."""
    left: np.ndarray
    """(N,) bool: a left hand."""
    has_2d: np.ndarray
    """(N,) bool."""
    has_3d: np.ndarray
    """(N,) bool."""
    bbox: np.ndarray
    """(N, 4) float64 hand box ``(x0, y0, x1, y1)`` in pixels: the labelled 2D joints' box, or the dataset's
    own box (or the whole image) for rows without 2D labels. Crops are centred on it."""
    group: np.ndarray
    """(N,) int64: rows sharing one annotation (FreiHAND's four colour versions of a sample) share a group;
    weak labelling and subsets pick whole groups."""
    key: np.ndarray
    """(N,) str: the sample's id inside its dataset (FreiHAND index, RHD id, HO-3D ``SEQ/frame``, …)."""
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    """Further per-row arrays a reader keeps (e.g. FreiHAND's ``scale_m``, the reference-bone length)."""

    def __post_init__(self) -> None:
        n = len(self.image)
        shapes = {
            "K": (n, 3, 3),
            "uv": (n, NUM_JOINTS, 2),
            "uv_visible": (n, NUM_JOINTS),
            "joints": (n, NUM_JOINTS, 3),
            "left": (n,),
            "has_2d": (n,),
            "has_3d": (n,),
            "bbox": (n, 4),
            "group": (n,),
            "key": (n,),
        }
        for name, shape in shapes.items():
            value = getattr(self, name)
            if tuple(value.shape) != shape:
                raise DatasetError(f"{self.name}: HandRecords.{name} has shape {value.shape}, expected {shape}.")
        for name, value in self.extra.items():
            if len(value) != n:
                raise DatasetError(f"{self.name}: HandRecords.extra[{name!r}] has {len(value)} rows, expected {n}.")

    def __len__(self) -> int:
        return len(self.image)

    def __repr__(self) -> str:
        n = len(self)
        return (
            f"HandRecords({self.name!r}: {n} hands, {int(self.left.sum())} left, {int(self.has_3d.sum())} with 3D, "
            f"{int(self.has_2d.sum())} with 2D, {len(np.unique(self.group)) if n else 0} groups)"
        )

    @property
    def side(self) -> np.ndarray:
        """(N,) str: ``"left"`` / ``"right"``."""
        return np.where(self.left, "left", "right")

    def select(self, index: Any) -> HandRecords:
        """The rows ``index`` (integer indices or a boolean mask), as new records."""
        idx = np.asarray(index)
        per_row = {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name not in ("name", "extra")}
        return HandRecords(name=self.name, extra={k: v[idx] for k, v in self.extra.items()}, **per_row)

    def with_2d_only(self, mask: Any) -> HandRecords:
        """A copy whose ``mask`` rows are 2D-only (``has_3d`` False)."""
        has_3d = self.has_3d.copy()
        has_3d[np.asarray(mask)] = False
        return replace(self, has_3d=has_3d)

    def skeleton(self, i: int) -> HandSkeleton:
        """Row ``i``'s 3D joints as a :class:`~handkin.HandSkeleton` (mm, its side); needs ``has_3d``."""
        if not self.has_3d[i]:
            raise DatasetError(f"{self.name}: sample {self.key[i]} has no 3D label.")
        return HandSkeleton(self.joints[i], units="mm", side=self.side[i])

    def skeletons(self, left: bool = False) -> HandSkeleton:
        """All rows of one side that have 3D labels as one batched :class:`~handkin.HandSkeleton` (mm)."""
        rows = self.has_3d & (self.left == left)
        return HandSkeleton(self.joints[rows], units="mm", side="left" if left else "right")

    def projection_error(self) -> np.ndarray:
        """(N,) largest distance, px, between the labelled 2D joints and the 3D joints projected with ``K``
        (rows without both labels: 0)."""
        both = self.has_2d & self.has_3d
        err = np.zeros(len(self))
        if both.any():
            proj = np.asarray(camera.project(self.joints[both], self.K[both]))
            d = np.linalg.norm(proj - self.uv[both], axis=-1)
            err[both] = np.where(self.uv_visible[both], d, 0.0).max(axis=-1)
        return err


def concat(records: Sequence[HandRecords], name: str | None = None) -> HandRecords:
    """Rows of several :class:`HandRecords` one after the other (groups renumbered so they stay apart)."""
    if not records:
        raise DatasetError("concat needs at least one set of records.")
    offset, groups = 0, []
    for r in records:
        groups.append(r.group + offset)
        offset += int(r.group.max()) + 1 if len(r) else 0
    keys = set.intersection(*(set(r.extra) for r in records))
    per_row = {
        f.name: np.concatenate([getattr(r, f.name) for r in records])
        for f in fields(HandRecords)
        if f.name not in ("name", "extra", "group")
    }
    return HandRecords(
        name=name or "+".join(r.name for r in records),
        group=np.concatenate(groups),
        extra={k: np.concatenate([r.extra[k] for r in records]) for k in keys},
        **per_row,
    )


def bbox_from_uv(uv: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(N, 4) box ``(x0, y0, x1, y1)`` of the visible 2D joints ``uv (N, 21, 2)`` (rows with none: zeros)."""
    vis = visible[..., None]
    big = np.finfo(np.float64).max
    lo = np.where(vis, uv, big).min(axis=1)
    hi = np.where(vis, uv, -big).max(axis=1)
    box = np.concatenate([lo, hi], axis=-1)
    return np.where(visible.any(axis=1)[:, None], box, 0.0)


def build_records(
    name: str,
    source: str | os.PathLike,
    image: Sequence[str],
    K: np.ndarray,
    *,
    joints_mm: np.ndarray | None = None,
    uv: np.ndarray | None = None,
    uv_visible: np.ndarray | None = None,
    left: np.ndarray | None = None,
    has_2d: np.ndarray | None = None,
    has_3d: np.ndarray | None = None,
    bbox: np.ndarray | None = None,
    group: np.ndarray | None = None,
    key: Sequence[str] | None = None,
    extra: dict[str, np.ndarray] | None = None,
    max_reprojection_px: float | None = None,
) -> HandRecords:
    """Validated :class:`HandRecords` from MP21 arrays; errors name ``source`` (the annotation file) and the sample.

    ``joints_mm (N, 21, 3)`` camera frame, mm (rows without 3D may hold anything; they become zeros);
    ``uv (N, 21, 2)`` pixels — projected from the 3D joints where not given; ``uv_visible (N, 21)`` (default:
    all labelled). ``has_3d`` / ``has_2d`` default to "given". ``bbox (N, 4)`` is used for rows without 2D.
    ``max_reprojection_px``: when both 2D and 3D are given, rows whose 2D labels lie further than this from
    the projected 3D joints are an error (a wrong frame, unit or K).
    """
    src = str(source)
    n = len(image)
    K = _as_float(K, (n, 3, 3), "K", src, key=key)
    if has_3d is None:
        has_3d = np.full(n, joints_mm is not None)
    has_3d = np.asarray(has_3d, dtype=bool).reshape(n).copy()
    if joints_mm is None:
        joints = np.zeros((n, NUM_JOINTS, 3))
    else:
        joints = _as_float(joints_mm, (n, NUM_JOINTS, 3), "3D joints", src, finite_rows=has_3d, key=key)
        joints = np.where(has_3d[:, None, None], joints, 0.0)
    _check_intrinsics(K, src, key)
    _check_3d(joints, has_3d, src, key)
    if uv is None:
        uv_arr = np.zeros((n, NUM_JOINTS, 2))
        if has_3d.any():
            uv_arr[has_3d] = np.asarray(camera.project(joints[has_3d], K[has_3d]))
        if has_2d is None:
            has_2d = has_3d.copy()
    else:
        if has_2d is None:
            has_2d = np.ones(n, dtype=bool)
        has_2d = np.asarray(has_2d, dtype=bool).reshape(n)
        uv_arr = _as_float(uv, (n, NUM_JOINTS, 2), "2D joints", src, finite_rows=has_2d, key=key)
    has_2d = np.asarray(has_2d, dtype=bool).reshape(n).copy()
    if uv_visible is None:
        vis = np.repeat(has_2d[:, None], NUM_JOINTS, axis=1)
    else:
        vis = np.asarray(uv_visible, dtype=bool).reshape(n, NUM_JOINTS) & has_2d[:, None]
    has_2d &= vis.any(axis=1)
    uv_arr = np.where(has_2d[:, None, None], uv_arr, 0.0)
    vis &= has_2d[:, None]
    if max_reprojection_px is not None and uv is not None:
        both = has_2d & has_3d
        if both.any():
            proj = np.asarray(camera.project(joints[both], K[both]))
            err = np.zeros(n)
            err[both] = np.where(vis[both], np.linalg.norm(proj - uv_arr[both], axis=-1), 0.0).max(axis=-1)
            _reject(
                err > max_reprojection_px,
                src,
                key,
                lambda i: (
                    f": its 2D joints lie {err[i]:.1f} px from its 3D joints projected with K (more than "
                    f"{max_reprojection_px:g} px): check the 3D frame (OpenCV: y down, z forward), the unit, the joint "
                    "order and K."
                ),
            )
    box = bbox_from_uv(uv_arr, vis)
    if bbox is not None:
        given = _as_float(bbox, (n, 4), "box", src, finite_rows=~has_2d, key=key)
        box = np.where(has_2d[:, None], box, given)
    degenerate = (box[:, 2] - box[:, 0] <= 0) & (box[:, 3] - box[:, 1] <= 0)
    _reject(degenerate, src, key, " has no hand box (fewer than two distinct labelled 2D joints and no box).")
    keys = np.asarray([str(k) for k in (key if key is not None else range(n))], dtype=str).reshape(n)
    return HandRecords(
        name=name,
        image=np.asarray([str(p) for p in image], dtype=str).reshape(n),
        K=K,
        uv=uv_arr,
        uv_visible=vis,
        joints=joints,
        left=np.zeros(n, bool) if left is None else np.asarray(left, dtype=bool).reshape(n).copy(),
        has_2d=has_2d,
        has_3d=has_3d,
        bbox=box,
        group=np.arange(n, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64).reshape(n),
        key=keys,
        extra=dict(extra or {}),
    )


def _sample(key: Sequence[str] | None, i: int) -> str:
    return repr(str(key[i])) if key is not None else str(i)


def _reject(bad: np.ndarray, src: str, key: Sequence[str] | None, problem: str | Callable[[int], str]) -> None:
    """Raise a :class:`DatasetError` naming ``src``, the first of the ``bad (N,)`` samples and how many there are
    (nothing when none is bad); ``problem`` follows the sample's name (a function of its index, or text)."""
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    i = int(rows[0])
    more = f" (and {rows.size - 1} more of the {bad.size} samples)" if rows.size > 1 else ""
    text = problem(i) if callable(problem) else problem
    raise DatasetError(f"{src}: sample {_sample(key, i)}{more}{text}")


def _as_float(
    value: Any,
    shape: tuple[int, ...],
    what: str,
    src: str,
    finite_rows: np.ndarray | None = None,
    key: Sequence[str] | None = None,
):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{src}: {what} are not numbers of shape {shape[1:]} per sample ({exc}).") from None
    if arr.shape != shape:
        raise DatasetError(f"{src}: {what} have shape {arr.shape}, expected {shape} (one {shape[1:]} per sample).")
    _check_finite(arr, finite_rows, src, key, what)
    return arr


def _check_finite(
    arr: np.ndarray, rows: np.ndarray | None, src: str, key: Sequence[str] | None, what: str, note: str = ""
) -> None:
    """Every row of ``arr (N, ...)`` among ``rows (N,)`` (default all) finite."""
    finite = np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    _reject(~finite if rows is None else rows & ~finite, src, key, f": {what} hold NaN or infinite values{note}.")


def _bad_intrinsics(K: np.ndarray) -> np.ndarray:
    """(N,) bool: ``K (N, 3, 3)`` is not a finite pinhole matrix with positive focal lengths and last row 0 0 1
    (the rule of :func:`handkin.camera.check_intrinsics`, per sample; such a K is invertible)."""
    finite = np.isfinite(K.reshape(len(K), -1)).all(axis=1)
    k = np.where(finite[:, None, None], K, 0.0)
    focal = (k[:, 0, 0] > 0) & (k[:, 1, 1] > 0)
    form = np.isclose(k[:, 2, :2], 0.0).all(axis=1) & np.isclose(k[:, 2, 2], 1.0) & np.isclose(k[:, 1, 0], 0.0)
    return ~(finite & focal & form)


def _check_intrinsics(K: np.ndarray, src: str, key: Sequence[str] | None) -> None:
    bad = _bad_intrinsics(K)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        try:
            camera.check_intrinsics(K[i])
            reason = "K is not a pinhole matrix"
        except CameraError as exc:
            reason = str(exc)
        _reject(bad, src, key, f": {reason}")


def _check_3d(joints: np.ndarray, has_3d: np.ndarray, src: str, key: Sequence[str] | None) -> None:
    """3D labels (``has_3d`` rows of ``joints (N, 21, 3)`` mm) in front of the camera and hand-sized."""
    if not has_3d.any():
        return
    behind = has_3d & (joints[..., 2] <= 0).any(axis=-1)
    _reject(
        behind,
        src,
        key,
        " has 3D joints at or behind the camera (Z <= 0): the frame is not OpenCV's (x right, y down, z forward).",
    )
    ref = np.linalg.norm(joints[:, 9] - joints[:, 0], axis=-1)
    lo, hi = REFERENCE_RANGE_MM
    _reject(
        has_3d & ((ref < lo) | (ref > hi)),
        src,
        key,
        lambda i: (
            f" has a wrist→middle_mcp bone of {ref[i]:.4g} mm, outside {lo:g}–{hi:g} mm for a hand: are the 3D "
            "joints in the stated unit and joint order?"
        ),
    )


def _check_order(
    points: np.ndarray, rows: np.ndarray, order: str, src: str, key: Sequence[str] | None, fix: str
) -> None:
    """The hands ``points[rows]`` (``(N, 21, C)``, in ``order``) have the bone lengths of that order (most of
    them: :func:`handkin.orders.guess_order`); 3D hands are enough from one on, 2D ones from
    :data:`MIN_HANDS_2D` on."""
    count = int(rows.sum())
    if count == 0 or (points.shape[-1] == 2 and count < MIN_HANDS_2D):
        return
    own = get_order(order).name
    best, misfit = _guess_order(points[rows], own, ORDER_MARGIN)
    if best == own:
        return
    bad = np.zeros(len(points), bool)
    bad[rows] = misfit[best] < misfit[own]
    _reject(
        bad,
        src,
        key,
        f": the joints have the bone lengths of joint order {best!r}, not of the declared {own!r}. "
        + fix.format(best=best),
    )


__all__ = [
    "NUM_JOINTS",
    "REFERENCE_RANGE_MM",
    "HandRecords",
    "bbox_from_uv",
    "build_records",
    "concat",
]
