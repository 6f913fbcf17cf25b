"""Pinhole camera, 2.5D representation and Z_root recovery, against independent computations and real hands."""

import numpy as np
import pytest
from conftest import as_backend, random_hands, seeds, shared_path, torch
from hypothesis import given
from hypothesis import strategies as st

from handkin import camera
from handkin.errors import CameraError, ShapeError
from handkin.vec import SINGULAR_TOL

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
K0 = np.array([[600.0, 0.0, 320.0], [0.0, 580.0, 240.0], [0.0, 0.0, 1.0]])
WRIST, MIDDLE_MCP = 0, 9


def hands_in_front(seed: int, n: int) -> np.ndarray:
    """Plausible hands (mm) centred 250–900 mm in front of the camera."""
    joints = random_hands(seed, (n,))
    rng = np.random.default_rng(seed + 1)
    centre = np.stack([rng.uniform(-150, 150, n), rng.uniform(-100, 100, n), rng.uniform(250, 900, n)], -1)
    return joints - joints.mean(axis=1, keepdims=True) + centre[:, None]


def real_hands(name: str):
    data = np.load(shared_path(name, "excerpt_mp21_mm.npz"))
    return data["xyz_cam_mm"].astype(float), data["K"].astype(float), data["uv_px"].astype(float)


def test_project_matches_matrix_product(backend):
    joints = hands_in_front(0, 5)
    k = K0.copy()
    k[0, 1] = 3.0  # skew
    expected = np.einsum("ij,nkj->nki", k, joints)
    expected = expected[..., :2] / expected[..., 2:]
    uv = camera.project(as_backend(joints, backend), as_backend(k, backend))
    assert np.allclose(np.asarray(uv), expected, atol=1e-9)


def test_rays_invert_projection(backend):
    joints = hands_in_front(1, (3))
    k = np.broadcast_to(K0, (3, 3, 3)).copy()
    k[:, 0, 1] = [0.0, 2.0, -4.0]
    j, kk = as_backend(joints, backend), as_backend(k, backend)
    uv = camera.project(j, kk)
    ray = np.asarray(camera.rays(uv, kk))
    assert np.allclose(ray[..., 2], 1.0)
    assert np.allclose(ray * joints[..., 2:], joints, atol=1e-9)
    assert np.allclose(np.asarray(camera.backproject(uv, j[..., 2], kk)), joints, atol=1e-9)
    # K⁻¹ by numpy's general inverse agrees
    homog = np.concatenate([np.asarray(uv), np.ones((3, 21, 1))], -1)
    assert np.allclose(np.einsum("nij,nkj->nki", np.linalg.inv(k), homog), ray, atol=1e-12)


def test_to_25d_definition():
    joints = hands_in_front(2, 4)
    pose = camera.to_25d(joints, K0)
    s = np.linalg.norm(joints[:, MIDDLE_MCP] - joints[:, WRIST], axis=-1)
    assert np.allclose(pose.scale, s)
    assert np.allclose(pose.z_root, joints[:, WRIST, 2])
    assert np.allclose(pose.z_rel, (joints[..., 2] - joints[:, :1, 2]) / s[:, None])
    assert np.allclose(pose.z_rel[:, WRIST], 0.0)


def larger_root_brute_force(uv, z_rel, k, child=MIDDLE_MCP, parent=WRIST) -> float:
    """Ẑ from the quadratic built term by term and solved with numpy.roots."""
    kinv = np.linalg.inv(k)
    xn = kinv @ np.array([*uv[child], 1.0])
    xm = kinv @ np.array([*uv[parent], 1.0])
    d, e = xn - xm, z_rel[child] * xn - z_rel[parent] * xm
    roots = np.roots([d @ d, 2 * d @ e, e @ e - 1.0])
    return float(np.max(roots.real))


def test_solve_matches_numpy_roots():
    joints = hands_in_front(3, 20)
    pose = camera.to_25d(joints, K0)
    result = camera.solve_root_depth(pose.uv, pose.z_rel, K0)
    expected = [larger_root_brute_force(pose.uv[i], pose.z_rel[i], K0) for i in range(20)]
    assert np.allclose(result.z_root, expected, rtol=1e-10)
    assert result.valid.all()
    assert np.allclose(result.z_root * pose.scale, joints[:, WRIST, 2], rtol=1e-9)


