"""The test base (in the manner of kornia's ``testing`` module): backends, dtypes and devices to run on,
``assert_close`` with a per-dtype tolerance table, a float64 ``gradcheck`` helper and generic hands built
from handkin's public API.

Import it from any test module (``tests/`` is on ``sys.path``, as for ``conftest`` and ``reference_bmc``)::

    from base import CASES, Case, assert_close, gradcheck, generic_hands
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import handkin

try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional extra of handkin
    torch = None

# ----------------------------------------------------------------------------- what to run on

BACKENDS: list[str] = ["numpy"] + (["torch"] if torch is not None else [])
#: The dtypes every differentiable function is checked in (half precision has its own tests).
DTYPES: list[str] = ["float32", "float64"]
#: torch devices: the CPU, and CUDA whenever it is available.
DEVICES: list[str] = ["cpu"] + (["cuda"] if torch is not None and torch.cuda.is_available() else [])

#: (rtol, atol) per dtype for :func:`assert_close` when no tolerance is given: about 8-60 ulps relative for
#: the float types, with an absolute floor for values near zero.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-3),
    "bfloat16": (1.6e-2, 1e-2),
    "float32": (1e-5, 1e-5),
    "float64": (1e-7, 1e-7),
}

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


@dataclass(frozen=True)
class Case:
    """One backend × dtype × device to run a function on (numpy only on the CPU)."""

    backend: str
    dtype: str
    device: str = "cpu"

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.dtype}" + (f"-{self.device}" if self.backend == "torch" else "")

    def array(self, value: Any, requires_grad: bool = False) -> Any:
        """``value`` (array-like) as an array of this case; non-float arrays keep their dtype."""
        a = np.asarray(value)
        floating = np.issubdtype(a.dtype, np.floating)
        if self.backend == "numpy":
            return a.astype(self.dtype) if floating else a
        t = torch.from_numpy(np.ascontiguousarray(a)).to(self.device)
        if floating:
            t = t.to(getattr(torch, self.dtype)).requires_grad_(requires_grad)
        return t

    def check(self, value: Any) -> None:
        """Assert that every floating array in ``value`` (arrays, tuples, named tuples) has this case's
        backend, dtype and device."""
        for leaf in leaves(value):
            if self.backend == "numpy":
                assert isinstance(leaf, (np.ndarray, np.generic)), f"numpy input gave {type(leaf).__name__}"
                if np.issubdtype(leaf.dtype, np.floating):
                    assert leaf.dtype == np.dtype(self.dtype), f"dtype {leaf.dtype}, expected {self.dtype}"
            else:
                assert isinstance(leaf, torch.Tensor), f"torch input gave {type(leaf).__name__}"
                assert leaf.device.type == self.device, f"device {leaf.device}, expected {self.device}"
                if leaf.is_floating_point():
                    assert leaf.dtype == getattr(torch, self.dtype), f"dtype {leaf.dtype}, expected {self.dtype}"


def cases(backends: Sequence[str] = BACKENDS, dtypes: Sequence[str] = DTYPES) -> list[Any]:
    """``pytest.param(Case(...))`` for every backend × dtype × device (cuda only for torch, only when present)."""
    out = []
    for backend in backends:
        for dtype in dtypes:
            for device in DEVICES if backend == "torch" else ["cpu"]:
                case = Case(backend, dtype, device)
                out.append(pytest.param(case, id=case.id))
    return out


#: Every backend × dtype × device, for ``@pytest.mark.parametrize("case", CASES)`` (or the ``case`` fixture).
CASES = cases()
#: The torch cases only (the ones a numpy result is compared against).
TORCH_CASES = cases(backends=[b for b in BACKENDS if b == "torch"])


def as_backend(array: np.ndarray, backend: str, requires_grad: bool = False):
    """``array`` on the given backend (torch tensors keep the numpy dtype)."""
    if backend == "numpy":
        return array
    t = torch.from_numpy(np.ascontiguousarray(array))
    return t.requires_grad_(requires_grad)


def like(value: Any, reference: Any) -> Any:
    """A constant ``value`` (array-like) on the backend, float dtype and device of the array ``reference``."""
    a = np.asarray(value)
    if torch is not None and isinstance(reference, torch.Tensor):
        t = torch.from_numpy(np.ascontiguousarray(a)).to(reference.device)
        return t.to(reference.dtype) if np.issubdtype(a.dtype, np.floating) else t
    return a.astype(reference.dtype) if np.issubdtype(a.dtype, np.floating) else a


# ----------------------------------------------------------------------------- comparing


def leaves(value: Any) -> list[Any]:
    """The arrays in ``value``: an array, or (nested) tuples / lists / named tuples / mappings of them (None
    skipped)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def _dtype_name(x: Any) -> str:
    return str(getattr(x, "dtype", np.asarray(x).dtype)).rsplit(".", 1)[-1]


def _to_numpy(x: Any) -> np.ndarray:
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def default_tolerance(*values: Any) -> tuple[float, float]:
    """(rtol, atol) of the least precise float dtype among ``values`` (exact, 0, for non-float values)."""
    known = [TOLERANCES[d] for d in map(_dtype_name, values) if d in TOLERANCES]
    if not known:
        return 0.0, 0.0
    return max(r for r, _ in known), max(a for _, a in known)


