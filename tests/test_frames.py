"""Bone frames, joint angles (Eq. 4–6) and forward kinematics: known answers, the paper re-stated
independently, round trips, invariances, degenerate input, dtypes, gradients and real captures."""

import json

import numpy as np
import pytest
import reference_bmc as ref
from conftest import BACKENDS, as_backend, batch_shapes, random_hands, seeds, shared_path, torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

import handkin
from handkin import AngleJoint, BMCLoss, BoneFrame, HandSkeleton, Joint, JointLimits
from handkin.errors import ShapeError, UnitsError, UnknownNameError
from handkin.vec import GRADIENT_BOUND

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


# ----------------------------------------------------------------------------- hand-built poses


def rotate_about(joints, moving, pivot, axis, degrees):
    """Rotate the joints ``moving`` about the line through joint ``pivot`` along ``axis`` (scipy, right-hand rule)."""
    out = joints.copy()
    r = Rotation.from_rotvec(np.radians(degrees) * axis / np.linalg.norm(axis))
    out[moving] = r.apply(joints[moving] - joints[pivot]) + joints[pivot]
    return out


def unit(v):
    return v / np.linalg.norm(v)


FLAT = np.asarray(handkin.flat_hand().joints)
PALMAR = np.array([0.0, 0.0, -1.0])  # the template's palm faces −z
INDEX = [Joint.index_pip, Joint.index_dip, Joint.index_tip]


def test_flat_hand_has_all_angles_zero():
    np.testing.assert_allclose(handkin.flat_hand().joint_angles, 0.0, atol=1e-14)


def test_finger_bent_towards_the_palm_is_positive_flexion():
    u = unit(FLAT[Joint.index_pip] - FLAT[Joint.index_mcp])
    bent = rotate_about(FLAT, INDEX, Joint.index_mcp, np.cross(u, PALMAR), 30.0)
    angles = np.degrees(HandSkeleton(joints=bent, units="mm").joint_angles)
    expected = np.zeros((15, 2))
    expected[AngleJoint.index_mcp] = (30.0, 0.0)
    np.testing.assert_allclose(angles, expected, atol=1e-9)
    # then the PIP by 45°, about the bent finger's own lateral axis
    lateral = np.cross(u, PALMAR)  # unchanged by the MCP flexion about it
    bent2 = rotate_about(bent, INDEX[1:], Joint.index_pip, lateral, 45.0)
    angles2 = np.degrees(HandSkeleton(joints=bent2, units="mm").joint_angles)
    expected[AngleJoint.index_pip] = (45.0, 0.0)
    np.testing.assert_allclose(angles2, expected, atol=1e-9)


def test_hyperextension_is_negative_flexion():
    u = unit(FLAT[Joint.little_pip] - FLAT[Joint.little_mcp])
    moving = [Joint.little_pip, Joint.little_dip, Joint.little_tip]
    bent = rotate_about(FLAT, moving, Joint.little_mcp, np.cross(u, -PALMAR), 20.0)
    angles = np.degrees(HandSkeleton(joints=bent, units="mm").angles["little_mcp"])
    np.testing.assert_allclose(angles, (-20.0, 0.0), atol=1e-9)


def test_spread_towards_the_thumb_is_positive_abduction():
    u = unit(FLAT[Joint.index_pip] - FLAT[Joint.index_mcp])
    towards_thumb = unit(np.array([-1.0, 0, 0]) - np.dot([-1.0, 0, 0], u) * u)  # thumb is on −x
    spread = rotate_about(FLAT, INDEX, Joint.index_mcp, np.cross(u, towards_thumb), 15.0)
    a = HandSkeleton(joints=spread, units="mm").angles
    np.testing.assert_allclose(np.degrees(a["index_mcp"]), (0.0, 15.0), atol=1e-9)
    little = [Joint.little_pip, Joint.little_dip, Joint.little_tip]
    v = unit(FLAT[Joint.little_pip] - FLAT[Joint.little_mcp])
    away = unit(np.array([1.0, 0, 0]) - np.dot([1.0, 0, 0], v) * v)
    spread = rotate_about(FLAT, little, Joint.little_mcp, np.cross(v, away), 10.0)
    np.testing.assert_allclose(
        np.degrees(HandSkeleton(joints=spread, units="mm").angles["pinky_mcp"]), (0, -10), atol=1e-9
    )