@pytest.mark.parametrize("name", ["interhand26m_excerpt", "rhd_excerpt"])
def test_recovery_is_exact_on_real_hands(name, backend):
    joints, k, uv_file = real_hands(name)
    j, kk = as_backend(joints, backend), as_backend(k, backend)
    pose = camera.to_25d(j, kk)
    assert np.abs(np.asarray(pose.uv) - uv_file).max() < 0.1  # the files' own projections
    root = camera.solve_root_depth(pose.uv, pose.z_rel, kk)
    assert np.asarray(root.valid).all()
    back = np.asarray(camera.from_25d(pose.uv, pose.z_rel, kk, root.z_root, pose.scale))
    assert np.abs(back - joints).max() < 1e-8  # mm, float64


@pytest.mark.parametrize("name", ["interhand26m_excerpt", "rhd_excerpt"])
@needs_torch
def test_recovery_float32_on_real_hands(name):
    joints, k, _ = real_hands(name)
    j, kk = torch.tensor(joints, dtype=torch.float32), torch.tensor(k, dtype=torch.float32)
    pose = camera.to_25d(j, kk)
    root = camera.solve_root_depth(pose.uv, pose.z_rel, kk)
    back = camera.from_25d(pose.uv, pose.z_rel, kk, root.z_root, pose.scale).numpy()
    assert np.abs(back - joints).max() < 0.05  # mm at ~0.5–1 m: float32 rounding only


def test_other_reference_bone():
    joints = hands_in_front(4, 6)
    pose = camera.to_25d(joints, K0)  # normalised by wrist→middle_mcp
    child, parent = 6, 5  # index_pip bone; its normalised length C is known from the ground truth
    c = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1) / pose.scale
    zs = [
        camera.solve_root_depth(pose.uv[i], pose.z_rel[i], K0, reference="index_pip", reference_length=c[i]).z_root
        for i in range(6)
    ]
    # the bone may admit two positive roots; the larger one is the documented choice
    for i, z in enumerate(zs):
        assert z >= pose.z_root[i] / pose.scale[i] - 1e-6


def test_ambiguous_hands_are_flagged():
    """A reference bone pointing steeply away from the camera admits two positive depths: flagged."""
    joints = hands_in_front(5, 400)
    pose = camera.to_25d(joints, K0)
    root = camera.solve_root_depth(pose.uv, pose.z_rel, K0)
    wrong = np.abs(root.z_root * pose.scale - pose.z_root) > 1e-6
    assert wrong.any()  # this sample holds such a hand
    assert root.ambiguous[wrong].all()
    assert root.valid.all()
    kinv = np.linalg.inv(K0)
    for i in np.where(root.ambiguous)[0]:  # both roots positive, by brute force
        xn, xm = kinv @ np.r_[pose.uv[i, MIDDLE_MCP], 1], kinv @ np.r_[pose.uv[i, WRIST], 1]
        d, e = xn - xm, pose.z_rel[i, MIDDLE_MCP] * xn
        assert (np.roots([d @ d, 2 * d @ e, e @ e - 1]).real > 0).all()


def noisy_recovery_error(sigma_px: float, draws: int = 20) -> float:
    """Mean 3D joint error (mm) of the recovery of unambiguous hands when the 2D joints carry Gaussian noise."""
    joints = hands_in_front(5, 400)
    pose = camera.to_25d(joints, K0)
    keep = ~camera.solve_root_depth(pose.uv, pose.z_rel, K0).ambiguous
    joints, pose = joints[keep], camera.to_25d(joints[keep], K0)
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(draws):
        uv = pose.uv + rng.normal(scale=sigma_px, size=pose.uv.shape)
        root = camera.solve_root_depth(uv, pose.z_rel, K0)
        back = camera.from_25d(uv, pose.z_rel, K0, root.z_root, pose.scale)
        errors.append(np.linalg.norm(back - joints, axis=-1).mean())
    return float(np.mean(errors))


