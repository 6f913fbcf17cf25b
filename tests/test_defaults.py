"""Default limits: real hands pass, impossible hands fail, sources and units are right."""

import json

import numpy as np
import pytest
from conftest import shared_path

import handkin
from handkin import AngleJoint, HandSkeleton, JointLimits
from handkin.defaults import ADULT_REFERENCE_MM, CALIBRATION_SOURCES, JOINT_POLYGONS_DEG, JOINT_RANGES_DEG


def real_hands() -> list[tuple[str, HandSkeleton]]:
    hands = []
    for folder in ("interhand26m_excerpt", "rhd_excerpt"):
        z = np.load(shared_path(folder, "excerpt_mp21_mm.npz"))
        for k, (joints, side) in enumerate(zip(z["xyz_cam_mm"], z["side"], strict=True)):
            hands.append((f"{folder}[{k}]", HandSkeleton(joints=joints, units="mm", side=str(side))))
    return hands


@pytest.fixture(scope="module")
def limits() -> JointLimits:
    return JointLimits.default()


def test_defaults_are_complete_and_cited(limits):
    assert len(limits.joint_angles) == 15 and len(limits.palm_curvature) == 4 and len(limits.palm_angles) == 4
    assert len(limits.bone_lengths) == 19  # every bone but the reference bone, which is 1 by definition
    assert limits.provenance.source == "literature" and "Chen" in limits.provenance.citation
    assert all(len(p.points) == 10 for p in limits.joint_angles.values())
    assert all(source for *_, source in JOINT_RANGES_DEG.values())
    assert set(JOINT_POLYGONS_DEG) == {a.name for a in AngleJoint} and CALIBRATION_SOURCES


def test_mcp_abduction_narrows_as_the_mcp_flexes(limits):
    poly = np.degrees(limits.joint_angles["index_mcp"].array)
    at_max_flexion = poly[np.isclose(poly[:, 0], poly[:, 0].max())]
    at_min_flexion = poly[np.isclose(poly[:, 0], poly[:, 0].min())]
    # the prior narrows from ±30° to ±15° (both grown by the calibration margin); the data keep it narrowing
    assert np.ptp(at_max_flexion[:, 1]) < np.ptp(at_min_flexion[:, 1]) - 20


def test_template_and_demo_pose_pass(limits):
    assert limits.check(handkin.flat_hand()).ok
    from handkin.cli import DEMO_POSE

    assert limits.check(handkin.posed_hand(DEMO_POSE, degrees=True)).ok
    assert limits.check(handkin.posed_hand(DEMO_POSE, degrees=True, side="left")).ok


@pytest.mark.shared_data
def test_every_real_hand_passes(limits):
    for name, hand in real_hands():
        report = limits.check(hand)
        assert report.ok, f"{name}:\n{report.table()}"
    z = np.load(shared_path("mediapipe_video_sequence", "sequence_mp21_mm.npz"))
    report = limits.check(HandSkeleton(joints=z["xyz_wrist_frame_mm"], units="mm", side="right"))
    assert report.ok.all(), report.table()
    gestures = json.loads(shared_path("mediapipe_expected_landmarks", "parsed_landmarks.json").read_text())
    for name, g in gestures.items():
        if "world_landmarks" in g:
            hand = HandSkeleton(joints=g["world_landmarks"], units="m", side=g["handedness"][0].lower())
            assert limits.check(hand).ok, name


@pytest.mark.parametrize("joint", [a.name for a in AngleJoint if not a.name.startswith("thumb")])
def test_a_finger_bent_backwards_60_degrees_fails(limits, joint):
    report = limits.check(handkin.posed_hand({joint: (-60, 0)}, degrees=True))
    assert not report.ok
    assert [v.name for v in report.violations()] == [joint]
    assert report.joint_angles[AngleJoint[joint]] >= 5 - 1e-9  # the most permissive extension limit is −55°


def reflect_thumb_through_palm(joints: np.ndarray) -> np.ndarray:
    """The thumb's MCP, IP and tip reflected through the palm plane (wrist, index_mcp, little_mcp)."""
    j = joints.copy()
    w, i, little = j[0], j[5], j[17]
    n = np.cross(i - w, little - w)
    n /= np.linalg.norm(n)
    for k in (2, 3, 4):
        j[k] = j[k] - 2 * np.dot(j[k] - w, n) * n
    return j


@pytest.mark.shared_data
def test_a_thumb_through_the_palm_fails(limits):
    for name, hand in real_hands():
        moved = HandSkeleton(joints=reflect_thumb_through_palm(np.asarray(hand.joints)), units="mm", side=hand.side)
        report = limits.check(moved)
        assert not report.ok, name
        assert any(v.name.startswith("thumb") for v in report.violations()), name


@pytest.mark.shared_data
def test_a_depth_mirrored_palm_fails(limits):
    for name, hand in real_hands():
        joints = np.asarray(hand.joints).copy()
        joints[:, 2] = 2 * joints[:, 2].mean() - joints[:, 2]  # mirrored in depth, still labelled with its side
        report = limits.check(HandSkeleton(joints=joints, units="mm", side=hand.side))
        assert not report.ok, name
        kinds = {v.kind for v in report.violations()}
        assert kinds & {"palm_curvature", "joint_angle"}, name


def test_default_in_millimetres():
    mm = JointLimits.default(units="mm")
    ref = JointLimits.default()
    lo, hi = ADULT_REFERENCE_MM
    assert mm.units.value == "mm"
    assert mm.bone_lengths["index_pip"].min == pytest.approx(ref.bone_lengths["index_pip"].min * lo)
    assert mm.bone_lengths["index_pip"].max == pytest.approx(ref.bone_lengths["index_pip"].max * hi)
    assert mm.palm_curvature["index_middle"].max == pytest.approx(ref.palm_curvature["index_middle"].max / lo)
    person = JointLimits.default(units="mm", reference_length=90.0)
    assert person.bone_lengths["index_pip"].max == pytest.approx(ref.bone_lengths["index_pip"].max * 90)
    assert mm.check(handkin.flat_hand()).ok and person.check(handkin.flat_hand()).ok


def test_default_limits_in_cm_and_m_use_the_adult_range_in_that_unit():
    mm = JointLimits.default(units="mm")
    for units, factor in (("cm", 0.1), ("m", 0.001)):
        other = JointLimits.default(units=units)
        assert other.units.value == units
        for name, iv in mm.bone_lengths.items():
            assert other.bone_lengths[name].min == pytest.approx(iv.min * factor)
            assert other.bone_lengths[name].max == pytest.approx(iv.max * factor)
        assert other.check(handkin.flat_hand(units=units)).ok


def test_default_couplings_are_optional():
    assert JointLimits.default().couplings == ()
    with_c = JointLimits.default(couplings=True)
    assert [c.finger for c in with_c.couplings] == ["index", "middle", "ring", "little"]
    assert with_c.check(handkin.posed_hand({"ring_pip": (90, 0), "ring_dip": (60, 0)}, degrees=True)).ok
    assert not with_c.check(handkin.posed_hand({"ring_pip": (100, 0), "ring_dip": (-20, 0)}, degrees=True)).ok
