"""The generic rasteriser of the synthetic data (handkin_train.data.synthetic.raster) on its own, against
independent computations: pinhole projection, ray–plane and ray–sphere intersections, analytic areas."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")  # handkin_train needs torch

from handkin import camera  # noqa: E402
from handkin_train.data.synthetic.raster import Raster, rasterize, rasterize_sparse  # noqa: E402

F, H, W = 300.0, 96, 128  # a non-square image: rows are v, columns u
K1 = camera.intrinsics(F, F, 63.5, 47.5)[None]


def pixel_rays(mask: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Viewing rays ``(M, 3)`` (z = 1) through the pixel centres of ``mask (H, W)`` — pixel [row, col] at (u, v) =
    (col, row)."""
    v, u = np.nonzero(mask)
    return np.linalg.solve(K, np.stack([u, v, np.ones_like(u)]).astype(float)).T


def sphere(centre, r: float) -> tuple[np.ndarray, np.ndarray]:
    """A capsule with both ends at ``centre``: a sphere of radius ``r``, as (capsules (1, 1, 2, 3), radii)."""
    c = np.asarray(centre, dtype=float)
    return np.stack([c, c])[None, None], np.full((1, 1, 2), r)


def front_facing(tri) -> np.ndarray:
    """``tri (3, 3)`` wound so that its outer side (right-hand rule) faces a camera at the origin."""
    tri = np.asarray(tri, dtype=float)
    face = np.cross(tri[1] - tri[0], tri[2] - tri[0])
    return tri if face @ tri[0] < 0 else tri[[0, 2, 1]]


TILTED = front_facing([[-60.0, -40.0, 380.0], [50.0, -30.0, 420.0], [0.0, 50.0, 450.0]])


def test_sphere_depth_area_and_normal():
    c, r = np.array([5.0, -3.0, 400.0]), 30.0
    raster = rasterize(K1, (H, W), *sphere(c, r))
    assert isinstance(raster, Raster)
    assert raster.depth.shape == (1, H, W) and raster.depth.dtype == np.float32
    assert raster.part.shape == (1, H, W) and raster.part.dtype == np.int16
    assert raster.normal.shape == (1, H, W, 3) and raster.normal.dtype == np.float32
    covered = raster.part[0] >= 0
    assert np.all(raster.part[0][covered] == 0) and np.all(np.isinf(raster.depth[0][~covered]))
    assert np.all(raster.normal[0][~covered] == 0)
    # the silhouette is the disc of pixel radius f·r/Z around the projected centre (pixel centres inside it)
    u0, v0 = camera.project(c[None], K1[0])[0]
    v, u = np.mgrid[0:H, 0:W]
    rho = F * r / c[2]
    assert np.array_equal(covered, (u - u0) ** 2 + (v - v0) ** 2 < rho**2)
    assert covered.sum() == pytest.approx(np.pi * rho**2, rel=0.01)  # the analytic projected area
    # every viewing ray through the disc meets the true sphere; at the centre pixel the depth and the normal are
    # those of the exact ray–sphere intersection, elsewhere the depth lies between the sphere's front and centre
    rays = pixel_rays(covered, K1[0])
    a, b, cc = (rays**2).sum(1), rays @ c, c @ c - r * r
    assert np.all(b * b - a * cc >= 0)
    depth = raster.depth[0][covered]
    assert depth.min() >= c[2] - r - 1e-3 and depth.max() <= c[2] + 1e-3
    row, col = int(round(v0)), int(round(u0))
    ray = np.linalg.solve(K1[0], [col, row, 1.0])
    t = (ray @ c - np.sqrt((ray @ c) ** 2 - (ray @ ray) * cc)) / (ray @ ray)
    assert raster.depth[0, row, col] == pytest.approx(t, abs=0.05)  # ray z = 1: t is the depth Z
    # the normal is image-space (the sphere across the projected axis): off by about the ray's angle to the axis
    off_axis = np.linalg.norm(c[:2]) / c[2]
    np.testing.assert_allclose(raster.normal[0, row, col], (t * ray - c) / r, atol=1.5 * off_axis)
    np.testing.assert_allclose(np.linalg.norm(raster.normal[0][covered], axis=-1), 1.0, atol=1e-5)
    assert np.all(raster.normal[0][covered][:, 2] <= 0)  # facing the camera


def test_capsule_covers_its_stadium():
    # a capsule parallel to the image plane: its silhouette is a stadium, 2ρ wide around the projected axis
    z, r = 500.0, 20.0
    ends = np.array([[-60.0, 10.0, z], [70.0, -20.0, z]])
    raster = rasterize(K1, (H, W), ends[None, None], np.full((1, 1, 2), r))
    uv = camera.project(ends, K1[0])
    rho = F * r / z
    area = 2 * rho * np.linalg.norm(uv[1] - uv[0]) + np.pi * rho**2
    assert (raster.part[0] >= 0).sum() == pytest.approx(area, rel=0.01)
    # on the projected axis the surface is the capsule's front, r in front of the axis
    mid = np.rint(uv.mean(axis=0)).astype(int)
    assert raster.depth[0, mid[1], mid[0]] == pytest.approx(z - r, abs=0.5)


