"""The backend shim: safe norm, gathers, namespaces, conversions."""

import numpy as np
import pytest
from conftest import torch

from handkin import backend
from handkin.errors import BackendError

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def test_safe_norm_matches_numpy_and_is_zero_at_zero():
    x = np.random.default_rng(0).normal(size=(7, 5, 3))
    x[0, 0] = 0
    n = backend.safe_norm(x)
    np.testing.assert_allclose(n, np.linalg.norm(x, axis=-1), rtol=1e-15)
    assert n[0, 0] == 0
    assert backend.safe_norm(x, keepdims=True).shape == (7, 5, 1)
    np.testing.assert_allclose(backend.safe_norm(x, axis=0), np.linalg.norm(x, axis=0), rtol=1e-15)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_safe_norm_gradient_is_finite_at_zero(dtype):
    dt = getattr(torch, dtype)
    x = torch.zeros(4, 3, dtype=dt, requires_grad=True)
    backend.safe_norm(x).sum().backward()
    assert torch.all(x.grad == 0)
    y = torch.tensor([[3.0, 4.0, 0.0]], dtype=dt, requires_grad=True)
    n = backend.safe_norm(y)
    n.sum().backward()
    assert float(n.detach()) == pytest.approx(5.0, rel=1e-2)
    np.testing.assert_allclose(y.grad.float().numpy(), [[0.6, 0.8, 0.0]], rtol=1e-2)


@needs_torch
def test_gradcheck_safe_norm():
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(backend.safe_norm, (x,))


def test_take_matches_fancy_indexing():
    x = np.random.default_rng(1).normal(size=(2, 3, 21, 3))
    idx = (4, 0, 0, 20, 7)
    np.testing.assert_array_equal(backend.take(x, idx, axis=-2), x[..., list(idx), :])
    if torch is not None:
        t = torch.from_numpy(x)
        np.testing.assert_array_equal(backend.take(t, idx, axis=-2).numpy(), x[..., list(idx), :])


def test_namespace_and_conversions():
    assert backend.backend_name(np.zeros(3)) == "numpy"
    assert backend.as_float_array([1, 2]).dtype == np.float64
    assert backend.as_float_array(np.zeros(2, np.float32)).dtype == np.float32
    with pytest.raises(BackendError, match="numeric"):
        backend.as_float_array([[1, 2], [3]])
    with pytest.raises(BackendError):
        backend.as_float_array(["a", "b"])
    if torch is not None:
        with pytest.raises(BackendError, match="mixed"):
            backend.namespace(np.zeros(3), torch.zeros(3))
        assert backend.as_float_array(torch.arange(3)).dtype == torch.get_default_dtype()
        assert backend.to_torch(np.zeros(3, np.float32)).dtype == torch.float32


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    from handkin.files import atomic_write

    path = tmp_path / "sub" / "out.txt"
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("first")
    assert path.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_write(path, "w", encoding="utf-8") as f:
        f.write("second, half written")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "first"
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]  # no temporary file left behind


@needs_torch
def test_meta_tensors_are_a_backend_error_where_values_are_needed():
    from handkin import HandSkeleton, JointLimits

    meta = torch.zeros(3, 21, 3, device="meta")
    for call in (
        lambda: HandSkeleton(joints=meta, units="mm"),  # before: RuntimeError (Tensor.item() on meta)
        lambda: backend.to_numpy(meta),  # before: NotImplementedError (cannot copy out of meta)
        lambda: backend.all_finite(meta),
        lambda: JointLimits.default().check(HandSkeleton.unchecked(meta, units="ref")),
    ):
        with pytest.raises(BackendError, match="'meta' device .* holds no values"):
            call()
    # the maths itself runs on meta tensors (shapes only)
    angles = HandSkeleton.unchecked(meta, units="mm").joint_angles
    assert angles.device.type == "meta" and tuple(angles.shape) == (3, 15, 2)
