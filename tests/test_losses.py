"""BMC losses (Eq. 7, 9; supplementary Eq. 3–7) and constrain(), against independent computations."""

import math

import numpy as np
import pytest
import reference_bmc as ref
from conftest import random_hands, shared_path, torch

import handkin
from handkin import BMCLoss, HandSkeleton, JointLimits, constrain
from handkin.constrain import LOSS_TOLERANCE
from handkin.losses import DEFAULT_WEIGHTS

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
PARENTS = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]


def interval(x, a, b):
    return max(a - x, 0.0) + max(x - b, 0.0)


def brute_force_terms(joints: np.ndarray, limits: JointLimits) -> tuple[float, float, float]:
    """L_BL, L_RB, L_A of one right hand by explicit loops over bones, pairs, joints and edges."""
    lengths = [math.dist(joints[c], joints[PARENTS[c]]) for c in range(1, 21)]
    bone = sum(interval(lengths[k], *limits.bone_bounds[k]) for k in range(20)) / 20
    curv, phi = ref.curvature(joints), ref.angular_distance(joints)
    root = (
        sum(
            interval(curv[i], *limits.curvature_bounds[i]) + interval(phi[i], *limits.palm_angle_bounds[i])
            for i in range(4)
        )
        / 4
    )
    angles = ref.joint_angles(joints)
    total = 0.0
    for j in range(15):
        poly = limits.polygon_array[j]
        theta = angles[j]
        inside = True
        best = math.inf
        for k in range(len(poly)):
            h0, h1 = poly[k], poly[(k + 1) % len(poly)]
            v, w = h1 - h0, theta - h0
            if v[0] * w[1] - v[1] * w[0] < 0:  # w × v > 0 in the paper's order: outside
                inside = False
            vv = float(v @ v)
            t = 0.0 if vv == 0 else max(0.0, min(1.0, float(w @ v) / vv))
            p = h0 + t * v
            best = min(
                best,
                sum(
                    abs(math.cos(theta[i]) - math.cos(p[i])) + abs(math.sin(theta[i]) - math.sin(p[i]))
                    for i in range(2)
                ),
            )
        total += 0.0 if inside else best
    return bone, root, total / 15


@pytest.fixture(scope="module")
def tight() -> JointLimits:
    """Limits fitted on a narrow range, so random hands violate every kind of constraint."""
    rng = np.random.default_rng(0)
    angles = np.stack([rng.uniform(0.0, 0.6, (500, 15)), rng.uniform(-0.1, 0.1, (500, 15))], axis=-1)
    return JointLimits.fit(handkin.posed_hand(angles), units="ref")


def test_each_term_against_brute_force(tight):
    hands = HandSkeleton(joints=random_hands(3, (6,), noise_mm=12.0), units="mm")
    terms = tight.loss(hands, reduction="none")
    normalised = np.asarray(hands.normalized().joints)
    for k in range(6):
        bone, root, angle = brute_force_terms(normalised[k], tight)
        assert terms.bone_length[k] == pytest.approx(bone, rel=1e-7, abs=1e-12)
        assert terms.root_bone[k] == pytest.approx(root, rel=1e-6, abs=1e-12)
        assert terms.angle[k] == pytest.approx(angle, rel=1e-6, abs=1e-12)
    assert np.all(terms.angle > 0) and np.all(terms.bone_length > 0)
    w = DEFAULT_WEIGHTS
    np.testing.assert_allclose(
        terms.total, w["bone_length"] * terms.bone_length + w["root_bone"] * terms.root_bone + w["angle"] * terms.angle
    )


def test_zero_loss_inside_the_limits():
    limits = JointLimits.default()
    for hand in (handkin.flat_hand(), handkin.posed_hand({"index_pip": (60, 0), "thumb_mcp": (20, -10)}, degrees=True)):
        terms = limits.loss(hand)
        assert all(float(t) == 0.0 for t in terms)


