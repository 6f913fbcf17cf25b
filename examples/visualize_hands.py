"""Draw the pictures of docs/visualization.md with handkin.viz, and export a hand mesh.

Run: python examples/visualize_hands.py [--img-dir docs/img] [--out DIR] [--quick]

Writes viz_hand_palm.png, viz_hand_frames.png, viz_camera.png, viz_overlay_constrain.png,
viz_angle_planes.png and viz_sequence.gif into --img-dir, and hand.glb into --out (default: a new
temporary folder). --quick draws smaller pictures and a shorter sequence (for the tests).
Everything renders off-screen: no display is needed.
"""

import argparse
import io
import tempfile
from pathlib import Path

import numpy as np
from figure_style import DOCS_IMG, FINGER_COLOURS, plt
from PIL import Image

import handkin
from handkin import HandSkeleton, Joint, JointLimits, viz

POSE = {
    "thumb_cmc": (10, 10), "thumb_mcp": (20, 0), "thumb_ip": (15, 0),
    "index_mcp": (10, 5), "index_pip": (25, 0), "index_dip": (10, 0),
    "middle_mcp": (20, 0), "middle_pip": (35, 0), "middle_dip": (20, 0),
    "ring_mcp": (30, -3), "ring_pip": (45, 0), "ring_dip": (25, 0),
    "little_mcp": (40, -8), "little_pip": (50, 0), "little_dip": (30, 0),
}  # fmt: skip


def implausible_hand() -> HandSkeleton:
    """A hand breaking the default limits: index PIP bent back, little finger splayed, middle fingertip bone stretched."""
    bad = handkin.posed_hand({**POSE, "index_pip": (-55, 0), "little_mcp": (20, -40)}, degrees=True)
    joints = np.asarray(bad.joints).copy()
    tip_bone = joints[Joint.middle_tip] - joints[Joint.middle_dip]
    joints[Joint.middle_tip] += 1.2 * tip_bone  # the last bone of the middle finger 2.2 times its length
    return HandSkeleton(joints=joints, units="mm")


def fist_sequence(frames: int) -> HandSkeleton:
    """The hand closing into a fist and opening again, ``(frames, 21, 3)`` mm."""
    closed = np.zeros((15, 2))
    closed[:, 0] = np.radians([15, 30, 40] + [70, 90, 60] * 4)
    closed[0, 1] = np.radians(25)  # thumb_cmc towards the palm's middle
    amount = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, frames))
    return handkin.posed_hand(amount[:, None, None] * closed)


def angle_data(n: int) -> HandSkeleton:
    """Synthetic recordings whose abduction range shrinks as a joint flexes (as at real MCP joints)."""
    rng = np.random.default_rng(0)
    flexion = rng.uniform(-10, 90, (n, 15))
    abduction = rng.uniform(-1, 1, (n, 15)) * (22 - 0.18 * flexion)
    return handkin.posed_hand(np.stack([flexion, abduction], axis=-1), degrees=True)