def test_noise_error_grows_with_pixel_noise():
    errors = [noisy_recovery_error(s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert errors[0] < 1e-9
    assert errors[1] < errors[2] < errors[3]
    assert np.isfinite(errors).all()
    assert errors[2] < 100.0  # docs/camera.md reports the measured figures


def test_negative_discriminant_is_flagged_and_finite(backend):
    pose = camera.to_25d(hands_in_front(6, 2), K0)
    z_rel = pose.z_rel.copy()
    z_rel[:, MIDDLE_MCP] = 1.5  # deeper than the bone is long: no real solution
    z = as_backend(z_rel, backend, requires_grad=True)
    root = camera.solve_root_depth(as_backend(pose.uv, backend), z, as_backend(K0, backend))
    assert not np.asarray(root.valid).any()
    assert (np.asarray(root.discriminant if backend == "numpy" else root.discriminant.detach()) < 0).all()
    assert np.isfinite(np.asarray(root.z_root if backend == "numpy" else root.z_root.detach())).all()
    if backend == "torch":
        root.z_root.sum().backward()
        assert torch.isfinite(z.grad).all()


@needs_torch
def test_degenerate_a_is_flagged_with_finite_gradients():
    pose = camera.to_25d(hands_in_front(7, 1), K0)
    uv = pose.uv.copy()
    uv[:, MIDDLE_MCP] = uv[:, WRIST]  # the bone along the viewing ray: a = 0
    u = torch.tensor(uv, requires_grad=True)
    z = torch.tensor(pose.z_rel, requires_grad=True)
    root = camera.solve_root_depth(u, z, torch.tensor(K0))
    assert not root.valid.any()
    (root.z_root.sum()).backward()
    assert torch.isfinite(u.grad).all() and torch.isfinite(z.grad).all()
    assert torch.isfinite(root.z_root).all()


@needs_torch
def test_gradcheck_recovery():
    pose = camera.to_25d(hands_in_front(8, 2), K0)
    uv = torch.tensor(pose.uv, requires_grad=True)
    z = torch.tensor(pose.z_rel, requires_grad=True)
    k = torch.tensor(K0)

    def joints(uv, z):
        root = camera.solve_root_depth(uv, z, k)
        return camera.from_25d(uv, z, k, root.z_root)

    assert torch.autograd.gradcheck(joints, (uv, z))


@needs_torch
def test_project_behind_camera_is_finite():
    points = torch.tensor([[[1.0, 2.0, 0.0], [1.0, 2.0, -5.0], [0.0, 0.0, 0.0]]], requires_grad=True)
    uv = camera.project(points, torch.tensor(K0, dtype=torch.float32))
    uv.sum().backward()
    assert torch.isfinite(uv).all() and torch.isfinite(points.grad).all()


def test_bad_intrinsics_give_clear_errors():
    with pytest.raises(ShapeError, match="3, 3"):
        camera.project(hands_in_front(9, 1), np.eye(4))
    with pytest.raises(ShapeError, match=r"\(\.\.\., N, 2\)"):
        camera.rays(np.zeros((21, 3)), K0)
    with pytest.raises(CameraError, match="NaN"):
        camera.check_intrinsics(np.where(np.eye(3) > 0, np.nan, K0))
    with pytest.raises(CameraError, match="focal"):
        camera.check_intrinsics(K0 * [[-1], [1], [1]])
    with pytest.raises(CameraError, match="transposed"):
        camera.check_intrinsics(K0.T)
    camera.check_intrinsics(np.stack([K0, K0]))


def test_intrinsics_builder(backend):
    like = as_backend(np.zeros(3, dtype=np.float32), backend)
    k = camera.intrinsics(600.0, 580.0, 320.0, 240.0, like=like)
    assert np.allclose(np.asarray(k), K0)
    assert str(k.dtype).endswith("float32")


@given(seed=seeds, factor=st.floats(0.1, 10.0))
def test_25d_is_scale_invariant(seed, factor):
    """Scaling the scene about the camera centre changes neither the image nor the normalised depths."""
    joints = hands_in_front(seed % 10_000, 2)
    a, b = camera.to_25d(joints, K0), camera.to_25d(joints * factor, K0)
    assert np.allclose(a.uv, b.uv, atol=1e-8)
    assert np.allclose(a.z_rel, b.z_rel, atol=1e-10)
    assert np.allclose(b.scale, a.scale * factor)
    ra, rb = camera.solve_root_depth(a.uv, a.z_rel, K0), camera.solve_root_depth(b.uv, b.z_rel, K0)
    assert np.allclose(ra.z_root, rb.z_root, rtol=1e-8)


@given(seed=seeds, shift=st.tuples(st.floats(-300, 300), st.floats(-300, 300)))
def test_principal_point_shift_moves_pixels_only(seed, shift):
    joints = hands_in_front(seed % 10_000, 1)
    k = K0.copy()
    k[:2, 2] += shift
    a, b = camera.to_25d(joints, K0), camera.to_25d(joints, k)
    assert np.allclose(b.uv - a.uv, np.array(shift), atol=1e-8)
    za = camera.solve_root_depth(a.uv, a.z_rel, K0).z_root
    assert np.allclose(camera.solve_root_depth(b.uv, b.z_rel, k).z_root, za, rtol=1e-8)


# ----------------------------------------------------------------------------- numerical safety (issue 21 point 9)


@needs_torch
def test_solve_root_depth_in_float16_is_computed_in_float32():
    """float16 input gave inf gradients (squares of the rays and b² − 4ac overflow float16; a strict xfail before).
    It is now computed in float32 and cast back: the same as float32 on the same (rounded) input, up to the
    output's rounding. (The discriminant's own gradient can exceed float16's range, 65504, for a reference bone
    nearly along the viewing ray — 1.8e5 in this batch — so only z_root is differentiated here.)"""
    pose = camera.to_25d(hands_in_front(10, 64), K0)
    inputs = [torch.tensor(a, dtype=torch.float16) for a in (pose.uv, pose.z_rel, K0)]
    results = {}
    for dtype in (torch.float16, torch.float32):
        uv, z = (a.to(dtype).clone().requires_grad_(True) for a in inputs[:2])
        root = camera.solve_root_depth(uv, z, inputs[2].to(dtype))
        assert root.z_root.dtype == root.discriminant.dtype == dtype and root.valid.dtype == torch.bool
        root.z_root.float().sum().backward()
        results[dtype] = [t.detach().float() for t in (root.z_root, root.discriminant, uv.grad, z.grad)]
    for half, single in zip(results[torch.float16], results[torch.float32], strict=True):
        assert torch.isfinite(half).all()
        torch.testing.assert_close(half, single, rtol=2e-3, atol=1e-3)


@needs_torch
def test_to_25d_in_float16_matches_float32():
    joints = torch.tensor(hands_in_front(11, 8), dtype=torch.float16, requires_grad=True)
    half = camera.to_25d(joints, torch.tensor(K0, dtype=torch.float16))
    single = camera.to_25d(joints.detach().float(), torch.tensor(K0, dtype=torch.float16).float())
    for h, s in zip(half, single, strict=True):
        assert h.dtype == torch.float16
        torch.testing.assert_close(h.float(), s, rtol=2e-3, atol=1e-2)
    half.z_rel.float().sum().backward()
    assert torch.isfinite(joints.grad).all()


def coincident_reference_bone() -> np.ndarray:
    hand = hands_in_front(12, 1)[0]
    hand[MIDDLE_MCP] = hand[WRIST]
    return hand


@needs_torch
@pytest.mark.parametrize(
    "case", ["reference bone of length 0", "all joints at one point"], ids=["zero-reference", "one-point"]
)
def test_to_25d_of_coincident_joints_is_finite(case):
    """A zero-length reference bone divided the relative depths by the smallest normal number (inf; a strict xfail
    before): the divisor is now max(s, τρ), ρ the RMS distance of the joints from the root, and all joints at one
    point give z_rel = 0 with a zero gradient."""
    hand = coincident_reference_bone() if case == "reference bone of length 0" else np.full((21, 3), [10, 20, 600.0])
    joints = torch.tensor(hand, requires_grad=True)
    pose = camera.to_25d(joints, torch.tensor(K0))
    for value in pose:
        assert torch.isfinite(value).all(), "non-finite value"
    assert float(pose.z_rel.detach().abs().max()) <= np.sqrt(21) / SINGULAR_TOL
    (pose.z_rel.sum() + pose.uv.sum() + pose.scale.sum()).backward()
    assert torch.isfinite(joints.grad).all()
    rho = np.sqrt(np.mean(np.sum((hand - hand[WRIST]) ** 2, axis=-1)))
    bound = 1e6 if rho == 0 else max(1e6, 5 * 21 / (SINGULAR_TOL * rho))  # uv's own gradient is ~fx / Z per pixel
    assert float(joints.grad.abs().max()) < bound
    if case == "all joints at one point":
        np.testing.assert_array_equal(pose.z_rel.detach(), 0.0)


@given(seed=seeds, fraction=st.floats(1e-3, 1.0))
def test_to_25d_values_are_unchanged_for_short_but_real_reference_bones(seed, fraction):
    """The stand-in divisor only acts where the reference bone is shorter than τρ: above it, z_rel = ΔZ / s."""
    hand = hands_in_front(seed % 1000, 1)[0]
    hand[MIDDLE_MCP] = hand[WRIST] + fraction * (hand[MIDDLE_MCP] - hand[WRIST])
    s = np.linalg.norm(hand[MIDDLE_MCP] - hand[WRIST])
    rho = np.sqrt(np.mean(np.sum((hand - hand[WRIST]) ** 2, axis=-1)))
    pose = camera.to_25d(hand, K0)
    expected = (hand[:, 2] - hand[WRIST, 2]) / max(s, SINGULAR_TOL * rho)
    np.testing.assert_allclose(pose.z_rel, expected, rtol=1e-12)
