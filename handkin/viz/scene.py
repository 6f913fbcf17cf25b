"""pyvista scenes of hands: joint spheres and bone tubes coloured per finger (or by limit violation), a palm
surface, bone-frame arrows, joint labels, overlays with a legend, camera presets, PNG screenshots.

Without a display (no ``DISPLAY`` on Linux) every plotter is created off-screen and VTK is pointed at
its EGL render window (when the installed VTK has one), so nothing needs to be configured.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import anatomy
from ..anatomy import Joint, Side
from ..errors import ShapeError
from ..skeleton import HandSkeleton
from . import colors
from ._common import (
    Look,
    all_violations,
    hand_list,
    has_display,
    looks,
    radii,
    reference_length,
    require,
)
from .geometry import ARROW_LENGTH, Part, bone_tubes, frame_arrows, joint_spheres, palm_surface

pv = require("pyvista", "handkin.viz.scene")

#: The camera presets of :func:`set_view`.
VIEWS = ("palm", "back", "side", "camera")

_AXIS_NAMES = {"x": "frame x (palmar)", "y": "frame y (radial)", "z": "frame z (along the bone)"}


def _prefer_egl() -> None:
    """Without an X display, ask VTK for its EGL render window up front (instead of trying X first)."""
    if not sys.platform.startswith("linux") or os.environ.get("DISPLAY"):
        return
    try:
        from vtkmodules import vtkRenderingOpenGL2
    except ImportError:  # pragma: no cover - every VTK wheel has it
        return
    if hasattr(vtkRenderingOpenGL2, "vtkEGLRenderWindow"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def new_plotter(window_size: Sequence[int] = (640, 480), off_screen: bool | None = None) -> pv.Plotter:
    """A white-background pyvista plotter; off-screen when ``off_screen`` is True, or None and there is no display."""
    if off_screen is None:
        off_screen = not has_display()
    if off_screen:
        _prefer_egl()
    plotter = pv.Plotter(
        off_screen=off_screen, window_size=[int(s) for s in window_size], theme=pv.themes.DocumentTheme()
    )
    plotter.enable_anti_aliasing("ssaa")
    return plotter


# ----------------------------------------------------------------------------------------------- camera
def hand_axes(joints: np.ndarray, side: Any = "right") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit (forward, radial, palmar) directions of one hand ``(21, 3)``: wrist→middle_mcp, towards the
    thumb side, and out of the palm."""
    j = np.asarray(joints, dtype=float)
    sign = -1.0 if Side(side) == Side.left else 1.0
    palmar = sign * np.cross(j[Joint.index_mcp] - j[0], j[Joint.little_mcp] - j[0])
    forward = j[Joint.middle_mcp] - j[0]
    radial = j[Joint.index_mcp] - j[Joint.little_mcp]
    if np.linalg.norm(palmar) == 0 or np.linalg.norm(forward) == 0:
        raise ShapeError("the palm is degenerate (wrist and root joints collinear): no palm/back/side view.")
    palmar /= np.linalg.norm(palmar)
    forward -= (forward @ palmar) * palmar
    forward /= np.linalg.norm(forward)
    radial -= (radial @ palmar) * palmar + (radial @ forward) * forward
    norm = np.linalg.norm(radial)
    radial = radial / norm if norm > 0 else sign * np.cross(forward, palmar)
    return forward, radial, palmar


