"""handkin.bounds: each excess function against a brute-force computation, the unit function in mm, cm and ref."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import random_hands, torch

import handkin
from handkin import AngleJoint, HandSkeleton, Joint, JointLimits
from handkin.bounds import (
    LimitArrays,
    coupling_array,
    coupling_excess,
    excess_at_joints,
    interval_excess,
    limit_arrays,
    limit_scale,
    polygon_excess,
    to_limit_units,
)
from handkin.errors import ShapeError, UnitsError

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


@pytest.fixture(scope="module")
def coupled() -> JointLimits:
    return JointLimits.default(couplings=True).with_couplings(
        [{"finger": "index"}, {"finger": "ring", "ratio": 0.5, "offset": 0.1, "band": 0.2}]
    )


# ---------------------------------------------------------------------------------------------- brute force


def brute_interval(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        lo, hi = bounds[idx[-1]]
        v = x[idx]
        out[idx] = (lo - v) if v < lo else (v - hi) if v > hi else 0.0
    return out


def inside_convex(p: np.ndarray, poly: np.ndarray) -> bool:
    """Left of (or on) every edge of a CCW convex polygon with at least one non-degenerate edge."""
    edges = [(poly[i], poly[(i + 1) % len(poly)]) for i in range(len(poly))]
    return all((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0 for a, b in edges)


def nearest_on_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    e = b - a
    ee = float(e @ e)
    t = 0.0 if ee == 0 else min(max(float((p - a) @ e) / ee, 0.0), 1.0)
    return a + t * e


def brute_polygon(angles: np.ndarray, polygons: np.ndarray, metric: str) -> np.ndarray:
    out = np.zeros(angles.shape[:-1])
    for idx in np.ndindex(*angles.shape[:-1]):
        p, poly = angles[idx], polygons[idx[-1]]
        if inside_convex(p, poly):
            continue
        values = []
        for i in range(len(poly)):
            q = nearest_on_segment(p, poly[i], poly[(i + 1) % len(poly)])
            if metric == "euclidean":
                values.append(math.dist(p, q))
            else:  # D_A: Σ over both angles of |cos θ − cos p| + |sin θ − sin p|
                values.append(
                    sum(abs(math.cos(p[k]) - math.cos(q[k])) + abs(math.sin(p[k]) - math.sin(q[k])) for k in (0, 1))
                )
        out[idx] = min(values)
    return out


def brute_coupling(angles: np.ndarray, limits: JointLimits) -> np.ndarray:
    out = np.zeros(angles.shape[:-2] + (len(limits.couplings),))
    for idx in np.ndindex(*angles.shape[:-2]):
        for k, c in enumerate(limits.couplings):
            pip, dip = c.joints
            residual = angles[idx][int(dip), 0] - c.ratio * angles[idx][int(pip), 0] - c.offset
            out[idx + (k,)] = max(abs(residual) - c.band, 0.0)
    return out


def random_angles(seed: int, shape=(6,)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-1.5, 2.8, (*shape, 15)), rng.uniform(-1.2, 1.2, (*shape, 15))], axis=-1)


# ---------------------------------------------------------------------------------------------- excess


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_interval_excess_matches_brute_force(shape):
    rng = np.random.default_rng(0)
    bounds = np.array([[0.0, 1.0], [-np.inf, 0.5], [-2.0, np.inf], [-np.inf, np.inf], [0.3, 0.3]])
    x = rng.uniform(-3, 3, (*shape, 5))
    x.flat[0] = 1.0  # on a bound: inside
    np.testing.assert_allclose(interval_excess(x, bounds), brute_interval(x, bounds), rtol=0, atol=1e-15)


@needs_torch
def test_interval_excess_torch_equals_numpy_with_the_gradient_of_the_distance():
    rng = np.random.default_rng(1)
    bounds = np.array([[0.0, 1.0], [-1.0, 0.5], [-2.0, 2.0]])
    x = rng.uniform(-3, 3, (8, 3))
    xt = torch.tensor(x, requires_grad=True)
    got = interval_excess(xt, torch.tensor(bounds))
    np.testing.assert_array_equal(got.detach().numpy(), interval_excess(x, bounds))
    (grad,) = torch.autograd.grad(got.sum(), xt)
    np.testing.assert_array_equal(grad.numpy(), np.where(x < bounds[:, 0], -1.0, np.where(x > bounds[:, 1], 1.0, 0.0)))


@pytest.mark.parametrize("metric", ["bmc", "euclidean"])
def test_polygon_excess_matches_brute_force(metric):
    polygons = JointLimits.default().polygon_array
    angles = random_angles(2, (4, 3))
    got = polygon_excess(angles, polygons, metric)
    expected = brute_polygon(angles, polygons, metric)
    assert 0 < np.count_nonzero(expected) < expected.size
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_polygon_excess_rejects_an_unknown_metric():
    with pytest.raises(ValueError, match="metric"):
        polygon_excess(random_angles(0), JointLimits.default().polygon_array, "manhattan")


def test_coupling_excess_matches_brute_force(coupled):
    angles = random_angles(3, (7,))
    got = coupling_excess(angles, limit_arrays(coupled).couplings)
    expected = brute_coupling(angles, coupled)
    assert got.shape == (7, 2) and 0 < np.count_nonzero(expected) < expected.size
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert coupling_excess(angles[0], coupling_array([])).shape == (0,)


@needs_torch
def test_coupling_excess_torch_equals_numpy(coupled):
    angles = random_angles(4, (5,))
    arrays = limit_arrays(coupled, torch.zeros((), dtype=torch.float64))
    got = coupling_excess(torch.tensor(angles), arrays.couplings)
    np.testing.assert_array_equal(got.numpy(), coupling_excess(angles, limit_arrays(coupled).couplings))


def test_coupling_array_rows(coupled):
    rows = coupling_array(coupled.couplings)
    ring = coupled.couplings[1]
    assert rows.shape == (2, 5)
    np.testing.assert_array_equal(rows[1], [int(AngleJoint.ring_pip), int(AngleJoint.ring_dip), 0.5, 0.1, 0.2])
    assert ring.joints == (AngleJoint.ring_pip, AngleJoint.ring_dip)


def test_limit_arrays_match_the_limits_on_either_backend(coupled):
    arrays = limit_arrays(coupled)
    assert isinstance(arrays, LimitArrays) and all(a.dtype == np.float64 for a in arrays)
    np.testing.assert_array_equal(arrays.bones, coupled.bone_bounds)
    np.testing.assert_array_equal(arrays.polygons, coupled.polygon_array)
    assert limit_arrays(coupled, np.zeros(1, np.float32)).curvature.dtype == np.float32
    if torch is not None:
        t = limit_arrays(coupled, torch.zeros(1, dtype=torch.float32))
        assert all(isinstance(a, torch.Tensor) and a.dtype == torch.float32 for a in t)
        np.testing.assert_allclose(t.palm_angles.numpy(), coupled.palm_angle_bounds, rtol=1e-6)


def test_excess_at_joints_puts_angle_and_coupling_excess_on_the_skeleton(coupled):
    rng = np.random.default_rng(5)
    angle = rng.uniform(0, 3, (2, 15))
    couplings = np.array([[10.0, 0.0], [0.0, 0.0]])
    out = excess_at_joints(angle, couplings, ["index", "ring"])
    assert out.shape == (2, 21)
    for a in AngleJoint:
        expected = angle[:, a]
        if a == AngleJoint.index_dip:
            expected = np.maximum(expected, couplings[:, 0])
        np.testing.assert_array_equal(out[:, int(a.joint)], expected)
    assert np.all(out[:, [int(Joint.wrist), int(Joint.index_tip), int(Joint.little_tip)]] == 0)
    assert out[0, int(Joint.index_dip)] == 10.0


# ---------------------------------------------------------------------------------------------- units


@pytest.fixture(scope="module")
def hands_mm() -> HandSkeleton:
    return HandSkeleton(joints=random_hands(7, (3,)), units="mm")


@pytest.mark.parametrize("units", ["mm", "cm", "m"])
def test_to_limit_units_with_ref_limits_normalises_by_the_reference_bone(hands_mm, units):
    sk = hands_mm.to_units(units)
    limits = JointLimits.default()  # ref
    joints, scale = to_limit_units(sk, limits)
    ref = np.linalg.norm(sk.joints[:, 9] - sk.joints[:, 0], axis=-1)  # wrist → middle_mcp in `units`
    np.testing.assert_allclose(scale, ref, rtol=1e-12)
    np.testing.assert_allclose(joints, sk.joints / ref[:, None, None], rtol=1e-12)
    np.testing.assert_allclose(limit_scale(limits, units, ref), ref, rtol=0)


def test_to_limit_units_with_ref_limits_renormalises_a_ref_hand(hands_mm):
    sk = HandSkeleton.unchecked(np.asarray(hands_mm.normalized().joints) * 1.25, units="ref")  # reference bone 1.25
    joints, scale = to_limit_units(sk, JointLimits.default())
    np.testing.assert_allclose(scale, 1.25, rtol=1e-12)
    np.testing.assert_allclose(joints, np.asarray(hands_mm.normalized().joints), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("units", "factor"), [("mm", 1.0), ("cm", 0.1), ("m", 0.001)])
def test_to_limit_units_with_mm_limits_converts_the_unit(hands_mm, units, factor):
    limits = JointLimits.default(units="mm")
    sk = hands_mm.to_units(units)
    joints, scale = to_limit_units(sk, limits)
    np.testing.assert_allclose(joints, hands_mm.joints, rtol=1e-12)
    np.testing.assert_allclose(scale, np.full(3, factor), rtol=1e-12)
    assert limit_scale(limits, units) == pytest.approx(factor, rel=1e-15)
    np.testing.assert_allclose(limit_scale(limits, units, np.ones(4)), np.full(4, factor), rtol=1e-15)


def test_physical_limits_cannot_take_a_ref_hand(hands_mm):
    with pytest.raises(UnitsError, match="denormalize"):
        to_limit_units(hands_mm.normalized(), JointLimits.default(units="mm"))
    with pytest.raises(UnitsError, match="denormalize"):
        limit_scale(JointLimits.default(units="cm"), "ref")
    with pytest.raises(UnitsError, match="reference_length"):
        limit_scale(JointLimits.default(), "mm")


def test_to_limit_units_mirrors_left_hands_and_passes_arrays_through(hands_mm):
    left = hands_mm.mirror()
    np.testing.assert_allclose(to_limit_units(left, JointLimits.default()).joints, hands_mm.normalized().joints)
    arr = np.asarray(hands_mm.joints)
    joints, scale = to_limit_units(arr, JointLimits.default(units="mm"))
    assert joints is arr and np.all(scale == 1.0) and scale.shape == (3,)
    with pytest.raises(ShapeError, match="21, 3"):
        to_limit_units(arr[..., :2], JointLimits.default())


def test_a_zero_reference_bone_leaves_the_hand_unscaled():
    joints = np.asarray(handkin.flat_hand().joints).copy()
    joints[9] = joints[0]  # middle_mcp on the wrist
    out, scale = to_limit_units(HandSkeleton.unchecked(joints, units="mm"), JointLimits.default())
    assert scale == 1.0
    np.testing.assert_array_equal(out, joints)


@needs_torch
def test_to_limit_units_is_differentiable_and_matches_numpy(hands_mm):
    sk = hands_mm.torch(dtype=torch.float64)
    sk = HandSkeleton.unchecked(sk.joints.clone().requires_grad_(True), units="cm")
    joints, scale = to_limit_units(sk, JointLimits.default())
    (grad,) = torch.autograd.grad(joints.sum(), sk.joints)
    assert torch.isfinite(grad).all()
    expected, _ = to_limit_units(hands_mm.to_units("cm"), JointLimits.default())
    np.testing.assert_allclose(joints.detach().numpy(), expected, rtol=1e-12)


def test_report_lengths_are_the_excess_in_the_hands_unit(hands_mm):
    """LimitReport scales the excess by limit_scale: the same hands in cm report a tenth of the mm numbers."""
    tight = JointLimits.default().with_joint("index_pip", flexion=(0, 1), abduction=(-1, 1), degrees=True)
    tight = tight.model_copy(update={"bone_lengths": {"index_pip": handkin.Interval(min=0.1, max=0.2)}})
    mm, cm = tight.check(hands_mm), tight.check(hands_mm.to_units("cm"))
    assert mm.length_unit == "mm" and cm.length_unit == "cm"
    assert np.any(mm.bone_lengths > 0)
    np.testing.assert_allclose(cm.bone_lengths, mm.bone_lengths / 10, rtol=1e-9)
    np.testing.assert_allclose(cm.palm_curvature, mm.palm_curvature * 10, rtol=1e-9)
    np.testing.assert_allclose(cm.joint_angles, mm.joint_angles, rtol=1e-9)


def test_limit_arrays_without_the_edge_table_give_the_same_loss():
    from handkin.losses import bmc_terms

    limits = JointLimits.default()
    arrays = limit_arrays(limits)
    rng = np.random.default_rng(0)
    angles = np.stack([rng.uniform(-0.8, 2.4, (16, 15)), rng.uniform(-0.8, 0.8, (16, 15))], axis=-1)
    hands = np.asarray(handkin.posed_hand(angles).normalized().joints)
    five = LimitArrays(*arrays[:5])  # built by hand, as before the edge table existed
    assert five.polygon_edges is None
    np.testing.assert_allclose(bmc_terms(hands, five).total, bmc_terms(hands, arrays).total, rtol=1e-12)
    assert (bmc_terms(hands, arrays).angle > 0).any()
