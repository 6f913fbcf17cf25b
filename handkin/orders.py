"""Joint-order registry: how other datasets and tools lay out the 21 joints, and conversions.

Each order is defined by the *names* of its joints, position by position; the index maps are
generated from those names, so an order cannot disagree with its own definition.

Registered orders (aliases in brackets):

* ``mp21`` [freihand, openpose, mediapipe, coco_wholebody, manopth] — canonical: wrist, then each
  finger base→tip, thumb first. manopth's ``ManoLayer`` already returns this order.
* ``mano21`` [mano, ho3d] — MANO's 16 kinematic joints (wrist; index, middle, little, ring,
  thumb, three each, base→out) followed by the five tips (thumb, index, middle, ring, little);
  HO-3D's ``handJoints3D`` uses it.
* ``rhd`` — Rendered Hand Pose, per hand: wrist, then each finger tip→base. Two-hand arrays
  (42 joints) hold the **left** hand at 0–20 and the **right** at 21–41.
* ``interhand`` [interhand26m] — InterHand2.6M, per hand: each finger tip→base, wrist last.
  Two-hand arrays hold the **right** hand at 0–20 and the **left** at 21–41.

``register_order`` adds an order of your own from a list of joint names.

Bone lengths tell the orders apart: read in the right order, a hand's 20 bones have the proportions of a hand
whatever its pose (:func:`order_misfit`); read in a wrong one, some "bones" join joints that are not neighbours.
:func:`guess_order` names the registered order that fits a set of hands (3D, or 2D with enough hands) best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .anatomy import BONE_CHILD_INDEX, BONE_PARENT_INDEX, FINGER_JOINTS, NUM_JOINTS, Finger, Joint, Side, joint
from .anatomy import side as parse_side
from .backend import take, to_numpy
from .errors import OrderError, ShapeError
from .handsize import BONE_LENGTHS_MM


@dataclass(frozen=True)
class JointOrder:
    """A layout of the 21 joints of one hand.

    ``joints[i]`` is the joint stored at position ``i`` of arrays in this order.
    ``two_hand_sides`` gives, for 42-joint two-hand arrays in this order, which hand comes first.
    """

    name: str
    joints: tuple[Joint, ...]
    description: str = ""
    aliases: tuple[str, ...] = ()
    two_hand_sides: tuple[Side, Side] | None = None
    to_canonical_index: tuple[int, ...] = field(init=False, repr=False)
    from_canonical_index: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.joints) != NUM_JOINTS or set(self.joints) != set(Joint):
            missing = sorted(set(Joint) - set(self.joints), key=int)
            raise OrderError(
                f"order {self.name!r} must list each of the 21 joints exactly once"
                + (f"; missing: {', '.join(j.name for j in missing)}" if missing else "")
            )
        position = {j: i for i, j in enumerate(self.joints)}
        # canonical[..., k, :] = native[..., position[k], :]
        object.__setattr__(self, "to_canonical_index", tuple(position[j] for j in Joint))
        # native[..., i, :] = canonical[..., joints[i], :]
        object.__setattr__(self, "from_canonical_index", tuple(int(j) for j in self.joints))

    def to_canonical(self, array):
        """Reorder ``(..., 21, C)`` from this order into MP21 (numpy or torch, no copy of values' dtype/device)."""
        _check_joint_axis(array, self.name)
        return take(array, self.to_canonical_index, axis=-2)

    def from_canonical(self, array):
        """Reorder ``(..., 21, C)`` from MP21 into this order."""
        _check_joint_axis(array, "mp21")
        return take(array, self.from_canonical_index, axis=-2)


def _check_joint_axis(array, order_name: str) -> None:
    shape = tuple(array.shape)
    if len(shape) < 2 or shape[-2] != NUM_JOINTS:
        extra = ""
        if len(shape) >= 2 and shape[-2] == 2 * NUM_JOINTS:
            extra = " It holds 42 joints, i.e. two hands: split it with HandSkeleton.from_two_hands()."
        raise ShapeError(f"expected an array of shape (..., 21, C) in order {order_name!r}, got {shape}.{extra}")


_REGISTRY: dict[str, JointOrder] = {}


def register_order(
    name: str,
    joint_names: Sequence,
    *,
    description: str = "",
    aliases: Sequence[str] = (),
    two_hand_sides: Sequence[str] | None = None,
) -> JointOrder:
    """Register an order from its 21 joint names (position by position) and return it."""
    key = name.lower()
    if key in _REGISTRY:
        raise OrderError(f"an order called {name!r} is registered already.")
    sides = None if two_hand_sides is None else tuple(parse_side(s) for s in two_hand_sides)
    order = JointOrder(
        name=key,
        joints=tuple(joint(n) for n in joint_names),
        description=description,
        aliases=tuple(a.lower() for a in aliases),
        two_hand_sides=sides,  # type: ignore[arg-type]
    )
    for k in (key, *order.aliases):
        if k in _REGISTRY:
            raise OrderError(f"an order called {k!r} is registered already.")
    for k in (key, *order.aliases):
        _REGISTRY[k] = order
    return order


def get_order(name: str | JointOrder) -> JointOrder:
    """The registered :class:`JointOrder` called ``name`` (case-insensitive; aliases accepted)."""
    if isinstance(name, JointOrder):
        return name
    if isinstance(name, str) and name.lower() in _REGISTRY:
        return _REGISTRY[name.lower()]
    raise OrderError(f"unknown joint order {name!r}; registered orders: {', '.join(available_orders())}.")


def available_orders() -> list[str]:
    """Names of the registered orders (without aliases)."""
    return sorted({o.name for o in _REGISTRY.values()})


def _finger_chain(f: Finger, tip_first: bool) -> list[Joint]:
    chain = list(FINGER_JOINTS[f])
    return chain[::-1] if tip_first else chain


MP21 = register_order(
    "mp21",
    list(Joint),
    description="Canonical: wrist, then each finger base→tip (thumb, index, middle, ring, little).",
    aliases=("freihand", "openpose", "mediapipe", "coco_wholebody", "manopth"),
)

MANO21 = register_order(
    "mano21",
    [Joint.wrist]
    + [j for f in (Finger.index, Finger.middle, Finger.little, Finger.ring, Finger.thumb) for j in FINGER_JOINTS[f][:3]]
    + [FINGER_JOINTS[f][3] for f in Finger],
    description="MANO's 16 joints (wrist; index, middle, little, ring, thumb) + 5 tips (thumb…little); HO-3D.",
    aliases=("mano", "ho3d"),
)

RHD = register_order(
    "rhd",
    [Joint.wrist] + [j for f in Finger for j in _finger_chain(f, tip_first=True)],
    description="Rendered Hand Pose: wrist, then each finger tip→base; two-hand arrays are left then right.",
    two_hand_sides=("left", "right"),
)

INTERHAND = register_order(
    "interhand",
    [j for f in Finger for j in _finger_chain(f, tip_first=True)] + [Joint.wrist],
    description="InterHand2.6M: each finger tip→base, wrist last; two-hand arrays are right then left.",
    aliases=("interhand26m", "interhand2.6m"),
    two_hand_sides=("right", "left"),
)


def convert(array, source: str | JointOrder, target: str | JointOrder):
    """Reorder ``(..., 21, C)`` from order ``source`` into order ``target`` (numpy or torch)."""
    return get_order(target).from_canonical(get_order(source).to_canonical(array))


def split_two_hands(array, order: str | JointOrder, sides: Sequence[str] | None = None) -> dict[Side, object]:
    """Split a ``(..., 42, C)`` two-hand array into ``{Side.right: (..., 21, C), Side.left: ...}``.

    The halves stay in ``order``; ``sides`` (first, second) overrides the order's documented layout.
    """
    o = get_order(order)
    shape = tuple(array.shape)
    if len(shape) < 2 or shape[-2] != 2 * NUM_JOINTS:
        raise ShapeError(f"expected a two-hand array of shape (..., 42, C), got {shape}.")
    if sides is None:
        if o.two_hand_sides is None:
            raise OrderError(
                f"order {o.name!r} has no documented two-hand layout; pass sides=('right', 'left') or ('left', 'right')."
            )
        first, second = o.two_hand_sides
    else:
        first, second = (parse_side(s) for s in sides)
        if first == second:
            raise OrderError(f"two-hand sides must differ, got {tuple(sides)}.")
    return {first: array[..., :NUM_JOINTS, :], second: array[..., NUM_JOINTS:, :]}


#: How much better (in :func:`order_misfit`) another order must fit than the declared one before
#: :func:`guess_order` prefers it. Hands in their own order misfit by 0.05–0.25, in a wrong one by 0.2–0.5.
ORDER_MARGIN = 0.05


def order_misfit(joints, order: str | JointOrder = "mp21") -> np.ndarray:
    """How far the bone lengths of ``joints (..., 21, C)`` (C = 3, or 2 for image points), read in ``order``, are
    from a hand's proportions: the mean over the 20 bones of ``|log(length / (s · adult length))|``, ``s`` the
    hand's median ratio (scale-free, pose-free). ``(...)`` float64 numpy; ``inf`` for a hand without extent."""
    x = np.asarray(to_numpy(joints), dtype=np.float64)
    canonical = get_order(order).to_canonical(x)
    bones = np.take(canonical, BONE_CHILD_INDEX, axis=-2) - np.take(canonical, BONE_PARENT_INDEX, axis=-2)
    lengths = np.sqrt(np.einsum("...c,...c->...", bones, bones))
    ratio = lengths / np.asarray(BONE_LENGTHS_MM)
    scale = np.median(ratio, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        misfit = np.abs(np.log(np.maximum(ratio / scale, 1e-6))).mean(axis=-1)
    return np.where(np.isfinite(misfit) & (scale[..., 0] > 0), misfit, np.inf)


def guess_order(joints, declared: str | JointOrder | None = None, margin: float = ORDER_MARGIN) -> str:
    """The registered order whose bone-length pattern (:func:`order_misfit`) fits the hands ``joints (N, 21, C)``
    best: the lowest median misfit over the hands. With ``declared``, that order is kept unless another fits
    better by more than ``margin`` and on most of the hands (so noisy hands do not overturn it).

    Reliable on 3D joints from one hand on; 2D joints (foreshortened bones) need a few hands (about 4 or more).
    """
    return _guess_order(joints, declared, margin)[0]


def _guess_order(joints, declared, margin: float) -> tuple[str, dict[str, np.ndarray]]:
    """:func:`guess_order` and the per-hand misfit ``(N,)`` of every registered order."""
    x = np.asarray(to_numpy(joints), dtype=np.float64)
    if x.ndim != 3:
        raise ShapeError(f"guess_order expects hands of shape (N, 21, C), got {tuple(x.shape)}.")
    misfit = {name: order_misfit(x, name) for name in available_orders()}
    median = {name: float(np.median(m)) for name, m in misfit.items()}
    best = min(median, key=median.__getitem__)
    if declared is None:
        return best, misfit
    own = get_order(declared).name
    better = float(np.mean(misfit[best] < misfit[own]))
    return (best if median[own] > median[best] + margin and better > 0.5 else own), misfit


__all__ = [
    "JointOrder",
    "register_order",
    "get_order",
    "available_orders",
    "convert",
    "split_two_hands",
    "order_misfit",
    "guess_order",
    "ORDER_MARGIN",
    "MP21",
    "MANO21",
    "RHD",
    "INTERHAND",
]
