"""Structure-of-arrays 3-vectors: the fast layout for handkin's geometry.

A :class:`V` holds a batch of vectors as one array of shape ``(3, k, M)`` — x, y and z first, the
flattened batch ``M`` last — so every vector operation is one long elementwise loop (numpy) or one
kernel (torch) instead of many length-3 inner loops, and each component is a contiguous slab. Degenerate cases
select a fallback with one ``where`` (one operation, no 0/1 mask casts), which keeps values and gradients finite as
long as both sides are finite: ``where`` sends the gradient only to the side it took.

Gradient guards: near a singular configuration a quantity can be finite but so sensitive that its gradient is
useless (a flexion of a bone at ±90° abduction, the frame after a bone pointing backwards, the normal of two
nearly collinear root bones, the angles of a bone much shorter than the palm). Inside a relative neighbourhood of
size :data:`SINGULAR_TOL` of each singularity, :func:`cut_gradient` keeps the value bit for bit and sets the
gradient through the singular factor to zero (the fallback's 0/1 blend, applied to the gradient only), so every
gradient stays below about :data:`GRADIENT_BOUND` / L (L the palm scale, in the input's length unit; the
measurements page lists the guards).

:func:`to_soa` / :func:`from_soa` convert ``(..., K, 3)`` arrays to and from this layout, and
:func:`batched` runs a function over a batch in cache-sized chunks (handkin's one chunking helper: the
geometry here and the polygon functions of :mod:`handkin.hull` use it, each with its own chunk size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import array_api_compat
import numpy as np

from .backend import Array, compiling, finfo, is_torch, namespace
from .errors import ShapeError

#: Frames per chunk of :func:`batched`'s default: the structure-of-arrays geometry (measure, forward, palm) on
#: large numpy batches (bounds memory, keeps copies in cache).
CHUNK = 8192
#: Hands per chunk of :func:`batched` for torch tensors that need no gradient: larger than :data:`CHUNK` because
#: every torch operation has a fixed dispatch cost; bounds the temporaries' memory the same way.
TORCH_CHUNK = 65536

#: Relative size of the neighbourhood of a singular configuration inside which a quantity's gradient is cut (its
#: value is kept): a ratio such as cos(abduction), sin(angle between two root bones), the angle to a backward
#: bone or a bone's length over the palm scale below 1e-3 (0.057°; 0.08 mm on an adult palm).
SINGULAR_TOL = 1e-3
#: The resulting order of magnitude of any gradient of the geometry, times the palm scale L (RMS root-bone length):
#: ``|∂q/∂joints| ≲ GRADIENT_BOUND / L`` for angles and frames, ``GRADIENT_BOUND / L²`` for curvature (1/length).
GRADIENT_BOUND = SINGULAR_TOL**-2


class V:
    """A batch of 3-vectors stored as one array ``a`` of shape ``(3, ...)``: x, y, z along the first axis.

    Arithmetic works on the whole array at once (one operation for all three components), and every
    component ``a[i]`` is a contiguous slab when the batch is last.
    """

    __slots__ = ("a",)

    def __init__(self, a: Array) -> None:
        self.a = a

    @classmethod
    def stack(cls, x: Array, y: Array, z: Array) -> V:
        """From three component arrays of equal shape."""
        return cls(namespace(x, y, z).stack([x, y, z], axis=0))

    @property
    def x(self) -> Array:
        return self.a[0]

    @property
    def y(self) -> Array:
        return self.a[1]

    @property
    def z(self) -> Array:
        return self.a[2]

    def __iter__(self):
        return iter((self.a[0], self.a[1], self.a[2]))

    def __add__(self, other: V) -> V:
        return V(self.a + other.a)

    def __sub__(self, other: V) -> V:
        return V(self.a - other.a)

    def __neg__(self) -> V:
        return V(-self.a)

    def scale(self, s: Any) -> V:
        """Scaled by a scalar or a scalar array broadcastable to the components (a method, not ``*``:
        ``torch.compile`` cannot trace ``vector * tensor`` on a user-defined class)."""
        return V(self.a * (s[None] if hasattr(s, "shape") else s))

    def rows(self, index: Any) -> V:
        """The same rows (first axis after the components) of every component."""
        return V(self.a[:, index])


def const(xp, values: tuple[float, float, float], like: V) -> V:
    """A constant vector broadcastable against ``like`` (built from ``like``'s own array, so it has its dtype and
    device and traces cleanly under ``torch.compile``)."""
    zero = xp.zeros_like(like.a[(slice(0, 1),) * like.a.ndim])  # (1, 1, ..., 1)
    return V(xp.concat([zero + values[0], zero + values[1], zero + values[2]], axis=0))


_CONSTANTS: dict[tuple, Any] = {}


def constant(xp, values: tuple[float, ...], like: Array, axis: int = 0) -> Array:
    """``values`` as an array with ``like``'s dtype, device and number of axes, the values along ``axis`` and
    size 1 elsewhere; built once per (dtype, device) (a constant, not one operation per call; built afresh while
    ``torch.compile`` traces)."""
    device = like.device if hasattr(like, "device") else array_api_compat.device(like)
    key = (values, like.dtype, device, like.ndim, axis)
    cached = _CONSTANTS.get(key)
    if cached is not None:  # a cached tensor is a constant to torch.compile as well
        return cached
    shape = [1] * like.ndim
    shape[axis] = len(values)
    array = xp.reshape(xp.asarray(values, dtype=like.dtype, device=device), tuple(shape))
    if not compiling():
        _CONSTANTS[key] = array
    return array


def dot(a: V, b: V) -> Array:
    return namespace(a.a).sum(a.a * b.a, axis=0)


def cross(a: V, b: V) -> V:
    return V(namespace(a.a).linalg.cross(a.a, b.a, axis=0))


def mask(xp, condition: Array, like: Array) -> Array:
    """A condition as 0/1 values of ``like``'s dtype (for branch-free blending)."""
    return xp.astype(condition, like.dtype)


