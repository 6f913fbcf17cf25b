"""Angle-plane plots (matplotlib): a joint's (flexion, abduction) data, its limit polygon and the independent
min/max box, as in the BMC paper's supplementary Fig. 1 — for one joint or all 15 in a 3×5 grid.

Angles are drawn in degrees: flexion along x, abduction along y.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import anatomy
from ..anatomy import AngleJoint, Finger
from ..backend import as_float_array, to_numpy
from ..errors import ShapeError
from ..skeleton import HandSkeleton
from . import colors
from ._common import require

plt = require("matplotlib.pyplot", "handkin.viz.angle_plot")

#: Colours of the three layers (the paper's: data points, green polygon, red box).
DATA_COLOUR = "#595959"
POLYGON_COLOUR = "#2ca02c"
BOX_COLOUR = "#d62728"


def joint_angles(data: Any) -> np.ndarray:
    """Joint angles ``(N, 15, 2)`` radians from ``HandSkeleton``\\ s (left hands measured mirrored) or an
    array ``(..., 15, 2)`` of (flexion, abduction) radians."""
    items = list(data) if isinstance(data, (list, tuple)) and data and isinstance(data[0], HandSkeleton) else [data]
    out = []
    for item in items:
        if isinstance(item, HandSkeleton):
            values = to_numpy(item.joint_angles)
        else:
            values = to_numpy(as_float_array(item))
            if values.ndim < 2 or values.shape[-2:] != (15, 2):
                raise ShapeError(f"joint angles must have shape (..., 15, 2) radians, got {values.shape}.")
        out.append(np.asarray(values, dtype=float).reshape(-1, 15, 2))
    return np.concatenate(out)


def plot_angle_plane(
    joint: Any,
    limits: Any = None,
    data: Any = None,
    *,
    ax: Any = None,
    box: bool = True,
    legend: bool = True,
) -> Any:
    """One angle joint's (flexion, abduction) plane in degrees; returns the matplotlib Axes.

    ``data`` (hands or angles, see :func:`joint_angles`) are drawn as points, the ``limits``' polygon
    (a :class:`~handkin.JointLimits`) filled green, and the independent min/max box — of the data, or of
    the polygon without data — dashed red. The artists carry ``gid`` ``"data"``, ``"limits_polygon"``
    and ``"minmax_box"``.
    """
    a = anatomy.angle_joint(joint)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.4))
    points = joint_angles(data)[:, a] if data is not None else None
    polygon = limits.joint_angles.get(a.name) if limits is not None else None
    if points is not None:
        deg = np.degrees(points)
        ax.scatter(deg[:, 0], deg[:, 1], s=4, alpha=0.35, color=DATA_COLOUR, lw=0, label="data", gid="data")
    if polygon is not None:
        vertices = np.degrees(polygon.array)
        ax.fill(*vertices.T, color=POLYGON_COLOUR, alpha=0.15, lw=0)
        patch = plt.Polygon(
            vertices, closed=True, fill=False, ec=POLYGON_COLOUR, lw=1.6, label=f"limits ({len(vertices)} points)"
        )
        patch.set_gid("limits_polygon")
        ax.add_patch(patch)
        ax.plot(*vertices.T, "o", ms=3, color=POLYGON_COLOUR)
    if box:
        source = np.degrees(points) if points is not None else (vertices if polygon is not None else None)
        if source is not None:
            lo, hi = source.min(axis=0), source.max(axis=0)
            rect = plt.Rectangle(lo, *(hi - lo), fill=False, ec=BOX_COLOUR, ls="--", lw=1.2, label="min/max box")
            rect.set_gid("minmax_box")
            ax.add_patch(rect)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    ax.autoscale_view()
    ax.margins(0.08)
    ax.set_title(a.name, fontsize=10, color=colors.FINGER_COLOURS[a.finger])
    ax.set_xlabel("flexion (°)")
    ax.set_ylabel("abduction (°)")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best", markerscale=3)
    return ax


def plot_angle_planes(
    limits: Any = None,
    data: Any = None,
    *,
    box: bool = True,
    figsize: tuple[float, float] = (15.0, 8.5),
    title: str | None = None,
) -> Any:
    """All 15 angle planes in a 3×5 grid (columns thumb … little; rows the first, second and third joint of
    each finger), as :func:`plot_angle_plane`; returns the matplotlib Figure with one shared legend (the layers, and the finger colours of the panel titles)."""
    if limits is None and data is None:
        raise ValueError("plot_angle_planes needs limits=, data= or both.")
    angles = joint_angles(data) if data is not None else None
    fig, axes = plt.subplots(3, 5, figsize=figsize)
    width, height = figsize  # a fixed layout in inches (constrained layout takes seconds on 15 axes)
    top = 1 - (0.65 if title else 0.35) / height
    fig.subplots_adjust(
        left=0.65 / width, right=1 - 0.15 / width, bottom=0.95 / height, top=top, wspace=0.3, hspace=0.5
    )
    for a in AngleJoint:
        ax = axes[int(a) % 3, int(a.finger)]
        plot_angle_plane(a, limits, angles, ax=ax, box=box, legend=False)
        if int(a) % 3 != 2:
            ax.set_xlabel("")
        if a.finger != Finger.thumb:
            ax.set_ylabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles += [Patch(color=colors.FINGER_COLOURS[f], label=f.name) for f in Finger]  # the panel titles' colours
    labels += [f.name for f in Finger]
    if handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncol=len(handles), fontsize=9, frameon=False, markerscale=4
        )
    if title:
        fig.suptitle(title)
    return fig


__all__ = ["plot_angle_plane", "plot_angle_planes", "joint_angles"]
