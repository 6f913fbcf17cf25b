"""Palm measurements (Eq. 1–3) against the independent statement of the paper and known answers."""

import numpy as np
import pytest
import reference_bmc as ref
from base import generic_hands
from conftest import batch_shapes, random_hands, seeds, torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

import handkin
from handkin import HandSkeleton, Joint, palm
from handkin.template import ROOT_SPREAD_DEG
from handkin.vec import GRADIENT_BOUND, SINGULAR_TOL

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def test_flat_hand_has_zero_curvature_and_template_spreads():
    hand = handkin.flat_hand()
    np.testing.assert_allclose(hand.palm_curvature, 0.0, atol=1e-15)
    spreads = [ROOT_SPREAD_DEG[f] for f in handkin.Finger]
    np.testing.assert_allclose(np.degrees(hand.palm_angles), -np.diff(spreads), rtol=1e-12)


def test_palmar_arch_is_positive_curvature():
    """Paper: positive c_i denote an arched hand (thumb and little finger towards each other, palm side)."""
    joints = np.asarray(handkin.flat_hand().joints).copy()
    joints[[1, 17], 2] = -15.0  # thumb_cmc and little_mcp move towards the palm (−z)
    joints[[5, 13], 2] = -5.0
    arched = HandSkeleton(joints=joints, units="mm")
    assert np.all(arched.palm_curvature > 0)
    joints[[1, 5, 13, 17], 2] *= -1  # the same bend towards the back of the hand
    assert np.all(HandSkeleton(joints=joints, units="mm").palm_curvature < 0)


