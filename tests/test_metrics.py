"""Evaluation metrics against brute-force loops, scipy's Procrustes and hand-made cases."""

import numpy as np
import pytest
from conftest import as_backend, random_hands, seeds, shared_path, torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

import handkin
from handkin import metrics
from handkin.errors import ShapeError

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
THRESHOLDS = np.linspace(0.0, 50.0, 100)


def test_keypoint_errors(backend):
    a, b = random_hands(0, (4,)), random_hands(1, (4,))
    e = metrics.keypoint_errors(as_backend(a, backend), as_backend(b, backend))
    assert np.allclose(np.asarray(e), np.linalg.norm(a - b, axis=-1))
    with pytest.raises(ShapeError, match="differ"):
        metrics.keypoint_errors(a, b[:2])


def brute_force_pck(errors, visible, thresholds):
    n, k = errors.shape
    curve = np.zeros((k, len(thresholds)))
    for j in range(k):
        for t, thr in enumerate(thresholds):
            hits = [errors[i, j] <= thr for i in range(n) if visible[i, j]]
            curve[j, t] = sum(hits) / len(hits)
    return curve


def brute_force_auc(curve, thresholds):
    area = 0.0
    for t in range(len(thresholds) - 1):
        area += (curve[t] + curve[t + 1]) / 2 * (thresholds[t + 1] - thresholds[t])
    return area / (thresholds[-1] - thresholds[0])


def test_pck_and_auc_against_loops(backend):
    rng = np.random.default_rng(0)
    errors = rng.gamma(2.0, 8.0, size=(40, 21))
    errors[0, 0] = 50.0  # exactly on the last threshold: counts (<=)
    errors[1, 1] = 0.0
    visible = rng.random((40, 21)) > 0.2
    visible[:2] = True
    curve = metrics.pck_curve(
        as_backend(errors, backend), as_backend(THRESHOLDS, backend), as_backend(visible, backend)
    )
    expected = brute_force_pck(errors, visible, THRESHOLDS)
    assert np.allclose(np.asarray(curve), expected)
    aucs = np.asarray(metrics.auc(curve, as_backend(THRESHOLDS, backend)))
    assert np.allclose(aucs, [brute_force_auc(c, THRESHOLDS) for c in expected])
    assert np.allclose(np.asarray(metrics.auc(as_backend(np.ones(100), backend), as_backend(THRESHOLDS, backend))), 1.0)


def similarity(seed, n):
    rng = np.random.default_rng(seed)
    return Rotation.random(n, random_state=rng).as_matrix(), rng.uniform(0.5, 2.0, n), rng.normal(0, 100, (n, 1, 3))


def test_procrustes_recovers_similarity_transform(backend):
    gt = random_hands(2, (5,))
    rot, scale, shift = similarity(3, 5)
    pred = np.einsum("nij,nkj->nki", rot, gt) * scale[:, None, None] + shift  # gt moved away
    result = metrics.procrustes(as_backend(pred, backend), as_backend(gt, backend))
    assert np.abs(np.asarray(result.aligned) - gt).max() < 1e-9
    assert np.allclose(np.asarray(result.scale), 1 / scale)
    assert np.allclose(np.asarray(result.rotation), rot.transpose(0, 2, 1), atol=1e-9)
    moved = np.einsum("nij,nkj->nki", np.asarray(result.rotation), pred) * np.asarray(result.scale)[:, None, None]
    assert np.allclose(moved + np.asarray(result.translation)[:, None], gt, atol=1e-9)


def test_procrustes_matches_scipy_when_reflections_allowed():
    pred, gt = random_hands(4, (6,)), random_hands(5, (6,))
    gt[::2, :, 0] *= -1  # mirrored hands: the best orthogonal map reflects
    result = metrics.procrustes(pred, gt, scale=True, reflection=True)
    for i in range(6):
        p, g = pred[i] - pred[i].mean(0), gt[i] - gt[i].mean(0)
        r, singular_sum = orthogonal_procrustes(p, g)  # argmin ‖p r − g‖ over orthogonal r
        assert np.allclose(result.rotation[i], r.T, atol=1e-9)
        assert np.isclose(result.scale[i], singular_sum / (p * p).sum())
        unscaled = metrics.procrustes(pred[i], gt[i], scale=False, reflection=True)
        assert np.allclose(unscaled.aligned, p @ r + gt[i].mean(0), atol=1e-9)


