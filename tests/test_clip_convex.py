"""hull.clip_convex: the intersection of two convex polygons, against analytic areas and a brute-force reference."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

from handkin.hull import clip_convex, polygon_area


def box(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """A counter-clockwise axis-aligned rectangle (4, 2)."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def random_convex(rng: np.random.Generator, n: int = 12, scale: float = 1.0) -> np.ndarray:
    """A random convex CCW polygon: scipy's hull (counter-clockwise in 2-D) of random points."""
    pts = rng.normal(size=(n, 2)) * scale + rng.normal(size=2)
    return pts[ConvexHull(pts).vertices]


def halfspaces(polygon: np.ndarray) -> np.ndarray:
    """The polygon as halfspaces ``A x + b <= 0`` (scipy's layout), one per CCW edge (interior on the left)."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    edge = b - a
    normal = np.stack([edge[:, 1], -edge[:, 0]], axis=1)  # points outwards (to the right of a CCW edge)
    return np.column_stack([normal, -np.sum(normal * a, axis=1)])


def reference_area(p: np.ndarray, q: np.ndarray) -> float:
    """Area of p ∩ q, independently of Sutherland–Hodgman: scipy's HalfspaceIntersection of both polygons'
    halfspaces around an interior point (the Chebyshev centre, by linear programming)."""
    from scipy.optimize import linprog

    hs = np.vstack([halfspaces(p), halfspaces(q)])
    norms = np.linalg.norm(hs[:, :2], axis=1)
    # maximise r such that the disc of radius r around x lies in every halfspace: A x + r |A| <= -b
    res = linprog(
        [0, 0, -1], A_ub=np.column_stack([hs[:, :2], norms]), b_ub=-hs[:, 2], bounds=[(None, None)] * 2 + [(0, None)]
    )
    if not res.success or res.x[2] < 1e-9:
        return 0.0
    try:
        verts = HalfspaceIntersection(hs, res.x[:2]).intersections
        return float(ConvexHull(verts).volume)  # in 2-D, "volume" is the area
    except QhullError:
        return 0.0


def test_two_boxes_overlap_in_the_analytic_rectangle():
    inter = clip_convex(box(0, 3, 0, 2), box(1, 5, -1, 1.5))
    assert polygon_area(inter) == pytest.approx(2 * 1.5)  # [1, 3] × [0, 1.5]
    np.testing.assert_allclose(inter.min(axis=0), [1, 0])
    np.testing.assert_allclose(inter.max(axis=0), [3, 1.5])


def test_triangle_and_box():
    triangle = np.array([[0, 0], [2, 0], [0, 2]], dtype=float)  # x, y >= 0, x + y <= 2
    assert polygon_area(clip_convex(triangle, box(0.5, 1.5, 0.5, 1.5))) == pytest.approx(1 - 0.5)  # corner cut off
    assert polygon_area(clip_convex(box(0.5, 1.5, 0.5, 1.5), triangle)) == pytest.approx(0.5)  # either order
    assert polygon_area(clip_convex(triangle, box(0, 1, 0, 1))) == pytest.approx(1.0)  # the box is inside


def test_contained_identical_and_disjoint_polygons():
    outer, inner = box(-2, 2, -2, 2), box(-1, 0.5, 0, 1)
    assert polygon_area(clip_convex(outer, inner)) == pytest.approx(polygon_area(inner))
    assert polygon_area(clip_convex(inner, outer)) == pytest.approx(polygon_area(inner))
    assert polygon_area(clip_convex(outer, outer)) == pytest.approx(16.0)
    assert clip_convex(box(0, 1, 0, 1), box(2, 3, 0, 1)).shape == (0, 2)


def test_random_convex_polygons_match_halfspace_intersection():
    rng = np.random.default_rng(7)
    overlapping = 0
    for _ in range(200):
        p, q = random_convex(rng, rng.integers(3, 15)), random_convex(rng, rng.integers(3, 15), scale=0.8)
        inter = clip_convex(p, q)
        expected = reference_area(p, q)
        area = polygon_area(inter) if len(inter) >= 3 else 0.0
        assert area == pytest.approx(expected, rel=1e-9, abs=1e-12)
        if expected > 0:
            overlapping += 1
            assert area > 0  # counter-clockwise, like the inputs
            inside = np.concatenate([halfspaces(p), halfspaces(q)])
            slack = inter @ inside[:, :2].T + inside[:, 2]
            assert slack.max() <= 1e-9 * (1 + np.abs(inter).max())  # every vertex lies in both polygons
    assert overlapping > 50  # the random pairs exercise real intersections, not only empty ones
