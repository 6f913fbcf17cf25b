"""Hands as one triangle mesh (trimesh): joint spheres, bone tubes, palm and frame arrows with per-vertex
colours, exported to GLB, PLY or OBJ."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import colors
from ._common import all_violations, hand_list, looks, radii, reference_length, require
from .geometry import ARROW_LENGTH, Part, bone_tubes, frame_arrows, joint_spheres, palm_surface

trimesh = require("trimesh", "handkin.viz.mesh")

#: File suffixes :func:`export_mesh` writes (all keep the vertex colours).
MESH_FORMATS = (".glb", ".ply", ".obj")


def _rgb(kind: str, part: Part, mode: str, colour: Any, found: Any, angle_max: float, length_max: float):
    """Per-vertex RGB ``(V, 3)`` of one part of one hand."""
    if mode == "fingers":
        return colors.part_colours(kind)[part.element]
    if mode == "violations":
        values = {"joints": found.joints, "bones": found.bones, "palm": found.palm}[kind][0]
        return colors.violation_rgb(values, length_max if kind == "bones" else angle_max)[part.element]
    return np.broadcast_to(colour, (len(part.element), 3))


def hand_mesh(
    hands: Any,
    *,
    color: Any = None,
    limits: Any = None,
    violation_max: tuple[float, float] | None = None,
    radius: Any = None,
    palm: bool = True,
    frames: bool = False,
    sections: int = 16,
    to_units: Any = None,
    units: Any = "mm",
    side: Any = "right",
) -> trimesh.Trimesh:
    """One mesh of every hand in ``hands`` (a ``HandSkeleton``, array ``(..., 21, 3)`` or a list of them).

    Spheres at the joints and tubes along the bones (capsule-like limbs), the palm as two-sided triangles,
    optionally the bone-frame arrows; vertex colours as in :func:`~handkin.viz.plot_hands` (``color``
    ``"fingers"`` — the default —, ``"violations"`` with ``limits``, or a colour; one, or one per hand). Vertices are in the hands' units,
    or ``to_units`` (e.g. ``"m"``, glTF's unit). ``sections``: points around each sphere (a multiple of 4).
    """
    skeletons = hand_list(hands, units, side)
    if to_units is not None:
        skeletons = [s.to_units(to_units) for s in skeletons]
    if color is None:
        color = "fingers" if limits is None else "violations"
    hand_looks = looks(len(skeletons), color, 1.0, limits)
    sizes = radii(skeletons, radius)
    ref = reference_length(skeletons)
    found, angle_max, length_max = all_violations(skeletons, hand_looks, limits, violation_max)
    pieces: list[tuple[Part, np.ndarray]] = []
    for sk, look, found_v, (r, bone_r) in zip(skeletons, hand_looks, found, sizes, strict=True):
        joints = np.asarray(sk.joints)
        parts = {
            "joints": joint_spheres(joints, r, sections),
            "bones": bone_tubes(joints, bone_r, max(6, 3 * sections // 4)),
        }
        if palm:
            parts["palm"] = palm_surface(joints, two_sided=True)
        for kind, part in parts.items():
            pieces.append((part, _rgb(kind, part, look.mode, look.colour, found_v, angle_max, length_max)))
        if frames:
            bone_frames = sk.measure().frames
            origins, matrices = np.asarray(bone_frames.origins), np.asarray(bone_frames.matrices)
            for k, name in enumerate("xyz"):
                part = frame_arrows(origins, matrices[..., :, k], ARROW_LENGTH * ref)
                pieces.append((part, np.broadcast_to(colors.rgb(colors.AXIS_COLOURS[name]), (len(part.element), 3))))
    offsets = np.cumsum([0] + [p.vertices.shape[1] for p, _ in pieces[:-1]])
    vertices = np.concatenate([p.vertices[0] for p, _ in pieces])
    normals = np.concatenate([p.normals[0] for p, _ in pieces])
    faces = np.concatenate([p.faces + o for (p, _), o in zip(pieces, offsets, strict=True)])
    rgba = np.concatenate([np.concatenate([c, np.ones((len(c), 1))], axis=1) for _, c in pieces])
    return trimesh.Trimesh(
        vertices=vertices,
        faces=faces,
        vertex_normals=normals,
        vertex_colors=np.round(255 * rgba).astype(np.uint8),
        process=False,
    )


def export_mesh(hands: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write :func:`hand_mesh` of ``hands`` (its keywords) to ``path``: GLB, PLY or OBJ by suffix; returns the path."""
    path = Path(path)
    if path.suffix.lower() not in MESH_FORMATS:
        raise ValueError(f"cannot write {path.name!r}: meshes are written as {', '.join(MESH_FORMATS)}.")
    mesh = hand_mesh(hands, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path)
    return path


__all__ = ["MESH_FORMATS", "hand_mesh", "export_mesh"]
