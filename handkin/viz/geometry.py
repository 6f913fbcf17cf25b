"""Triangle geometry of hands (numpy only): joint spheres, bone tubes, a palm surface and frame arrows.

Every builder takes a batch of positions ``(T, ..., 3)`` and returns a :class:`Part` whose topology
(``faces``, ``element``) is the same for every item of the batch, so an animation only swaps vertices.
No element shares a vertex with another, so per-element colours are exact per-vertex colours.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..anatomy import BONE_PARENT_INDEX, NUM_JOINTS, ROOT_BONES

#: Default joint-sphere radius, as a fraction of the hand's reference length (wrist→middle_mcp).
JOINT_RADIUS = 0.08
#: Bone-tube radius, as a fraction of the joint-sphere radius.
BONE_RADIUS_RATIO = 0.55
#: Frame-arrow length, as a fraction of the reference length.
ARROW_LENGTH = 0.35

#: The palm's four fan triangles (wrist, root joint i, root joint i+1): one per palm pair of Eq. 1–3.
PALM_TRIANGLES = np.array([[0, int(a) + 1, int(b) + 1] for a, b in zip(ROOT_BONES[:-1], ROOT_BONES[1:], strict=True)])
_BONE_CHILD = np.arange(1, NUM_JOINTS)


class Part(NamedTuple):
    """Triangles of one kind of element (joints, bones, palm triangles or arrows) for a batch of hands."""

    vertices: np.ndarray
    """``(T, V, 3)`` positions, in the hand's units."""
    normals: np.ndarray
    """``(T, V, 3)`` unit outward normals."""
    faces: np.ndarray
    """``(F, 3)`` vertex indices, counter-clockwise seen from outside."""
    element: np.ndarray
    """``(V,)`` which element (joint, bone, palm pair or arrow) each vertex belongs to."""


def concatenate(parts: list[Part]) -> Part:
    """One part made of several (same batch size ``T``); element indices are kept as they are."""
    offsets = np.cumsum([0] + [p.vertices.shape[1] for p in parts[:-1]])
    return Part(
        np.concatenate([p.vertices for p in parts], axis=1),
        np.concatenate([p.normals for p in parts], axis=1),
        np.concatenate([p.faces + o for p, o in zip(parts, offsets, strict=True)], axis=0),
        np.concatenate([p.element for p in parts]),
    )


