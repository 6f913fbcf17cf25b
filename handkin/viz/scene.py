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

#: Share of the picture's width and height left free on each side of the drawing by the preset views.
BORDER = 0.05
#: Fractions of the picture (height) taken by a title line at the top.
TITLE_STRIP = 0.09

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
    reserve: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
    *alternatives: tuple[float, float, float, float],
) -> None:
    """Point the camera: ``first`` ``(21, 3)`` sets the direction, ``points`` ``(P, 3)`` ± ``margin`` must fit
    (for the presets: away from the strips ``reserve`` = (left, right, bottom, top) fractions of the picture,
    or of one of the ``alternatives``, whichever draws the hands largest)."""
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
    best = min((reserve, *alternatives), key=lambda r: _fit(plotter, points, margin, direction, up, r))
    _fit(plotter, points, margin, direction, up, best)


def _fit(
    plotter: pv.Plotter,
    points: np.ndarray,
    margin: float,
    direction: np.ndarray,
    up: np.ndarray,
    reserve: tuple[float, float, float, float],
) -> float:
    """Place the camera on the side ``direction`` of ``points``, ``up`` upwards, just far enough that every
    point ± ``margin`` is in the picture with a border of :data:`BORDER` of each side, clear of the strips
    ``reserve`` = (left, right, bottom, top) fractions of the picture (legend, colour bars, title); returns the
    camera's distance (the smaller, the larger the hands are drawn)."""
    right = np.cross(up, direction)
    basis = np.stack([right, up, direction])  # rows: screen x, screen y, towards the camera
    local = points @ basis.T
    centre = (local.min(0) + local.max(0)) / 2
    width, height = plotter.window_size
    left, right_strip, bottom, top = reserve
    full_v = np.tan(np.radians(plotter.camera.view_angle) / 2)
    full_h = full_v * width / height
    keep = 1 - 2 * BORDER
    tan_h, tan_v = keep * full_h * (1 - left - right_strip), keep * full_v * (1 - bottom - top)
    rel = local - centre
    distance = np.max(
        np.maximum((np.abs(rel[:, 0]) + margin) / tan_h, (np.abs(rel[:, 1]) + margin) / tan_v) + rel[:, 2] + margin
    )
    shift = np.array([(right_strip - left) * full_h, (top - bottom) * full_v, 0.0]) * distance
    focal = (centre + shift) @ basis  # the hand sits in the middle of what the strips leave free
    plotter.camera_position = [tuple(focal + distance * direction), tuple(focal), tuple(up)]
    plotter.reset_camera_clipping_range()
    return float(distance)


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
    """The actors of several hand batches ``(T, 21, 3)`` in a plotter; :meth:`update` shows item ``t``.

    Hands coloured by violation keep their finger colours where they are within the limits: only the
    violated joints, bones and palm triangles take the violation scale (yellow … dark red)."""

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
        legend: bool = True,
    ) -> None:
        self.plotter = plotter
        self.skeletons = skeletons
        self.looks = looks(len(skeletons), color, opacity, limits)
        sizes = radii(skeletons, radius)
        self.radius = max(r for r, _ in sizes)
        ref = reference_length(skeletons)
        self.arrow_length = ARROW_LENGTH * ref if frames else 0.0
        found, angle_max, length_max = all_violations(skeletons, self.looks, limits, violation_max)
        self._meshes: list[tuple[Any, Part, np.ndarray | None, np.ndarray | None, float]] = []
        self._bars: set[str] = set()
        for sk, look, found_v, (r, bone_r) in zip(skeletons, self.looks, found, sizes, strict=True):
            joints = np.asarray(sk.joints)
            parts = {"joints": joint_spheres(joints, r, 24), "bones": bone_tubes(joints, bone_r, 16)}
            if palm:
                parts["palm"] = palm_surface(joints)
            for kind, part in parts.items():
                self._add_part(kind, part, look, found_v, angle_max, length_max)
            if frames:
                self._add_frames(sk)
        self._add_legend(labels, legend)
        self._labels = joint_labels
        self.placed_labels: list[tuple[str, np.ndarray]] = []
        """The joint labels drawn: (name, display box (x0, y0, x1, y1) in pixels); set by :meth:`view`."""

    def _add_part(self, kind: str, part: Part, look: Look, found: Any, angle_max: float, length_max: float) -> None:
        opacity = look.opacity * ((0.3 if look.mode == "uniform" else 0.8) if kind == "palm" else 1.0)
        mesh = pv.PolyData.from_regular_faces(part.vertices[0], part.faces)
        mesh.point_data.active_normals = part.normals[0]
        kwargs: dict[str, Any] = {"opacity": opacity, "ambient": 0.25, "diffuse": 0.8, "specular": 0.15}
        values, base, vmax = None, None, 1.0
        if look.mode in ("violations", "fingers"):
            base = colors.part_colours(kind)[part.element]  # (V, 3)
            rgb = base
            if look.mode == "violations":
                per_element = {"joints": found.joints, "bones": found.bones, "palm": found.palm}[kind]
                values = per_element[:, part.element]  # (T, V)
                if kind == "bones":
                    title, vmax = f"bone length\nover limit ({found.length_unit})", length_max
                else:
                    title, vmax = "angle over\nlimit (deg)", angle_max
                rgb = colors.violation_rgb(values[0], vmax, base)
                self._add_bar(title, vmax, 0.06 if kind == "bones" else 0.5)
            mesh.point_data["rgb"] = np.round(255 * rgb).astype(np.uint8)
            kwargs.update(scalars="rgb", rgb=True)
        else:
            kwargs.update(color=look.colour)
        self.plotter.add_mesh(mesh, **kwargs)
        self._meshes.append((mesh, part, values, base, vmax))

    def _add_bar(self, title: str, vmax: float, position_y: float) -> None:
        """One colour bar of the violation scale (from its first coloured stop) on the right, once per title."""
        if title in self._bars:
            return
        self._bars.add(title)
        bar = {"vertical": True, "position_x": 0.86, "position_y": position_y, "width": 0.06, "height": 0.3}
        bar.update(n_labels=3, fmt="%.3g", title_font_size=12, label_font_size=11)
        self.plotter.add_scalar_bar(title, cmap=colors.violation_cmap(violated_only=True), clim=(0.0, vmax), **bar)

    def _add_frames(self, sk: HandSkeleton) -> None:
        frames = sk.measure().frames
        origins, matrices = np.asarray(frames.origins), np.asarray(frames.matrices)
        for k, name in enumerate("xyz"):
            part = frame_arrows(origins, matrices[..., :, k], self.arrow_length)
            mesh = pv.PolyData.from_regular_faces(part.vertices[0], part.faces)
            mesh.point_data.active_normals = part.normals[0]
            self.plotter.add_mesh(mesh, color=colors.AXIS_COLOURS[name], ambient=0.3)
            self._meshes.append((mesh, part, None, None, 1.0))

    def _add_legend(self, labels: Sequence[str] | None, fingers: bool) -> None:
        """One legend in the upper left: the five finger colours (when a hand is drawn in them), the hands'
        ``labels`` and the frame axes; :attr:`legend_width` is the share of the picture's width it takes."""
        self.legend_width = self.legend_height = 0.0
        entries: list[list[Any]] = []
        self.legend_entries = entries
        if fingers and any(k.mode in ("fingers", "violations") for k in self.looks):
            entries += [[f.name, colors.FINGER_COLOURS[f]] for f in anatomy.Finger]
        if labels is not None:
            if len(labels) != len(self.skeletons):
                raise ValueError(f"{len(self.skeletons)} hands need {len(self.skeletons)} labels, got {len(labels)}.")
            for label, look in zip(labels, self.looks, strict=True):
                colour = colors.WRIST_COLOUR if look.mode in ("fingers", "violations") else look.colour
                entries.append([str(label), colour])
        if self.arrow_length > 0:
            entries += [[_AXIS_NAMES[a], colors.AXIS_COLOURS[a]] for a in "xyz"]
        if entries:
            width, height = self.plotter.window_size
            longest = max(len(e[0]) for e in entries)
            # about 7 px per character and 20 px per row at any window size (the legend scales its text to fit)
            self.legend_width = min(0.45, (30 + 7 * longest) / width)
            rows = self.legend_height = min(0.75, 20 * len(entries) / height)
            self.plotter.add_legend(
                entries, bcolor="white", border=False, size=(self.legend_width, rows), loc="upper left",
                face="rectangle",
            )  # fmt: skip
            legend = self.plotter.legend
            legend.SetPosition(0.01, 1 - TITLE_STRIP - rows)  # below the title line

    def _label_joints(self, t: int) -> None:
        """Joint names of the first hand at item ``t``, each at the first of a few places beside its joint
        where it overlaps no label already placed (tips first, then the wrist, DIPs, PIPs, MCPs); a name
        with no free place is left out."""
        self.placed_labels = []
        if self._labels is False or self._labels is None:
            return
        chosen = list(Joint) if self._labels is True else [anatomy.joint(n) for n in self._labels]
        chosen.sort(key=_label_priority)
        joints = np.asarray(self.skeletons[0].joints)[t]
        renderer = self.plotter.renderer
        font = 9
        char_w, box_h = 0.6 * font, 1.5 * font  # pixels of VTK's Arial at font size 9, padded; a label's box
        # starts at its anchor and extends right and up
        names, points = [], []
        for j in chosen:
            x, y, z = _to_display(renderer, joints[int(j)])
            w = char_w * len(j.name) + 6
            for dx, dy in ((0, 0), (0, -box_h), (0, box_h), (-w, 0), (-w, -box_h), (0, -2 * box_h), (-w, box_h)):
                box = np.array([x + dx, y + dy, x + dx + w, y + dy + box_h])
                if not any(_overlap(box, other) for _, other in self.placed_labels):
                    self.placed_labels.append((j.name, box))
                    names.append(j.name)
                    points.append(_to_world(renderer, x + dx, y + dy, z))
                    break
        if not names:
            return
        actor = self.plotter.add_point_labels(
            np.array(points), names, name="joint_labels", font_size=font, bold=False, shape_opacity=0.6,
            show_points=False, always_visible=True, render=False,
        )  # fmt: skip
        actor.GetMapper().SetPlaceAllLabels(True)  # placed above: VTK must not drop any

    @property
    def points(self) -> np.ndarray:
        """Every joint of every hand and item ``(P, 3)``."""
        return np.concatenate([np.asarray(s.joints).reshape(-1, 3) for s in self.skeletons])

    @property
    def margin(self) -> float:
        """How far the drawing reaches beyond the joints."""
        return max(self.radius, self.arrow_length)

    def view(
        self, view: Any = "palm", K: Any = None, image_size: Sequence[int] | None = None, title: bool = False
    ) -> None:
        """Point the camera (see :func:`set_view`); the whole batch stays in the picture, clear of the legend
        (left), the colour bars (right) and, with ``title``, a title line (top). Joint labels follow."""
        first = np.asarray(self.skeletons[0].joints)[0]
        right = 0.16 if self._bars else 0.0
        top = TITLE_STRIP if title or self.legend_width else 0.0
        beside = (self.legend_width, right, 0.0, top)  # the legend in a column on the left …
        below = (0.0, right, 0.0, top + self.legend_height)  # … or in a band at the top, whichever is larger
        args = (self.plotter, first, self.skeletons[0].side, self.points, self.margin, view, K, image_size)
        _apply_view(*args, beside, below)
        self._label_joints(0)

    def update(self, t: int) -> None:
        """Show item ``t`` of every hand batch."""
        for mesh, part, values, base, vmax in self._meshes:
            mesh.points = part.vertices[t]
            mesh.point_data.active_normals = part.normals[t]
            if values is not None:
                mesh.point_data["rgb"] = np.round(255 * colors.violation_rgb(values[t], vmax, base)).astype(np.uint8)
            mesh.Modified()
        if self._labels:
            self._label_joints(t)


