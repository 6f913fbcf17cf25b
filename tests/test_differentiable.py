"""The backend × dtype (× device) matrix of every differentiable public function of handkin.

Each function in :data:`REGISTRY` is checked, for numpy and torch in float32 and float64 (and on CUDA when it is
available), on generic hands built from the public API (:func:`base.generic_hands`):

* the output's dtype and device follow the input;
* a batch ``(2, 3, ...)`` gives the same result as the flattened batch ``(6, ...)``;
* numpy and torch agree (:func:`base.assert_close`, per-dtype tolerances);
* a float64 ``torch.autograd.gradcheck`` on two hands.

Adding a function is one line in :data:`REGISTRY`; :func:`test_every_public_function_is_in_the_matrix` fails
when a public function of the covered modules is neither registered nor listed in :data:`NOT_DIFFERENTIABLE`.
Gradients at singular poses (bounded by ``handkin.vec.GRADIENT_BOUND``) are tested in ``test_frames.py``,
``test_palm.py`` and ``test_camera.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from base import (
    CASES,
    DEVICES,
    TORCH_CASES,
    Case,
    assert_close,
    default_tolerance,
    generic_hands,
    gradcheck,
    leaves,
    like,
    random_angles,
    torch,
)

import handkin
from handkin import HandSkeleton, JointLimits, backend, camera, frames, hull, losses, metrics, palm, template

LIMITS = JointLimits.default()  # ref units
K = camera.intrinsics(600.0, 610.0, 128.0, 120.0, skew=0.5)
PALM_JOINTS = [0, 1, 5, 9, 13, 17]
THRESHOLDS = np.linspace(0.0, 50.0, 11)
BOUNDS = np.tile([0.2, 0.6], (20, 1))  # [min, max] per value, two of them unset (±inf)
BOUNDS[3, 0], BOUNDS[7, 1] = -np.inf, np.inf

# ----------------------------------------------------------------------------- inputs (float64 numpy, batch first)
# Each takes (seed, batch_shape) and returns the differentiable inputs of one function.


def _rng(seed: int, shape: tuple[int, ...], salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt, *shape])


def hands(seed, shape):
    return (generic_hands(seed, shape),)


def ref_hands_some_outside(seed, shape):
    """Right hands in the limits' unit (ref), posed partly outside the default joint limits (non-zero loss terms)."""
    return (generic_hands(seed, shape, spread=1.4, units="ref"),)


def root_bones(seed, shape):
    return (np.asarray(HandSkeleton(joints=generic_hands(seed, shape), units="mm").root_bones),)


def kinematics(seed, shape):
    """Palm (..., 6, 3), angles (..., 15, 2), finger-bone lengths (..., 15) for forward kinematics."""
    palm_joints = generic_hands(seed, shape)[..., PALM_JOINTS, :]
    return palm_joints, random_angles(seed, shape), _rng(seed, shape, 1).uniform(20.0, 45.0, (*shape, 15))


def angles(seed, shape):
    return (random_angles(seed, shape),)


def angle_points(seed, shape):
    """Points (..., 15, 2) in the angle plane, some inside their joint's polygon and some outside."""
    return (random_angles(seed, shape, spread=1.5),)


def camera_hands(seed, shape):
    return (generic_hands(seed, shape) + np.array([0.0, 0.0, 600.0]),)


def pose_25d(seed, shape):
    pose = camera.to_25d(camera_hands(seed, shape)[0], K)
    return pose.uv, pose.z_rel


def uv_and_depth(seed, shape):
    joints = camera_hands(seed, shape)[0]
    return camera.project(joints, K), joints[..., 2]


def pose_25d_with_root(seed, shape):
    pose = camera.to_25d(camera_hands(seed, shape)[0], K)
    return pose.uv, pose.z_rel, pose.z_root / pose.scale, pose.scale


def ref_hands_and_length(seed, shape):
    joints = generic_hands(seed, shape)
    sk = HandSkeleton(joints=joints, units="mm")
    return np.asarray(sk.normalized().joints), np.asarray(sk.reference_length())


def pred_and_gt(seed, shape):
    gt = generic_hands(seed, shape)
    return gt + _rng(seed, shape, 2).normal(scale=8.0, size=gt.shape), gt


