"""The 2.5D representation, Z_root recovery and the evaluation metrics, on a built-in posed hand.

Run: python examples/camera_and_metrics.py [--out docs/img/camera_25d.png]

A hand 45 cm in front of a 600 px camera is turned into 2.5D (pixels + relative depth in
reference-bone lengths), its depth is recovered by the quadratic, and noisy "predictions" are scored
as FreiHAND's evaluation does. The picture shows the image and a side view of the two roots of the quadratic.
"""

import argparse
from pathlib import Path

import numpy as np
from figure_style import DOCS_IMG, FINGER_COLOURS, plt, save

import handkin
from handkin import Bone, camera, metrics

K = camera.intrinsics(600.0, 600.0, 320.0, 240.0)


def hand_in_camera() -> np.ndarray:
    """A relaxed right hand, palm to the camera, fingers up, 45 cm away (mm, camera frame: x right, y down)."""
    hand = handkin.posed_hand({"index_pip": (30, 0), "middle_pip": (40, 0), "ring_pip": (50, 0)}, degrees=True)
    j = np.asarray(hand.joints)  # template: fingers +y, palm towards −z
    j = j * np.array([-1.0, -1.0, 1.0])  # rotate 180° about z: fingers up in the image, palm facing the camera
    tilt = np.deg2rad(-35.0)  # lean the fingers away from the camera so depth varies along the hand
    rot = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    return j @ rot.T + np.array([-20.0, 60.0, 450.0])


def draw(joints: np.ndarray, out: Path) -> Path:
    pose = camera.to_25d(joints, K)
    root = camera.solve_root_depth(pose.uv, pose.z_rel, K)
    fig, (ax_img, ax_side) = plt.subplots(1, 2, figsize=(11, 4.8))
    for b in Bone:
        uv = pose.uv[[b.parent, b.child]]
        ax_img.plot(*uv.T, color=FINGER_COLOURS[b.finger], lw=2.5)
        zy = joints[[b.parent, b.child]][:, [2, 1]]
        ax_side.plot(*zy.T, color=FINGER_COLOURS[b.finger], lw=2.5)
    ax_img.scatter(*pose.uv.T, color="black", s=10, zorder=3)
    ax_img.set(xlim=(0, 640), ylim=(480, 0), aspect="equal", title="image: (u, v) in pixels, K = 600 px")
    ax_img.set(xlabel="u (px)", ylabel="v (px)")
    from matplotlib.patches import Patch

    fingers = [Patch(color=c, label=f.name) for f, c in FINGER_COLOURS.items()]
    ax_img.legend(handles=fingers, loc="upper right", fontsize=8, title="fingers", title_fontsize=8)

    # side view: both roots of the quadratic put the reference bone at length s between the two rays
    s = float(pose.scale)
    ray = camera.rays(pose.uv[[0, 9]], K)  # wrist, middle_mcp at depth 1
    d, e = ray[1] - ray[0], pose.z_rel[9] * ray[1]
    roots = np.sort(np.roots([d @ d, 2 * d @ e, e @ e - 1.0]).real)
    for z_hat, style, label in ((roots[-1], "-", "larger root (returned)"), (roots[0], "--", "smaller root")):
        if z_hat <= 0:
            continue
        wrist = ray[0] * z_hat * s
        mcp = ray[1] * (z_hat + pose.z_rel[9]) * s
        ax_side.plot(
            [wrist[2], mcp[2]],
            [wrist[1], mcp[1]],
            "k" + style,
            lw=6,
            alpha=0.3,
            zorder=0,
            label=f"{label}: Z_root = {z_hat * s:.0f} mm",
        )
    far = 1.25 * joints[:, 2].max()
    for r, name in zip(ray, ("wrist ray", "middle_mcp ray"), strict=True):
        ax_side.plot([0, far], [0, r[1] * far], color="grey", lw=0.8, ls=":")
        ax_side.annotate(name, (far, r[1] * far), fontsize=8, color="grey", ha="right", va="bottom")
    ax_side.plot([0], [0], "k^", ms=9)
    ax_side.set(
        xlabel="z (mm, forward)",
        ylabel="y (mm, down)",
        title=f"side view: true Z_root = {joints[0, 2]:.0f} mm, recovered {float(root.z_root) * s:.0f} mm",
    )
    ax_side.legend(loc="upper left", fontsize=8)
    ax_side.invert_yaxis()
    return save(fig, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS_IMG / "camera_25d.png")
    args = parser.parse_args()
    joints = hand_in_camera()

    pose = camera.to_25d(joints, K)  # uv (21, 2) px, z_rel (21,), scale s (mm), z_root (mm)
    root = camera.solve_root_depth(pose.uv, pose.z_rel, K)
    back = camera.from_25d(pose.uv, pose.z_rel, K, root.z_root, pose.scale)
    print(f"reference bone s = {pose.scale:.1f} mm, Z_root = {pose.z_root:.1f} mm")
    print(f"recovered Z_root = {float(root.z_root) * pose.scale:.3f} mm, valid={bool(root.valid)}")
    print(f"max joint error after the round trip: {np.abs(back - joints).max():.2e} mm")

    # noisy predictions of 200 copies: 2 px on the 2D joints, 0.05 reference lengths on the relative depths
    rng = np.random.default_rng(0)
    uv = pose.uv + rng.normal(scale=2.0, size=(200, 21, 2))
    z_rel = pose.z_rel + rng.normal(scale=0.05, size=(200, 21))
    z_hat = camera.solve_root_depth(uv, z_rel, K).z_root
    pred = camera.from_25d(uv, z_rel, K, z_hat, pose.scale)
    gt = np.broadcast_to(joints, pred.shape)
    result = metrics.evaluate(pred, gt, K=K, alignments=("none", "root", "scale_translation", "procrustes"))
    print(result)
    print(f"picture: {draw(joints, args.out)}")


if __name__ == "__main__":
    main()
