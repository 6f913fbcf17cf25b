"""Shared plumbing of :mod:`handkin.viz` (numpy only): optional imports, inputs, sizes, per-hand looks."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..backend import as_float_array, to_numpy
from ..errors import NonFiniteError, ShapeError
from ..skeleton import HandSkeleton
from . import colors
from .geometry import BONE_RADIUS_RATIO, JOINT_RADIUS

INSTALL_HINT = "pip install 'handkin[viz]'"


def load_llvm_first() -> None:
    """Load triton (torch's compiler, which bundles its own LLVM) before VTK when it is installed.

    VTK renders off-screen with Mesa's llvmpipe, which loads the system LLVM; when triton's LLVM is loaded
    *after* that (e.g. by ``import torchvision`` once a picture was rendered) the process dies with SIGSEGV.
    Loaded in the other order both work (tests/test_viz.py renders, then builds the network, in one process).
    """
    if importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")


def require(module: str, feature: str = "handkin.viz", install: str = INSTALL_HINT) -> Any:
    """Import an optional package, or raise ImportError saying how to install it (default: the viz extra)."""
    if module.split(".")[0] in ("pyvista", "vtk", "vtkmodules"):
        load_llvm_first()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{feature} needs the {module.split('.')[0]!r} package: {install}") from exc


def has_display() -> bool:
    """Whether an interactive window can open (on Linux and BSD: an X display is set)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY"))
    return True


def _is_hand_list(hands: Any) -> bool:
    return (
        isinstance(hands, (list, tuple))
        and len(hands) > 0
        and (isinstance(hands[0], HandSkeleton) or hasattr(hands[0], "shape"))
    )


def as_skeleton(hand: Any, units: Any = "mm", side: Any = "right") -> HandSkeleton:
    """A numpy float ``HandSkeleton``; arrays ``(..., 21, 3)`` (numpy, torch, lists) get ``units`` and ``side``."""
    if isinstance(hand, HandSkeleton):
        units, side = hand.units, hand.side
        arr = np.asarray(to_numpy(hand.joints), dtype=np.float64)
    else:
        arr = np.asarray(to_numpy(as_float_array(hand)), dtype=np.float64)
    if arr.ndim < 2 or arr.shape[-2:] != (21, 3):
        raise ShapeError(f"hands must have shape (..., 21, 3), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError("hands to draw hold NaN or infinite values; drop or fill them first.")
    return HandSkeleton.unchecked(arr, units=units, side=side)


def hand_list(hands: Any, units: Any, side: Any) -> list[HandSkeleton]:
    """Single hands ``(1, 21, 3)`` from a hand, a batch (each hand one item) or a list of those."""
    items = list(hands) if _is_hand_list(hands) else [hands]
    out = []
    for item in items:
        sk = as_skeleton(item, units, side)
        flat = sk.joints.reshape(-1, 21, 3)
        out += [
            HandSkeleton.unchecked(j[None], units=sk.units, side=str(s))
            for j, s in zip(flat, sk.sides.reshape(-1), strict=True)
        ]
    if not out:
        raise ShapeError("no hands to draw.")
    return out


def sequence_list(sequences: Any, units: Any, side: Any) -> list[HandSkeleton]:
    """Sequences ``(T, 21, 3)`` (one, or a list of several of the same length T)."""
    items = list(sequences) if _is_hand_list(sequences) else [sequences]
    out = [as_skeleton(item, units, side) for item in items]
    for sk in out:
        if len(sk.batch_shape) != 1 or sk.batch_shape[0] < 1:
            raise ShapeError(f"a sequence must have shape (T, 21, 3), got {tuple(sk.joints.shape)}.")
    lengths = {sk.batch_shape[0] for sk in out}
    if len(lengths) > 1:
        raise ShapeError(f"sequences drawn together need the same length, got {sorted(lengths)}.")
    return out


def reference_length(skeletons: Sequence[HandSkeleton]) -> float:
    """The median wrist→middle_mcp length of the first hand(s), in their units (a fallback if zero)."""
    joints = np.asarray(skeletons[0].joints).reshape(-1, 21, 3)
    length = float(np.median(np.linalg.norm(joints[:, 9] - joints[:, 0], axis=-1)))
    if length > 0:
        return length
    extent = float(np.ptp(joints.reshape(-1, 3), axis=0).max())
    return extent / 2 if extent > 0 else 1.0


def radii(skeletons: Sequence[HandSkeleton], radius: Any = None) -> list[tuple[float, float]]:
    """(joint sphere, bone tube) radii per hand, in the hands' units: ``radius`` (one value, or one per hand;
    None for the default :data:`JOINT_RADIUS` × the first hand's reference length)."""
    default = JOINT_RADIUS * reference_length(skeletons)
    values = list(radius) if isinstance(radius, (list, tuple)) else [radius] * len(skeletons)
    if len(values) != len(skeletons):
        raise ValueError(f"{len(skeletons)} hands need {len(skeletons)} radii, got {len(values)}.")
    out = []
    for value in values:
        r = default if value is None else float(value)
        if not r > 0:
            raise ValueError(f"radius must be positive, got {value}.")
        out.append((r, BONE_RADIUS_RATIO * r))
    return out


class Look(NamedTuple):
    """How one hand is coloured: ``mode`` is ``fingers``, ``violations`` or ``uniform`` (with ``colour``)."""

    mode: str
    colour: np.ndarray | None
    opacity: float


def looks(n: int, color: Any, opacity: Any, limits: Any) -> list[Look]:
    """One :class:`Look` per hand from the ``color`` and ``opacity`` arguments (a value or one per hand).

    Default colours: all hands by violation when ``limits`` are given, otherwise the first hand per
    finger and the others in :data:`~handkin.viz.colors.OVERLAY_COLOURS`; default opacity 1 for the
    first hand and 0.6 for the others.
    """
    if color is None:
        overlay = [colors.OVERLAY_COLOURS[i % len(colors.OVERLAY_COLOURS)] for i in range(n - 1)]
        color = ["violations"] * n if limits is not None else ["fingers", *overlay]
    elif isinstance(color, str) or not isinstance(color, (list, tuple)) or _is_rgb(color):
        color = [color] * n
    if opacity is None:
        opacity = [1.0] + [0.6] * (n - 1)
    elif not isinstance(opacity, (list, tuple)):
        opacity = [opacity] * n
    if len(color) < n or len(opacity) < n:
        raise ValueError(f"{n} hands need {n} colours and opacities, got {len(color)} and {len(opacity)}.")
    out = []
    for c, a in zip(color[:n], opacity[:n], strict=True):
        if isinstance(c, str) and c in ("fingers", "violations"):
            if c == "violations" and limits is None:
                raise ValueError("color='violations' needs limits= (a JointLimits).")
            out.append(Look(c, None, float(a)))
        else:
            out.append(Look("uniform", colors.rgb(c), float(a)))
    return out


def _is_rgb(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value)


class Violations(NamedTuple):
    """Violations of one hand over its batch ``(T, ...)``, per element of each part."""

    joints: np.ndarray
    """``(T, 21)`` degrees (:func:`~handkin.viz.colors.joint_violations`)."""
    bones: np.ndarray
    """``(T, 20)`` in ``length_unit``."""
    palm: np.ndarray
    """``(T, 4)`` degrees (angular distance φ of the palm pairs)."""
    length_unit: str


def violations(sk: HandSkeleton, limits: Any) -> Violations:
    """Check a hand batch ``(T, 21, 3)`` against ``limits``."""
    report = limits.check(sk)
    return Violations(
        colors.joint_violations(report),
        np.asarray(report.bone_lengths, dtype=float),
        np.asarray(report.palm_angles, dtype=float),
        report.length_unit,
    )


def all_violations(
    skeletons: Sequence[HandSkeleton],
    hand_looks: Sequence[Look],
    limits: Any,
    violation_max: tuple[float, float] | None,
) -> tuple[list[Violations | None], float, float]:
    """The :class:`Violations` of the hands coloured by violation (None for the others) and the upper ends of
    the two scales (degrees, length): ``violation_max``, or the largest violation drawn, at least 10° and 5 %
    of the reference length (so that tiny violations stay pale)."""
    found = [
        violations(s, limits) if k.mode == "violations" else None for s, k in zip(skeletons, hand_looks, strict=True)
    ]
    if violation_max is not None:
        return found, float(violation_max[0]), float(violation_max[1])
    drawn = [v for v in found if v is not None]
    angle = max([10.0] + [float(max(v.joints.max(), v.palm.max())) for v in drawn])
    length = max([0.05 * reference_length(skeletons)] + [float(v.bones.max()) for v in drawn])
    return found, angle, length
