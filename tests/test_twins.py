"""handkin.twins: implausible twins that keep the projection (depth flips) or bone lengths and other angles
(bend_back, twist)."""

from __future__ import annotations

import numpy as np
import pytest
from base import torch
from conftest import random_hands

from handkin import twins
from handkin.anatomy import AngleJoint
from handkin.errors import CameraError, HandkinError, ShapeError, UnknownNameError
from handkin.frames import measure

SHAPES = [(), (1,), (2, 3)]


def camera_hands(seed: int, batch_shape=(7,)) -> np.ndarray:
    """Right hands in mm, rotated at random, their wrists 400–800 mm in front of the camera."""
    j = random_hands(seed, batch_shape)
    j = j - j[..., :1, :]
    rng = np.random.default_rng(seed + 1)
    return (
        j
        + np.stack(
            [
                rng.uniform(-100, 100, batch_shape),
                rng.uniform(-100, 100, batch_shape),
                rng.uniform(400, 800, batch_shape),
            ],
            axis=-1,
        )[..., None, :]
    )


def projection(j: np.ndarray) -> np.ndarray:
    return j[..., :2] / j[..., 2:]


@pytest.mark.parametrize("shape", SHAPES)
def test_depth_flip_keeps_projection_and_is_an_involution(shape):
    j = camera_hands(1, shape)
    f = twins.depth_flip(j)
    assert f.shape == j.shape and f.dtype == np.float64
    np.testing.assert_allclose(projection(f), projection(j), atol=1e-9, rtol=0)
    np.testing.assert_allclose(f[..., 0, :], j[..., 0, :], atol=1e-12)  # the wrist stays
    np.testing.assert_allclose(f[..., 2] - f[..., :1, 2], -(j[..., 2] - j[..., :1, 2]), atol=1e-9)  # depths mirrored
    np.testing.assert_allclose(twins.depth_flip(f), j, atol=1e-9, rtol=0)
    assert np.abs(f - j).max() > 1.0  # it did move the hand


@pytest.mark.parametrize("shape", SHAPES)
def test_finger_depth_flip_moves_only_that_finger_and_keeps_projection(shape):
    j = camera_hands(2, shape)
    f = twins.finger_depth_flip(j, "ring")
    np.testing.assert_allclose(projection(f), projection(j), atol=1e-9, rtol=0)
    moved = np.abs(f - j).max(axis=tuple(range(len(shape))) + (-1,)) > 0
    assert np.flatnonzero(moved).tolist() == [14, 15, 16]  # ring PIP, DIP, tip; the MCP is the pivot
    np.testing.assert_allclose(f[..., 14:17, 2] - j[..., 13:14, 2], -(j[..., 14:17, 2] - j[..., 13:14, 2]), atol=1e-9)
    np.testing.assert_allclose(twins.finger_depth_flip(f, "ring"), j, atol=1e-9, rtol=0)


def test_finger_depth_flip_thumb_pivots_on_the_cmc_and_takes_one_finger_per_hand():
    j = camera_hands(3, (5,))
    fingers = np.array([0, 1, 2, 3, 4])
    f = twins.finger_depth_flip(j, fingers)
    for h, finger in enumerate(fingers):
        base = 1 + 4 * finger
        changed = np.flatnonzero(np.abs(f[h] - j[h]).max(axis=-1) > 0)
        assert changed.tolist() == [base + 1, base + 2, base + 3]
    np.testing.assert_allclose(projection(f), projection(j), atol=1e-9, rtol=0)
    np.testing.assert_array_equal(twins.finger_depth_flip(j, "pinky"), twins.finger_depth_flip(j, 4))