def test_procrustes_never_reflects_by_default(backend):
    gt = random_hands(6, (8,))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    proper = metrics.procrustes(as_backend(mirrored, backend), as_backend(gt, backend))
    dets = np.linalg.det(np.asarray(proper.rotation))
    assert np.allclose(dets, 1.0)
    free = metrics.procrustes(mirrored, gt, reflection=True)
    assert np.allclose(np.linalg.det(free.rotation), -1.0)
    assert np.abs(free.aligned - gt).max() < 1e-9
    assert (metrics.keypoint_errors(np.asarray(proper.aligned), gt).mean(-1) > 1.0).all()


def test_scale_translation_alignment():
    gt = random_hands(7, (3,))
    pred = gt * 1.7 + np.array([5.0, -3.0, 40.0])
    aligned = metrics.align(pred, gt, "scale_translation")
    assert np.abs(aligned - gt).max() < 1e-9
    root, root_gt = metrics.aligned_pair(pred, gt, "root")
    assert np.allclose(root[:, 0], 0) and np.allclose(root_gt, gt - gt[:, :1])
    with pytest.raises(ValueError, match="unknown alignment"):
        metrics.align(pred, gt, "affine")


def test_evaluate_follows_freihand_averaging():
    """Mean EPE = mean over keypoints of per-keypoint means (not the mean over all visible entries)."""
    gt = np.zeros((3, 21, 3))
    pred = gt.copy()
    pred[:, :, 0] = 1.0  # every error 1 mm …
    pred[0, 0, 0] = 10.0  # … except keypoint 0 of hand 0
    visible = np.ones((3, 21), bool)
    visible[1:, 0] = False  # keypoint 0 is seen once only
    result = metrics.evaluate(pred, gt, alignments=["none"], visible=visible)
    assert np.isclose(result["none"].epe_mean, (10.0 + 20 * 1.0) / 21)
    assert np.isclose(result["none"].per_keypoint[0], 10.0)
    assert np.isclose(result["none"].epe_median, (10.0 + 20 * 1.0) / 21)
    expected_curve = brute_force_pck(np.linalg.norm(pred - gt, axis=-1), visible, THRESHOLDS).mean(0)
    assert np.allclose(result["none"].pck, expected_curve)
    assert "mean EPE" in str(result)


def test_evaluate_units_and_2d_depth_split():
    data = np.load(shared_path("interhand26m_excerpt", "excerpt_mp21_mm.npz"))
    gt, k = data["xyz_cam_mm"].astype(float), data["K"].astype(float)
    pred = gt + np.array([0.0, 0.0, 10.0])  # 1 cm too deep
    result = metrics.evaluate(pred / 1000, gt / 1000, units="m", K=k, alignments=("none", "root", "procrustes"))
    assert np.isclose(result["none"].epe_mean, 10.0)
    assert np.isclose(result.error_z_mm, 10.0)
    uv = handkin.camera.project(gt, k)
    expected_px = np.linalg.norm(handkin.camera.project(pred, k) - uv, axis=-1).mean()
    assert np.isclose(result.error_2d_px, expected_px) and result.error_2d_px > 0
    assert result["root"].epe_mean < 1e-9 and result["procrustes"].epe_mean < 1e-6
    assert result["procrustes"].auc == pytest.approx(1.0 - 0.5 / 99, abs=1e-3)  # the 0-mm threshold misses
    skel = metrics.evaluate(handkin.HandSkeleton(joints=pred, units="mm"), gt)
    assert np.isclose(skel["none"].epe_mean, 10.0)


def test_evaluate_rejects_bad_input():
    gt = random_hands(8, (2,))
    with pytest.raises(ShapeError, match="different numbers"):
        metrics.evaluate(gt[:1], gt)
    bad = gt.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ShapeError, match="visible"):
        metrics.evaluate(bad, gt)


@given(seed=seeds, scale=st.floats(0.2, 5.0))
def test_procrustes_error_invariant_to_similarity_of_prediction(seed, scale):
    gt, pred = random_hands(seed % 10_000, (2,)), random_hands(seed % 10_000 + 1, (2,))
    rot, _, shift = similarity(seed % 10_000, 2)
    moved = np.einsum("nij,nkj->nki", rot, pred) * scale + shift
    a = metrics.keypoint_errors(metrics.align(pred, gt), gt)
    b = metrics.keypoint_errors(metrics.align(moved, gt), gt)
    assert np.allclose(a, b, atol=1e-6)


@needs_torch
def test_torch_and_numpy_agree_on_alignments():
    gt, pred = random_hands(9, (4,)), random_hands(10, (4,))
    for alignment in metrics.ALIGNMENTS:
        a = metrics.align(pred, gt, alignment)
        t = metrics.align(torch.tensor(pred), torch.tensor(gt), alignment)
        assert np.allclose(a, t.numpy(), atol=1e-9)