@given(seed=seeds)
def test_against_independent_implementation(seed):
    joints = random_hands(seed, noise_mm=8.0)
    sk = HandSkeleton(joints=joints, units="mm")
    np.testing.assert_allclose(sk.palm_curvature, ref.curvature(joints), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sk.palm_angles, ref.angular_distance(joints), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(palm.root_bone_normals(sk.root_bones), ref.normals(joints), atol=1e-9)


@given(seed=seeds, shape=batch_shapes, scale=st.floats(0.5, 2.0))
def test_invariances(seed, shape, scale):
    joints = random_hands(seed, shape)
    sk = HandSkeleton(joints=joints, units="mm")
    rng = np.random.default_rng(seed)
    moved = joints @ Rotation.random(random_state=rng).as_matrix().T + rng.uniform(-300, 300, 3)
    rigid = HandSkeleton(joints=moved, units="mm")
    np.testing.assert_allclose(rigid.palm_curvature, sk.palm_curvature, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(rigid.palm_angles, sk.palm_angles, rtol=1e-7, atol=1e-10)
    scaled = HandSkeleton(joints=joints * scale, units="mm")
    np.testing.assert_allclose(scaled.palm_curvature, sk.palm_curvature / scale, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(scaled.palm_angles, sk.palm_angles, rtol=1e-7, atol=1e-10)
    left = sk.mirror()  # a left hand is measured mirrored: the same palm as its right twin
    np.testing.assert_allclose(left.palm_curvature, sk.palm_curvature, rtol=1e-12, atol=1e-15)


def test_curvature_units():
    sk = HandSkeleton(joints=random_hands(3), units="mm")
    np.testing.assert_allclose(sk.to_units("m").palm_curvature, sk.palm_curvature * 1000, rtol=1e-12)


def degenerate_palms() -> dict[str, np.ndarray]:
    base = np.asarray(handkin.flat_hand().joints)
    cases = {"all at one point": np.zeros((21, 3))}
    collinear = base.copy()
    for k in (1, 5, 13, 17):  # every root joint on the middle finger's line
        collinear[k] = base[9] * (0.5 + 0.1 * k / 17)
    cases["collinear root bones"] = collinear
    identical = base.copy()
    identical[13] = identical[9]  # two identical root bones
    cases["two identical root bones"] = identical
    zero_root = base.copy()
    zero_root[5] = zero_root[0]  # a zero-length root bone
    cases["zero-length root bone"] = zero_root
    folded = base.copy()
    folded[[13, 17], 2] = 40.0
    folded[[13, 17], 1] *= -0.2  # ring and little fold back over the palm
    cases["folded palm"] = folded
    return cases


@pytest.mark.parametrize("name", list(degenerate_palms()))
def test_degenerate_palms_are_finite_with_documented_values(name):
    sk = HandSkeleton.unchecked(degenerate_palms()[name], units="mm")
    assert np.all(np.isfinite(sk.palm_curvature)) and np.all(np.isfinite(sk.palm_angles))
    if name == "all at one point":
        np.testing.assert_array_equal(sk.palm_angles, 0.0)
        np.testing.assert_array_equal(sk.palm_curvature, 0.0)
    if name == "two identical root bones":
        assert sk.palm_curvature[2] == 0.0 and sk.palm_angles[2] == 0.0
    n = palm.root_bone_normals(sk.root_bones)
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", list(degenerate_palms()))
def test_degenerate_palms_have_finite_gradients(name):
    j = torch.tensor(degenerate_palms()[name], requires_grad=True)
    sk = HandSkeleton.unchecked(j, units="mm")
    (sk.palm_curvature.sum() + sk.palm_angles.sum()).backward()
    assert torch.isfinite(j.grad).all()


@needs_torch
def test_gradcheck_palm():
    j = torch.tensor(random_hands(5, (2,), noise_mm=8.0), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: HandSkeleton.unchecked(x, units="mm").palm_curvature, (j,))
    assert torch.autograd.gradcheck(lambda x: HandSkeleton.unchecked(x, units="mm").palm_angles, (j,))


# ----------------------------------------------------------------------------- bounded gradients (issue 21 point 9)


def scaled_bound(joints, power: int) -> float:
    """GRADIENT_BOUND / L^power, L the RMS root-bone length (mm here)."""
    j = np.asarray(joints.detach())
    roots = j[[1, 5, 9, 13, 17]] - j[0]
    return GRADIENT_BOUND / float(np.sqrt(np.mean(np.sum(roots**2, axis=-1)))) ** power


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pair", [(Joint.index_mcp, Joint.middle_mcp), (Joint.little_mcp, Joint.ring_mcp)])
def test_palm_curvature_gradient_of_coincident_root_bones_is_bounded(dtype, pair):
    """Coincident neighbouring root bones gave curvature gradients of ~1/smallest_normal (1e306 in float64, 1e37 in
    float32; a strict xfail before): the denominator ‖b_(i+1) − b_i‖² now has the floor (τL)²."""
    hand = generic_hands(3)
    hand[pair[0]] = hand[pair[1]]
    joints = torch.tensor(hand, dtype=getattr(torch, dtype), requires_grad=True)
    curvature = HandSkeleton.unchecked(joints, units="mm").palm_curvature
    curvature.sum().backward()
    assert torch.isfinite(joints.grad).all()
    assert float(joints.grad.abs().max()) <= scaled_bound(joints, 2)
    assert torch.isfinite(curvature).all()


def test_curvature_of_nearly_coincident_root_bones_is_continuous_and_bounded():
    """Approaching coincidence, c_i stays below 2/(τL) and goes continuously to the documented 0; farther than τL
    apart the formula is untouched (the independent implementation agrees)."""
    hand = generic_hands(4)
    scale = float(np.sqrt(np.mean(np.sum((hand[[1, 5, 9, 13, 17]] - hand[0]) ** 2, axis=-1))))
    direction = np.array([0.6, -0.8, 0.0])
    values = []
    for offset in [1e-1, 1e-2, 2 * SINGULAR_TOL, SINGULAR_TOL / 2, 1e-6, 1e-9, 1e-12, 0.0]:
        moved = hand.copy()
        moved[Joint.ring_mcp] = hand[Joint.middle_mcp] + offset * scale * direction
        c = np.asarray(HandSkeleton.unchecked(moved, units="mm").palm_curvature)[2]
        values.append(c)
        assert abs(c) <= 2 / (SINGULAR_TOL * scale)
        if offset > SINGULAR_TOL:
            np.testing.assert_allclose(c, ref.curvature(moved)[2], rtol=1e-7)
    assert values[-1] == 0.0 and abs(values[-2]) < 1e-6  # continuous at coincidence
