"""handkin — hand kinematics and biomechanics for 21-joint hand skeletons.

Measure, constrain and look at hands as defined by Spurr et al., "Weakly Supervised 3D Hand Pose
Estimation via Biomechanical Constraints" (ECCV 2020). One code path serves numpy and torch.

>>> import handkin
>>> hand = handkin.flat_hand(units="mm")
>>> round(float(hand.bone_lengths[handkin.Bone.index_pip]), 1)
42.0
"""

from __future__ import annotations

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