def pck_like_curves(seed, shape):
    return (_rng(seed, shape, 3).uniform(0.0, 1.0, (*shape, 21, THRESHOLDS.size)),)


def around_bounds(seed, shape):
    """Values (..., 20) around :data:`BOUNDS` (some inside, some outside)."""
    return (_rng(seed, shape, 4).uniform(0.0, 0.8, (*shape, 20)),)


def vectors(seed, shape):
    return (_rng(seed, shape, 5).normal(size=(*shape, 5, 3)),)


def positive(seed, shape):
    return (_rng(seed, shape, 6).uniform(0.5, 2.0, (*shape, 5)),)


def two_positive(seed, shape):
    return positive(seed, shape)[0], _rng(seed, shape, 7).uniform(0.5, 2.0, (*shape, 5))


# ----------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Fn:
    """One differentiable public function: ``name`` is where it is imported from (module.function or
    module.Class.member), ``call`` maps the arrays from ``inputs(seed, batch_shape)`` to its output (an array or
    tuples of arrays)."""

    name: str
    call: Callable[..., Any]
    inputs: Callable[[int, tuple[int, ...]], tuple[np.ndarray, ...]]
    variant: str = ""
    torch_only: bool = False
    numpy_reference: Callable[..., Any] | None = None
    """For a torch-only function: the numpy function it must agree with."""
    keeps_batch: bool = True
    """False for reductions over the batch (the batch-shape check does not apply)."""

    @property
    def id(self) -> str:
        return self.name + (f"[{self.variant}]" if self.variant else "")


def mm(j):
    return HandSkeleton.unchecked(j, units="mm")


def frames_of(bf):
    return bf.matrices, bf.origins


_BMC_LOSS: dict[str, Any] = {}


def bmc_loss(j):
    """``BMCLoss(limits, reduction="none")`` on the device of ``j`` (one module per device)."""
    key = str(j.device)
    if key not in _BMC_LOSS:
        _BMC_LOSS[key] = losses.BMCLoss(LIMITS, reduction="none").to(j.device)
    return _BMC_LOSS[key](j)


def limits_loss_total(j):
    return losses.limits_loss(LIMITS, j, reduction="none").total


ALIGNMENTS = ("none", "root", "scale_translation", "procrustes")

