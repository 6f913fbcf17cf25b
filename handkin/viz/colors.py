"""Colours of the pictures (numpy only): one per finger, the frame axes, overlays and the violation scale.

Colours are hex strings; :func:`rgb` turns any colour into floats in [0, 1]. The violation scale runs
from light grey (within the limits, 0) through yellow and orange to dark red (``vmax`` and beyond).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..anatomy import Bone, Finger, Joint
from ..bounds import excess_at_joints

#: One colour per finger, thumb first (matplotlib's tab10 red, orange, green, blue, purple).
FINGER_COLOURS: dict[Finger, str] = {
    Finger.thumb: "#d62728",
    Finger.index: "#ff7f0e",
    Finger.middle: "#2ca02c",
    Finger.ring: "#1f77b4",
    Finger.little: "#9467bd",
}
#: The wrist sphere.
WRIST_COLOUR = "#7f7f7f"
#: The palm surface.
PALM_COLOUR = "#b4b4b4"
#: Axes of the bone frames: x (towards the palm), y (towards the thumb), z (along the parent bone).
AXIS_COLOURS: dict[str, str] = {"x": "#e41a1c", "y": "#4daf4a", "z": "#377eb8"}
#: Uniform colours given, in turn, to the second, third, … hand of an overlay.
OVERLAY_COLOURS: tuple[str, ...] = ("#404040", "#e377c2", "#17becf", "#bcbd22", "#8c564b")
#: Stops of the violation scale, equally spaced from 0 (within the limits) to ``vmax``.
VIOLATION_COLOURS: tuple[str, ...] = ("#d9d9d9", "#fee08b", "#fdae61", "#f46d43", "#a50026")


def rgb(colour: Any) -> np.ndarray:
    """A colour (``"#rrggbb"``, an (r, g, b) triple in [0, 1] or 0–255, or a matplotlib name) as ``(3,)`` floats."""
    if isinstance(colour, str):
        s = colour.strip()
        if s.startswith("#") and len(s) == 7:
            return np.array([int(s[i : i + 2], 16) for i in (1, 3, 5)], dtype=float) / 255.0
        from matplotlib.colors import to_rgb  # names need matplotlib's table (a dependency of the viz extra)

        return np.array(to_rgb(s), dtype=float)
    arr = np.asarray(colour, dtype=float).reshape(-1)[:3]
    if arr.shape != (3,):
        raise ValueError(f"cannot read {colour!r} as a colour.")
    return arr / 255.0 if arr.max() > 1.0 else arr


def joint_colours() -> np.ndarray:
    """``(21, 3)`` RGB of the joints: the wrist grey, every other joint its finger's colour."""
    return np.stack([rgb(WRIST_COLOUR if j.finger is None else FINGER_COLOURS[j.finger]) for j in Joint])


def bone_colours() -> np.ndarray:
    """``(20, 3)`` RGB of the bones (named after their child joint): each its finger's colour."""
    return np.stack([rgb(FINGER_COLOURS[b.finger]) for b in Bone])


def palm_colours() -> np.ndarray:
    """``(4, 3)`` RGB of the four palm triangles."""
    return np.tile(rgb(PALM_COLOUR), (4, 1))


def part_colours(kind: str) -> np.ndarray:
    """Per-element RGB of a part of the drawing: ``"joints"`` ``(21, 3)``, ``"bones"`` ``(20, 3)``, ``"palm"`` ``(4, 3)``."""
    return {"joints": joint_colours, "bones": bone_colours, "palm": palm_colours}[kind]()


def violation_rgb(values: np.ndarray, vmax: float, base: np.ndarray | None = None) -> np.ndarray:
    """RGB ``(..., 3)`` of violations ``(...)`` on the violation scale from 0 to ``vmax`` (clipped). With ``base``
    (RGB broadcast against the result): ``base`` where ``values`` are 0 (within the limits), elsewhere the scale
    without its grey start (yellow just outside … dark red at ``vmax`` and beyond)."""
    stops = np.stack([rgb(c) for c in (VIOLATION_COLOURS if base is None else VIOLATION_COLOURS[1:])])
    x = np.clip(np.asarray(values, dtype=float) / vmax, 0.0, 1.0)
    grid = np.linspace(0.0, 1.0, len(stops))
    scale = np.stack([np.interp(x, grid, stops[:, c]) for c in range(3)], axis=-1)
    return scale if base is None else np.where((np.asarray(values) > 0)[..., None], scale, base)


def violation_cmap(violated_only: bool = False):
    """The violation scale as a matplotlib colour map (that of :func:`violation_rgb`; ``violated_only``: without
    its grey start, as with ``base``)."""
    from matplotlib.colors import LinearSegmentedColormap

    stops = VIOLATION_COLOURS[1:] if violated_only else VIOLATION_COLOURS
    return LinearSegmentedColormap.from_list("handkin_violation", [rgb(c) for c in stops])


def joint_violations(report: Any) -> np.ndarray:
    """Per joint ``(..., 21)`` degrees, from a :class:`~handkin.LimitReport`: the angle joint's distance
    to its polygon, raised to a DIP–PIP coupling's violation at that finger's DIP; 0 at the wrist and tips
    (:func:`handkin.bounds.excess_at_joints`)."""
    return excess_at_joints(report.joint_angles, report.couplings, report.coupling_names)


__all__ = [
    "FINGER_COLOURS",
    "WRIST_COLOUR",
    "PALM_COLOUR",
    "AXIS_COLOURS",
    "OVERLAY_COLOURS",
    "VIOLATION_COLOURS",
    "rgb",
    "joint_colours",
    "bone_colours",
    "palm_colours",
    "part_colours",
    "violation_rgb",
    "violation_cmap",
    "joint_violations",
]
