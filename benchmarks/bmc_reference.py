"""A plain, "Hand-BMC-style" torch implementation of the paper's BMC loss terms: the speed baseline of
benchmarks/bench_losses.py and an independent check of :func:`handkin.losses.bmc_terms` (tests/test_bmc_reference.py).

Written from the paper (Spurr et al., ECCV 2020, §3.1 Eq. 1–7, Eq. 9, supplementary Eq. 1–7) and handkin's
conventions (CONVENTIONS.md), the way a straightforward implementation would do it: batched over hands, but with
Python loops over bones, palm pairs, fingers, chain levels, joints and polygon edges, and no special care for
degenerate poses (collinear root bones, zero-length or backwards-pointing bones give NaN or inf). It shares no code
with handkin's loss internals; only the limit values come from :func:`handkin.bounds.limit_arrays`.

Input: right hands ``(B, 21, 3)`` in the limits' unit (for the default ``ref`` limits: normalised by the reference
bone wrist→middle_mcp). Output: :class:`Terms` per hand ``(B,)``, as ``bmc_terms(..., reduction="none")``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from handkin import JointLimits
from handkin.bounds import LimitArrays, limit_arrays
from handkin.losses import DEFAULT_WEIGHTS

PARENTS = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]
#: The four joints of each finger, base first (thumb_cmc..thumb_tip, index_mcp..index_tip, ...).
FINGERS = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]


class Terms(NamedTuple):
    """Per-hand loss terms ``(B,)``, named as :class:`handkin.losses.LossTerms`."""

    bone_length: torch.Tensor
    root_bone: torch.Tensor
    angle: torch.Tensor
    coupling: torch.Tensor
    total: torch.Tensor


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(dim=-1)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.cross(a, b, dim=-1)


def _interval(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """I(x; a, b) = max(a − x, 0) + max(x − b, 0) (a = −inf / b = +inf: unset)."""
    return torch.relu(lo - x) + torch.relu(x - hi)


def _rotate_minimally(u: torch.Tensor, z: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """R u with R = I + [v]× + [v]×² / (1 + c), v = z × d, c = z·d: the minimal rotation taking unit z onto unit d."""
    v = _cross(z, d)
    c = _dot(z, d)[:, None]
    vu = _cross(v, u)
    return u + vu + _cross(v, vu) / (1 + c)


def palm(joints: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """Normals n_1..n_4 (each (B, 3)), curvatures c_1..c_4 and angular distances φ_1..φ_4 (each (B,)) (Eq. 1–3)."""
    b = [joints[:, f[0]] - joints[:, 0] for f in FINGERS]  # root bones b_1..b_5
    n = [_unit(_cross(b[i + 1], b[i])) for i in range(4)]
    e = [n[0]] + [_unit(n[i] + n[i - 1]) for i in range(1, 4)] + [n[3]]
    curvature, angles = [], []
    for i in range(4):
        db = b[i + 1] - b[i]
        curvature.append(_dot(e[i + 1] - e[i], db) / _dot(db, db))
        angles.append(torch.atan2(torch.linalg.vector_norm(_cross(b[i], b[i + 1]), dim=-1), _dot(b[i], b[i + 1])))
    return n, curvature, angles


def joint_angles(joints: torch.Tensor, normals: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The 15 (flexion, abduction) pairs (each (B,)), finger-major, walking each finger's chain (Eq. 4–6)."""
    n = normals
    first_x = [-n[0], -n[1], -_unit(n[2] + n[1]), -_unit(n[3] + n[2]), -n[3]]  # Eq. 4, per finger
    out = []
    for finger, chain in enumerate(FINGERS):
        z = _unit(joints[:, chain[0]] - joints[:, 0])
        x = first_x[finger]
        y = _cross(z, x)
        for level in range(3):
            bone = joints[:, chain[level + 1]] - joints[:, chain[level]]
            bx, by, bz = _dot(bone, x), _dot(bone, y), _dot(bone, z)
            out.append((torch.atan2(bx, bz), torch.atan2(by, torch.hypot(bx, bz))))
            if level < 2:  # Eq. 6: the next frame is this one minimally rotated onto the bone
                d = _unit(bone)
                x, y, z = _rotate_minimally(x, z, d), _rotate_minimally(y, z, d), d
    return out