# fmt: off
REGISTRY: list[Fn] = [
    # frames
    Fn("frames.measure", lambda j: frames.measure(j), hands),
    Fn("frames.measure", lambda j: frames.measure(j, mirror=True), hands, "mirror"),
    Fn("frames.forward", frames.forward, kinematics),
    # palm
    Fn("palm.palm_curvature", palm.palm_curvature, root_bones),
    Fn("palm.palm_angles", palm.palm_angles, root_bones),
    Fn("palm.root_bone_normals", palm.root_bone_normals, root_bones),
    # skeleton
    Fn("skeleton.HandSkeleton.bones", lambda j: mm(j).bones, hands),
    Fn("skeleton.HandSkeleton.bone_lengths", lambda j: mm(j).bone_lengths, hands),
    Fn("skeleton.HandSkeleton.root_bones", lambda j: mm(j).root_bones, hands),
    Fn("skeleton.HandSkeleton.reference_length", lambda j: mm(j).reference_length(), hands),
    Fn("skeleton.HandSkeleton.palm_curvature", lambda j: mm(j).palm_curvature, hands),
    Fn("skeleton.HandSkeleton.palm_angles", lambda j: mm(j).palm_angles, hands),
    Fn("skeleton.HandSkeleton.joint_angles", lambda j: mm(j).joint_angles, hands),
    Fn("skeleton.HandSkeleton.angles", lambda j: mm(j).angles.values, hands),
    Fn("skeleton.HandSkeleton.frames", lambda j: frames_of(mm(j).frames), hands),
    Fn("skeleton.HandSkeleton.frames", lambda j: frames_of(mm(j).mirror().frames), hands, "left"),
    Fn("skeleton.HandSkeleton.measure", lambda j: (*mm(j).measure()[:4], *frames_of(mm(j).measure().frames)), hands),
    Fn("skeleton.HandSkeleton.joint", lambda j: mm(j).joint("index_tip"), hands),
    Fn("skeleton.HandSkeleton.finger", lambda j: mm(j).finger("ring"), hands),
    Fn("skeleton.HandSkeleton.bone", lambda j: mm(j).bone("thumb_mcp"), hands),
    Fn("skeleton.HandSkeleton.to_order", lambda j: mm(j).to_order("rhd"), hands),
    Fn("skeleton.HandSkeleton.to_units", lambda j: mm(j).to_units("m").joints, hands),
    Fn("skeleton.HandSkeleton.to_units", lambda j: mm(j).to_units("ref").joints, hands, "ref"),
    Fn("skeleton.HandSkeleton.normalized", lambda j: mm(j).normalized().joints, hands),
    Fn("skeleton.HandSkeleton.denormalized", lambda j, s: HandSkeleton.unchecked(j).denormalized(s, "mm").joints,
       ref_hands_and_length),
    Fn("skeleton.HandSkeleton.centered", lambda j: mm(j).centered().joints, hands),
    Fn("skeleton.HandSkeleton.mirror", lambda j: mm(j).mirror().joints, hands),
    Fn("skeleton.HandSkeleton.as_right", lambda j: mm(j).mirror().as_right().joints, hands),
    Fn("skeleton.HandSkeleton.concatenate", lambda j: HandSkeleton.concatenate([mm(j), mm(2 * j)]).joints, hands),
    Fn("skeleton.HandSkeleton.from_angles", lambda p, a, s: HandSkeleton.from_angles(a, s, p, units="mm").joints,
       kinematics),
    Fn("skeleton.HandSkeleton.from_angles",
       lambda p, a, s: HandSkeleton.from_angles(a, s, p, units="mm", side="left").joints, kinematics, "left"),
    # template
    Fn("template.posed_hand", lambda a: template.posed_hand(a).joints, angles),
    Fn("template.posed_hand", lambda a: template.posed_hand(a, side="left", units="ref").joints, angles, "left-ref"),
    # camera
    Fn("camera.project", lambda j: camera.project(j, like(K, j)), camera_hands),
    Fn("camera.rays", lambda uv, z: camera.rays(uv, like(K, uv)), uv_and_depth),
    Fn("camera.backproject", lambda uv, z: camera.backproject(uv, z, like(K, uv)), uv_and_depth),
    Fn("camera.to_25d", lambda j: camera.to_25d(j, like(K, j)), camera_hands),
    Fn("camera.solve_root_depth", lambda uv, z: camera.solve_root_depth(uv, z, like(K, uv)), pose_25d),
    Fn("camera.from_25d", lambda uv, z, r, s: camera.from_25d(uv, z, like(K, uv), r, s), pose_25d_with_root),
    # metrics
    Fn("metrics.keypoint_errors", metrics.keypoint_errors, pred_and_gt),
    *[Fn("metrics.align", lambda p, g, a=a: metrics.align(p, g, a), pred_and_gt, a) for a in ALIGNMENTS],
    Fn("metrics.aligned_pair", lambda p, g: metrics.aligned_pair(p, g, "root"), pred_and_gt),
    Fn("metrics.procrustes", metrics.procrustes, pred_and_gt),
    Fn("metrics.procrustes", lambda p, g: metrics.procrustes(p, g, scale=False, reflection=True), pred_and_gt,
       "rigid-reflection"),
    Fn("metrics.auc", lambda c: metrics.auc(c, like(THRESHOLDS, c)), pck_like_curves),
    # hull
    Fn("hull.distance", lambda p: hull.distance(p, like(LIMITS.polygon_array, p)), angle_points),
    Fn("hull.project", lambda p: hull.project(p, like(LIMITS.polygon_array, p)), angle_points),
    Fn("hull.bmc_distance", lambda p: hull.bmc_distance(p, like(LIMITS.polygon_array, p)), angle_points),
    # losses
    Fn("losses.bmc_terms", lambda j: losses.bmc_terms(j, losses.limit_arrays(LIMITS, j)), ref_hands_some_outside),
    Fn("losses.limits_loss", lambda j: losses.limits_loss(LIMITS, j, reduction="none"), ref_hands_some_outside),
    Fn("losses.limits_loss", lambda j: losses.limits_loss(LIMITS, j, reduction="sum"), ref_hands_some_outside,
       "sum", keeps_batch=False),
    Fn("losses.limits_loss", lambda j: losses.limits_loss(LIMITS, HandSkeleton.unchecked(j, units="mm", side="left"),
       reduction="none"), hands, "left-skeleton-mm"),
    Fn("losses.interval_loss", lambda x: losses.interval_loss(x, like(BOUNDS, x)), around_bounds),
    Fn("losses.reduce", lambda x: losses.reduce(losses.LossTerms(x, 2 * x, x, x, 3 * x), "mean"), around_bounds,
       keeps_batch=False),
    Fn("losses.BMCLoss", bmc_loss, ref_hands_some_outside, torch_only=True, numpy_reference=limits_loss_total),
    Fn("limits.JointLimits.loss", lambda j: LIMITS.loss(j, reduction="none"), ref_hands_some_outside),
    # backend helpers
    Fn("backend.safe_norm", backend.safe_norm, vectors),
    Fn("backend.length_from_squared", backend.length_from_squared, positive),
    Fn("backend.safe_divide", backend.safe_divide, two_positive),
    Fn("backend.take", lambda v: backend.take(v, (4, 0, 2), axis=-2), vectors),
]
# fmt: on

