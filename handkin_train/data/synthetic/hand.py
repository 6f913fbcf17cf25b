"""The hand as drawable 3D primitives: tapered capsules for the finger bones, a rounded slab for the palm, an
optional forearm (:func:`hand_primitives`), with the part ids the renderer colours by.

Sizes are in reference lengths (× the hand's wrist→middle_mcp length), so every hand size gets the same
proportions. Camera frame and millimetres as in ``CONVENTIONS.md``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from handkin.anatomy import ANGLE_BONES, Bone, Finger, Joint

#: Radii of the joints (spheres) in reference lengths (× hand size), MP21 order.
JOINT_RADII_REF = np.array(
    [0.16, 0.16, 0.135, 0.12, 0.1]  # wrist, thumb cmc, mcp, ip, tip
    + [0.125, 0.112, 0.098, 0.088]  # index mcp, pip, dip, tip
    + [0.13, 0.116, 0.1, 0.09]  # middle
    + [0.122, 0.11, 0.095, 0.086]  # ring
    + [0.11, 0.098, 0.086, 0.078]  # little
)
#: Half thickness of the palm slab in reference lengths.
PALM_HALF_THICKNESS_REF = 0.14
#: Part ids of :func:`hand_primitives`: 0..19 the finger bones (:class:`~handkin.Bone` order; root bones unused),
#: then the back of the palm with its rim, the palm's inner face and the forearm.
PART_PALM, PART_PALM_INNER, PART_ARM = 20, 21, 22
NUM_PARTS = 23
_FINGER_BONES = np.array([int(b) for b in ANGLE_BONES])  # the 15 bones drawn as capsules
_TIP_BONES = np.array([int(Bone[f"{f.name}_tip"]) for f in Finger])


class HandPrimitives(NamedTuple):
    """Geometry of :func:`hand_primitives`, ready for :func:`.raster.rasterize` (camera frame, mm)."""

    capsules: np.ndarray
    """(B, 23, 2, 3): 15 finger bones, 7 palm-rim segments, the forearm."""
    radii: np.ndarray
    """(B, 23, 2)."""
    capsule_part: np.ndarray
    """(23,) part ids."""
    triangles: np.ndarray
    """(B, 14, 3, 3): the palm's back and inner faces, 7 triangles each (fans)."""
    vertex_normals: np.ndarray
    """(B, 14, 3, 3)."""
    triangle_part: np.ndarray
    """(14,) part ids."""


