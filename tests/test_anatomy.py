"""Anatomy: names, parents, bones named after their child joint, angle joints, lookups."""

import pytest

from handkin import anatomy
from handkin.anatomy import ANGLE_BONES, FINGER_JOINTS, PARENTS, ROOT_BONES, AngleJoint, Bone, Finger, Joint, Side
from handkin.errors import SideError, UnknownNameError

CONVENTIONS_TABLE = [
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_mcp", "index_pip", "index_dip",
    "index_tip", "middle_mcp", "middle_pip", "middle_dip", "middle_tip", "ring_mcp", "ring_pip", "ring_dip",
    "ring_tip", "little_mcp", "little_pip", "little_dip", "little_tip",
]  # fmt: skip


def test_joint_order_matches_conventions_table():
    assert [j.name for j in Joint] == CONVENTIONS_TABLE
    assert [int(j) for j in Joint] == list(range(21))


def test_parents_match_conventions():
    assert PARENTS == (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
    assert Joint.index_pip.parent is Joint.index_mcp
    assert Joint.wrist.parent is None


def test_bones_are_named_after_child_joint():
    assert len(Bone) == 20
    for b in Bone:
        assert b.child.name == b.name
        assert int(b.child) == int(b) + 1
        assert int(b.parent) == PARENTS[int(b) + 1]
    assert Bone.index_pip.parent is Joint.index_mcp  # the paper's example: MCP→PIP is the PIP bone


def test_root_bones():
    assert [b.name for b in ROOT_BONES] == ["thumb_cmc", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp"]
    assert all(b.parent is Joint.wrist for b in ROOT_BONES)
    assert sum(b.is_root for b in Bone) == 5


def test_angle_joints_named_where_rotation_happens():
    expected = [
        "thumb_cmc", "thumb_mcp", "thumb_ip", "index_mcp", "index_pip", "index_dip", "middle_mcp", "middle_pip",
        "middle_dip", "ring_mcp", "ring_pip", "ring_dip", "little_mcp", "little_pip", "little_dip",
    ]  # fmt: skip
    assert [a.name for a in AngleJoint] == expected
    for a in AngleJoint:
        assert a.bone.parent is a.joint  # the angle measures the bone that starts at its joint
        assert not a.bone.is_root
    assert [b.name for b in ANGLE_BONES][:4] == ["thumb_mcp", "thumb_ip", "thumb_tip", "index_pip"]
    assert AngleJoint.index_pip.bone is Bone.index_dip


def test_fingers():
    assert [j.name for j in FINGER_JOINTS[Finger.thumb]] == ["thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip"]
    assert [j.name for j in FINGER_JOINTS[Finger.little]] == ["little_mcp", "little_pip", "little_dip", "little_tip"]
    for f in Finger:
        assert all(j.finger is f for j in FINGER_JOINTS[f])
    assert Joint.wrist.finger is None


@pytest.mark.parametrize(
    "name, expected",
    [
        ("index_tip", Joint.index_tip),
        ("Pinky_TIP", Joint.little_tip),
        ("pinky-mcp", Joint.little_mcp),
        (8, Joint.index_tip),
    ],
)
def test_joint_lookup(name, expected):
    assert anatomy.joint(name) is expected


def test_lookup_by_name_everywhere():
    assert anatomy.finger("pinky") is Finger.little
    assert anatomy.bone("index_pip") is Bone.index_pip
    assert anatomy.angle_joint("little_dip") is AngleJoint.little_dip
    assert anatomy.side("L") is Side.left


def test_unknown_names_raise_with_suggestion():
    with pytest.raises(UnknownNameError, match="index_tip"):
        anatomy.joint("index_tipp")
    with pytest.raises(UnknownNameError):
        anatomy.angle_joint("index_tip")  # a tip has no angle
    with pytest.raises(UnknownNameError):
        anatomy.joint(21)
    with pytest.raises(UnknownNameError):
        anatomy.bone("wrist")  # the wrist has no bone
    with pytest.raises(SideError):
        anatomy.side("up")