def tiny(xp, like: Array) -> float:
    """The smallest normal number of ``like``'s dtype."""
    return finfo(xp, like.dtype)[1]


def eps(xp, like: Array) -> float:
    """The machine epsilon of ``like``'s dtype."""
    return finfo(xp, like.dtype)[0]


def cut_gradient(value: Array, keep: Array) -> Array:
    """``value`` unchanged, its gradient passed on only where the bool array ``keep`` (broadcastable) is true.

    ``where(keep, value, v₀)`` with ``v₀`` the detached value: bit-exact values, and a zero gradient where ``keep``
    is false even if the gradient there would be NaN or infinite (``where`` passes none to the side it did not
    take). Arrays that need no gradient (numpy, or torch without autograd) are returned as they are.
    """
    if not is_torch(value) or not value.requires_grad:
        return value
    return value.where(keep, value.detach())


class UnitTape(NamedTuple):
    """What :func:`unit_adjoint` needs of one :func:`unit_taped` call."""

    u: Array
    """The result ``(3, ...)``."""
    inv: Array
    """``1 / |v|`` ``(1, ...)`` (floored)."""
    passes: Array
    """Bool ``(1, ...)``: the result is ``v / |v|`` and passes a gradient to ``v`` (not cut by the guard)."""
    fallback: Array
    """Bool ``(1, ...)``: the result is the fallback."""


def csum(xp, a: Array) -> Array:
    """The sum over the components (first axis, size 3 or 2), kept as an axis of size 1: one reduction in torch,
    two adds in numpy (its reduction over a short leading axis is several times slower)."""
    if is_torch(a):
        return xp.sum(a, axis=0, keepdims=True)
    out = a[0:1] + a[1:2]
    return out + a[2:3] if a.shape[0] == 3 else out