def projection_matrix(K: np.ndarray, image_size: Sequence[int], near: float, far: float) -> np.ndarray:
    """The 4×4 OpenGL projection of a pinhole camera ``K`` (3×3, OpenCV: x right, y down, z forward; pixel
    centres at integers) for VTK's view coordinates, so that camera-space X lands on pixel K·X/Z."""
    K = np.asarray(K, dtype=float)
    if K.shape != (3, 3):
        raise ShapeError(f"K must be a 3x3 intrinsics matrix, got shape {K.shape}.")
    w, h = (float(s) for s in image_size)
    fx, s, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    return np.array(
        [
            [2 * fx / w, -2 * s / w, 1 - (2 * cx + 1) / w, 0.0],
            [0.0, 2 * fy / h, (2 * cy + 1) / h - 1, 0.0],
            [0.0, 0.0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )


def _apply_view(
    plotter: pv.Plotter,
    first: np.ndarray,
    side: Any,
    points: np.ndarray,
    margin: float,
    view: Any,
    K: Any,
    image_size: Sequence[int] | None,
    reserve: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Point the camera: ``first`` ``(21, 3)`` sets the direction, ``points`` ``(P, 3)`` ± ``margin`` must fit
    (for the presets: away from the strips ``reserve`` = (right, bottom) fractions of the picture)."""
    if not isinstance(view, str):  # a pyvista camera position
        plotter.camera_position = view
        return
    if view == "camera":
        if K is None or image_size is None:
            raise ValueError("view='camera' needs K= (3x3 intrinsics) and image_size=(width, height).")
        depth = points[:, 2]
        if depth.max() <= 0:
            raise ShapeError("view='camera': every joint is behind the camera (Z <= 0).")
        near = max(depth.min() - 2 * margin, 1e-3 * depth.max())
        far = depth.max() + 2 * margin
        plotter.camera_position = [(0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0)]
        camera = plotter.camera
        camera.SetExplicitProjectionTransformMatrix(
            pv.vtkmatrix_from_array(projection_matrix(K, image_size, near, far))
        )
        camera.SetUseExplicitProjectionTransformMatrix(True)
        return
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; use one of {', '.join(VIEWS)} or a pyvista camera position.")
    forward, radial, palmar = hand_axes(first, side)
    direction, up = {"palm": (palmar, forward), "back": (-palmar, forward), "side": (radial, -palmar)}[view]
    _fit(plotter, points, margin, direction, up, reserve)


def _fit(
    plotter: pv.Plotter,
    points: np.ndarray,
    margin: float,
    direction: np.ndarray,
    up: np.ndarray,
    reserve: tuple[float, float],
) -> None:
    """Place the camera on the side ``direction`` of ``points``, ``up`` upwards, just far enough that every
    point ± ``margin`` is in the picture (5 % border), clear of strips on the right and at the bottom of
    ``reserve`` = (fraction of the width, fraction of the height) (colour bars, legend)."""
    right = np.cross(up, direction)
    basis = np.stack([right, up, direction])  # rows: screen x, screen y, towards the camera
    local = points @ basis.T
    centre = (local.min(0) + local.max(0)) / 2
    width, height = plotter.window_size
    right_strip, bottom_strip = reserve
    full_v = np.tan(np.radians(plotter.camera.view_angle) / 2)
    full_h = full_v * width / height
    tan_v, tan_h = 0.95 * full_v * (1 - bottom_strip), 0.95 * full_h * (1 - right_strip)
    rel = local - centre
    distance = np.max(
        np.maximum((np.abs(rel[:, 0]) + margin) / tan_h, (np.abs(rel[:, 1]) + margin) / tan_v) + rel[:, 2] + margin
    )
    shift = np.array([right_strip * full_h, -bottom_strip * full_v, 0.0]) * distance
    focal = (centre + shift) @ basis  # the hand sits left of and above the reserved strips
    plotter.camera_position = [tuple(focal + distance * direction), tuple(focal), tuple(up)]
    plotter.reset_camera_clipping_range()


def set_view(
    plotter: pv.Plotter,
    hands: Any,
    view: Any = "palm",
    *,
    K: Any = None,
    image_size: Sequence[int] | None = None,
    units: Any = "mm",
    side: Any = "right",
) -> None:
    """Point ``plotter``'s camera at ``hands`` (as in :func:`plot_hands`).

    ``view``: ``"palm"`` (looking at the palm, fingers up), ``"back"`` (the back of the hand, fingers up),
    ``"side"`` (from the thumb side, back of the hand up) — all from the first hand, fitted to all hands —
    ``"camera"`` (a pinhole camera at the origin with intrinsics ``K`` and ``image_size`` (width, height);
    joints in camera coordinates, OpenCV frame) or a pyvista camera position.
    """
    sks = hand_list(hands, units, side)
    points = np.concatenate([np.asarray(s.joints).reshape(-1, 3) for s in sks])
    r = radii(sks)[0][0]
    _apply_view(plotter, np.asarray(sks[0].joints)[0], sks[0].side, points, r, view, K, image_size)


# ----------------------------------------------------------------------------------------------- drawing
class Drawing:
    """The actors of several hand batches ``(T, 21, 3)`` in a plotter; :meth:`update` shows item ``t``."""

    def __init__(
        self,
        plotter: pv.Plotter,
        skeletons: list[HandSkeleton],
        *,
        labels: Sequence[str] | None = None,
        color: Any = None,
        opacity: Any = None,
        limits: Any = None,
        violation_max: tuple[float, float] | None = None,
        palm: bool = True,
        frames: bool = False,
        joint_labels: bool | Sequence[str] = False,
        radius: Any = None,
    ) -> None:
        self.plotter = plotter
        self.skeletons = skeletons
        self.looks = looks(len(skeletons), color, opacity, limits)
        sizes = radii(skeletons, radius)
        self.radius = max(r for r, _ in sizes)
        ref = reference_length(skeletons)
        self.arrow_length = ARROW_LENGTH * ref if frames else 0.0
        found, angle_max, length_max = all_violations(skeletons, self.looks, limits, violation_max)
        self._meshes: list[tuple[Any, Part, np.ndarray | None]] = []
        for sk, look, found_v, (r, bone_r) in zip(skeletons, self.looks, found, sizes, strict=True):
            joints = np.asarray(sk.joints)
            parts = {"joints": joint_spheres(joints, r, 24), "bones": bone_tubes(joints, bone_r, 16)}
            if palm:
                parts["palm"] = palm_surface(joints)
            for kind, part in parts.items():
                self._add_part(kind, part, look, found_v, angle_max, length_max)
            if frames:
                self._add_frames(sk)
        self._add_legend(labels)
        self._labels = joint_labels
        self._label_joints(0)

    def _add_part(self, kind: str, part: Part, look: Look, found: Any, angle_max: float, length_max: float) -> None:
        opacity = look.opacity * ((0.3 if look.mode == "uniform" else 0.8) if kind == "palm" else 1.0)
        mesh = pv.PolyData.from_regular_faces(part.vertices[0], part.faces)
        mesh.point_data.active_normals = part.normals[0]
        kwargs: dict[str, Any] = {"opacity": opacity, "ambient": 0.25, "diffuse": 0.8, "specular": 0.15}
        values = None
        if look.mode == "violations":
            per_element = {"joints": found.joints, "bones": found.bones, "palm": found.palm}[kind]
            values = per_element[:, part.element]  # (T, V)
            if kind == "bones":
                title, vmax = f"bone length\nover limit ({found.length_unit})", length_max
            else:
                title, vmax = "angle over\nlimit (deg)", angle_max
            mesh.point_data["violation"] = values[0]
            bar = {"title": title, "vertical": True, "position_x": 0.84, "width": 0.07, "height": 0.34}
            bar["position_y"] = 0.06 if kind == "bones" else 0.54
            bar.update(n_labels=3, fmt="%.3g", title_font_size=12, label_font_size=11)
            kwargs.update(scalars="violation", cmap=colors.violation_cmap(), clim=(0.0, vmax), scalar_bar_args=bar)
        elif look.mode == "fingers":
            mesh.point_data["rgb"] = np.round(255 * colors.part_colours(kind)[part.element]).astype(np.uint8)
            kwargs.update(scalars="rgb", rgb=True)
        else:
            kwargs.update(color=look.colour)
        self.plotter.add_mesh(mesh, **kwargs)
        self._meshes.append((mesh, part, values))

    def _add_frames(self, sk: HandSkeleton) -> None:
        frames = sk.measure().frames
        origins, matrices = np.asarray(frames.origins), np.asarray(frames.matrices)
        for k, name in enumerate("xyz"):
            part = frame_arrows(origins, matrices[..., :, k], self.arrow_length)
            mesh = pv.PolyData.from_regular_faces(part.vertices[0], part.faces)
            mesh.point_data.active_normals = part.normals[0]
            self.plotter.add_mesh(mesh, color=colors.AXIS_COLOURS[name], ambient=0.3)
            self._meshes.append((mesh, part, None))

    def _add_legend(self, labels: Sequence[str] | None) -> None:
        self.legend_height = 0.0
        entries = []
        if labels is not None:
            if len(labels) != len(self.skeletons):
                raise ValueError(f"{len(self.skeletons)} hands need {len(self.skeletons)} labels, got {len(labels)}.")
            for label, look in zip(labels, self.looks, strict=True):
                colour = {"fingers": colors.WRIST_COLOUR, "violations": colors.VIOLATION_COLOURS[-2]}.get(
                    look.mode, look.colour
                )
                entries.append([str(label), colour])
        if self.arrow_length > 0:
            entries += [[_AXIS_NAMES[a], colors.AXIS_COLOURS[a]] for a in "xyz"]
        if entries:
            self.legend_height = min(0.06 * len(entries), 0.4)
            self.plotter.add_legend(
                entries, bcolor="white", size=(0.32, self.legend_height), loc="lower left", face="rectangle"
            )

    def _label_joints(self, t: int) -> None:
        if self._labels is False or self._labels is None:
            return
        chosen = list(Joint) if self._labels is True else [anatomy.joint(n) for n in self._labels]
        names = [j.name for j in chosen]
        points = np.asarray(self.skeletons[0].joints)[t][[int(j) for j in chosen]]
        actor = self.plotter.add_point_labels(
            points, names, name="joint_labels", font_size=9, bold=False, shape_opacity=0.6,
            show_points=False, always_visible=True, render=False,
        )  # fmt: skip
        actor.GetMapper().SetPlaceAllLabels(True)  # VTK would hide labels that overlap

    @property
    def points(self) -> np.ndarray:
        """Every joint of every hand and item ``(P, 3)``."""
        return np.concatenate([np.asarray(s.joints).reshape(-1, 3) for s in self.skeletons])

    @property
    def margin(self) -> float:
        """How far the drawing reaches beyond the joints."""
        return max(self.radius, self.arrow_length)

    def view(self, view: Any = "palm", K: Any = None, image_size: Sequence[int] | None = None) -> None:
        """Point the camera (see :func:`set_view`); the whole batch stays in the picture."""
        first = np.asarray(self.skeletons[0].joints)[0]
        reserve = (0.16 if any(k.mode == "violations" for k in self.looks) else 0.0, self.legend_height)
        _apply_view(self.plotter, first, self.skeletons[0].side, self.points, self.margin, view, K, image_size, reserve)

    def update(self, t: int) -> None:
        """Show item ``t`` of every hand batch."""
        for mesh, part, values in self._meshes:
            mesh.points = part.vertices[t]
            mesh.point_data.active_normals = part.normals[t]
            if values is not None:
                mesh.point_data["violation"] = values[t]
            mesh.Modified()
        self._label_joints(t)


def _window(view: Any, window_size: Sequence[int], image_size: Sequence[int] | None) -> tuple[int, int]:
    size = image_size if (view == "camera" and image_size is not None) else window_size
    return int(size[0]), int(size[1])


def build(
    skeletons: list[HandSkeleton],
    *,
    view: Any = "palm",
    K: Any = None,
    image_size: Sequence[int] | None = None,
    window_size: Sequence[int] = (640, 480),
    title: str | None = None,
    off_screen: bool | None = None,
    **style: Any,
) -> tuple[pv.Plotter, Drawing]:
    """A plotter with hand batches ``(T, 21, 3)`` drawn (item 0 shown) and the camera set."""
    plotter = new_plotter(_window(view, window_size, image_size), off_screen)
    try:
        drawing = Drawing(plotter, skeletons, **style)
        drawing.view(view, K, image_size)
        if title:
            plotter.add_text(title, position="upper_edge", font_size=11, name="title")
    except BaseException:
        plotter.close()
        raise
    return plotter, drawing


def plot_hands(
    hands: Any,
    *,
    labels: Sequence[str] | None = None,
    color: Any = None,
    opacity: Any = None,
    limits: Any = None,
    violation_max: tuple[float, float] | None = None,
    palm: bool = True,
    frames: bool = False,
    joint_labels: bool | Sequence[str] = False,
    radius: Any = None,
    view: Any = "palm",
    K: Any = None,
    image_size: Sequence[int] | None = None,
    window_size: Sequence[int] = (640, 480),
    title: str | None = None,
    off_screen: bool | None = None,
    units: Any = "mm",
    side: Any = "right",
) -> pv.Plotter:
    """A pyvista plotter showing one or several hands; call ``.show()`` or ``.screenshot()`` on it.

    ``hands``: a ``HandSkeleton`` or array ``(..., 21, 3)`` (numpy or torch; every hand of a batch is
    drawn), or a list of them (overlays, e.g. ground truth and prediction). Arrays are in ``units``
    and of ``side``; skeletons carry their own. Per hand (one value, or a list with one per hand):
    ``color`` — ``"fingers"`` (one colour per finger), ``"violations"`` (how far each joint angle,
    bone length and palm angle lies outside ``limits``, a :class:`~handkin.JointLimits`, with colour
    bars up to ``violation_max`` = (degrees, length)) or any colour; ``opacity``; ``radius`` of the joint spheres, in the hands' units (default 0.08 × the first hand's
    wrist→middle_mcp length; bones 0.55 × that). ``labels`` name the
    hands in a legend. ``palm`` draws the palm surface, ``frames`` the 15 bone frames as arrows,
    ``joint_labels`` the joint names (True, or a list of joints) of the first hand.
    Camera: ``view`` (see :func:`set_view`); with ``view="camera"`` the window is ``image_size``.
    """
    plotter, _ = build(
        hand_list(hands, units, side),
        view=view,
        K=K,
        image_size=image_size,
        window_size=window_size,
        title=title,
        off_screen=off_screen,
        labels=labels,
        color=color,
        opacity=opacity,
        limits=limits,
        violation_max=violation_max,
        palm=palm,
        frames=frames,
        joint_labels=joint_labels,
        radius=radius,
    )
    return plotter


def render(hands: Any, path: str | os.PathLike | None = None, **kwargs: Any) -> np.ndarray:
    """Draw ``hands`` off-screen (keywords of :func:`plot_hands`) and return the image ``(H, W, 3)`` uint8;
    also written to ``path`` when given (PNG, or JPEG for .jpg/.jpeg)."""
    kwargs["off_screen"] = True
    plotter = plot_hands(hands, **kwargs)
    try:
        image = np.asarray(plotter.screenshot(return_img=True))[..., :3].copy()
    finally:
        plotter.close()
    if path is not None:
        save_png(image, path)
    return image


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an RGB image ``(H, W, 3)`` uint8 as an optimised PNG, or a JPEG (quality 95) when ``path`` ends in
    .jpg/.jpeg; returns the path."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    options = {"format": "JPEG", "quality": 95} if jpeg else {"format": "PNG", "optimize": True}
    Image.fromarray(np.ascontiguousarray(image)).save(path, **options)
    return path


def show(hands: Any, **kwargs: Any) -> None:
    """Open an interactive window with ``hands`` (keywords of :func:`plot_hands`); needs a display."""
    if not has_display():
        raise RuntimeError("no display to open a window on: use handkin.viz.render(hands, 'hands.png') instead.")
    kwargs["off_screen"] = False
    plot_hands(hands, **kwargs).show()


__all__ = ["VIEWS", "plot_hands", "render", "show", "set_view", "new_plotter", "hand_axes", "projection_matrix"]