def _check_rebuilt(j, out, joint, flexion=None, abduction_add=None):
    """Bone lengths, palm and every other angle kept; the chosen joint's angles as asked."""
    m0, m1 = measure(j, with_frames=False), measure(out, with_frames=False)
    np.testing.assert_allclose(m1.bone_lengths, m0.bone_lengths, atol=1e-9, rtol=0)
    np.testing.assert_allclose(m1.palm_curvature, m0.palm_curvature, atol=1e-12)
    np.testing.assert_allclose(m1.palm_angles, m0.palm_angles, atol=1e-12)
    np.testing.assert_allclose(out[..., [0, 1, 5, 9, 13, 17], :], j[..., [0, 1, 5, 9, 13, 17], :], atol=1e-12)
    expected = np.array(m0.joint_angles, copy=True)
    hit = np.arange(15) == np.broadcast_to(joint, j.shape[:-2])[..., None]
    if flexion is not None:
        expected[..., 0] = np.where(hit, np.radians(flexion), expected[..., 0])
    if abduction_add is not None:
        expected[..., 1] = np.where(
            hit, expected[..., 1] + np.radians(np.asarray(abduction_add))[..., None], expected[..., 1]
        )
    np.testing.assert_allclose(m1.joint_angles, expected, atol=1e-9, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
def test_bend_back_sets_flexion_and_keeps_everything_else(shape):
    j = random_hands(4, shape)
    out = twins.bend_back(j, "index_pip")
    assert out.shape == j.shape
    _check_rebuilt(j, out, int(AngleJoint.index_pip), flexion=-60.0)
    assert np.degrees(measure(out, with_frames=False).joint_angles[..., 4, 0]) == pytest.approx(-60.0, abs=1e-9)


def test_bend_back_one_joint_per_hand():
    j = random_hands(5, (2, 15))
    joint = np.tile(np.arange(15), (2, 1))
    out = twins.bend_back(j, joint, flexion_deg=-60.0)
    _check_rebuilt(j, out, joint, flexion=-60.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_twist_adds_abduction_at_a_hinge(shape):
    j = random_hands(6, shape, noise_mm=1.0)
    out = twins.twist(j, "middle_dip", abduction_deg=-40.0)
    _check_rebuilt(j, out, int(AngleJoint.middle_dip), abduction_add=-40.0)


def test_twist_per_hand_joint_and_sign():
    j = random_hands(7, (9,), noise_mm=1.0)  # hinge abduction stays far from ±50°, so ±40° stays within ±90°
    joint = np.array([int(a) for a in twins.HINGE_JOINTS])
    sign = np.where(np.arange(9) % 2 == 0, 40.0, -40.0)
    out = twins.twist(j, joint, abduction_deg=sign)
    _check_rebuilt(j, out, joint, abduction_add=sign)


def test_to_virtual_camera_is_rigid_and_faces_the_back_of_the_hand():
    j = random_hands(8, (4,))  # any frame, some z < 0
    v = twins.to_virtual_camera(j, distance_mm=500.0)
    np.testing.assert_allclose(v[..., 0, :], np.broadcast_to([0.0, 0.0, 500.0], (4, 3)), atol=1e-9)
    m0, m1 = measure(j, with_frames=False), measure(v, with_frames=False)
    for a, b in zip(m0[:4], m1[:4], strict=True):
        np.testing.assert_allclose(b, a, atol=1e-9)
    curled = twins.bend_back(v, "index_mcp", flexion_deg=80.0)  # flexing towards the palm goes away from the camera
    assert np.all(curled[..., 8, 2] > v[..., 8, 2])
    f = twins.finger_depth_flip(v, "index")
    np.testing.assert_allclose(projection(f), projection(v), atol=1e-9, rtol=0)
    np.testing.assert_allclose(twins.to_virtual_camera(j, 500.0, units="m", view="z")[..., 0, 2], 0.5)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_torch_matches_numpy():
    j = camera_hands(9, (3,))
    t = torch.tensor(j)
    for fn in (
        twins.depth_flip,
        lambda x: twins.finger_depth_flip(x, 2),
        lambda x: twins.bend_back(x, 7),
        lambda x: twins.twist(x, "thumb_ip", 40.0),
        twins.to_virtual_camera,
    ):
        out = fn(t)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), fn(j), atol=1e-9)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda j: twins.depth_flip(j - np.array([0.0, 0.0, 1000.0])), CameraError),  # behind the camera
        (lambda j: twins.finger_depth_flip(j - np.array([0.0, 0.0, 1000.0]), "index"), CameraError),
        (lambda j: twins.bend_back(j, "index_knuckle"), UnknownNameError),
        (lambda j: twins.bend_back(j, 15), UnknownNameError),
        (lambda j: twins.twist(j, "thumb_mcp"), UnknownNameError),  # not a hinge (a PIP/DIP/IP is needed)
        (lambda j: twins.twist(j, np.array([4, 1])), UnknownNameError),
        (lambda j: twins.twist(j, np.array([4.0, 7.0])), UnknownNameError),
        (lambda j: twins.finger_depth_flip(j, 5), UnknownNameError),
        (lambda j: twins.finger_depth_flip(j, np.array([1, 2, 3])), ShapeError),  # does not broadcast over (2,)
        (lambda j: twins.depth_flip(j[..., :20, :]), ShapeError),
        (lambda j: twins.to_virtual_camera(j, view="side"), ShapeError),
    ],
)
def test_bad_input_raises_one_typed_error(call, error):
    j = camera_hands(10, (2,))
    with pytest.raises(error) as info:
        call(j)
    assert isinstance(info.value, HandkinError)


def test_too_deep_a_hand_for_a_depth_flip_raises():
    j = camera_hands(11, (2,))
    j[1] = j[1] - j[1, :1] + np.array([0.0, 0.0, 60.0])  # wrist 60 mm from the camera, fingers ~100 mm deeper
    j[1, 8, 2] = 200.0
    with pytest.raises(CameraError, match="too deep"):
        twins.depth_flip(j)
