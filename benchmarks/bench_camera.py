"""Z_root recovery under pixel noise (accuracy) and the speed of the camera and metric code.

Run: python benchmarks/bench_camera.py [--draws 200]
Prints, for Gaussian noise of σ px on every 2D joint (relative depths exact), the mean 3D joint error and
the mean |Z_root| error of the recovered hands — on the real camera-space hands of ../shared/data
(InterHand2.6M and RHD excerpts, their own K) and on 10,000 synthetic hands 25–90 cm from a 600 px camera —
then throughput figures.
"""

import argparse
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
from timing import best_seconds

import handkin
from handkin import camera, metrics

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
K0 = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])


def synthetic_hands(n: int, rng) -> np.ndarray:
    """Posed template hands in random orientations, 250–900 mm in front of the camera."""
    angles = np.stack([rng.uniform(-0.3, 1.4, (n, 15)), rng.uniform(-0.3, 0.3, (n, 15))], -1)
    hands = np.asarray(handkin.posed_hand(angles).joints)
    rot = Rotation.random(n, random_state=rng).as_matrix()
    hands = np.einsum("nij,nkj->nki", rot, hands - hands.mean(1, keepdims=True))
    centre = np.stack([rng.uniform(-150, 150, n), rng.uniform(-100, 100, n), rng.uniform(250, 900, n)], -1)
    return hands + centre[:, None]


def noise_errors(joints: np.ndarray, k: np.ndarray, sigma: float, draws: int, rng) -> tuple[float, float, float]:
    """Mean 3D error (mm), mean |Z_root| error (mm) and the fraction of ambiguous hands (dropped)."""
    pose = camera.to_25d(joints, k)
    keep = ~camera.solve_root_depth(pose.uv, pose.z_rel, k).ambiguous
    joints, k = joints[keep], np.broadcast_to(k, (len(joints), 3, 3))[keep]
    pose = camera.to_25d(joints, k)
    e3d, ez = [], []
    for _ in range(draws):
        uv = pose.uv + rng.normal(scale=sigma, size=pose.uv.shape)
        root = camera.solve_root_depth(uv, pose.z_rel, k)
        back = camera.from_25d(uv, pose.z_rel, k, root.z_root, pose.scale)
        e3d.append(np.linalg.norm(back - joints, axis=-1).mean())
        ez.append(np.abs(root.z_root * pose.scale - pose.z_root).mean())
    return float(np.mean(e3d)), float(np.mean(ez)), float(1 - keep.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=200, help="noise draws per hand set")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sets = {}
    real = [SHARED / "interhand26m_excerpt" / "excerpt_mp21_mm.npz", SHARED / "rhd_excerpt" / "excerpt_mp21_mm.npz"]
    if all(p.exists() for p in real):
        data = [np.load(p) for p in real]
        sets["real (InterHand + RHD, 9 hands)"] = (
            np.concatenate([d["xyz_cam_mm"] for d in data]).astype(float),
            np.concatenate([d["K"] for d in data]).astype(float),
        )
    sets["synthetic (10,000 hands)"] = (synthetic_hands(10_000, rng), K0)
    print(f"{'hands':<34} {'σ px':>5} {'3D err mm':>10} {'Z_root err mm':>14} {'ambiguous':>10}")
    for name, (joints, k) in sets.items():
        draws = args.draws if len(joints) < 100 else max(args.draws // 50, 2)
        for sigma in (0.5, 1.0, 2.0):
            e3d, ez, amb = noise_errors(joints, k, sigma, draws, rng)
            print(f"{name:<34} {sigma:5.1f} {e3d:10.2f} {ez:14.2f} {amb:10.1%}")

    n = 100_000
    joints = synthetic_hands(n, rng)
    pose = camera.to_25d(joints, K0)

    def roundtrip(j=joints):
        p = camera.to_25d(j, K0)
        r = camera.solve_root_depth(p.uv, p.z_rel, K0)
        camera.from_25d(p.uv, p.z_rel, K0, r.z_root, p.scale)

    print(f"\nto_25d + solve_root_depth + from_25d, numpy float64: {n / best_seconds(roundtrip):12,.0f} hands/s")
    try:
        import torch

        torch.set_num_threads(2)
        jt, kt = torch.tensor(joints, dtype=torch.float32), torch.tensor(K0, dtype=torch.float32)
        print(
            f"to_25d + solve_root_depth + from_25d, torch float32: {n / best_seconds(lambda: roundtrip_torch(jt, kt)):12,.0f} hands/s"
        )
    except ImportError:
        pass
    del pose
    m = 10_000
    pred = joints[:m] + rng.normal(scale=5.0, size=(m, 21, 3))
    print(
        f"procrustes (proper rotation, scale), numpy:         {m / best_seconds(lambda: metrics.procrustes(pred, joints[:m])):12,.0f} hands/s"
    )
    print(
        f"evaluate(none + procrustes), numpy:                 {m / best_seconds(lambda: metrics.evaluate(pred, joints[:m])):12,.0f} hands/s"
    )


def roundtrip_torch(j, k):
    p = camera.to_25d(j, k)
    r = camera.solve_root_depth(p.uv, p.z_rel, k)
    return camera.from_25d(p.uv, p.z_rel, k, r.z_root, p.scale)


if __name__ == "__main__":
    main()
