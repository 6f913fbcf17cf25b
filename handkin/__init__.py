"""handkin — hand kinematics and biomechanics for 21-joint hand skeletons.

Measure, constrain and look at hands as defined by Spurr et al., "Weakly Supervised 3D Hand Pose
Estimation via Biomechanical Constraints" (ECCV 2020). One code path serves numpy and torch.

>>> import handkin
>>> hand = handkin.flat_hand(units="mm")
>>> round(float(hand.bone_lengths[handkin.Bone.index_pip]), 1)
42.0
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import (
    BackendError,
    CameraError,
    FileFormatError,
    HandkinError,
    LimitsError,
    NonFiniteError,
    OrderError,
    ShapeError,
    SideError,
    UnitsError,
    UnknownNameError,
)

if TYPE_CHECKING:
    from . import camera, metrics
    from .anatomy import (
        ANGLE_BONES,
        FINGER_JOINTS,
        PARENTS,
        ROOT_BONES,
        AngleJoint,
        Bone,
        Finger,
        Joint,
        Side,
    )
    from .constrain import ConstrainReport, constrain
    from .frames import AnglePair, BoneFrame, JointAngles
    from .limits import AnglePolygon, Coupling, Interval, JointLimits, Provenance
    from .losses import BMCLoss, LossTerms
    from .metrics import Evaluation, evaluate
    from .orders import JointOrder, available_orders, convert, get_order, register_order
    from .report import LimitReport, Violation
    from .skeleton import HandSkeleton, Measurements, TwoHands
    from .template import flat_hand, posed_hand
    from .units import Units

__version__ = "0.1.0"

#: Where each public name lives: imported on first access (PEP 562), so that ``import handkin`` (and so
#: ``handkin --help``) costs milliseconds; torch is imported only when a tensor or ``BMCLoss`` needs it.
_LAZY = {
    **dict.fromkeys(["camera", "metrics"], None),
    **dict.fromkeys(
        ["ANGLE_BONES", "FINGER_JOINTS", "PARENTS", "ROOT_BONES", "AngleJoint", "Bone", "Finger", "Joint", "Side"],
        "anatomy",
    ),
    **dict.fromkeys(["ConstrainReport", "constrain"], "constrain"),
    **dict.fromkeys(["AnglePair", "BoneFrame", "JointAngles"], "frames"),
    **dict.fromkeys(["AnglePolygon", "Coupling", "Interval", "JointLimits", "Provenance"], "limits"),
    **dict.fromkeys(["BMCLoss", "LossTerms"], "losses"),
    **dict.fromkeys(["Evaluation", "evaluate"], "metrics"),
    **dict.fromkeys(["JointOrder", "available_orders", "convert", "get_order", "register_order"], "orders"),
    **dict.fromkeys(["LimitReport", "Violation"], "report"),
    **dict.fromkeys(["HandSkeleton", "Measurements", "TwoHands"], "skeleton"),
    **dict.fromkeys(["flat_hand", "posed_hand"], "template"),
    "Units": "units",
}


def __getattr__(name: str) -> Any:
    """A public name of :data:`_LAZY`, imported from its module on first access."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _LAZY[name]
    value = importlib.import_module(f".{module or name}", __name__)
    if module is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package's module type: importing the submodule ``handkin.constrain`` does not hide the function
    ``handkin.constrain`` (the import system sets a package attribute for each submodule it imports)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "constrain" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "HandSkeleton",
    "TwoHands",
    "Measurements",
    "BoneFrame",
    "JointAngles",
    "AnglePair",
    "JointLimits",
    "Interval",
    "AnglePolygon",
    "Coupling",
    "Provenance",
    "LimitReport",
    "BMCLoss",
    "LossTerms",
    "constrain",
    "ConstrainReport",
    "camera",
    "metrics",
    "evaluate",
    "Evaluation",
    "Violation",
    "Joint",
    "Bone",
    "Finger",
    "AngleJoint",
    "Side",
    "Units",
    "PARENTS",
    "ROOT_BONES",
    "FINGER_JOINTS",
    "ANGLE_BONES",
    "JointOrder",
    "get_order",
    "register_order",
    "available_orders",
    "convert",
    "flat_hand",
    "posed_hand",
    "HandkinError",
    "ShapeError",
    "NonFiniteError",
    "OrderError",
    "UnitsError",
    "SideError",
    "UnknownNameError",
    "BackendError",
    "CameraError",
    "FileFormatError",
    "LimitsError",
    "__version__",
]
