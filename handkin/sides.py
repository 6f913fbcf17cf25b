"""Handedness per hand: parsing ``side=`` (one name, or an array of names broadcast over the batch), mirroring the
left hands of a mixed batch with one ``where``, and reading a hand's side from its 3D shape (``side="auto"`` and
the warning when a declared side contradicts the geometry).

Chirality shows only in 3D shape. Measured as a right hand, a right hand's fingers bend towards the palm and its
palm arches palmar; a left hand measured as a right one shows both mirrored. :func:`side_evidence` scores that
per hand, dimensionless, positive for a right hand, from one vectorised numpy pass over the joints:

* **bend**: the mean, over the PIP and DIP joints of the four fingers, of the signed bend angle (clipped to ±90°)
  between a bone and the next one about the finger's lateral axis (y = z × x of its first-level frame, :mod:`handkin.frames`),
  in units of :data:`BEND_SCALE_DEG` — positive when the fingers curl palmar (the sign of their flexion);
* **arch**: the palm curvature Σ c_i (Eq. 1) times the wrist→middle_mcp length — positive for a palm that arches
  palmar, 0 for a flat (e.g. synthetic) palm; capped at ±:data:`ARCH_CAP`.

``score = bend + arch``. ``|score| < AMBIGUOUS`` (a flat hand on a flat palm) cannot be told and keeps the
declared (or default) side. Measured on the shared real sets (STB, Quest, the MediaPipe video, InterHand, RHD):
every hand on the right side (docs/conventions.md, "Handedness").
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .anatomy import Side
from .backend import Array, is_torch, namespace, to_numpy, to_torch
from .errors import HandednessWarning, ShapeError, SideError

#: Degrees of mean PIP/DIP bend that count as one unit of evidence.
BEND_SCALE_DEG = 10.0
#: The arch's share of the score is capped at ±ARCH_CAP (its sign is robust, its size is noise-prone): the arch
#: alone never makes a hand clearly contradict its side (with 2, 11 % of flat template hands with 4 mm joint noise
#: did; with 1, 0.4 %, and every real shared hand is still read right).
ARCH_CAP = 1.0
#: Below this |score| a hand's side cannot be told (``side="auto"`` keeps the default there).
AMBIGUOUS = 0.5
#: A declared side is contradicted by a hand whose score, seen from the declared side, is below −CLEAR.
CLEAR = 2.0

_ROOT = (1, 5, 9, 13, 17)
_SAMPLE = 1024
_AUTO = "auto"


def parse(value: Any, batch_shape: tuple[int, ...]) -> Side | np.ndarray | str:
    """``side=`` as one :class:`Side`, ``"auto"``, or a per-hand array of ``"right"``/``"left"`` (shape
    ``batch_shape``) when the hands differ. Raises :class:`SideError` on an unknown name or a shape that does not
    broadcast over the batch."""
    if isinstance(value, str) and value.strip().lower() == _AUTO:
        return _AUTO
    if isinstance(value, (Side, str)):
        return _one(value)
    if is_torch(value):
        value = to_numpy(value)
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 0:
        return _one(arr.item())
    names = np.vectorize(lambda v: _one(v).value, otypes=[object])(arr) if arr.size else arr
    try:
        full = np.broadcast_to(np.asarray(names, dtype="<U5"), batch_shape)
    except ValueError:
        raise SideError(
            f"side has shape {arr.shape}, which does not broadcast over the batch shape {batch_shape}: give one "
            "side, or one per hand (e.g. ['right', 'left'] for joints (N, 2, 21, 3))."
        ) from None
    return normalize(full)


def _one(value: Any) -> Side:
    from .anatomy import side

    if isinstance(value, np.str_):
        value = str(value)
    return side(value)


def normalize(sides: np.ndarray) -> Side | np.ndarray:
    """A per-hand array of names as one :class:`Side` when all hands agree (or there are none), else the array."""
    sides = np.asarray(sides, dtype="<U5")
    if sides.size == 0:
        return Side.right
    first = sides.flat[0]
    if (sides == first).all():
        return Side(str(first))
    return np.ascontiguousarray(sides)


def full(side: Side | np.ndarray, batch_shape: tuple[int, ...]) -> np.ndarray:
    """The sides as an array of names ``batch_shape``."""
    if isinstance(side, np.ndarray):
        return side
    return np.full(batch_shape, side.value, dtype="<U5")


def left_mask(side: Side | np.ndarray) -> bool | np.ndarray:
    """``True`` (one side) or a bool array ``(...)`` where the hands are left hands."""
    if isinstance(side, np.ndarray):
        return side == Side.left.value
    return side == Side.left


def swapped(side: Side | np.ndarray) -> Side | np.ndarray:
    """Right ↔ left, per hand."""
    if isinstance(side, np.ndarray):
        return np.where(side == "left", "right", "left").astype("<U5")
    return Side.left if side == Side.right else Side.right


def describe(side: Side | np.ndarray) -> str:
    """``"right"``, ``"left"`` or ``"mixed (2 left, 4 right)"`` (for reprs and reports)."""
    if not isinstance(side, np.ndarray):
        return side.value
    n_left = int((side == "left").sum())
    return f"mixed ({n_left} left, {side.size - n_left} right)"


def mirror_where(a: Array, mask: bool | np.ndarray, component_axis: int = -1) -> Array:
    """``a`` with the x component (index 0 of ``component_axis``) negated where ``mask`` (bool, or bool ``(...)``
    = the leading axes of ``a``). One multiply; numpy or torch (differentiable, dtype and device kept)."""
    xp = namespace(a)
    if not isinstance(mask, np.ndarray):
        if not mask:
            return a
        mask = np.asarray(True)
    trailing = a.ndim - mask.ndim
    axis = component_axis % a.ndim
    e0 = np.zeros(a.shape[axis])
    e0[0] = 1.0
    e0 = e0.reshape((a.shape[axis],) + (1,) * (a.ndim - 1 - axis))
    factor = 1.0 - 2.0 * mask.reshape(mask.shape + (1,) * trailing) * e0
    if is_torch(a):
        return a * to_torch(factor, device=a.device, dtype=a.dtype)
    return a * xp.asarray(factor, dtype=a.dtype)


# ---------------------------------------------------------------------------------------------- geometry


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a × b`` over the last axis (np.cross is several times slower on small arrays)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def side_evidence(joints: Array) -> np.ndarray:
    """Per hand ``(...)``: the handedness score of canonical joints ``(..., 21, 3)`` seen as right hands — positive
    for a right hand, negative for a left one, near 0 when it cannot be told (module docs). numpy, float64."""
    j = np.asarray(to_numpy(joints), dtype=np.float64)
    batch = j.shape[:-2]
    j = j.reshape(-1, 21, 3)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = j[:, _ROOT] - j[:, :1]  # root bones (M, 5, 3)
        n = _unit(_cross(r[:, 1:], r[:, :-1]))  # n_i = norm(b_{i+1} × b_i), (M, 4, 3)
        # edge normals and curvature (Eq. 1), dimensionless by the reference bone
        e = np.concatenate([n[:, :1], _unit(n[:, 1:] + n[:, :-1]), n[:, 3:]], axis=1)
        db = r[:, 1:] - r[:, :-1]
        dd = np.einsum("mkc,mkc->mk", db, db)
        curv = np.einsum("mkc,mkc->mk", e[:, 1:] - e[:, :-1], db) / np.where(dd > 0, dd, np.inf)
        arch = curv.sum(axis=1) * np.linalg.norm(r[:, 2], axis=-1)
        # the four fingers' lateral axes y = z × x, x = −n_2, −(n_2 + n_3), −(n_3 + n_4), −n_4
        x = -_unit(np.stack([n[:, 1], n[:, 1] + n[:, 2], n[:, 2] + n[:, 3], n[:, 3]], axis=1))
        y = _unit(_cross(_unit(r[:, 1:]), x))  # (M, 4, 3)
        fingers = j[:, 5:].reshape(-1, 4, 4, 3)  # (M, finger, mcp..tip, 3)
        bones = np.diff(fingers, axis=2)  # mcp→pip, pip→dip, dip→tip
        a, b = bones[:, :, :-1], bones[:, :, 1:]  # (M, 4, 2, 3): bends at the PIP and the DIP
        bend = np.degrees(np.arctan2(np.einsum("mfkc,mfc->mfk", _cross(a, b), y), np.einsum("mfkc,mfkc->mfk", a, b)))
        bend = np.clip(bend, -90.0, 90.0).reshape(len(j), 8).mean(axis=1) / BEND_SCALE_DEG
        score = bend + np.clip(arch, -ARCH_CAP, ARCH_CAP)
    return np.nan_to_num(score, nan=0.0, posinf=0.0, neginf=0.0).reshape(batch)


def detect(joints: Array, default: Side | np.ndarray = Side.right) -> Side | np.ndarray:
    """Each hand's side from its geometry (:func:`side_evidence`); ambiguous hands keep ``default``."""
    score = side_evidence(joints)
    sides = full(default, score.shape)
    sides = np.where(score >= AMBIGUOUS, "right", np.where(score <= -AMBIGUOUS, "left", sides))
    return normalize(sides)