def test_reductions_and_weights(tight):
    hands = HandSkeleton(joints=random_hands(4, (2, 3), noise_mm=12.0), units="mm")
    none = tight.loss(hands, reduction="none")
    assert none.total.shape == (2, 3)
    assert tight.loss(hands).total == pytest.approx(none.total.mean())
    assert tight.loss(hands, reduction="sum").total == pytest.approx(none.total.sum())
    only_angles = tight.loss(hands, reduction="none", weights={"bone_length": 0, "root_bone": 0, "angle": 1})
    np.testing.assert_allclose(only_angles.total, none.angle)
    with pytest.raises(ValueError):
        tight.loss(hands, reduction="max")


def test_left_hands_and_units_score_like_their_right_twins(tight):
    hands = HandSkeleton(joints=random_hands(5, (4,), noise_mm=10.0), units="mm")
    expected = tight.loss(hands, reduction="none").total
    np.testing.assert_allclose(tight.loss(hands.mirror(), reduction="none").total, expected, rtol=1e-12)
    np.testing.assert_allclose(tight.loss(hands.to_units("m"), reduction="none").total, expected, rtol=1e-9)
    mm = tight.to_units("mm", reference_length=87.0)
    assert mm.loss(hands.to_units("m")).total > 0


def test_couplings_term():
    limits = JointLimits(units="ref").with_couplings([{"finger": "index", "band": math.radians(10)}])
    bad = handkin.posed_hand({"index_pip": (60, 0), "index_dip": (0, 0)}, degrees=True)
    assert limits.loss(bad).coupling == pytest.approx(math.radians(30))


@needs_torch
def test_numpy_and_torch_agree(tight):
    joints = random_hands(6, (5,), noise_mm=12.0)
    n = tight.loss(HandSkeleton(joints=joints, units="mm"), reduction="none")
    t = tight.loss(HandSkeleton(joints=torch.tensor(joints), units="mm"), reduction="none")
    for a, b in zip(n, t, strict=True):
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-9, atol=1e-12)
    module = BMCLoss(tight, reduction="none", return_terms=True).double()
    m = module(HandSkeleton(joints=torch.tensor(joints), units="mm"))
    np.testing.assert_allclose(m.total.detach().numpy(), n.total, rtol=1e-6)


@needs_torch
def test_gradient_descent_repairs_an_implausible_pose():
    limits = JointLimits.default()
    bad = handkin.posed_hand({"index_pip": (-70, 10), "ring_mcp": (40, -55), "little_dip": (150, 0)}, degrees=True)
    joints = torch.tensor(np.asarray(bad.normalized().joints), requires_grad=True)
    loss_fn = BMCLoss(limits).double()
    opt = torch.optim.Adam([joints], lr=2e-3)
    first = float(loss_fn(joints).detach())
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn(joints)
        loss.backward()
        opt.step()
    assert first > 1e-3 and float(loss_fn(joints).detach()) < first * 1e-3
    assert limits.check(HandSkeleton(joints=joints.detach().numpy(), units="ref")).joint_angles.max() < 0.5  # degrees