def main(img_dir: Path, out_dir: Path, quick: bool) -> None:
    size = (320, 240) if quick else (560, 420)
    hand = handkin.posed_hand(POSE, degrees=True)
    written = []

    # 1. one hand, nearly flat, from the palm side, with joint names
    path = img_dir / "viz_hand_palm.png"
    relaxed = handkin.posed_hand({name: (0.3 * f, a) for name, (f, a) in POSE.items()}, degrees=True)
    viz.render(relaxed, path, view="palm", joint_labels=True, window_size=size, title="MP21 joints of a right hand, palm view")
    written.append(path)

    # 2. the 15 bone frames in which the joint angles are measured
    path = img_dir / "viz_hand_frames.png"
    viz.render(
        hand, path, view="side", frames=True, palm=False, window_size=size, legend=False,
        title="the 15 bone frames, seen from the thumb side",
    )  # fmt: skip
    written.append(path)

    # 3. a pinhole camera: the hand 400 mm in front of it; joints land on their pixels K·X/Z
    width, height = size
    K = np.array([[0.9 * width, 0.0, width / 2], [0.0, 0.9 * width, height / 2], [0.0, 0.0, 1.0]])
    in_camera = np.asarray(hand.joints) * [-1, -1, 1] + [0.0, 85.0, 400.0]  # fingers up, palm to the camera
    image = viz.render(in_camera, view="camera", K=K, image_size=size, legend=False)
    uvw = in_camera @ K.T
    fig = camera_figure(image, uvw[:, :2] / uvw[:, 2:], f"pinhole camera view (f = {K[0, 0]:.0f} px, hand 400 mm away)")
    written.append(save_figure(fig, img_dir / "viz_camera.png", dpi=90))

    # 4. before and after constrain, the implausible hand coloured by how far it breaks the limits
    limits = JointLimits.default()
    bad = implausible_hand()
    fixed, _ = handkin.constrain(bad, limits)
    print(limits.check(bad).table())
    print("after constrain, within the limits:", bool(limits.check(fixed).ok))
    path = img_dir / "viz_overlay_constrain.png"
    viz.render(
        [bad, fixed],
        path,
        labels=["before (by violation)", "after constrain"],
        color=["violations", "#222222"],
        radius=[None, 4.0],
        limits=limits,
        view="palm",
        window_size=size,
        title="index PIP bent back 55°: coloured by violation, then constrained",
    )
    written.append(path)

    # 5. the angle planes of limits fitted on data: polygon (green) vs the independent min/max box (red)
    data = angle_data(200 if quick else 600)
    fitted = JointLimits.fit(data, units="ref")
    title = f"limits fitted on {len(data.joints)} synthetic poses: polygon (green) vs independent min/max box (red)"
    fig = viz.plot_angle_planes(fitted, data, figsize=(12, 7) if not quick else (9, 5.5), title=title)
    written.append(save_figure(fig, img_dir / "viz_angle_planes.png"))

    # 6. a sequence as a GIF with its time label
    frames = 6 if quick else 12
    sequence = fist_sequence(frames)
    gif_size = (320, 240) if quick else (480, 360)
    written.append(
        viz.animate(
            sequence, img_dir / "viz_sequence.gif", fps=6, view="side", window_size=gif_size,
            title="closing into a fist (side view)",
        )
    )  # fmt: skip

    # 7. the hand as a coloured mesh for 3D viewers (glTF's unit is the metre)
    written.append(viz.export_mesh(hand, out_dir / "hand.glb", to_units="m"))
    for p in written:
        print("wrote", p, f"({p.stat().st_size // 1024} kB)")


def save_figure(fig, path: Path, dpi: int = 72) -> Path:
    """Write a matplotlib figure as a small palette PNG for the docs, and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.open(buffer).convert("RGB")
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)  # keeps small coloured text
    return path


def camera_figure(image: np.ndarray, uv: np.ndarray, title: str):
    """The camera picture ``image`` ``(H, W, 3)`` in a frame with pixel axes (u right, v down), the joints'
    pixels ``uv`` ``(21, 2)`` marked, a legend of the markers and the finger colours, and ``title``."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    h, w = image.shape[:2]
    fig, ax = plt.subplots(figsize=(w / 60 + 2.2, h / 60 + 0.9))
    ax.imshow(image, extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    ax.plot(uv[:, 0], uv[:, 1], "+", color="black", ms=6, mew=1.0)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xlabel("u (px)")
    ax.set_ylabel("v (px)")
    ax.set_title(title, fontsize=10)
    handles = [Line2D([], [], ls="", marker="+", color="black", ms=8, label="joint pixel K·X/Z")]
    handles += [Patch(color=c, label=f.name) for f, c in FINGER_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--img-dir", type=Path, default=DOCS_IMG)
    parser.add_argument("--out", type=Path, default=None, help="folder for hand.glb (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="small pictures, short sequence")
    args = parser.parse_args()
    main(args.img_dir, args.out or Path(tempfile.mkdtemp(prefix="handkin_viz_")), args.quick)
