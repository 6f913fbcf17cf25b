"""The array-namespace shim: one code path for NumPy and torch.

Every formula in handkin is written once against the array-API namespace returned by
:func:`namespace` (array-api-compat's wrappers for numpy and torch), so dtype, device and autograd
follow the input. torch is imported only when a torch tensor is actually passed in.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from functools import cache, lru_cache, wraps
from typing import Any, TypeVar

import array_api_compat
import numpy as np

from .errors import BackendError

Array = Any  # a numpy.ndarray or a torch.Tensor


def namespace(*arrays: Array):
    """The array-API namespace shared by ``arrays`` (numpy or torch); raises :class:`BackendError` when mixed."""
    kinds = {type(a) for a in arrays if a is not None}
    if len(kinds) == 1:  # the common case, resolved without array-api-compat's checks
        kind = next(iter(kinds))
        if kind is np.ndarray:
            return _numpy_namespace()
        if kind.__module__ == "torch" and kind.__name__ in ("Tensor", "Parameter"):
            first = next(a for a in arrays if a is not None)
            if all(a is None or a.device == first.device for a in arrays):
                return _torch_shim(array_api_compat.array_namespace(first))
    arrays = tuple(
        np.asarray(a) if isinstance(a, np.generic) else a
        for a in arrays
        if a is not None and (isinstance(a, np.generic) or not isinstance(a, (int, float)))
    )
    try:
        xp = array_api_compat.array_namespace(*arrays)
    except TypeError as exc:
        kinds = sorted({backend_name(a) for a in arrays})
        raise BackendError(
            f"arrays from different backends were mixed ({', '.join(kinds)}); convert them first, e.g. with "
            "HandSkeleton.numpy() or HandSkeleton.torch()."
        ) from exc
    devices = {str(array_api_compat.device(a)) for a in arrays}
    if len(devices) > 1:
        raise BackendError(f"arrays on different devices were mixed ({', '.join(sorted(devices))}).")
    return _torch_shim(xp) if xp.__name__.endswith(".torch") else xp


@cache
def _numpy_namespace() -> Any:
    return array_api_compat.array_namespace(np.zeros(0))


class _TorchNamespace:
    """array-api-compat's torch namespace, with direct torch calls for the few functions whose compat wrappers
    run dtype promotion in Python: that costs time in eager mode and breaks ``torch.compile``'s graph."""

    def __init__(self, compat: Any) -> None:
        import torch

        self._compat, self._torch = compat, torch
        self.__name__ = compat.__name__

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compat, name)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._torch.clamp(a, min=b) if isinstance(b, (int, float)) else self._torch.maximum(a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._torch.clamp(a, max=b) if isinstance(b, (int, float)) else self._torch.minimum(a, b)

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        return self._torch.where(condition, a, b)

    def concat(self, arrays: Any, axis: int = 0) -> Any:
        return self._torch.cat(list(arrays), dim=axis)

    def stack(self, arrays: Any, axis: int = 0) -> Any:
        return self._torch.stack(list(arrays), dim=axis)

    def sign(self, x: Any) -> Any:
        return self._torch.sign(x)

    def rsqrt(self, x: Any) -> Any:
        return self._torch.rsqrt(x)

    def clip(self, x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (the array API's names)
        return self._torch.clamp(x, min=min, max=max)

    def take_along_axis(self, x: Any, indices: Any, axis: int = -1) -> Any:
        return self._torch.gather(x, axis, indices)

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
        if axis is None or dtype is not None:
            return self._compat.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)
        return self._torch.sum(x, dim=axis, keepdim=keepdims)


@cache
def _torch_shim(compat: Any) -> _TorchNamespace:
    # functools.cache rather than a dict: torch.compile traces through the cache without guarding on its contents,
    # so filling it while tracing does not make the next call recompile
    return _TorchNamespace(compat)


def compiling() -> bool:
    """True while ``torch.compile`` traces (False without torch; never imports it)."""
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.compiler.is_compiling())


_FINFO: dict[Any, tuple[float, float]] = {}


def finfo(xp, dtype: Any) -> tuple[float, float]:
    """(eps, smallest normal) of a floating dtype, looked up once per dtype."""
    found = _FINFO.get(dtype)
    if found is None:
        info = xp.finfo(dtype)
        found = _FINFO[dtype] = (float(info.eps), float(info.smallest_normal))
    return found


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_threaded(like: Array) -> contextlib.AbstractContextManager:
    """A context running torch's CPU kernels on one thread while handkin's small-tensor kernels run on ``like``'s
    device (a no-op for numpy, other devices, one thread already, and while ``torch.compile`` traces).

    The loss's tensors are small (a few thousand elements per operation at B = 256), so intra-op threads buy
    nothing, and each parallel region waits for every thread: on a busy machine that is a scheduler time slice
    (8–12 ms measured on 2 cores, against ~0.01 ms for the work), and torch's sin/cos already go parallel above
    2048 elements. One thread keeps the step the same with 1 or 2 threads (``benchmarks/bench_losses.py``)."""
    if not is_torch(like) or like.device.type != "cpu":
        return contextlib.nullcontext()
    import torch

    if compiling() or torch.get_num_threads() == 1:
        return contextlib.nullcontext()
    return _one_thread()


def is_torch(x: Array) -> bool:
    """True if ``x`` is a torch tensor (without importing torch)."""
    return array_api_compat.is_torch_array(x)


def detached(x: Array) -> Array:
    """``x`` cut from autograd (torch ``detach()``, a view); numpy arrays as they are."""
    return x.detach() if is_torch(x) else x


def is_numpy(x: Array) -> bool:
    """True if ``x`` is a numpy array."""
    return isinstance(x, np.ndarray)


def backend_name(x: Array) -> str:
    """``"torch"``, ``"numpy"`` or the type's name."""
    if is_torch(x):
        return "torch"
    if is_numpy(x):
        return "numpy"
    return type(x).__name__


def as_float_array(x: Any) -> Array:
    """Return ``x`` as a floating array: torch tensors and float numpy arrays pass through untouched;
    lists, ints and bools become float64 numpy arrays (torch integer tensors become the default float dtype)."""
    if is_torch(x):
        import torch

        return x if torch.is_floating_point(x) else x.to(torch.get_default_dtype())
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"cannot read joints of type {type(x).__name__} as a numeric array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise BackendError(
            f"cannot read joints of type {type(x).__name__} as a numeric array (ragged or non-numeric, dtype {arr.dtype})."
        )
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def _require_values(x: Array, action: str = "read its values") -> None:
    """Raise :class:`BackendError` if ``x`` is a torch tensor on the ``meta`` device: it has a shape and a dtype
    but no values, so nothing that looks at them (checks, conversion to numpy) can run."""
    if is_torch(x) and x.device.type == "meta":
        raise BackendError(
            f"a tensor on the 'meta' device (shape {tuple(x.shape)}) holds no values, so handkin cannot {action}; "
            "make it on a real device (e.g. torch.zeros(..., device='cpu'), or module.to_empty(device='cpu'))."
        )