@needs_torch
def test_module_buffers_dtype_and_autocast(tight):
    module = BMCLoss(tight)
    names = dict(module.named_buffers())
    assert set(names) == {"bones", "curvature", "palm_angles", "polygons", "couplings", "polygon_edges"}
    assert set(module.state_dict()) == {"bones", "curvature", "palm_angles", "polygons", "couplings"}
    assert names["polygons"].dtype == torch.float32 and names["polygons"].device.type == "cpu"
    assert all(b.device.type == "meta" for b in module.to("meta").buffers())
    module = BMCLoss(tight)
    x = torch.tensor(
        np.asarray(HandSkeleton(joints=random_hands(7, (8,), noise_mm=10.0), units="mm").normalized().joints),
        dtype=torch.float32,
        requires_grad=True,
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = module(x)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(x.grad).all()
    half = module(x.detach().to(torch.bfloat16))
    assert half.dtype == torch.float32 and float(half) == pytest.approx(float(loss.detach()), rel=0.05)
    assert "weights" in repr(module)


DEGENERATE = {
    "all joints at one point": np.zeros((21, 3)),
    "flat hand": np.asarray(handkin.flat_hand().normalized().joints),
}
_two = np.asarray(handkin.flat_hand().normalized().joints).copy()
_two[13] = _two[9]
DEGENERATE["two identical root bones"] = _two
_zero = np.asarray(handkin.flat_hand().normalized().joints).copy()
_zero[7] = _zero[6]
DEGENERATE["zero-length bone"] = _zero


@needs_torch
@pytest.mark.parametrize("name", list(DEGENERATE))
def test_finite_loss_and_gradients_on_degenerate_input(tight, name):
    for limits in (tight, JointLimits.default()):
        x = torch.tensor(DEGENERATE[name][None], requires_grad=True)  # batch size 1
        loss = BMCLoss(limits).double()(x)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(x.grad).all(), name


@needs_torch
def test_gradcheck(tight):
    x = torch.tensor(
        np.asarray(HandSkeleton(joints=random_hands(8, (2,), noise_mm=12.0), units="mm").normalized().joints),
        requires_grad=True,
    )
    module = BMCLoss(tight).double()
    assert torch.autograd.gradcheck(module, (x,))


@pytest.mark.shared_data
def test_paper_formulas_with_hand_bmc_limits_on_real_hands():
    limits = JointLimits.from_hand_bmc(shared_path("hand_bmc_reference_limits"))
    folder = shared_path("hand_bmc_reference_limits")
    lo_b, hi_b = np.load(folder / "bone_len_min.npy"), np.load(folder / "bone_len_max.npy")
    lo_c, hi_c = np.load(folder / "curvatures_min.npy"), np.load(folder / "curvatures_max.npy")
    lo_p, hi_p = np.load(folder / "PHI_min.npy"), np.load(folder / "PHI_max.npy")
    hands = []
    for name in ("interhand26m_excerpt", "rhd_excerpt"):
        z = np.load(shared_path(name, "excerpt_mp21_mm.npz"))
        hands += [
            HandSkeleton(joints=j, units="mm", side=str(s)) for j, s in zip(z["xyz_cam_mm"], z["side"], strict=True)
        ]
    z = np.load(shared_path("mediapipe_video_sequence", "sequence_mp21_mm.npz"))
    hands += [HandSkeleton(joints=j, units="mm") for j in z["xyz_wrist_frame_mm"][::20].astype(np.float64)]
    for hand in hands:
        right = np.asarray(hand.as_right().joints)
        j = right / np.linalg.norm(right[9] - right[0])  # the layout's normalisation: wrist→middle_mcp = 1
        lengths = np.array([np.linalg.norm(j[c] - j[PARENTS[c]]) for c in range(1, 21)])
        bl = np.mean(np.maximum(lo_b - lengths, 0) + np.maximum(lengths - hi_b, 0))
        c, phi = ref.curvature(j), ref.angular_distance(j)
        rb = (
            np.sum(
                np.maximum(lo_c - c, 0)
                + np.maximum(c - hi_c, 0)
                + np.maximum(lo_p - phi, 0)
                + np.maximum(phi - hi_p, 0)
            )
            / 4
        )
        terms = limits.loss(hand)
        assert float(terms.bone_length) == pytest.approx(bl, rel=1e-9, abs=1e-12)
        assert float(terms.root_bone) == pytest.approx(rb, rel=1e-7, abs=1e-12)
        assert float(terms.angle) == 0.0  # that layout has no angle polygons


# ----------------------------------------------------------------------------- constrain


def implausible_hands(n: int, seed: int) -> HandSkeleton:
    rng = np.random.default_rng(seed)
    angles = np.stack([rng.uniform(-1.5, 2.5, (n, 15)), rng.uniform(-1.0, 1.0, (n, 15))], axis=-1)
    joints = np.asarray(handkin.posed_hand(angles).joints).copy()
    joints[:, [1, 5, 13, 17]] += rng.normal(scale=8.0, size=(n, 4, 3))  # a distorted palm
    joints[:, 8] += rng.normal(scale=6.0, size=(n, 3))  # a stretched index tip
    return HandSkeleton(joints=joints, units="mm")


@pytest.mark.parametrize("side", ["right", "left"])
def test_constrain_makes_every_hand_plausible(side):
    limits = JointLimits.default()
    hands = implausible_hands(300, 1)
    hands = hands if side == "right" else hands.mirror()
    assert not limits.check(hands).ok.any()
    fixed, report = constrain(hands, limits)
    assert fixed.side.value == side and fixed.units.value == "mm" and fixed.batch_shape == (300,)
    assert report.converged.all() and np.all(report.loss_after.total <= LOSS_TOLERANCE)
    check = limits.check(fixed)
    assert check.ok.all(), check.table()
    np.testing.assert_allclose(
        report.displacement, np.linalg.norm(np.asarray(fixed.joints) - np.asarray(hands.joints), axis=-1)
    )
    assert report.palm_repaired.any() and np.all(report.loss_before.total > 0)


def test_constrain_leaves_plausible_hands_alone():
    limits = JointLimits.default()
    hands = handkin.posed_hand(np.radians(np.tile([[20.0, 5.0]], (2, 15, 1))), units="m")
    fixed, report = constrain(hands, limits)
    np.testing.assert_allclose(report.displacement, 0.0, atol=1e-12)
    assert not report.palm_repaired.any()


def test_constrain_moves_only_what_breaks_a_limit():
    limits = JointLimits.default()
    hand = handkin.posed_hand({"index_pip": (-60, 0), "ring_pip": (40, 0)}, degrees=True)
    fixed, report = constrain(hand, limits)
    onto = np.degrees(handkin.hull.project(np.radians([-60.0, 0.0]), limits.joint_angles["index_pip"].array))
    assert onto[0] > -40  # the default's extension limit is about −30°
    np.testing.assert_allclose(np.degrees(fixed.angles["index_pip"]), onto, atol=1e-6)  # onto the polygon
    np.testing.assert_allclose(np.degrees(fixed.angles["ring_pip"]), (40, 0), atol=1e-9)
    moved = report.displacement
    assert np.all(moved[[7, 8]] > 5) and np.all(np.delete(moved, [7, 8]) < 1e-9)  # only index dip and tip move


def test_constrain_batches_any_shape():
    hands = implausible_hands(12, 2)
    shaped = HandSkeleton(joints=np.asarray(hands.joints).reshape(3, 4, 21, 3), units="mm")
    fixed, report = constrain(shaped, JointLimits.default())
    assert fixed.batch_shape == (3, 4) and report.converged.shape == (3, 4) and report.converged.all()


@needs_torch
def test_bmc_loss_traces_as_one_graph_for_torch_compile(tight):
    """torch.compile can capture the whole loss: no graph breaks (array-api-compat's promotion helpers used to
    break it; handkin's torch namespace calls torch directly there)."""
    import torch._dynamo as dynamo

    x = torch.tensor(
        np.asarray(HandSkeleton(joints=random_hands(9, (4,)), units="mm").normalized().joints), dtype=torch.float32
    )
    for joints in (x, x.clone().requires_grad_(True)):  # with a gradient: the custom autograd function of D_A
        explanation = dynamo.explain(BMCLoss(tight))(joints)
        assert explanation.graph_break_count == 0 and explanation.graph_count == 1, explanation.break_reasons


@needs_torch
def test_bmc_distance_matches_the_minimum_over_all_edges_with_its_gradient(tight):
    """bmc_distance's analytic gradient of the nearest edge: the same values and gradients as autograd through
    the plain minimum over every edge."""
    from handkin.hull import bmc_distance, contains

    rng = np.random.default_rng(3)
    polygons = torch.tensor(tight.polygon_array)  # (15, N, 2)
    points = torch.tensor(rng.uniform(-1.5, 2.5, (64, 15, 2)), requires_grad=True)
    start = polygons[None]  # (1, 15, N, 2): every edge, from each vertex to the next
    edge = torch.roll(polygons, -1, dims=1)[None] - start
    ee = (edge * edge).sum(-1)
    theta = points[:, :, None]  # (64, 15, 1, 2)
    t = ((theta - start) * edge).sum(-1) / torch.where(ee > 0, ee, torch.ones_like(ee))
    nearest = start + t.clamp(0.0, 1.0)[..., None] * edge  # the point of each edge nearest to θ (Eq. 5)
    every_edge = ((theta.cos() - nearest.cos()).abs() + (theta.sin() - nearest.sin()).abs()).sum(-1)  # (64, 15, N)
    inside = contains(points.detach(), polygons, tol=0.0)
    expected = torch.where(inside, 0.0, torch.amin(every_edge, dim=-1))
    (grad_expected,) = torch.autograd.grad(expected.sum(), points)
    got = bmc_distance(points, polygons)
    (grad,) = torch.autograd.grad(got.sum(), points)
    assert 0 < int(inside.sum()) < inside.numel()
    assert torch.allclose(got, expected, rtol=0, atol=1e-12) and torch.allclose(grad, grad_expected, rtol=0, atol=1e-12)


@needs_torch
def test_compiled_loss_does_not_recompile_on_its_second_call(tight):
    """The namespace shim's cache is filled while tracing without becoming a guard of the compiled code."""
    import torch._dynamo as dynamo

    from handkin.backend import _torch_shim

    x = torch.tensor(
        np.asarray(HandSkeleton(joints=random_hands(5, (4,)), units="mm").normalized().joints), dtype=torch.float32
    )
    dynamo.reset()
    _torch_shim.cache_clear()  # as in a fresh process that compiles before any eager call
    compiled = torch.compile(BMCLoss(tight), backend="eager", dynamic=False)
    compiled(x)
    with dynamo.config.patch(error_on_recompile=True):
        compiled(x)
    dynamo.reset()


# ---------------------------------------------------------------------------------------------- bad input


@needs_torch
def test_bmc_loss_takes_limits_and_torch_tensors_only():
    limits = JointLimits.default()
    with pytest.raises(handkin.errors.LimitsError, match="takes a JointLimits.*got ndarray"):  # before: AttributeError
        BMCLoss(np.zeros((21, 3)))
    loss = BMCLoss(limits)
    hands = np.asarray(handkin.posed_hand(np.zeros((2, 15, 2))).joints)
    with pytest.raises(handkin.errors.BackendError, match="torch module.*got numpy.*JointLimits.loss"):
        loss(hands)  # before: AttributeError ('str' object has no attribute 'type')
    with pytest.raises(handkin.errors.BackendError, match="got numpy"):
        loss(handkin.posed_hand(np.zeros((2, 15, 2))))  # a numpy HandSkeleton
    with pytest.raises(handkin.errors.BackendError, match="floating-point"):
        loss(torch.zeros(2, 21, 3, dtype=torch.int64))
    assert loss(torch.as_tensor(hands)).shape == ()


@needs_torch
def test_bmc_loss_on_meta_tensors():
    loss = BMCLoss(JointLimits.default(), reduction="none")
    meta = torch.zeros(4, 21, 3, device="meta")
    with pytest.raises(handkin.errors.BackendError, match="joints are on meta but BMCLoss's limits are on cpu"):
        loss(meta)  # before: RuntimeError (autocast does not know the meta device)
    out = loss.to("meta")(meta)  # shape inference on meta works end to end
    assert out.device.type == "meta" and out.shape == (4,)


def test_checking_an_empty_batch_gives_an_empty_report():
    limits = JointLimits.default(couplings=True)
    for shape in [(0,), (2, 0)]:
        report = limits.check(HandSkeleton(joints=np.zeros((*shape, 21, 3)), units="ref"))  # before: ValueError
        assert report.batch_shape == shape and report.ok.shape == shape and report.n_violating == 0
        assert report.joint_angles.shape == (*shape, 15) and report.couplings.shape == (*shape, 4)
        assert report.violations() == [] and report.to_dict()["hands"] == 0
        assert report.table() == "0 of 0 hand(s) outside the limits"
    one = limits.check(handkin.posed_hand(np.zeros((15, 2))))
    assert one.batch_shape == () and one.table().startswith("0 of 1 hand(s)")
