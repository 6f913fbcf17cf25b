"""The structure-of-arrays helpers: the fast atan2, normalisation fallbacks, layout round trips, chunking."""

import numpy as np
import pytest
from array_api_compat import array_namespace
from conftest import random_hands, torch
from hypothesis import assume, given
from hypothesis import strategies as st

from handkin import vec
from handkin.backend import length_from_squared
from handkin.frames import forward, measure

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

SPECIAL = [(0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (1e-300, -1.0), (-1e-300, -1.0), (3.0, -4.0), (-3.0, -4.0)]


def fast_atan2(y, x):
    y, x = np.asarray(y, float), np.asarray(x, float)
    return vec.atan2(np, y, x, np.hypot(x, y))


@given(y=st.floats(-1e6, 1e6), x=st.floats(-1e6, 1e6))
def test_atan2_matches_numpy(y, x):
    assume(np.hypot(x, y) > 1e-150)  # shorter vectors count as the origin (documented)
    a, b = fast_atan2(y, x), np.arctan2(y, x)
    if abs(b) == np.pi:  # on the branch cut the sign of a zero y is not kept: ±π are the same direction
        a, b = abs(a), abs(b)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("y, x", SPECIAL)
def test_atan2_special_points(y, x):
    np.testing.assert_allclose(fast_atan2(y, x), np.arctan2(y, x), rtol=1e-13, atol=1e-15)


def test_atan2_origin_is_zero():
    assert fast_atan2(0.0, 0.0) == 0.0


def test_atan2_nonnegative_variant():
    rng = np.random.default_rng(0)
    y, x = rng.normal(size=1000), np.abs(rng.normal(size=1000))
    np.testing.assert_allclose(vec.atan2(np, y, x, np.hypot(x, y), x_nonnegative=True), np.arctan2(y, x), rtol=1e-13)


@needs_torch
def test_atan2_gradient_matches_torch_including_x_zero():
    y = torch.tensor([0.7, -0.3, 2.0, -1.0, 0.5, 1e-3], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([0.0, 0.0, -1.0, -2.0, 3.0, -1.0], dtype=torch.float64, requires_grad=True)
    vec.atan2(array_namespace(x), y, x, torch.hypot(x, y)).sum().backward()
    gy, gx = y.grad.clone(), x.grad.clone()
    y.grad = x.grad = None
    torch.atan2(y, x).sum().backward()
    torch.testing.assert_close(gy, y.grad)
    torch.testing.assert_close(gx, x.grad)


@needs_torch
def test_atan2_gradient_is_zero_at_origin():
    y = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    xp = array_namespace(x)
    vec.atan2(xp, y, x, length_from_squared(x * x + y * y)).sum().backward()
    assert torch.all(y.grad == 0) and torch.all(x.grad == 0)


def test_normalize_fallback():
    v = vec.V.stack(np.array([3.0, 0.0, 1e-200]), np.array([4.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.0]))
    u = vec.normalize(v, (0.0, 0.0, 1.0))
    np.testing.assert_allclose(u.a.T, [[0.6, 0.8, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def test_soa_layout_round_trip():
    a = np.arange(2 * 3 * 21 * 3, dtype=float).reshape(2, 3, 21, 3)
    v = vec.to_soa(a)
    assert v.x.shape == (21, 6)
    np.testing.assert_array_equal(vec.from_soa(v, (2, 3)), a)


@pytest.mark.parametrize("mirror", [False, True])
def test_chunked_numpy_equals_one_pass(monkeypatch, mirror):
    joints = random_hands(4, (5, 7), noise_mm=6.0)
    whole = measure(joints, mirror=mirror)
    monkeypatch.setattr(vec, "CHUNK", 4)  # 35 hands in chunks of 4, the last one short
    chunked = measure(joints, mirror=mirror)
    for a, b in zip(whole, chunked, strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    if not mirror:  # forward kinematics chunked as well: rebuilds the same joints
        palm = joints[..., [0, 1, 5, 9, 13, 17], :]
        finger_bones = [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19]
        rebuilt = forward(palm, whole.joint_angles, whole.bone_lengths[..., finger_bones])
        np.testing.assert_allclose(rebuilt, joints, atol=1e-9)


@pytest.mark.parametrize("batch_axis", [0, -1])
def test_batched_chunks_equal_one_pass_on_either_batch_axis(batch_axis):
    """``batched`` with an explicit chunk size writes every chunk where one call would put it."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(11, 3, 2))

    def fn(a):
        out = np.sum(a * a, axis=-1) + np.arange(3)  # (m, 3)
        return (out if batch_axis == 0 else out.T, a[:, 0, 0] * 2)

    expected = fn(x)
    got = vec.batched(fn, x, chunk=4, batch_axis=batch_axis)  # 11 rows in chunks of 4, the last one short
    assert len(got) == 2
    for a, b in zip(got, expected, strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