def select(xp, condition: Array, a: Array, b: Array) -> Array:
    """``where(condition, a, b)`` for finite arrays: one operation in torch; in numpy a 0/1 blend
    (``np.where`` is several times slower than a multiply there)."""
    if is_torch(condition):
        return xp.where(condition, a, b)
    m = condition.astype(a.dtype)
    return a * m + b * (1 - m)


def angle(xp, y: Array, x: Array, r: Array, x_nonnegative: bool = False) -> Array:
    """``atan2(y, x)`` given ``r = hypot(x, y)``: torch's ``atan2`` (one operation), numpy through :func:`atan2`'s
    half angle (numpy's ``arctan2`` is about 4× slower than its ``arctan``). At ``x = y = 0`` both give 0; the
    caller keeps torch's gradient away from there."""
    if is_torch(y):
        return xp.atan2(y, x)
    return atan2(xp, y, x, r, x_nonnegative)


def rsqrt(xp, x: Array) -> Array:
    """``1 / sqrt(x)`` (one operation in torch)."""
    return xp.rsqrt(x) if hasattr(xp, "rsqrt") else 1 / xp.sqrt(x)


def unit_taped(
    xp, v: Array, fallback: Array, threshold_sq: Array | float = 0.0, guard_sq: Array | float | None = None
) -> tuple[Array, UnitTape]:
    """``v / |v|`` of vectors ``v (3, ...)`` (components first), or ``fallback`` (unit vectors, broadcastable)
    where ``|v|² <= threshold_sq``; with ``guard_sq``, the gradient of ``v / |v|`` is cut (:func:`cut_gradient`)
    where ``|v|² <= guard_sq`` (so it is at most ``1 / √guard_sq``). Thresholds are scalars or arrays
    broadcastable to ``(1, ...)``. Also returns the :class:`UnitTape` for :func:`unit_adjoint` (its fields are
    ``(1, ...)``, like every scalar of the taped geometry)."""
    sq = csum(xp, v * v)
    floor = tiny(xp, sq)
    inv = rsqrt(xp, xp.maximum(sq, floor))
    taken = sq <= threshold_sq + floor
    if not is_torch(v):  # numpy (no gradient): the 0/1 mask folded into the scale; np.where costs several multiplies
        keep = 1 - taken.astype(v.dtype)
        u = v * (inv * keep) + fallback * (1 - keep)
        return u, UnitTape(u, inv, ~taken, taken)
    scaled = v * inv
    passes = ~taken
    if guard_sq is not None:
        guard = sq > guard_sq
        scaled = cut_gradient(scaled, guard)
        passes = passes & guard
    u = xp.where(taken, fallback, scaled)
    return u, UnitTape(u, inv, passes, taken)


def unit(
    xp, v: Array, fallback: Array, threshold_sq: Array | float = 0.0, guard_sq: Array | float | None = None
) -> Array:
    """:func:`unit_taped` without the tape."""
    return unit_taped(xp, v, fallback, threshold_sq, guard_sq)[0]


def unit_adjoint(xp, tape: UnitTape, g: Array) -> tuple[Array, Array]:
    """The gradients ``(g_v, g_fallback)`` of a :func:`unit_taped` result given its gradient ``g (3, ...)``:
    ``(g − u (u·g)) / |v|`` where the result is ``v / |v|`` and the guard passes, ``g`` where it is the fallback."""
    u, zero = tape.u, constant(xp, (0.0,), g)
    g_v = xp.where(tape.passes, (g - u * csum(xp, u * g)) * tape.inv, zero)
    return g_v, xp.where(tape.fallback, g, zero)


def normalize(
    v: V, fallback: V | tuple[float, float, float], threshold_sq: Array | float = 0.0, guard_sq: Array | None = None
) -> V:
    """:func:`unit` on :class:`V` vectors (a tuple ``fallback`` is a constant vector)."""
    xp = namespace(v.a)
    if isinstance(fallback, tuple):
        fallback = const(xp, fallback, v)
    return V(unit(xp, v.a, fallback.a, threshold_sq, guard_sq))