def _label_priority(joint: Joint) -> tuple[int, int]:
    """Order in which joint names are placed: tips, wrist, DIP/IP, PIP/MCP(thumb), MCP/CMC — by finger."""
    if joint == Joint.wrist:
        return (1, 0)
    level = (int(joint) - 1) % 4  # 0 the finger's root joint … 3 its tip
    return ({3: 0, 2: 2, 1: 3, 0: 4}[level], int(joint))


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def _to_display(renderer: Any, point: np.ndarray) -> tuple[float, float, float]:
    """A world point as display coordinates (x, y pixels from the lower left; z the depth buffer value)."""
    renderer.SetWorldPoint(*(float(v) for v in point), 1.0)
    renderer.WorldToDisplay()
    x, y, z = renderer.GetDisplayPoint()
    return x, y, z


def _to_world(renderer: Any, x: float, y: float, z: float) -> np.ndarray:
    renderer.SetDisplayPoint(x, y, z)
    renderer.DisplayToWorld()
    w = np.asarray(renderer.GetWorldPoint(), dtype=float)
    return w[:3] / w[3]


def project_to_display(plotter: pv.Plotter, points: np.ndarray) -> np.ndarray:
    """Points ``(P, 3)`` as display pixels ``(P, 2)`` of ``plotter`` (x right, y up from the lower left)."""
    return np.array([_to_display(plotter.renderer, p)[:2] for p in np.asarray(points, dtype=float)])


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
        drawing.view(view, K, image_size, title=bool(title))
        if title:
            add_title(plotter, title)
    except BaseException:
        plotter.close()
        raise
    return plotter, drawing


