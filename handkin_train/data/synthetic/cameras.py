"""Random crop cameras for hands: a uniformly random 3D orientation, a focal length and a translation that fits
the hand into the crop (:func:`sample_cameras`)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from handkin import camera

from .config import SyntheticConfig, uniform


def _random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3, 3)`` rotation matrices uniform on SO(3) (Haar measure), from :meth:`Rotation.random`.

    ``Rotation.random`` normalises 4 Gaussian draws per rotation and reads them as ``(x, y, z, w)``; reading the
    same draws as ``(w, x, y, z)`` (a fixed orthogonal map of R⁴, so the distribution is the same) keeps the
    rotation that each seed gave before this module used scipy, and with it the generated data.
    """
    draws = Rotation.random(n, rng).as_quat()  # rng positional: its keyword differs across scipy versions
    return Rotation.from_quat(np.roll(draws, -1, axis=-1)).as_matrix()


#: Hand frame → camera frame with the palm to the camera and the fingers up (thumb right), the orientation of
#: the network's initial mean pose (:func:`handkin_train.model.mean_pose_bias`).
_PALM_TO_CAMERA = np.diag([-1.0, -1.0, 1.0])


def _tilted_rotations(n: int, rng: np.random.Generator, tilt_deg: float) -> np.ndarray:
    """``(n, 3, 3)`` rotations: palm to the camera, tilted by an angle uniform in ``[0, tilt_deg]`` about a
    uniformly random axis in the image plane, turned by a uniform angle about the camera axis."""
    axis = rng.uniform(0.0, 2.0 * np.pi, n)
    tilt = np.radians(rng.uniform(0.0, tilt_deg, n))
    roll = rng.uniform(0.0, 2.0 * np.pi, n)
    tilt_vec = np.stack([np.cos(axis), np.sin(axis), np.zeros(n)], axis=-1) * tilt[:, None]
    roll_vec = np.stack([np.zeros(n), np.zeros(n), roll], axis=-1)
    rot = Rotation.from_rotvec(roll_vec) * Rotation.from_rotvec(tilt_vec)
    return rot.as_matrix() @ _PALM_TO_CAMERA


def sample_cameras(
    joints: np.ndarray, rng: np.random.Generator, config: SyntheticConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Place hands ``(n, 21, 3)`` mm in front of random crop cameras: ``(joints_cam (n, 21, 3) mm, K (n, 3, 3))``.

    A uniformly random 3D rotation (Haar measure on SO(3), :meth:`scipy.spatial.transform.Rotation.random`;
    or, with ``config.tilt_deg``, a tilted palm-to-camera view) about the hand's bounding-box centre, ``f`` uniform in ``config.focal_px`` (fx = fy, no skew), the
    principal point near the image centre, and a translation found by a few fixed-point steps so that the
    larger side of the joints' 2D bounding box is a ``config.fill`` share of the image and the box sits at a
    random place inside the image. Every joint ends up with ``Z >= config.min_depth_mm`` and its projection at
    least 2 px inside the image.
    """
    joints = np.asarray(joints, dtype=np.float64)
    n, size = len(joints), config.image_size
    rot = _random_rotations(n, rng) if config.tilt_deg is None else _tilted_rotations(n, rng, config.tilt_deg)
    centre = 0.5 * (joints.max(axis=1) + joints.min(axis=1))
    local = np.einsum("nij,nkj->nki", rot, joints - centre[:, None])
    f = uniform(rng, config.focal_px, n)
    jitter = np.clip(rng.normal(0.0, 1.0, (n, 2)), -3.0, 3.0) * config.principal_jitter_px
    principal = (size - 1) / 2.0 + jitter
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = K[:, 1, 1] = f
    K[:, :2, 2] = principal
    K[:, 2, 2] = 1.0
    span = uniform(rng, config.fill, n) * (size - 1)
    slack = np.maximum(size - 1 - span, 0.0) / 2.0
    target = (size - 1) / 2.0 + (rng.random((n, 2)) * 2.0 - 1.0) * (0.8 * slack)[:, None]

    extent = (local[..., :2].max(axis=1) - local[..., :2].min(axis=1)).max(axis=1)
    near = config.min_depth_mm - local[..., 2].min(axis=1)  # the smallest root translation keeping Z >= min
    t = np.zeros((n, 3))
    t[:, 2] = np.maximum(f * extent / span, near)
    for _ in range(8):  # fixed-point steps: depth for the span, then x, y for the box centre
        uv = camera.project(local + t[:, None], K)
        current = (uv.max(axis=1) - uv.min(axis=1)).max(axis=1)
        t[:, 2] = np.maximum(t[:, 2] * current / span, near)
        uv = camera.project(local + t[:, None], K)
        middle = 0.5 * (uv.max(axis=1) + uv.min(axis=1))
        t[:, :2] += (target - middle) * t[:, 2:] / f[:, None]
    margin = 2.0
    for _ in range(100):  # safety net: push hands that still poke out of the image further away
        cam = local + t[:, None]
        uv = camera.project(cam, K)
        bad = np.any((uv < margin) | (uv > size - 1 - margin), axis=(1, 2)) | np.any(
            cam[..., 2] < config.min_depth_mm, axis=1
        )
        if not bad.any():
            break
        t[bad, 2] *= 1.1
        middle = 0.5 * (uv.max(axis=1) + uv.min(axis=1))
        t[bad, :2] += ((principal - middle) * t[:, 2:] / f[:, None])[bad]
    else:  # pragma: no cover - the loop above converges geometrically
        raise RuntimeError("could not fit every hand inside the image.")
    return local + t[:, None], K


__all__ = ["sample_cameras"]