def atan2(xp, y: Array, x: Array, r: Array, x_nonnegative: bool = False) -> Array:
    """``atan2(y, x)`` given ``r = hypot(x, y)``, through one ``arctan`` of the half angle.

    About twice as fast as numpy's ``arctan2``, accurate to a few ulps, smooth everywhere except
    the negative x axis (as atan2), and 0 with a zero gradient at ``x = y = 0`` (points closer to the
    origin than √(smallest normal) — 1.5e-154 in float64, 1.1e-19 in float32 — count as the origin;
    on the negative x axis the result is +π whatever the sign of a zero y). Pass
    ``x_nonnegative=True`` when ``x >= 0`` is known (fewer operations).
    """
    floor = float(xp.finfo(r.dtype).smallest_normal) ** 0.5
    if x_nonnegative:
        den = r + x
        return 2 * xp.atan(y * (mask(xp, den > floor, den) / xp.maximum(den, floor)))
    negative = mask(xp, x < 0, x)
    den = r + (1 - 2 * negative) * x  # r + |x| without abs(), so the gradient at x = 0 is right
    t = 2 * xp.atan(y * (mask(xp, den > floor, den) / xp.maximum(den, floor)))
    sign_y = 2 * mask(xp, y >= 0, y) - 1
    return t + negative * (sign_y * np.pi - 2 * t)


def to_soa(array: Array) -> V:
    """``(..., K, 3)`` → components ``(3, K, M)``, ``M`` the flattened batch (one contiguous copy)."""
    xp = namespace(array)
    k = array.shape[-2]
    flat = xp.reshape(array, (-1, k, 3))
    return V(contiguous(xp.permute_dims(flat, (2, 1, 0))))


def from_soa(v: V, batch_shape: tuple[int, ...]) -> Array:
    """Components ``(3, K, M)`` → ``(*batch_shape, K, 3)``."""
    xp = namespace(v.a)
    return xp.reshape(xp.permute_dims(v.a, (2, 1, 0)), (*batch_shape, v.a.shape[1], 3))


def contiguous(x: Array) -> Array:
    """A C-contiguous copy of ``x`` when it is not one already."""
    if is_torch(x):
        return x.contiguous()
    return np.ascontiguousarray(x)


class Stacked(NamedTuple):
    """An output of a :func:`batched` function given as parts ``(k, M)`` to stack on axis 1 → ``(k, len(parts), M)``.

    Chunked numpy runs write the parts straight into the preallocated output (one copy, not two).
    """

    parts: list


def _needs_graph(arrays: tuple[Array, ...]) -> bool:
    """True for torch tensors that autograd must see whole (a tensor requires a gradient and grad mode is on)
    and while ``torch.compile`` traces (a chunk loop would unroll into the graph)."""
    if compiling():
        return True
    import torch

    return torch.is_grad_enabled() and any(is_torch(a) and a.requires_grad for a in arrays)


def _view_as(target: Array, shape: tuple[int, ...]) -> Array:
    """``target`` reshaped to ``shape`` without a copy (writes go to ``target``), else :class:`ShapeError`."""
    try:
        if is_torch(target):
            return target.view(shape)
        return np.reshape(target, shape, copy=False)
    except (ValueError, RuntimeError) as exc:
        raise ShapeError(
            f"an output array of shape {tuple(target.shape)} cannot be written in place as {shape} (its strides "
            "do not allow it): pass C-contiguous arrays or those of MeasuredArrays.empty()."
        ) from exc