def to_numpy(x: Array) -> np.ndarray:
    """A numpy copy/view of ``x`` (detached from autograd, moved to the CPU; bfloat16 becomes float32)."""
    if is_torch(x):
        _require_values(x, "convert it to numpy")
        x = x.detach().cpu()
        return (x.float() if str(x.dtype) == "torch.bfloat16" else x).numpy()
    return np.asarray(x)


def to_torch(x: Array, device=None, dtype=None):
    """``x`` as a torch tensor on ``device`` (default: where it is, or the CPU); needs torch installed."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendError("torch is not installed; pip install 'handkin[torch]'.") from exc
    t = x if is_torch(x) else torch.from_numpy(np.ascontiguousarray(x))
    return t.to(device=device if device is not None else t.device, dtype=dtype if dtype is not None else t.dtype)


def all_finite(x: Array) -> bool:
    """True if every value of ``x`` is finite (one vectorised pass; a host sync for GPU tensors)."""
    _require_values(x, "check that it is finite")
    xp = namespace(x)
    return bool(xp.all(xp.isfinite(x)))


_F = TypeVar("_F", bound=Callable[..., Any])


def _is_half(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and str(dtype).rsplit(".", 1)[-1] in ("float16", "bfloat16")


def _cast(value: Any, dtype: Any) -> Any:
    if isinstance(value, tuple):
        items = [_cast(v, dtype) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        xp = namespace(value)
        return xp.astype(value, dtype) if xp.isdtype(value.dtype, "real floating") else value  # masks stay bool
    return value


def promote_half(fn: _F) -> _F:
    """Run ``fn`` in float32 when an array argument is float16/bfloat16, and cast array results back.

    Squared millimetre lengths overflow float16 (max 65504); this keeps half-precision input finite
    while the output dtype still follows the input, as under autocast.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        half = next((a for a in args if _is_half(a)), None)
        if half is None:
            return fn(*args, **kwargs)
        xp = namespace(half)
        promoted = [namespace(a).astype(a, xp.float32) if _is_half(a) else a for a in args]
        return _cast(fn(*promoted, **kwargs), half.dtype)

    return wrapper  # type: ignore[return-value]


@promote_half
def safe_norm(x: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """Euclidean norm along ``axis``: exactly 0 for the zero vector, with a zero (not NaN) gradient there.

    Written as ``s / sqrt(max(s, tiny))`` with ``s = x·x`` and ``tiny`` the dtype's smallest normal
    number: equal to ``sqrt(s)`` to the last bit or one ulp for every normal ``s``, no ``where``.
    """
    xp = namespace(x)
    sq = xp.vecdot(x, x, axis=axis)
    return length_from_squared(xp.expand_dims(sq, axis=axis) if keepdims else sq)


def length_from_squared(sq: Array) -> Array:
    """``sqrt(sq)``, exactly 0 at 0 with a zero (not NaN) gradient there: ``sq / sqrt(max(sq, tiny))``."""
    xp = namespace(sq)
    return sq / xp.sqrt(xp.maximum(sq, finfo(xp, sq.dtype)[1]))


@lru_cache(maxsize=256)
def _index_array(indices: tuple[int, ...], xp, device):
    return xp.asarray(indices, device=device)


def take(x: Array, indices: tuple[int, ...], axis: int) -> Array:
    """``x`` gathered at integer ``indices`` along ``axis`` (numpy ``take`` / torch ``index_select``: several
    times faster than fancy indexing with a list). The index array is cached per backend and device."""
    xp = namespace(x)
    idx = _index_array(tuple(indices), xp, array_api_compat.device(x))
    return xp.take(x, idx, axis=axis % x.ndim)


def safe_divide(num: Array, den: Array) -> Array:
    """``num / den`` where ``den != 0``, and ``num`` unchanged where ``den == 0`` (finite values and gradients)."""
    xp = namespace(num, den)
    nonzero = den != 0
    return num / xp.where(nonzero, den, xp.ones_like(den))


__all__ = [
    "Array",
    "namespace",
    "is_torch",
    "detached",
    "is_numpy",
    "backend_name",
    "as_float_array",
    "to_numpy",
    "to_torch",
    "all_finite",
    "safe_norm",
    "length_from_squared",
    "promote_half",
    "take",
    "safe_divide",
]
