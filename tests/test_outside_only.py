"""Issue 20, point 5: polygon distances and projections only where a joint is outside its polygon, one measure()
per constrain, and constrain's report from the terms it computed — with the answers of the dense computations."""

import sys

import numpy as np
import pytest

import handkin
from handkin import HandSkeleton, JointLimits, constrain, hull
from handkin import frames as frames_module
from handkin.constrain import LOSS_TOLERANCE
from handkin.hull import bmc_distance, contains


@pytest.fixture(scope="module")
def polygons():
    return JointLimits.default().polygon_array


def mixed_points(n: int, seed: int, polygons) -> np.ndarray:
    """Angle pairs (n, 15, 2): inside, outside, and exactly on a vertex."""
    rng = np.random.default_rng(seed)
    pts = np.stack([rng.uniform(-1.0, 2.5, (n, 15)), rng.uniform(-0.8, 0.8, (n, 15))], axis=-1)
    pts[:7] = polygons[:, 2]  # on the boundary
    return pts


@pytest.mark.parametrize("shape", [(300,), (20, 15)])
def test_outside_only_equals_every_point(monkeypatch, polygons, shape):
    pts = mixed_points(300, 1, polygons).reshape(*shape, 15, 2)
    inside = contains(pts, polygons, tol=0.0)
    assert 0.2 < inside.mean() < 0.9  # a mixed batch
    sparse = {"distance": hull.distance(pts, polygons), "project": hull.project(pts, polygons)}
    one = pts[..., 4, :]
    single = {"distance": hull.distance(one, polygons[4]), "project": hull.project(one, polygons[4])}
    bmc = hull._outside_only(bmc_distance, pts.reshape(-1, 15, 2), polygons, np.zeros((300, 15)))
    monkeypatch.setattr(hull, "_OUTSIDE_FIRST", 10**9)  # every point, one dense pass
    for name, fn in (("distance", hull.distance), ("project", hull.project)):
        np.testing.assert_array_equal(sparse[name], fn(pts, polygons), err_msg=name)
        np.testing.assert_array_equal(single[name], fn(one, polygons[4]), err_msg=name)
    np.testing.assert_array_equal(bmc, bmc_distance(pts.reshape(-1, 15, 2), polygons))
    assert np.all(sparse["distance"][inside] == 0)


def test_outside_only_in_float32_and_chunks(monkeypatch, polygons):
    pts = mixed_points(500, 2, polygons).astype(np.float32)
    sparse = hull.distance(pts, polygons)
    assert sparse.dtype == np.float32
    monkeypatch.setattr(hull, "POLYGON_CHUNK", 64)  # contains and the outside points in several chunks
    np.testing.assert_array_equal(hull.distance(pts, polygons), sparse)
    monkeypatch.setattr(hull, "_OUTSIDE_FIRST", 10**9)
    np.testing.assert_array_equal(hull.distance(pts, polygons), sparse)


def implausible(n: int, seed: int) -> HandSkeleton:
    rng = np.random.default_rng(seed)
    angles = np.stack([rng.uniform(-1.5, 2.5, (n, 15)), rng.uniform(-1.0, 1.0, (n, 15))], axis=-1)
    joints = np.asarray(handkin.posed_hand(angles).joints).copy()
    joints[: n // 2, [1, 5, 13, 17]] += rng.normal(scale=8.0, size=(n // 2, 4, 3))  # half the palms distorted
    sides = np.where(rng.random(n) < 0.5, "left", "right")
    joints[sides == "left", :, 0] *= -1  # those as left hands
    return HandSkeleton(joints=joints, units="mm", side=sides)


def test_constrain_measures_once(monkeypatch):
    calls = []
    original = frames_module.measure

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("handkin") and getattr(module, "measure", None) is original:
            monkeypatch.setattr(module, "measure", counting)
    constrain(implausible(200, 3), JointLimits.default())
    assert len(calls) == 1


def test_constrain_report_is_the_loss_before_and_after():
    """The report's terms, computed from one measurement and from what forward kinematics built, are the loss of
    the input and (to rounding) of the result."""
    limits = JointLimits.default(couplings=True)
    hands = implausible(200, 4)
    fixed, report = constrain(hands, limits)
    assert report.palm_repaired.any() and not report.palm_repaired.all()
    before = limits.loss(hands, reduction="none")
    after = limits.loss(fixed, reduction="none")
    for name in before._fields:
        np.testing.assert_allclose(getattr(report.loss_before, name), getattr(before, name), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(getattr(report.loss_after, name), getattr(after, name), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(report.converged, np.asarray(after.total) <= LOSS_TOLERANCE)  # couplings: not all


def test_check_equals_dense_distances(monkeypatch):
    limits = JointLimits.default()
    hands = implausible(300, 5)
    sparse = limits.check(hands)
    assert 0 < np.mean(sparse.joint_angles > 0) < 0.9
    monkeypatch.setattr(hull, "_OUTSIDE_FIRST", 10**9)
    dense = limits.check(hands)
    np.testing.assert_array_equal(sparse.joint_angles, dense.joint_angles)
    np.testing.assert_array_equal(sparse.ok, dense.ok)