def test_triangle_depth_is_the_plane_and_area_the_projected_triangle():
    raster = rasterize(K1, (H, W), triangles=TILTED[None, None])
    covered = raster.part[0] >= 0
    uv = camera.project(TILTED, K1[0])
    e1, e2 = uv[1] - uv[0], uv[2] - uv[0]
    assert covered.sum() == pytest.approx(abs(e1[0] * e2[1] - e1[1] * e2[0]) / 2, rel=0.01)
    # perspective-correct: every covered pixel's depth is the ray–plane intersection
    normal = np.cross(TILTED[1] - TILTED[0], TILTED[2] - TILTED[0])
    normal /= np.linalg.norm(normal)
    rays = pixel_rays(covered, K1[0])
    np.testing.assert_allclose(raster.depth[0][covered], (normal @ TILTED[0]) / (rays @ normal), atol=1e-3)
    # without vertex normals the face normal is used (it faces the camera)
    np.testing.assert_allclose(raster.normal[0][covered], np.broadcast_to(normal, (covered.sum(), 3)), atol=1e-5)
    # one-sided: seen from behind nothing is drawn
    assert np.all(rasterize(K1, (H, W), triangles=TILTED[None, None, [0, 2, 1]]).part < 0)


def test_occlusion_follows_depth_order():
    caps, radii = sphere([0.0, 0.0, 400.0], 25.0)
    tri = front_facing([[-80.0, -60.0, 410.0], [80.0, -60.0, 410.0], [0.0, 70.0, 410.0]])  # behind the sphere
    for shift, sphere_in_front in ((0.0, True), (100.0, False)):  # push the sphere behind the triangle
        c = caps + np.array([0.0, 0.0, shift])
        both = rasterize(K1, (H, W), c, radii, [3], tri[None, None], triangle_part=[8])
        alone = [rasterize(K1, (H, W), c, radii), rasterize(K1, (H, W), triangles=tri[None, None])]
        # the depth buffer keeps the nearer surface at every pixel; the part id goes with it
        np.testing.assert_array_equal(both.depth, np.minimum(alone[0].depth, alone[1].depth))
        overlap = (alone[0].part >= 0) & (alone[1].part >= 0)
        assert overlap.sum() > 500
        assert np.all(both.part[overlap] == (3 if sphere_in_front else 8))
        assert np.all(both.part[(alone[0].part >= 0) & ~overlap] == 3)
        assert np.all(both.part[(alone[1].part >= 0) & ~overlap] == 8)


def test_batch_images_are_independent_and_sparse_matches_dense():
    caps = np.concatenate([sphere([0.0, 0.0, 300.0], 20.0)[0], sphere([30.0, 10.0, 500.0], 40.0)[0]])
    radii = np.array([[[20.0, 20.0]], [[40.0, 40.0]]])
    tris = np.stack([TILTED, TILTED + np.array([20.0, 0.0, 50.0])])[:, None]
    K = np.concatenate([K1, camera.intrinsics(200.0, 220.0, 60.0, 40.0)[None]])
    batch = rasterize(K, (H, W), caps, radii, None, tris)
    for i in range(2):
        one = rasterize(K[i : i + 1], (H, W), caps[i : i + 1], radii[i : i + 1], None, tris[i : i + 1])
        for field in Raster._fields:
            np.testing.assert_array_equal(getattr(batch, field)[i], getattr(one, field)[0], err_msg=field)
    assert set(np.unique(batch.part)) == {-1, 0, 1}  # default ids: capsules 0..C−1, then triangles C..
    sparse = rasterize_sparse(K, (H, W), caps, radii, None, tris)
    flat = batch.part.reshape(-1)
    assert np.array_equal(sparse.pixel, np.flatnonzero(flat >= 0))  # sorted flat indices (b·H + v)·W + u
    assert np.array_equal(sparse.part, flat[sparse.pixel])
    assert np.array_equal(sparse.depth, batch.depth.reshape(-1)[sparse.pixel])


def test_skipped_primitives_and_empty_input():
    behind, radii = sphere([0.0, 0.0, -50.0], 10.0)
    zero = sphere([0.0, 0.0, 300.0], 0.0)
    tri_behind = front_facing([[-10.0, 0.0, -5.0], [10.0, 0.0, 5.0], [0.0, 10.0, 5.0]])
    for raster in (
        rasterize(K1, (H, W)),
        rasterize(K1, (H, W), behind, radii),
        rasterize(K1, (H, W), *zero),
        rasterize(K1, (H, W), triangles=tri_behind[None, None]),
    ):
        assert np.all(raster.part == -1) and np.all(np.isinf(raster.depth)) and np.all(raster.normal == 0)
    with pytest.raises(ValueError):
        rasterize(K1, (H, W), behind, np.ones((1, 2, 2)))  # radii must match the capsules