def test_combined_flexion_and_abduction_match_the_direction_formula():
    """A bone placed at d = (sin f cos a, sin a, cos f cos a) in its (hand-built) frame reads back (f, a)."""
    f, a = np.radians(50.0), np.radians(-12.0)
    u = unit(FLAT[Joint.middle_pip] - FLAT[Joint.middle_mcp])
    x, z = PALMAR, u
    y = np.cross(z, x)
    d = np.sin(f) * np.cos(a) * x + np.sin(a) * y + np.cos(f) * np.cos(a) * z
    joints = FLAT.copy()
    for k, j in enumerate([Joint.middle_pip, Joint.middle_dip, Joint.middle_tip]):
        joints[j] = FLAT[Joint.middle_mcp] + d * np.linalg.norm(FLAT[Joint.middle_pip] - FLAT[Joint.middle_mcp]) * (
            1 + k * 0.6
        )
    angles = HandSkeleton(joints=joints, units="mm").angles
    np.testing.assert_allclose(angles["middle_mcp"], (f, a), atol=1e-12)
    np.testing.assert_allclose(angles["middle_pip"], (0, 0), atol=1e-9)  # the rest of the finger is straight


# ----------------------------------------------------------------------------- the paper, independently


@given(seed=seeds)
def test_first_level_frames_match_eq4(seed):
    joints = random_hands(seed, noise_mm=6.0)
    frames = HandSkeleton(joints=joints, units="mm").frames
    for finger, name in enumerate(["thumb_cmc", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp"]):
        np.testing.assert_allclose(frames[name], ref.first_frame(joints, finger), atol=1e-9)


@given(seed=seeds)
def test_all_angles_match_the_paper_with_arccos_and_octant_lookup(seed):
    joints = random_hands(seed, noise_mm=6.0)
    np.testing.assert_allclose(
        HandSkeleton(joints=joints, units="mm").joint_angles, ref.joint_angles(joints), atol=1e-7
    )


@given(seed=seeds, shape=batch_shapes)
def test_frames_are_orthonormal_right_handed_and_follow_bones(seed, shape):
    sk = HandSkeleton(joints=random_hands(seed, shape, noise_mm=6.0), units="mm")
    m = sk.measure()
    F = m.frames.matrices
    assert F.shape == (*shape, 15, 3, 3)
    np.testing.assert_allclose(np.swapaxes(F, -1, -2) @ F, np.broadcast_to(np.eye(3), F.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(F), 1.0, atol=1e-12)
    # the z axis of a deeper frame is the direction of the parent bone
    bones = np.asarray(sk.bones)
    z_mid = m.frames.z[..., AngleJoint.index_pip, :]
    np.testing.assert_allclose(z_mid, bones[..., handkin.Bone.index_pip, :] / sk.bone_lengths[..., 5:6], atol=1e-12)
    np.testing.assert_allclose(m.frames.origins[..., AngleJoint.ring_dip, :], sk["ring_dip"])
    np.testing.assert_allclose(m.joint_angles, sk.joint_angles)


def test_named_access():
    sk = handkin.posed_hand({"ring_pip": (0.7, 0.1)})
    assert sk.angles["ring_pip"].flexion == pytest.approx(0.7)
    assert sk.angles["ring_pip"].abduction == pytest.approx(0.1)
    np.testing.assert_allclose(sk.angles.degrees()[AngleJoint.ring_pip], np.degrees([0.7, 0.1]))
    assert "ring_pip" in sk.angles.table() and "40.1" in sk.angles.table()
    frames = sk.frames
    np.testing.assert_array_equal(frames.of_bone("ring_dip"), frames["ring_pip"])
    with pytest.raises(ShapeError, match="root bone"):
        frames.of_bone("ring_mcp")
    with pytest.raises(UnknownNameError):
        sk.angles["ring_tip"]
    with pytest.raises(ShapeError):
        BoneFrame(matrices=np.zeros((14, 3, 3)))


# ----------------------------------------------------------------------------- forward kinematics


def random_angles(rng, shape, anatomical=True):
    if anatomical:
        f = rng.uniform(-0.5, 2.0, size=(*shape, 15))
        a = rng.uniform(-0.6, 0.6, size=(*shape, 15))
    else:  # anything except the exact poles
        f = rng.uniform(-np.pi + 1e-3, np.pi - 1e-3, size=(*shape, 15))
        a = rng.uniform(-np.pi / 2 + 1e-3, np.pi / 2 - 1e-3, size=(*shape, 15))
    return np.stack([f, a], axis=-1)


@pytest.mark.parametrize("backend", BACKENDS)
@given(seed=seeds, shape=batch_shapes, anatomical=st.booleans())
def test_forward_kinematics_round_trip(seed, shape, anatomical, backend):
    rng = np.random.default_rng(seed)
    palm = random_hands(seed, shape)
    angles = random_angles(rng, shape, anatomical)
    lengths = rng.uniform(15, 50, size=(*shape, 15))
    sk = HandSkeleton.from_angles(
        as_backend(angles, backend), as_backend(lengths, backend), as_backend(palm, backend), units="mm"
    )
    assert sk.backend == backend and sk.batch_shape == shape
    np.testing.assert_allclose(np.asarray(sk.joint_angles), angles, atol=1e-9)
    np.testing.assert_allclose(
        np.asarray(sk.bone_lengths)[..., [int(b) for b in handkin.ANGLE_BONES]], lengths, rtol=1e-12
    )
    np.testing.assert_array_equal(
        np.asarray(sk.joints)[..., [0, 1, 5, 9, 13, 17], :], palm[..., [0, 1, 5, 9, 13, 17], :]
    )


@given(seed=seeds, shape=batch_shapes)
def test_measure_then_rebuild_is_the_identity(seed, shape):
    sk = HandSkeleton(joints=random_hands(seed, shape, noise_mm=6.0), units="mm", side="left")
    again = HandSkeleton.from_angles(sk.angles, sk.bone_lengths, palm=sk)
    assert again.side.value == "left" and again.units.value == "mm"
    np.testing.assert_allclose(again.joints, sk.joints, atol=1e-9)


def test_from_angles_broadcasts_and_checks_input():
    palm = FLAT[[0, 1, 5, 9, 13, 17]]
    angles = random_angles(np.random.default_rng(0), (4,))
    lengths = np.full(15, 30.0)
    sk = HandSkeleton.from_angles(angles, lengths, palm, units="mm")
    assert sk.batch_shape == (4,)
    with pytest.raises(UnitsError):
        HandSkeleton.from_angles(angles, lengths, palm)
    with pytest.raises(ShapeError, match="palm"):
        HandSkeleton.from_angles(angles, lengths, palm[:5], units="mm")
    with pytest.raises(ShapeError, match="angles"):
        HandSkeleton.from_angles(angles[..., :14, :], lengths, palm, units="mm")
    with pytest.raises(ShapeError, match="bone_lengths"):
        HandSkeleton.from_angles(angles, lengths[:14], palm, units="mm")


def test_posed_hand_helper():
    sk = handkin.posed_hand({"index_pip": (45, 0), "thumb_mcp": (20, -5)}, degrees=True)
    np.testing.assert_allclose(np.degrees(sk.angles["index_pip"]), (45, 0), atol=1e-9)
    np.testing.assert_allclose(np.degrees(sk.angles["thumb_mcp"]), (20, -5), atol=1e-9)
    np.testing.assert_allclose(sk.bone_lengths, handkin.flat_hand().bone_lengths, rtol=1e-12)
    batch = handkin.posed_hand(np.zeros((3, 15, 2)), units="m", side="left")
    assert batch.batch_shape == (3,) and batch.side.value == "left"
    np.testing.assert_allclose(batch.joint_angles, 0, atol=1e-12)


# ----------------------------------------------------------------------------- invariances


@given(seed=seeds, shape=batch_shapes, scale=st.floats(0.4, 2.5))
def test_angles_invariant_under_rigid_motion_scale_and_mirror(seed, shape, scale):
    joints = random_hands(seed, shape, noise_mm=6.0)
    sk = HandSkeleton(joints=joints, units="mm")
    rng = np.random.default_rng(seed + 7)
    moved = joints @ Rotation.random(random_state=rng).as_matrix().T + rng.uniform(-500, 500, 3)
    np.testing.assert_allclose(HandSkeleton(joints=moved, units="mm").joint_angles, sk.joint_angles, atol=1e-9)
    np.testing.assert_allclose(HandSkeleton(joints=joints * scale, units="mm").joint_angles, sk.joint_angles, atol=1e-9)
    left = sk.mirror()
    np.testing.assert_allclose(left.joint_angles, sk.joint_angles, atol=1e-12)
    # a left hand's frames are its right twin's, mirrored back into its coordinates
    np.testing.assert_allclose(left.frames.matrices[..., 0, :], -sk.frames.matrices[..., 0, :], atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(left.frames.matrices), -1.0, atol=1e-9)


# ----------------------------------------------------------------------------- numerical safety


def degenerate_hands() -> dict[str, np.ndarray]:
    cases = {"flat (straight fingers)": FLAT.copy(), "all joints at one point": np.zeros((21, 3))}
    zero = FLAT.copy()
    zero[Joint.index_dip] = zero[Joint.index_pip]
    zero[Joint.ring_tip] = zero[Joint.ring_dip]
    cases["zero-length bones"] = zero
    coincident = FLAT.copy()
    coincident[[Joint.middle_pip, Joint.middle_dip, Joint.middle_tip]] = coincident[Joint.middle_mcp]
    cases["coincident finger joints"] = coincident
    collinear = FLAT.copy()
    for k in (1, 5, 13, 17):
        collinear[k] = FLAT[9] * 0.8
    cases["collinear root bones"] = collinear
    backwards = FLAT.copy()
    d = FLAT[Joint.index_pip] - FLAT[Joint.index_mcp]
    backwards[Joint.index_dip] = FLAT[Joint.index_pip] - 0.6 * d  # folds exactly back onto itself
    backwards[Joint.index_tip] = backwards[Joint.index_dip] - 0.5 * d
    cases["bone pointing exactly backwards"] = backwards
    return cases


@pytest.mark.parametrize("name", list(degenerate_hands()))
def test_degenerate_hands_are_finite(name):
    m = HandSkeleton.unchecked(degenerate_hands()[name], units="mm").measure()
    for value in (m.joint_angles, m.frames.matrices, m.palm_curvature, m.palm_angles, m.bone_lengths):
        assert np.all(np.isfinite(value))
    F = m.frames.matrices
    np.testing.assert_allclose(np.swapaxes(F, -1, -2) @ F, np.broadcast_to(np.eye(3), F.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(F), 1.0, atol=1e-9)
    if name == "zero-length bones":  # documented: a zero-length bone reads (0, 0), the next joint is measured as usual
        np.testing.assert_array_equal(m.joint_angles[AngleJoint.index_pip], 0.0)
    if name == "bone pointing exactly backwards":
        np.testing.assert_allclose(abs(m.joint_angles[AngleJoint.index_pip, 0]), np.pi, atol=1e-9)
        np.testing.assert_allclose(m.joint_angles[AngleJoint.index_dip], 0.0, atol=1e-9)


@needs_torch
@pytest.mark.parametrize("name", list(degenerate_hands()))
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_degenerate_hands_have_finite_gradients(name, dtype):
    j = torch.tensor(degenerate_hands()[name][None], dtype=getattr(torch, dtype), requires_grad=True)  # batch size 1
    m = HandSkeleton.unchecked(j, units="mm").measure()
    total = m.joint_angles.sum() + m.frames.matrices.sum() + m.palm_curvature.sum() + m.palm_angles.sum()
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(j.grad).all()


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_low_precision_matches_float64(dtype):
    """Half-precision input is measured in float32 internally: the only errors left are rounding the input and output."""
    t = torch.tensor(random_hands(2, (8,), noise_mm=5.0), dtype=getattr(torch, dtype))
    lo = HandSkeleton(joints=t, units="mm").joint_angles
    assert lo.dtype == getattr(torch, dtype)
    hi = HandSkeleton(joints=t.double().numpy(), units="mm").joint_angles  # the same rounded input, in float64
    tol = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 1.6e-2}[dtype]
    np.testing.assert_allclose(lo.double().numpy(), hi, atol=tol)


@needs_torch
def test_gradcheck_angles_frames_and_forward_kinematics():
    j = torch.tensor(random_hands(21, (2,), noise_mm=6.0), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: HandSkeleton.unchecked(x, units="mm").joint_angles, (j,))
    assert torch.autograd.gradcheck(lambda x: HandSkeleton.unchecked(x, units="mm").frames.matrices, (j,))
    rng = np.random.default_rng(1)
    angles = torch.tensor(random_angles(rng, (2,)), requires_grad=True)
    lengths = torch.tensor(rng.uniform(20, 40, (2, 15)), requires_grad=True)
    palm = torch.tensor(random_hands(3, (2,))[:, [0, 1, 5, 9, 13, 17]], requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, l, p: HandSkeleton.from_angles(a, l, p, units="mm").joints, (angles, lengths, palm)
    )


# ----------------------------------------------------------------------------- bounded gradients at singular poses
# (issue 21 point 9; these were strict xfails in tests/test_known_limitations.py)


def palm_scale(joints) -> float:
    """L: the RMS root-bone length of one hand (its length unit), the scale of handkin.vec.GRADIENT_BOUND."""
    j = np.asarray(joints.detach().double() if torch is not None and isinstance(joints, torch.Tensor) else joints)
    roots = j[..., [1, 5, 9, 13, 17], :] - j[..., :1, :]
    return float(np.sqrt(np.mean(np.sum(roots**2, axis=-1))))


def assert_gradient_bounded(joints, grad) -> None:
    """Finite, and at most GRADIENT_BOUND / L (per mm for the mm hands here; the documented bound)."""
    assert grad is not None
    assert bool(torch.isfinite(grad).all()), "non-finite gradient"
    bound = GRADIENT_BOUND / palm_scale(joints)
    assert float(grad.abs().max()) <= bound, f"gradient up to {float(grad.abs().max()):.3g} > {bound:.3g}"


def grad_leaf(array, dtype=None):
    return torch.tensor(np.asarray(array), dtype=dtype or torch.float64, requires_grad=True)


@needs_torch
@pytest.mark.parametrize("sign", [1, -1], ids=["+90", "-90"])
def test_joint_angle_gradient_at_90_degrees_abduction_is_bounded(sign):
    """Flexion is undefined at ±90° abduction (atan2 of two zeros; gradients were ~1e15): it passes no gradient
    where cos(abduction) ≤ SINGULAR_TOL, and the angles' values stay those of the formula."""
    joints = grad_leaf(handkin.posed_hand({"index_mcp": (0.3, sign * np.pi / 2)}).joints)
    angles = HandSkeleton.unchecked(joints, units="mm").joint_angles
    angles.sum().backward()
    assert_gradient_bounded(joints, joints.grad)
    np.testing.assert_allclose(angles[AngleJoint.index_mcp, 1].item(), sign * np.pi / 2, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("sign", [1, -1], ids=["+90", "-90"])
def test_bmc_loss_gradient_at_90_degrees_abduction_is_bounded(sign):
    """Through BMCLoss (outside the angle limits) the same pose gave gradients up to ~1e11."""
    joints = grad_leaf(handkin.posed_hand({"index_mcp": (0.3, sign * np.pi / 2)}).joints)
    BMCLoss(JointLimits.default())(HandSkeleton.unchecked(joints, units="mm")).backward()
    assert_gradient_bounded(joints, joints.grad)


ROOTS = [Joint.thumb_cmc, Joint.index_mcp, Joint.middle_mcp, Joint.ring_mcp, Joint.little_mcp]
FINGER_JOINTS = [j for j in range(1, 21) if j not in ROOTS]  # the child joints of the 15 finger bones
SINGULAR_PLACEMENTS = [
    "abduction +90°",
    "abduction -90°",
    "bone pointing backwards",
    "two coincident root joints",
    "zero-length finger bone",
    "collinear neighbouring root bones",
    "root joint on the wrist",
]


def place_singular(angles, rotation, placement: str, k: int):
    """A torch hand (mm) posed by ``angles (15, 2)`` and turned by ``rotation (3, 3)``, with a joint placed exactly
    at a singular configuration (``k`` picks the joint). Built with torch only (posed_hand on a tensor)."""
    angles = angles.clone()
    a = k % 15
    if placement.startswith("abduction"):
        angles[a, 1] = np.pi / 2 if "+" in placement else -np.pi / 2
    elif placement == "bone pointing backwards":
        angles[a, 0], angles[a, 1] = np.pi, 0.0
    joints = handkin.posed_hand(angles).joints @ rotation.T
    i = k % 4
    if placement == "two coincident root joints":
        joints[ROOTS[i]] = joints[ROOTS[i + 1]]
    elif placement == "zero-length finger bone":
        child = FINGER_JOINTS[k % 15]
        joints[child] = joints[handkin.anatomy.PARENTS[child]]
    elif placement == "collinear neighbouring root bones":
        joints[ROOTS[i]] = joints[Joint.wrist] + 1.2 * (joints[ROOTS[i + 1]] - joints[Joint.wrist])
    elif placement == "root joint on the wrist":
        joints[ROOTS[k % 5]] = joints[Joint.wrist]
    return joints.detach().requires_grad_(True)


@needs_torch
@given(
    seed=seeds,
    placement=st.sampled_from(SINGULAR_PLACEMENTS),
    k=st.integers(0, 59),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_gradients_at_singular_poses_are_finite_and_bounded(seed, placement, k, dtype):
    """Random poses with one joint exactly at a singular configuration: every gradient of the measurements and of
    BMCLoss is finite and at most GRADIENT_BOUND / L, in float32 and float64, on the torch path."""
    dt = getattr(torch, dtype)
    rotation = torch.tensor(Rotation.random(random_state=seed).as_matrix(), dtype=dt)
    joints = place_singular(
        torch.tensor(random_angles(np.random.default_rng(seed), ()), dtype=dt), rotation, placement, k
    )
    loss = BMCLoss(JointLimits.default()).to(dt)
    outputs = {
        "joint angles": lambda sk: sk.joint_angles.sum(),
        "frames": lambda sk: sk.frames.matrices.sum(),
        "palm curvature": lambda sk: sk.palm_curvature.sum(),
        "palm angles": lambda sk: sk.palm_angles.sum(),
        "BMCLoss": loss,
    }
    for name, output in outputs.items():
        value = output(HandSkeleton.unchecked(joints, units="mm"))
        (grad,) = torch.autograd.grad(value, joints)
        assert bool(torch.isfinite(value)), name
        try:
            assert_gradient_bounded(joints, grad)
        except AssertionError as exc:
            raise AssertionError(f"{name} at {placement!r} (k={k}, {dtype}): {exc}") from None


# ----------------------------------------------------------------------------- real captures


@pytest.mark.shared_data
def test_mediapipe_gestures_read_as_expected():
    data = json.loads(shared_path("mediapipe_expected_landmarks", "parsed_landmarks.json").read_text())
    pips = ["index_pip", "middle_pip", "ring_pip", "little_pip"]

    def flexion(name, side=None):
        hand = data[name]
        sk = HandSkeleton(joints=hand["world_landmarks"], units="m", side=side or hand["handedness"][0].lower())
        return {a.name: np.degrees(float(sk.angles[a].flexion)) for a in AngleJoint}

    fist = flexion("fist_landmarks.pbtxt")
    assert all(fist[p] > 60 for p in pips)
    assert all(v < -60 for k, v in flexion("fist_landmarks.pbtxt", side="left").items() if k in pips)  # wrong side
    for name in ("pointing_up_landmarks.pbtxt", "pointing_up_rotated_landmarks.pbtxt"):
        f = flexion(name)
        assert abs(f["index_mcp"]) < 20 and abs(f["index_pip"]) < 20
        assert all(f[p] > 60 for p in pips[1:])
    victory = flexion("victory_landmarks.pbtxt")
    assert victory["index_mcp"] + victory["index_pip"] < 45 and victory["middle_mcp"] + victory["middle_pip"] < 45
    assert victory["ring_pip"] > 60 and victory["little_pip"] > 60
    for name in ("thumb_up_landmarks.pbtxt", "thumb_up_rotated_landmarks.pbtxt"):
        f = flexion(name)
        assert abs(f["thumb_mcp"]) < 30 and abs(f["thumb_ip"]) < 30
        assert all(f[p] > 60 for p in pips)


@pytest.mark.shared_data
def test_video_sequence_angles():
    z = np.load(shared_path("mediapipe_video_sequence", "sequence_mp21_mm.npz"))
    sk = HandSkeleton(joints=z["xyz_wrist_frame_mm"], units="mm", side="right")
    m = sk.measure()
    deg = np.degrees(m.joint_angles)
    assert deg.shape == (621, 15, 2) and np.all(np.isfinite(deg))
    assert np.all(np.abs(deg[..., 0]) <= 180) and np.all(np.abs(deg[..., 1]) <= 90)
    fingers = np.abs(deg[:, 3:, 0]).mean(axis=1)
    flattest = int(np.argmin(fingers))
    assert np.all(np.abs(deg[flattest, 3:, 0]) < 15)  # an open hand reads near zero flexion
    assert np.all(deg[:, [4, 7, 10, 13], 0].max(axis=0) > 60)  # and the fingers do close during the video
    assert np.all(np.abs(m.palm_curvature) < 0.05)  # a real palm: |c| below 1/(20 mm)


@pytest.mark.shared_data
def test_dataset_hands_round_trip_through_forward_kinematics():
    for folder in ("interhand26m_excerpt", "rhd_excerpt"):
        z = np.load(shared_path(folder, "excerpt_mp21_mm.npz"))
        for joints, side in zip(z["xyz_cam_mm"], z["side"], strict=True):
            sk = HandSkeleton(joints=joints, units="mm", side=str(side))
            again = HandSkeleton.from_angles(sk.joint_angles, sk.bone_lengths, palm=sk)
            np.testing.assert_allclose(again.joints, joints, atol=1e-8)