def batched(
    fn: Callable[..., tuple[Any, ...]],
    *arrays: Array,
    chunk: int | None = None,
    batch_axis: Literal[0, -1] = -1,
    out: Sequence[Array | None] | None = None,
) -> tuple[Array, ...]:
    """Call ``fn`` on arrays whose *leading* axis is a flat batch ``M``; ``fn`` returns a tuple of arrays whose
    ``batch_axis`` is that batch: the *last* axis (the structure-of-arrays layout, default; :class:`Stacked`
    parts allowed) or the first (``batch_axis=0``).

    Batches larger than ``chunk`` are processed in chunks written into preallocated outputs: numpy in chunks of
    :data:`CHUNK` (default), torch in chunks of :data:`TORCH_CHUNK` when no gradient is needed; torch tensors
    that autograd needs whole (one requires a gradient in grad mode) or under ``torch.compile`` go through in
    one call. ``out``: one array (or None: allocated) per result of ``fn`` to write into instead, each of the
    full result's size and dtype and viewable (no copy) as the full result's shape — ``(k, parts, M)`` for a
    :class:`Stacked` result; those arrays are returned.
    """
    torch_input = is_torch(arrays[0])
    size = (TORCH_CHUNK if torch_input else CHUNK) if chunk is None else chunk

    def assemble(result: Any) -> Array:
        return namespace(result.parts[0]).stack(result.parts, axis=1) if isinstance(result, Stacked) else result

    def empty(result: Any, m: int, target: Array | None) -> Array:
        first = result.parts[0] if isinstance(result, Stacked) else result
        if isinstance(result, Stacked):
            shape = (first.shape[0], len(result.parts), m)
        else:
            shape = (m, *first.shape[1:]) if batch_axis == 0 else (*first.shape[:-1], m)
        if target is not None:
            if target.dtype != first.dtype:
                raise ShapeError(f"an output array has dtype {target.dtype}, the result {first.dtype}.")
            return _view_as(target, shape)
        if is_torch(first):
            import torch

            return torch.empty(shape, dtype=first.dtype, device=first.device)
        return np.empty(shape, dtype=first.dtype)

    def write(dest: Array, result: Any, span: slice) -> None:
        if isinstance(result, Stacked):
            for i, part in enumerate(result.parts):
                dest[:, i, span] = part
        elif batch_axis == 0:
            dest[span] = result
        else:
            dest[..., span] = result

    m = arrays[0].shape[0]
    whole = m <= size or (torch_input and _needs_graph(arrays))
    if whole and out is None:
        return tuple(assemble(r) for r in fn(*arrays))
    spans = [slice(0, m)] if whole else [slice(s, min(s + size, m)) for s in range(0, m, size)]
    outputs = None
    for span in spans:
        results = fn(*(a[span] for a in arrays)) if not whole else fn(*arrays)
        if outputs is None:
            targets = [None] * len(results) if out is None else list(out)
            outputs = tuple(empty(r, m, t) for r, t in zip(results, targets, strict=True))
        for dest, r in zip(outputs, results, strict=True):
            write(dest, r, span)
    if out is not None:  # the caller's arrays (not the views written through)
        return tuple(t if t is not None else o for t, o in zip(out, outputs, strict=True))
    return outputs


def batch_first(x: Array, batch_shape: tuple[int, ...], item_shape: tuple[int, ...]) -> Array:
    """A structure-of-arrays result ``(*item_axes, M)`` as ``(*batch_shape, *item_shape)``; a view where possible.

    ``x``'s leading axes, moved behind the batch axis, must reshape to ``item_shape`` in C order.
    """
    xp = namespace(x)
    moved = xp.permute_dims(x, (x.ndim - 1, *range(x.ndim - 1)))
    return xp.reshape(moved, (*batch_shape, *item_shape))


__all__ = [
    "V",
    "dot",
    "cross",
    "mask",
    "normalize",
    "unit",
    "csum",
    "select",
    "angle",
    "rsqrt",
    "constant",
    "unit_taped",
    "unit_adjoint",
    "UnitTape",
    "cut_gradient",
    "atan2",
    "to_soa",
    "from_soa",
    "contiguous",
    "batched",
    "Stacked",
    "batch_first",
    "CHUNK",
    "TORCH_CHUNK",
    "SINGULAR_TOL",
    "GRADIENT_BOUND",
]