def unit(v: np.ndarray) -> np.ndarray:
    """``v (..., 3)`` scaled to unit length along the last axis (zero vectors stay zero)."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def hand_primitives(
    joints_cam: np.ndarray,
    thickness: Any = 1.0,
    arm_length: Any = 0.0,
    min_depth_mm: float = 10.0,
) -> HandPrimitives:
    """Capsules and triangles of right hands ``joints_cam (B, 21, 3)`` mm in the camera frame.

    Finger bones are tapered capsules between joint spheres (:data:`JOINT_RADII_REF` × hand size ×
    ``thickness``); the last one ends a little short of the tip so the rounded end reaches about the tip. The
    palm is a slab (half thickness :data:`PALM_HALF_THICKNESS_REF`) over the outline wrist (ulnar) → little,
    ring, middle, index MCP → thumb CMC → wrist (radial), with a rounded rim. A forearm of ``arm_length``
    reference lengths ((B,) or scalar; 0 = none) leaves the wrist opposite the middle finger's root bone, tilted
    (a bent wrist) so it rises at most 30° towards the camera and shortened so it stays ``min_depth_mm`` in front.
    """
    J = np.asarray(joints_cam, dtype=np.float64)
    B = len(J)
    size = np.linalg.norm(J[:, Joint.middle_mcp] - J[:, Joint.wrist], axis=-1)
    scale = size * np.broadcast_to(np.asarray(thickness, dtype=np.float64), (B,))
    radius = JOINT_RADII_REF[None] * scale[:, None]  # (B, 21)
    parent = np.array([int(Bone(b).parent) for b in _FINGER_BONES])
    child = _FINGER_BONES + 1
    start, end = J[:, parent], J[:, child].copy()
    tip = np.isin(_FINGER_BONES, _TIP_BONES)
    direction = unit(end[:, tip] - start[:, tip])
    end[:, tip] -= 0.7 * radius[:, child[tip], None] * direction
    caps = [np.stack([start, end], axis=2)]
    rad = [np.stack([radius[:, parent], radius[:, child]], axis=-1)]
    parts = [_FINGER_BONES]

    wrist = J[:, Joint.wrist]
    axis = unit(J[:, Joint.middle_mcp] - wrist)
    across = J[:, Joint.little_mcp] - J[:, Joint.index_mcp]
    across = unit(across - np.sum(across * axis, -1, keepdims=True) * axis)  # towards the little finger
    half = PALM_HALF_THICKNESS_REF * scale
    outline = np.stack(
        [
            wrist + (0.30 * size)[:, None] * across,
            J[:, Joint.little_mcp],
            J[:, Joint.ring_mcp],
            J[:, Joint.middle_mcp],
            J[:, Joint.index_mcp],
            J[:, Joint.thumb_cmc],
            wrist - (0.22 * size)[:, None] * across,
        ],
        axis=1,
    )  # (B, 7, 3), a loop
    nxt = np.roll(outline, -1, axis=1)
    caps.append(np.stack([outline, nxt], axis=2))
    rad.append(np.repeat(half[:, None, None], 7, axis=1).repeat(2, axis=2))
    parts.append(np.full(7, PART_PALM))

    # forearm: along the middle root bone backwards, but (a bent wrist) rising at most 30° towards the camera,
    # so that a camera right behind the arm does not see a disc instead of the hand
    direction = -axis
    lateral = np.linalg.norm(direction[:, :2], axis=-1, keepdims=True)
    flat = np.where(lateral > 1e-6, direction[:, :2] / np.maximum(lateral, 1e-6), np.array([0.0, 1.0]))
    rise = math.sin(math.radians(30.0))
    steep = direction[:, 2] < -rise
    direction[steep] = np.concatenate([flat[steep] * math.cos(math.radians(30.0)), np.full((steep.sum(), 1), -rise)], 1)
    length = np.broadcast_to(np.asarray(arm_length, dtype=np.float64), (B,)) * size
    approach = np.maximum(-direction[:, 2], 1e-9)  # the arm's Z falls by length · approach
    length = np.minimum(length, np.maximum(wrist[:, 2] - min_depth_mm, 0.0) / approach)
    arm_r = np.stack([0.2 * scale, (0.2 + 0.03 * length / np.maximum(size, 1e-9)) * scale], -1)
    arm_r = np.where((length > 0)[:, None], arm_r, 0.0)
    caps.append(np.stack([wrist, wrist + length[:, None] * direction], axis=1)[:, None])
    rad.append(arm_r[:, None])
    parts.append(np.array([PART_ARM]))

    # palm faces: fans from the outline's centroid, offset ± half thickness along the palm normal
    normal = unit(np.cross(J[:, Joint.index_mcp] - wrist, J[:, Joint.little_mcp] - wrist))  # palm side
    centre = outline.mean(axis=1, keepdims=True)
    outward = unit(outline - centre)
    triangles, normals = [], []
    for side in (-1.0, 1.0):  # back of the hand, then the palm's inner face
        offset = side * half[:, None, None] * normal[:, None]
        c = np.repeat(centre + offset, 7, axis=1)
        a, b = outline + offset, nxt + offset
        tri = np.stack([c, a, b], axis=2)  # (B, 7, 3, 3)
        face = np.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])
        flip = np.sum(face * normal[:, None], -1) * side < 0  # wind outwards (along side × normal)
        tri[flip] = tri[flip][:, [0, 2, 1]]
        vn_c = np.repeat((side * normal)[:, None], 7, axis=1)
        vn_a = unit(side * normal[:, None] + 0.15 * outward)  # nearly flat: the rim does the rounding
        vn_b = np.roll(vn_a, -1, axis=1)
        vn = np.stack([vn_c, vn_a, vn_b], axis=2)
        vn[flip] = vn[flip][:, [0, 2, 1]]
        triangles.append(tri)
        normals.append(vn)
    return HandPrimitives(
        capsules=np.concatenate(caps, axis=1),
        radii=np.concatenate(rad, axis=1),
        capsule_part=np.concatenate(parts),
        triangles=np.concatenate(triangles, axis=1),
        vertex_normals=np.concatenate(normals, axis=1),
        triangle_part=np.repeat([PART_PALM, PART_PALM_INNER], 7),
    )


__all__ = [
    "HandPrimitives",
    "hand_primitives",
    "JOINT_RADII_REF",
    "PALM_HALF_THICKNESS_REF",
    "PART_PALM",
    "PART_PALM_INNER",
    "PART_ARM",
    "NUM_PARTS",
    "unit",
]