def unit_sphere(sections: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A UV sphere of radius 1: vertices ``(V, 3)`` (also its normals) and faces ``(F, 3)``.

    ``sections`` (a multiple of 4) points per ring; rings at the equator and on the axes make the
    sphere's bounding box exactly [-1, 1]³.
    """
    if sections < 4 or sections % 4:
        raise ValueError(f"sections must be a positive multiple of 4, got {sections}.")
    rings = sections // 2 - 1  # polar angles kπ/(rings+1), k = 1..rings: includes the equator
    polar = np.arange(1, rings + 1) * np.pi / (rings + 1)
    azimuth = np.arange(sections) * 2 * np.pi / sections
    ring = np.stack(
        [
            np.outer(np.sin(polar), np.cos(azimuth)),
            np.outer(np.sin(polar), np.sin(azimuth)),
            np.outer(np.cos(polar), np.ones(sections)),
        ],
        axis=-1,
    ).reshape(-1, 3)
    vertices = np.concatenate([[[0.0, 0.0, 1.0]], ring, [[0.0, 0.0, -1.0]]])
    top, bottom = 0, len(vertices) - 1
    k = np.arange(sections)
    k1 = (k + 1) % sections
    idx = 1 + np.arange(rings)[:, None] * sections  # first vertex of each ring
    faces = [np.stack([np.full(sections, top), 1 + k, 1 + k1], axis=1)]
    a, b = idx[:-1] + k, idx[:-1] + k1  # ring r
    c, d = idx[1:] + k, idx[1:] + k1  # ring r + 1 (further from the top)
    faces += [np.stack([a, c, d], -1).reshape(-1, 3), np.stack([a, d, b], -1).reshape(-1, 3)]
    last = idx[-1, 0]
    faces.append(np.stack([last + k, np.full(sections, bottom), last + k1], axis=1))
    return vertices, np.concatenate(faces).astype(np.int64)


def spheres(centres: np.ndarray, radius: float, sections: int = 16) -> Part:
    """A sphere of ``radius`` around each point of ``centres`` ``(T, N, 3)``; element = point index."""
    unit, faces = unit_sphere(sections)
    t, n = centres.shape[:2]
    vertices = centres[:, :, None, :] + radius * unit
    normals = np.broadcast_to(unit, vertices.shape)
    all_faces = (faces[None] + len(unit) * np.arange(n)[:, None, None]).reshape(-1, 3)
    return Part(vertices.reshape(t, -1, 3), normals.reshape(t, -1, 3), all_faces, np.repeat(np.arange(n), len(unit)))


def _perpendicular_basis(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors u, v ``(..., 3)`` with (u, v, w) right-handed, for unit ``w`` ``(..., 3)``."""
    helper = np.where(np.abs(w[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    u = np.cross(helper, w)
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    return u, np.cross(w, u)


def frustums(
    starts: np.ndarray, ends: np.ndarray, radius: float, end_radius: float | None = None, sections: int = 12
) -> Part:
    """Open tubes (or cones, with ``end_radius``) from ``starts`` to ``ends`` ``(T, N, 3)``; element = segment.

    A cone (``end_radius`` smaller than ``radius``) gets a disc closing its base. Zero-length segments
    give zero-area tubes.
    """
    end_radius = radius if end_radius is None else end_radius
    t, n = starts.shape[:2]
    axis = ends - starts
    length = np.linalg.norm(axis, axis=-1, keepdims=True)
    w = np.where(length > 0, axis / np.where(length > 0, length, 1.0), [0.0, 0.0, 1.0])
    u, v = _perpendicular_basis(w)
    phi = np.arange(sections) * 2 * np.pi / sections
    radial = np.cos(phi)[:, None] * u[:, :, None, :] + np.sin(phi)[:, None] * v[:, :, None, :]  # (T, N, S, 3)
    bottom = starts[:, :, None, :] + radius * radial
    top = ends[:, :, None, :] + end_radius * radial
    normal = length[..., None] * radial + (radius - end_radius) * w[:, :, None, :]
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-300)
    vertices, normals = [bottom, top], [normal, normal]
    k = np.arange(sections)
    k1 = (k + 1) % sections
    faces = [np.stack([k, k1, sections + k1], 1), np.stack([k, sections + k1, sections + k], 1)]
    per = 2 * sections
    if end_radius < radius:  # a cone: close its base with a disc (its own vertices, normal −w)
        cap_normal = np.broadcast_to(-w[:, :, None, :], (t, n, sections + 1, 3))
        vertices.append(np.concatenate([starts[:, :, None, :], bottom], axis=2))
        normals.append(cap_normal)
        centre = 2 * sections
        faces.append(np.stack([np.full(sections, centre), centre + 1 + k1, centre + 1 + k], 1))
        per += sections + 1
    vertices = np.concatenate(vertices, axis=2).reshape(t, -1, 3)
    normals = np.concatenate(normals, axis=2).reshape(t, -1, 3)
    one = np.concatenate(faces)
    all_faces = (one[None] + per * np.arange(n)[:, None, None]).reshape(-1, 3)
    return Part(vertices, normals, all_faces, np.repeat(np.arange(n), per))


def joint_spheres(joints: np.ndarray, radius: float, sections: int = 16) -> Part:
    """The 21 joint spheres of hands ``(T, 21, 3)``; element = joint index."""
    return spheres(joints, radius, sections)


def bone_tubes(joints: np.ndarray, radius: float, sections: int = 12) -> Part:
    """The 20 bone tubes of hands ``(T, 21, 3)``; element = bone index (:class:`~handkin.Bone` order)."""
    return frustums(joints[:, BONE_PARENT_INDEX], joints[:, _BONE_CHILD], radius, sections=sections)


def palm_surface(joints: np.ndarray, two_sided: bool = False) -> Part:
    """The palm as four triangles (wrist, root joint i, root joint i+1) of hands ``(T, 21, 3)``;
    element = palm pair (thumb_index … ring_little). ``two_sided`` adds back faces (for viewers that cull)."""
    t = joints.shape[0]
    corners = joints[:, PALM_TRIANGLES]  # (T, 4, 3, 3)
    n = np.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0])
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-300)
    vertices = corners.reshape(t, 12, 3)
    normals = np.repeat(n, 3, axis=1)
    faces = np.arange(12).reshape(4, 3)
    element = np.repeat(np.arange(4), 3)
    part = Part(vertices, normals, faces, element)
    if not two_sided:
        return part
    back = Part(vertices, -normals, faces[:, ::-1], element)
    return concatenate([part, back])


def frame_arrows(origins: np.ndarray, axes: np.ndarray, length: float, sections: int = 10) -> Part:
    """One arrow per origin ``(T, N, 3)`` along the unit ``axes`` ``(T, N, 3)``; element = arrow index."""
    shaft_end = origins + 0.72 * length * axes
    shaft_radius = 0.045 * length
    shafts = frustums(origins, shaft_end, shaft_radius, sections=sections)
    heads = frustums(shaft_end, origins + length * axes, 2.4 * shaft_radius, 0.0, sections=sections)
    return concatenate([shafts, heads])


__all__ = [
    "Part",
    "JOINT_RADIUS",
    "BONE_RADIUS_RATIO",
    "ARROW_LENGTH",
    "PALM_TRIANGLES",
    "concatenate",
    "unit_sphere",
    "spheres",
    "frustums",
    "joint_spheres",
    "bone_tubes",
    "palm_surface",
    "frame_arrows",
]
