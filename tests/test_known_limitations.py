"""Known limitations, pinned as strict xfails.

Each test states the DESIRED behaviour (finite values, gradients bounded by :data:`BOUND`) and is marked
``xfail(strict=True)`` with the limitation as its reason: it fails today, and turns into an XPASS — a failure of
the suite — the day someone fixes the limitation, so the mark (and the docs naming the limitation) must go then.
"""

from __future__ import annotations

import numpy as np
import pytest
from base import generic_hands, needs_torch, torch

import handkin
from handkin import BMCLoss, HandSkeleton, Joint, JointLimits, camera

pytestmark = needs_torch

#: A gradient this large in mm / rad / ref units means a numerically broken backward pass.
BOUND = 1e6
K = camera.intrinsics(600.0, 610.0, 128.0, 120.0)


def assert_bounded(*grads) -> None:
    for g in grads:
        assert g is not None
        assert bool(torch.isfinite(g).all()), "non-finite gradient"
        assert float(g.abs().max()) < BOUND, f"gradient up to {float(g.abs().max()):.3g}"


def leaf(array, dtype=torch.float64):
    return torch.tensor(np.asarray(array), dtype=dtype, requires_grad=True)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="abduction of exactly ±90° (bone along the frame's y axis, flexion undefined) gives joint-angle "
    "gradients up to ~1e15 (atan2 of two zeros)",
)
@pytest.mark.parametrize("sign", [1, -1], ids=["+90", "-90"])
def test_joint_angle_gradient_at_90_degrees_abduction_is_bounded(sign):
    joints = leaf(handkin.posed_hand({"index_mcp": (0.3, sign * np.pi / 2)}).joints)
    angles = HandSkeleton.unchecked(joints, units="mm").joint_angles
    angles.sum().backward()
    assert_bounded(joints.grad)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="abduction of exactly ±90° gives BMCLoss gradients up to ~1e11 (through the joint angles, when the "
    "pose is outside the angle limits)",
)
@pytest.mark.parametrize("sign", [1, -1], ids=["+90", "-90"])
def test_bmc_loss_gradient_at_90_degrees_abduction_is_bounded(sign):
    joints = leaf(handkin.posed_hand({"index_mcp": (0.3, sign * np.pi / 2)}).joints)
    BMCLoss(JointLimits.default())(HandSkeleton.unchecked(joints, units="mm")).backward()
    assert_bounded(joints.grad)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="coincident neighbouring root bones (b_i = b_(i+1)) give palm-curvature gradients of "
    "~1/smallest_normal (~1e306 in float64, ~1e37 in float32): the curvature's denominator ‖b_(i+1) − b_i‖² is "
    "clamped to the smallest normal number",
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pair", [(Joint.index_mcp, Joint.middle_mcp), (Joint.little_mcp, Joint.ring_mcp)])
def test_palm_curvature_gradient_of_coincident_root_bones_is_bounded(dtype, pair):
    hand = generic_hands(3)
    hand[pair[0]] = hand[pair[1]]
    joints = leaf(hand, getattr(torch, dtype))
    HandSkeleton.unchecked(joints, units="mm").palm_curvature.sum().backward()
    assert_bounded(joints.grad)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="float16 input to camera.solve_root_depth gives inf gradients (it is not promoted to float32 like the "
    "measurements: squares of the rays and the discriminant b² − 4ac overflow or underflow float16)",
)
def test_solve_root_depth_gradient_in_float16_is_finite():
    pose = camera.to_25d(generic_hands(0, (64,)) + np.array([0.0, 0.0, 600.0]), K)
    uv, z_rel = leaf(pose.uv, torch.float16), leaf(pose.z_rel, torch.float16)
    root = camera.solve_root_depth(uv, z_rel, torch.tensor(K, dtype=torch.float16))
    (root.z_root.float().sum() + root.discriminant.float().sum()).backward()
    assert_bounded(uv.grad, z_rel.grad)


def coincident_reference_bone() -> np.ndarray:
    hand = generic_hands(1) + np.array([0.0, 0.0, 600.0])
    hand[Joint.middle_mcp] = hand[Joint.wrist]
    return hand


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="camera.to_25d of coincident joints gives inf: a zero-length reference bone (wrist = middle_mcp) "
    "divides the relative depths by the smallest normal number (inf relative depths; inf gradients even when all joints coincide)",
)
@pytest.mark.parametrize(
    "case", ["reference bone of length 0", "all joints at one point"], ids=["zero-reference", "one-point"]
)
def test_to_25d_of_coincident_joints_is_finite(case):
    hand = coincident_reference_bone() if case == "reference bone of length 0" else np.full((21, 3), [10, 20, 600.0])
    joints = leaf(hand)
    pose = camera.to_25d(joints, torch.tensor(K))
    for value in pose:
        assert bool(torch.isfinite(value).all()), "non-finite value"
    (pose.z_rel.sum() + pose.uv.sum() + pose.scale.sum()).backward()
    assert_bounded(joints.grad)
