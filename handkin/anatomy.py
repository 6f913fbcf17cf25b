"""Hand anatomy as named constants: joints, fingers, bones, root bones and angle joints.

Everything is addressed by name. The integer values are positions in the canonical MP21 order
(``../docs/conventions.md``), so ``joints[..., Joint.index_tip, :]`` works, but user code should
prefer :func:`joint` / :func:`bone` / :func:`finger` / :func:`angle_joint`, which accept strings,
enum members and the alias ``pinky`` for ``little``, and raise one clear error for unknown names.

Rules (the BMC paper's, Spurr et al. 2020, §3 "Notation"):

* a **bone is named after its child joint**: the bone index_mcp → index_pip is the "index_pip"
  bone; bone ``k`` (0-based, 20 of them) is ``J[k + 1] − J[parent[k + 1]]``;
* the five **root bones** run from the wrist to thumb_cmc, index_mcp, middle_mcp, ring_mcp and
  little_mcp and span the palm;
* an **angle is named after the joint where the rotation happens**, i.e. the parent joint of the
  bone it measures: angle joint ``index_pip`` measures the index_dip bone.
"""

from __future__ import annotations

import difflib
from enum import Enum, IntEnum

import numpy as np

from .errors import SideError, UnknownNameError


class Finger(IntEnum):
    """The five fingers F1..F5, thumb first."""

    thumb = 0
    index = 1
    middle = 2
    ring = 3
    little = 4


#: Names of the four joints of each finger, from the palm outwards.
FINGER_JOINT_NAMES: dict[Finger, tuple[str, str, str, str]] = {
    Finger.thumb: ("cmc", "mcp", "ip", "tip"),
    **{f: ("mcp", "pip", "dip", "tip") for f in list(Finger)[1:]},
}

NUM_JOINTS = 21
NUM_BONES = 20
NUM_ANGLE_JOINTS = 15

#: Parent of every joint in canonical order (the wrist has none, -1).
PARENTS: tuple[int, ...] = (-1,) + tuple(0 if k % 4 == 1 else k - 1 for k in range(1, NUM_JOINTS))


