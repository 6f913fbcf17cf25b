"""measure()'s wrapper (issue 20, point 4): reusable ``out=`` buffers, frame origins gathered chunk by chunk,
per-hand mirroring per chunk, torch chunked when no gradient is needed — all with the answers of one plain pass."""

import numpy as np
import pytest
from conftest import random_hands, torch

from handkin import HandSkeleton, vec
from handkin.anatomy import AngleJoint
from handkin.errors import ShapeError
from handkin.frames import MeasuredArrays, measure

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
_ANGLE_JOINTS = [int(a.joint) for a in AngleJoint]


def mixed_sides(shape):
    rng = np.random.default_rng(5)
    return np.where(rng.random(shape) < 0.5, "left", "right")


def assert_same(a: MeasuredArrays, b: MeasuredArrays, ulps: float = 0) -> None:
    """Equal fields; ``ulps``: allowed difference in units of the dtype's eps (torch's vectorised and scalar tail
    loops round transcendental functions differently, so results depend on the chunk size at that level)."""
    for name in MeasuredArrays._fields:
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            x, y = np.asarray(x), np.asarray(y)
            assert x.shape == y.shape, name
            tol = ulps * np.finfo(x.dtype).eps
            np.testing.assert_allclose(x, y, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("with_frames", [True, False])
def test_out_buffers_hold_the_fresh_results_and_are_returned(monkeypatch, with_frames):
    joints = random_hands(1, (5, 7), noise_mm=6.0)
    mirror = np.random.default_rng(0).random((5, 7)) < 0.5
    fresh = measure(joints, mirror=mirror, with_frames=with_frames)
    monkeypatch.setattr(vec, "CHUNK", 4)  # 35 hands in chunks of 4, each written straight into the buffers
    out = MeasuredArrays.empty((5, 7), like=joints, with_frames=with_frames, with_origins=with_frames)
    got = measure(joints, mirror=mirror, with_frames=with_frames, out=out)
    assert_same(got, fresh)
    assert all(g is o for g, o in zip(got, out, strict=True))  # the caller's own arrays
    again = measure(joints[::-1], mirror=mirror[::-1], with_frames=with_frames, out=out)  # reused: overwritten
    assert_same(again, measure(joints[::-1], mirror=mirror[::-1], with_frames=with_frames))


def test_out_accepts_c_contiguous_arrays_and_fresh_fields():
    joints = random_hands(2, (9,))
    fresh = measure(joints)
    out = MeasuredArrays(
        np.empty((9, 20)), np.empty((9, 4)), np.empty((9, 4)), np.empty((9, 15, 2)), None, np.empty((9, 15, 3))
    )
    got = measure(joints, out=out)
    assert_same(got, fresh)
    assert got.bone_lengths is out.bone_lengths and got.frames is not None


def test_out_of_the_wrong_shape_or_dtype_is_one_shape_error():
    joints = random_hands(3, (4,))
    wrong_dtype = MeasuredArrays.empty(4, like=joints.astype(np.float32))
    with pytest.raises(ShapeError, match="float32"):
        measure(joints, out=wrong_dtype)
    wrong_batch = MeasuredArrays.empty(5, like=joints)
    with pytest.raises(ShapeError, match="batch shape"):
        measure(joints, out=wrong_batch)
    strided = MeasuredArrays.empty(4, like=joints)._replace(bone_lengths=np.empty((4, 40))[:, ::2])
    np.testing.assert_array_equal(measure(joints, out=strided).bone_lengths, measure(joints).bone_lengths)


def test_skeleton_measure_origins_are_the_angle_joints_and_out_is_reused():
    joints = random_hands(4, (6,))
    sk = HandSkeleton.unchecked(joints, units="mm", side=mixed_sides(6))
    m = sk.measure()
    np.testing.assert_array_equal(m.frames.origins, joints[:, _ANGLE_JOINTS])
    out = MeasuredArrays.empty(sk.batch_shape, like=sk.joints)
    reused = sk.measure(out=out)
    assert reused.frames.origins is out.origins
    np.testing.assert_array_equal(reused.frames.matrices, m.frames.matrices)
    np.testing.assert_array_equal(reused.joint_angles, m.joint_angles)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chunked_torch_equals_one_call(monkeypatch, dtype):
    """Without a gradient torch is measured in chunks (bounded memory); with one, in one call for autograd."""
    joints = random_hands(5, (37,), noise_mm=6.0)
    mirror = np.random.default_rng(1).random(37) < 0.5
    x = torch.tensor(joints, dtype=getattr(torch, dtype))
    one_call = measure(x.clone().requires_grad_(True), mirror=mirror)  # autograd: one call
    monkeypatch.setattr(vec, "TORCH_CHUNK", 5)
    chunked = measure(x, mirror=mirror)
    assert chunked.frames.grad_fn is None
    assert_same(chunked, MeasuredArrays(*(None if a is None else a.detach() for a in one_call)), ulps=8)
    out = MeasuredArrays.empty(37, like=x)
    assert_same(measure(x, mirror=mirror, out=out), chunked)
    grad = measure(x.clone().requires_grad_(True), mirror=mirror)
    assert grad.joint_angles.requires_grad  # a gradient needs the whole graph: not chunked


@needs_torch
def test_torch_gradient_through_measure_is_that_of_one_call(monkeypatch):
    joints = torch.tensor(random_hands(6, (11,)), requires_grad=True)
    (expected,) = torch.autograd.grad(measure(joints).joint_angles.sum(), joints)
    monkeypatch.setattr(vec, "TORCH_CHUNK", 3)
    (got,) = torch.autograd.grad(measure(joints).joint_angles.sum(), joints)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