def contradicted(joints: Array, side: Side | np.ndarray) -> np.ndarray:
    """Flat indices of the hands whose geometry clearly contradicts ``side``, when they are at least half of the
    hands whose side is clear; else an empty array (a few odd frames of a tracked recording do not count)."""
    flat = np.asarray(to_numpy(joints)).reshape(-1, 21, 3)
    names = full(side, tuple(joints.shape[:-2])).reshape(-1)
    if len(flat) > _SAMPLE:  # a strided sample first: most large batches are fine, and cost ~_SAMPLE hands
        pick = np.linspace(0, len(flat) - 1, _SAMPLE).astype(np.int64)
        if contradicted(flat[pick], normalize(names[pick])).size == 0:
            return np.zeros(0, dtype=np.int64)
    score = side_evidence(flat)
    seen = np.where(names == "left", -score, score)
    against = np.flatnonzero(seen <= -CLEAR)
    clear = int((np.abs(seen) >= CLEAR).sum())
    if against.size == 0 or 2 * against.size < clear:
        return against[:0]
    return against


def warn_if_contradicted(joints: Array, side: Side | np.ndarray, what: str = "joints") -> None:
    """Warn (:class:`HandednessWarning`, once) when most hands whose side is clear look like the other side."""
    against = contradicted(joints, side)
    if against.size == 0:
        return
    batch = tuple(joints.shape[:-2])
    names = full(side, batch).reshape(-1)
    declared = normalize(names[against])
    other = "hands of the other side" if isinstance(declared, np.ndarray) else f"{swapped(declared).value} hands"
    if batch:
        index = ", ".join(str(tuple(int(i) for i in np.unravel_index(k, batch))) for k in against[:8])
        which = f"{against.size} of {int(np.prod(batch))} hands of the {what} (at {index}"
        which += f" and {against.size - 8} more)" if against.size > 8 else ")"
        which += f" are declared {describe(declared)} but look like {other}"
    else:
        which = f"the hand of the {what} is declared {describe(declared)} but looks like one of the {other}"
    warnings.warn(
        f"{which}: measured as declared, the fingers bend and the palm arches away from the palm, so every "
        "flexion sign comes out mirrored. Pass side='auto' to "
        "read each hand's side from its geometry, or the right side(s) (a name, or one per hand).",
        HandednessWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside handkin and pydantic (the user's call)."""
    import os
    import sys

    inside = (os.path.dirname(__file__) + os.sep, os.sep + "pydantic" + os.sep, os.sep + "pydantic_core" + os.sep)
    frame, level = sys._getframe(1), 1
    while frame is not None and any(p in frame.f_code.co_filename for p in inside):
        frame, level = frame.f_back, level + 1
    return level + 1


def resolve(joints: Array, side: Any, *, check: bool) -> Side | np.ndarray:
    """``side=`` of a batch of canonical joints: parsed, ``"auto"`` read from the geometry; with ``check``, a
    declared side that the geometry contradicts warns (:func:`warn_if_contradicted`)."""
    batch = tuple(joints.shape[:-2])
    parsed = parse(side, batch)
    if isinstance(parsed, str) and parsed == _AUTO:
        return detect(joints)
    if check:
        warn_if_contradicted(joints, parsed, what="HandSkeleton")
    return parsed


def require_uniform(side: Side | np.ndarray, what: str) -> Side:
    """The one side of ``side``; a per-hand mix raises :class:`ShapeError` naming ``what`` needs one side."""
    if isinstance(side, np.ndarray):
        raise ShapeError(f"{what} needs hands of one side, got {describe(side)}; select or mirror them first.")
    return side


__all__ = [
    "BEND_SCALE_DEG",
    "ARCH_CAP",
    "AMBIGUOUS",
    "CLEAR",
    "parse",
    "normalize",
    "full",
    "left_mask",
    "swapped",
    "describe",
    "mirror_where",
    "side_evidence",
    "detect",
    "contradicted",
    "warn_if_contradicted",
    "resolve",
    "require_uniform",
]