def assert_close(actual: Any, expected: Any, *, rtol: float | None = None, atol: float | None = None) -> None:
    """Assert ``|actual − expected| <= atol + rtol·|expected|`` elementwise, for numpy arrays, torch tensors
    (any device, detached), scalars and (nested) tuples of them; shapes must match exactly.

    A tolerance not given comes from :data:`TOLERANCES` for the least precise float dtype of the two sides;
    bool and integer arrays are compared exactly.
    """
    a_leaves, e_leaves = leaves(actual), leaves(expected)
    assert len(a_leaves) == len(e_leaves), f"{len(a_leaves)} arrays, expected {len(e_leaves)}"
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves, strict=True)):
        default_rtol, default_atol = default_tolerance(a, e)
        a_np, e_np = _to_numpy(a), _to_numpy(e)
        assert a_np.shape == e_np.shape, f"shape {a_np.shape}, expected {e_np.shape}" + (f" (item {i})" if i else "")
        if not (np.issubdtype(a_np.dtype, np.inexact) or np.issubdtype(e_np.dtype, np.inexact)):
            np.testing.assert_array_equal(a_np, e_np, err_msg=f"item {i}")
            continue
        np.testing.assert_allclose(
            a_np.astype(np.float64),
            e_np.astype(np.float64),
            rtol=default_rtol if rtol is None else rtol,
            atol=default_atol if atol is None else atol,
            err_msg=f"item {i}",
        )


# ----------------------------------------------------------------------------- gradients


def _is_float_array(x: Any) -> bool:
    if torch is not None and isinstance(x, torch.Tensor):
        return x.is_floating_point()
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast_mode: bool = False,
    device: str = "cpu",
) -> bool:
    """``torch.autograd.gradcheck`` of ``fn(*inputs)`` in float64: float inputs (numpy arrays or tensors) become
    float64 leaf tensors on ``device`` that require a gradient, anything else is passed as it is.

    ``fn`` may return a tensor or (nested, named) tuples of tensors; non-differentiable outputs (bool, int) are
    skipped. ``fast_mode=True`` checks one random projection of the Jacobian (much cheaper for many inputs).
    Raises on a mismatch (returns True otherwise).
    """
    tensors = []
    for x in inputs:
        if _is_float_array(x):
            t = torch.as_tensor(x).detach().to(device=device, dtype=torch.float64).clone()
            tensors.append(t.requires_grad_(True))
        else:
            tensors.append(x)

    def outputs(*args: Any) -> tuple[Any, ...]:
        # An output that does not depend on the inputs (e.g. a zero loss term) gets a zero dependence, so that
        # fast mode, which otherwise drops it on one side only, compares zero with zero.
        zero = sum(a.reshape(-1)[0] for a in args if isinstance(a, torch.Tensor) and a.requires_grad) * 0.0
        floats = [leaf for leaf in leaves(fn(*args)) if isinstance(leaf, torch.Tensor) and leaf.is_floating_point()]
        return tuple(f if f.requires_grad else f + zero for f in floats)

    return torch.autograd.gradcheck(outputs, tuple(tensors), eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)


# ----------------------------------------------------------------------------- generic hands


def random_angles(seed: int, batch_shape: tuple[int, ...] = (), spread: float = 1.0) -> np.ndarray:
    """Joint angles ``(..., 15, 2)``, radians: for each joint a random point of its polygon in
    ``JointLimits.default()`` (a random convex combination of the vertices, so inside for ``spread=1``),
    pushed away from the polygon's centre by ``spread`` (``spread > 1`` puts some joints outside)."""
    rng = np.random.default_rng(seed)
    polygons = handkin.JointLimits.default().polygon_array  # (15, N, 2)
    n = int(np.prod(batch_shape, dtype=np.int64))
    weights = rng.dirichlet(np.full(polygons.shape[1], 0.5), size=(n, polygons.shape[0]))  # (n, 15, N)
    points = np.einsum("njk,jkd->njd", weights, polygons)
    centre = polygons.mean(axis=1)
    points = centre + spread * (points - centre)
    return points.reshape(*batch_shape, 15, 2)


def generic_hands(
    seed: int, batch_shape: tuple[int, ...] = (), *, noise_mm: float = 2.0, spread: float = 1.0, units: str = "mm"
) -> np.ndarray:
    """Generic (non-degenerate) right hands ``(..., 21, 3)`` float64, built with the public API: the template posed
    with :func:`random_angles` (``handkin.posed_hand``), per-joint noise (so the palm is not flat), a random
    rotation and a translation of up to ±100 mm. ``units="ref"`` normalises them by the reference bone."""
    rng = np.random.default_rng([seed, 1])
    joints = np.asarray(handkin.posed_hand(random_angles(seed, batch_shape, spread)).joints).reshape(-1, 21, 3)
    n = joints.shape[0]
    joints = joints + rng.normal(scale=noise_mm, size=joints.shape)
    rot = Rotation.random(n, random_state=rng).as_matrix()
    joints = np.einsum("nij,nkj->nki", rot, joints) + rng.uniform(-100, 100, size=(n, 1, 3))
    joints = joints.reshape(*batch_shape, 21, 3)
    if units != "mm":
        joints = np.asarray(handkin.HandSkeleton(joints=joints, units="mm").to_units(units).joints)
    return joints


__all__ = [
    "BACKENDS",
    "CASES",
    "Case",
    "DEVICES",
    "DTYPES",
    "TOLERANCES",
    "TORCH_CASES",
    "as_backend",
    "assert_close",
    "cases",
    "default_tolerance",
    "generic_hands",
    "gradcheck",
    "leaves",
    "like",
    "needs_torch",
    "random_angles",
    "torch",
]