#: Public functions of the covered modules that are not in the matrix, and why.
NOT_DIFFERENTIABLE: dict[str, str] = {
    "frames.first_level_frames": "structure-of-arrays building block of measure/forward (V rows), covered through them",
    "frames.rotate": "structure-of-arrays building block of measure/forward (V rows), covered through them",
    "palm.palm_soa": "structure-of-arrays building block of the palm functions, covered through them",
    "palm.perpendicular": "structure-of-arrays building block of the palm functions, covered through them",
    "camera.check_intrinsics": "validation, raises or not",
    "camera.intrinsics": "builds a constant matrix from floats",
    "metrics.pck_curve": "a step function of the errors (counts)",
    "metrics.evaluate": "host-side scores (floats) for reports",
    "hull.contains": "a bool mask",
    "hull.polygon_edges": "limit preparation (the edge table of fixed polygons), built once per limits",
    "hull.convex_hull": "numpy-only polygon preparation",
    "hull.rdp": "numpy-only polygon preparation",
    "hull.fit_polygon": "numpy-only polygon preparation",
    "hull.clip_convex": "numpy-only polygon clipping (limit comparisons)",
    "losses.joints_in_limit_units": "a unit conversion (scale by the reference bone), covered through limits_loss",
    "hull.pad_polygon": "numpy-only polygon preparation",
    "hull.validate_polygon": "validation, raises or not",
    "hull.polygon_area": "numpy-only polygon preparation",
    "hull.box_polygon": "numpy-only polygon preparation",
    "losses.limit_arrays": "converts limits to constant arrays",
    "template.flat_hand": "a constant (no array input)",
    "backend.namespace": "backend dispatch",
    "backend.is_torch": "backend dispatch",
    "backend.detached": "cuts the gradient by design",
    "backend.is_numpy": "backend dispatch",
    "backend.backend_name": "backend dispatch",
    "backend.as_float_array": "input conversion",
    "backend.to_numpy": "leaves autograd by design",
    "backend.to_torch": "input conversion",
    "backend.all_finite": "a bool",
    "backend.promote_half": "a decorator (its functions are covered)",
    "skeleton.HandSkeleton.unchecked": "a constructor (every skeleton entry uses it)",
    "skeleton.HandSkeleton.sides": "names of the hands' sides (strings), not arrays of numbers",
    "skeleton.HandSkeleton.from_two_hands": "validating constructor (value checks on the host)",
    "skeleton.HandSkeleton.numpy": "leaves autograd by design",
    "skeleton.HandSkeleton.torch": "backend conversion",
}

COVERED_MODULES = {"frames": frames, "palm": palm, "camera": camera, "metrics": metrics, "hull": hull,
                   "losses": losses, "template": template, "backend": backend}  # fmt: skip