class Joint(IntEnum):
    """The 21 joints in canonical MP21 order: the wrist, then each finger from its base to its tip."""

    wrist = 0
    thumb_cmc = 1
    thumb_mcp = 2
    thumb_ip = 3
    thumb_tip = 4
    index_mcp = 5
    index_pip = 6
    index_dip = 7
    index_tip = 8
    middle_mcp = 9
    middle_pip = 10
    middle_dip = 11
    middle_tip = 12
    ring_mcp = 13
    ring_pip = 14
    ring_dip = 15
    ring_tip = 16
    little_mcp = 17
    little_pip = 18
    little_dip = 19
    little_tip = 20

    @property
    def finger(self) -> Finger | None:
        """The finger this joint belongs to (``None`` for the wrist)."""
        return None if self == 0 else Finger((self - 1) // 4)

    @property
    def parent(self) -> Joint | None:
        """The parent joint in the kinematic tree (``None`` for the wrist)."""
        return None if self == 0 else Joint(PARENTS[self])


class Bone(IntEnum):
    """The 20 bones, each named after its child joint: bone ``k`` is ``J[k + 1] - J[parent[k + 1]]``."""

    thumb_cmc = 0
    thumb_mcp = 1
    thumb_ip = 2
    thumb_tip = 3
    index_mcp = 4
    index_pip = 5
    index_dip = 6
    index_tip = 7
    middle_mcp = 8
    middle_pip = 9
    middle_dip = 10
    middle_tip = 11
    ring_mcp = 12
    ring_pip = 13
    ring_dip = 14
    ring_tip = 15
    little_mcp = 16
    little_pip = 17
    little_dip = 18
    little_tip = 19

    @property
    def child(self) -> Joint:
        """The joint at the far end of the bone (the bone's namesake)."""
        return Joint(self + 1)

    @property
    def parent(self) -> Joint:
        """The joint the bone starts from."""
        return Joint(PARENTS[self + 1])

    @property
    def finger(self) -> Finger:
        """The finger whose chain the bone belongs to (root bones included)."""
        return Finger(self // 4)

    @property
    def is_root(self) -> bool:
        """True for the five root bones that start at the wrist and span the palm."""
        return self.parent == Joint.wrist


class AngleJoint(IntEnum):
    """The 15 angle joints, named after the joint where the rotation happens, finger-major.

    Angle joint ``index_pip`` measures the ``index_dip`` bone (its child bone).
    """

    thumb_cmc = 0
    thumb_mcp = 1
    thumb_ip = 2
    index_mcp = 3
    index_pip = 4
    index_dip = 5
    middle_mcp = 6
    middle_pip = 7
    middle_dip = 8
    ring_mcp = 9
    ring_pip = 10
    ring_dip = 11
    little_mcp = 12
    little_pip = 13
    little_dip = 14

    @property
    def joint(self) -> Joint:
        """The joint where the rotation happens."""
        return Joint[self.name]

    @property
    def bone(self) -> Bone:
        """The bone whose direction this angle describes (the bone of the next joint)."""
        return Bone(Joint[self.name])

    @property
    def finger(self) -> Finger:
        """The finger of this angle joint."""
        return Finger(self // 3)


#: The five root bones (wrist → first joint of each finger), thumb first.
ROOT_BONES: tuple[Bone, ...] = tuple(b for b in Bone if b.is_root)

#: Joint indices of each finger, from its base to its tip: ``FINGER_JOINTS[Finger.index]``.
FINGER_JOINTS: dict[Finger, tuple[Joint, ...]] = {
    f: tuple(Joint[f"{f.name}_{part}"] for part in FINGER_JOINT_NAMES[f]) for f in Finger
}

#: Indices of the 15 finger bones below the root bones, in angle-joint order (each angle joint's bone).
ANGLE_BONES: tuple[Bone, ...] = tuple(a.bone for a in AngleJoint)

#: Parent and child joint index of every bone, as integer arrays (vectorised gathers).
BONE_PARENT_INDEX = np.array([PARENTS[k + 1] for k in range(NUM_BONES)], dtype=np.int64)
BONE_CHILD_INDEX = np.arange(1, NUM_JOINTS, dtype=np.int64)


class Side(str, Enum):
    """Handedness of a skeleton."""

    right = "right"
    left = "left"


_ALIASES = {"pinky": "little", "little_finger": "little", "forefinger": "index"}


def _canonical_name(name: str) -> str:
    s = name.strip().lower().replace("-", "_").replace(" ", "_")
    for alias, real in _ALIASES.items():
        if s == alias or s.startswith(alias + "_"):
            s = real + s[len(alias) :]
    return s


def _lookup(enum, value, what: str):
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        s = _canonical_name(value)
        if s in enum.__members__:
            return enum[s]
        hint = difflib.get_close_matches(s, list(enum.__members__), n=3)
        hint_txt = f" Did you mean {', '.join(map(repr, hint))}?" if hint else ""
        raise UnknownNameError(f"unknown {what} name {value!r}.{hint_txt} Valid names: {', '.join(enum.__members__)}.")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        try:
            return enum(int(value))
        except ValueError:
            pass
    raise UnknownNameError(f"cannot read {value!r} as a {what}; give a name such as {next(iter(enum.__members__))!r}.")


def joint(name) -> Joint:
    """The :class:`Joint` called ``name`` (``"index_tip"``, ``"pinky_mcp"``, a member or an index)."""
    return _lookup(Joint, name, "joint")


def bone(name) -> Bone:
    """The :class:`Bone` called ``name`` (named after its child joint, e.g. ``"index_pip"``)."""
    return _lookup(Bone, name, "bone")


def finger(name) -> Finger:
    """The :class:`Finger` called ``name`` (``"thumb"`` … ``"little"``; ``"pinky"`` accepted)."""
    return _lookup(Finger, name, "finger")


def angle_joint(name) -> AngleJoint:
    """The :class:`AngleJoint` called ``name`` (``"thumb_cmc"`` … ``"little_dip"``)."""
    return _lookup(AngleJoint, name, "angle joint")


def side(value) -> Side:
    """Parse a handedness: ``"right"``/``"left"`` (also ``"r"``/``"l"``, any case)."""
    if isinstance(value, Side):
        return value
    if isinstance(value, str):
        s = value.strip().lower()
        s = {"r": "right", "l": "left"}.get(s, s)
        if s in Side.__members__:
            return Side(s)
    raise SideError(f"unknown hand side {value!r}; use 'right' or 'left'.")


__all__ = [
    "Finger",
    "Joint",
    "Bone",
    "AngleJoint",
    "Side",
    "PARENTS",
    "ROOT_BONES",
    "FINGER_JOINTS",
    "FINGER_JOINT_NAMES",
    "ANGLE_BONES",
    "BONE_PARENT_INDEX",
    "BONE_CHILD_INDEX",
    "NUM_JOINTS",
    "NUM_BONES",
    "NUM_ANGLE_JOINTS",
    "joint",
    "bone",
    "finger",
    "angle_joint",
    "side",
]