def angle_distance(flexion: torch.Tensor, abduction: torch.Tensor, polygon: torch.Tensor) -> torch.Tensor:
    """D_A (B,) of one joint's angles against its CCW convex polygon (N, 2) (supplementary Eq. 3–7): 0 inside or on
    it, else the minimum over edges of Σ_k |cos θ_k − cos p_k| + |sin θ_k − sin p_k|, p the clamped nearest point."""
    theta = torch.stack([flexion, abduction], dim=-1)  # (B, 2)
    n_edges = polygon.shape[0]
    per_edge, inside = [], torch.ones_like(flexion, dtype=torch.bool)
    for k in range(n_edges):
        start = polygon[k]
        edge = polygon[(k + 1) % n_edges] - start
        w = theta - start
        inside = inside & (edge[0] * w[:, 1] - edge[1] * w[:, 0] >= 0)  # left of (or on) the edge (Eq. 4)
        ee = _dot(edge, edge)
        t = torch.clamp(_dot(w, edge) / torch.where(ee > 0, ee, 1.0), 0.0, 1.0)  # Eq. 5 (0 on a padding edge)
        p = start + t[:, None] * edge
        d = (torch.cos(theta) - torch.cos(p)).abs() + (torch.sin(theta) - torch.sin(p)).abs()
        per_edge.append(d.sum(dim=-1))
    nearest = torch.stack(per_edge, dim=-1).min(dim=-1).values
    return torch.where(inside, torch.zeros_like(nearest), nearest)


class ReferenceBMC:
    """``ReferenceBMC(limits)(joints)`` → the mean weighted total over the batch; :meth:`terms` → per-hand terms.

    Couplings (beyond the paper) are not implemented: limits with couplings are refused.
    """

    def __init__(
        self,
        limits: JointLimits | None = None,
        weights: dict[str, float] | None = None,
        arrays: LimitArrays | None = None,
    ) -> None:
        """``arrays``: the limit values to use instead of ``limit_arrays(limits)`` (e.g. a BMCLoss's buffers)."""
        limits = JointLimits.default() if limits is None else limits
        arrays = limit_arrays(limits) if arrays is None else LimitArrays(*(np.asarray(a) for a in arrays))
        if arrays.couplings.shape[0] > 0:
            raise ValueError("the reference implements the paper's terms only: use limits without couplings")
        self.arrays = arrays
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self._tensors: dict[torch.dtype, dict[str, torch.Tensor]] = {}

    def _limits(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        if dtype not in self._tensors:
            self._tensors[dtype] = {k: torch.as_tensor(v, dtype=dtype) for k, v in self.arrays._asdict().items()}
        return self._tensors[dtype]

    def terms(self, joints: torch.Tensor) -> Terms:
        """Per-hand terms ``(B,)`` of right hands ``(B, 21, 3)`` in the limits' unit."""
        lim = self._limits(joints.dtype)
        bone = torch.zeros_like(joints[:, 0, 0])
        for k in range(20):  # L_BL: bone k is the bone of joint k + 1
            length = torch.linalg.vector_norm(joints[:, k + 1] - joints[:, PARENTS[k + 1]], dim=-1)
            bone = bone + _interval(length, lim["bones"][k, 0], lim["bones"][k, 1])
        bone = bone / 20
        normals, curvature, phi = palm(joints)
        root = torch.zeros_like(bone)
        for i in range(4):  # L_RB
            root = root + _interval(curvature[i], lim["curvature"][i, 0], lim["curvature"][i, 1])
            root = root + _interval(phi[i], lim["palm_angles"][i, 0], lim["palm_angles"][i, 1])
        root = root / 4
        angle = torch.zeros_like(bone)
        for j, (flexion, abduction) in enumerate(joint_angles(joints, normals)):  # L_A
            angle = angle + angle_distance(flexion, abduction, lim["polygons"][j])
        angle = angle / 15
        coupling = torch.zeros_like(bone)
        w = self.weights
        total = w["bone_length"] * bone + w["root_bone"] * root + w["angle"] * angle
        return Terms(bone, root, angle, coupling, total)

    def __call__(self, joints: torch.Tensor) -> torch.Tensor:
        return self.terms(joints).total.mean()