def public_functions() -> list[str]:
    """``module.function`` for every function in the covered modules' ``__all__``, and ``skeleton.HandSkeleton.x``
    for every public method and property of HandSkeleton."""
    names = []
    for mod_name, module in COVERED_MODULES.items():
        names += [f"{mod_name}.{n}" for n in module.__all__ if inspect.isfunction(getattr(module, n))]
    for n, member in vars(HandSkeleton).items():
        if n.startswith("_"):
            continue
        if isinstance(member, (property, classmethod, staticmethod)) or inspect.isfunction(member):
            names.append(f"skeleton.HandSkeleton.{n}")
    return names


NON_ARRAY_MEMBERS = {"batch_shape", "backend", "dtype", "device", "model_config"}


def test_every_public_function_is_in_the_matrix():
    registered = {fn.name for fn in REGISTRY}
    missing = [
        n
        for n in public_functions()
        if n not in registered and n not in NOT_DIFFERENTIABLE and n.rsplit(".", 1)[-1] not in NON_ARRAY_MEMBERS
    ]
    assert not missing, f"add these to REGISTRY (or NOT_DIFFERENTIABLE with a reason): {missing}"
    stale = [n for n in NOT_DIFFERENTIABLE if n not in public_functions()]
    assert not stale, f"no longer public, remove from NOT_DIFFERENTIABLE: {stale}"
    assert handkin.BMCLoss is losses.BMCLoss


# ----------------------------------------------------------------------------- the matrix


def run(fn: Fn, case: Case, shape: tuple[int, ...], seed: int = 0) -> Any:
    inputs = [case.array(x) for x in fn.inputs(seed, shape)]
    return fn.call(*inputs)


MATRIX = [
    pytest.param(fn, case.values[0], id=f"{fn.id}-{case.id}")
    for fn in REGISTRY
    for case in CASES
    if not (fn.torch_only and case.values[0].backend == "numpy")
]
AGREEMENT = [pytest.param(fn, case.values[0], id=f"{fn.id}-{case.id}") for fn in REGISTRY for case in TORCH_CASES]
GRADCHECK = [
    pytest.param(fn, device, id=f"{fn.id}-{device}") for fn in REGISTRY for device in DEVICES if torch is not None
]


@pytest.mark.parametrize(("fn", "case"), MATRIX)
def test_dtype_and_device_follow_the_input(fn: Fn, case: Case):
    case.check(run(fn, case, (2,)))


@pytest.mark.parametrize(("fn", "case"), MATRIX)
def test_leading_batch_dims_equal_the_flat_batch(fn: Fn, case: Case):
    if not fn.keeps_batch:
        pytest.skip("reduces over the batch")
    nested = [case.array(x) for x in fn.inputs(0, (2, 3))]
    flat = [case.array(np.reshape(x, (6, *x.shape[2:]))) for x in fn.inputs(0, (2, 3))]
    for a, b in zip(leaves(fn.call(*nested)), leaves(fn.call(*flat)), strict=True):
        assert a.ndim == b.ndim + 1 and tuple(a.shape[2:]) == tuple(b.shape[1:]), (a.shape, b.shape)
        assert_close(a.reshape(b.shape), b)


@pytest.mark.parametrize(("fn", "case"), AGREEMENT)
def test_numpy_and_torch_agree(fn: Fn, case: Case):
    expected_fn = fn.numpy_reference or fn.call
    numpy_case = Case("numpy", case.dtype)
    expected = expected_fn(*[numpy_case.array(x) for x in fn.inputs(1, (3,))])
    actual = fn.call(*[case.array(x) for x in fn.inputs(1, (3,))])
    a_leaves, e_leaves = leaves(actual), leaves(expected)
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves, strict=True):
        # rounding errors scale with the magnitude of the numbers involved (coordinates of hundreds of mm give
        # differences of that size's ulps in small results such as a translation): absolute tolerance relative to
        # the largest value of the array
        _, atol = default_tolerance(a, e)
        magnitude = float(np.max(np.abs(e), initial=1.0)) if np.issubdtype(np.asarray(e).dtype, np.floating) else 1
        assert_close(a, e, atol=atol * magnitude)


@pytest.mark.parametrize(("fn", "device"), GRADCHECK)
def test_gradcheck_float64(fn: Fn, device: str):
    assert gradcheck(fn.call, *fn.inputs(2, (2,)), fast_mode=True, device=device)