def add_title(plotter: pv.Plotter, title: str) -> None:
    """Write ``title`` centred at the top, in a font small enough for it to fit the window's width."""
    title = title.replace("→", "->")  # VTK's built-in fonts have no arrows
    width = plotter.window_size[0]
    size = int(max(6, min(11, 0.85 * width / (1.05 * max(len(title), 1)))))
    plotter.add_text(title, position="upper_edge", font_size=size, name="title")


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
    legend: bool = True,
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
    ``joint_labels`` the joint names (True, or a list of joints) of the first hand; names that would overlap
    are moved beside their joint or left out. ``legend`` shows the finger colours (with the ``labels`` and the
    frame axes) in the upper left. ``title`` is written at the top (e.g. the source file and the frame).
    Camera: ``view`` (see :func:`set_view`); with ``view="camera"`` the window is ``image_size``. The preset
    views keep the whole hand in the picture with a border, clear of the legend, colour bars and title.
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
        legend=legend,
    )
    return plotter


def render(
    hands: Any, path: str | os.PathLike | None = None, *, background: Any = None, **kwargs: Any
) -> np.ndarray:
    """Draw ``hands`` off-screen (keywords of :func:`plot_hands`) and return the image ``(H, W, 3)`` uint8;
    also written to ``path`` when given (PNG, or JPEG for .jpg/.jpeg).

    ``background``: an image ``(H, W, 3)`` (uint8, or floats in [0, 1]) drawn behind the hands, e.g. the
    video frame of a ``view="camera"`` picture (its size must be the window's: ``image_size`` there)."""
    kwargs["off_screen"] = True
    plotter = plot_hands(hands, **kwargs)
    try:
        if background is None:
            image = np.asarray(plotter.screenshot(return_img=True))[..., :3].copy()
        else:
            image = _over_background(np.asarray(plotter.screenshot(transparent_background=True, return_img=True)), background)
    finally:
        plotter.close()
    if path is not None:
        save_png(image, path)
    return image


def _over_background(rgba: np.ndarray, background: Any) -> np.ndarray:
    """A screenshot ``(H, W, 4)`` with a transparent background composited over ``background`` ``(H, W, 3)``."""
    back = np.asarray(background)
    if back.dtype != np.uint8:
        back = np.round(255 * np.clip(np.asarray(back, dtype=float), 0.0, 1.0)).astype(np.uint8)
    if back.ndim == 2:
        back = np.repeat(back[..., None], 3, axis=-1)
    if back.shape[:2] != rgba.shape[:2] or back.shape[-1] < 3:
        raise ShapeError(
            f"background must be an image of the picture's size {rgba.shape[1]}x{rgba.shape[0]} (H, W, 3), "
            f"got shape {back.shape}; pass image_size=(width, height) of the image."
        )
    alpha = rgba[..., 3:4].astype(float) / 255.0
    out = alpha * rgba[..., :3].astype(float) + (1 - alpha) * back[..., :3].astype(float)
    return np.round(out).astype(np.uint8)


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


__all__ = [
    "VIEWS",
    "plot_hands",
    "render",
    "show",
    "set_view",
    "new_plotter",
    "hand_axes",
    "projection_matrix",
    "project_to_display",
]
