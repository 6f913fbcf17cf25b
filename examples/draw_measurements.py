"""Draw the figures of docs/measurements.md: bone frames on a posed hand, and the angle signs.

Run: python examples/draw_measurements.py [--out-dir docs/img]
"""

import argparse
from pathlib import Path

import numpy as np
from figure_style import DOCS_IMG, FINGER_COLOURS, plt, save

import handkin
from handkin import AngleJoint, Bone, Finger, Joint

AXIS_COLOURS = {"x": "#e41a1c", "y": "#4daf4a", "z": "#377eb8"}


def posed() -> handkin.HandSkeleton:
    pose = {
        "thumb_cmc": (20, 15), "thumb_mcp": (25, 0), "thumb_ip": (20, 0),
        "index_mcp": (15, 8), "index_pip": (30, 0), "index_dip": (15, 0),
        "middle_mcp": (25, 0), "middle_pip": (45, 0), "middle_dip": (25, 0),
        "ring_mcp": (40, -5), "ring_pip": (60, 0), "ring_dip": (35, 0),
        "little_mcp": (55, -12), "little_pip": (70, 0), "little_dip": (40, 0),
    }  # fmt: skip
    return handkin.posed_hand(pose, degrees=True)


def draw_frames(out: Path) -> Path:
    hand = posed()
    joints = np.asarray(hand.joints)
    frames = hand.frames
    fig = plt.figure(figsize=(8, 7.5))
    ax = fig.add_subplot(projection="3d")
    for b in Bone:
        p, c = joints[b.parent], joints[b.child]
        ax.plot(*zip(p, c, strict=True), color=FINGER_COLOURS[b.finger], lw=2.5, alpha=0.5 if b.is_root else 0.9)
    ax.scatter(*joints.T, color="black", s=8)
    scale = 14.0
    for a in AngleJoint:
        origin = np.asarray(frames.origins[a])
        for k, name in enumerate("xyz"):
            axis = np.asarray(frames.matrices[a][:, k])
            ax.quiver(*origin, *(scale * axis), color=AXIS_COLOURS[name], lw=1.6, arrow_length_ratio=0.25)
    for a in (AngleJoint.index_mcp, AngleJoint.little_pip, AngleJoint.thumb_cmc):
        ax.text(*(np.asarray(frames.origins[a]) + [0, 0, 8]), a.name, fontsize=8)
    for name, colour in AXIS_COLOURS.items():
        ax.plot(
            [],
            [],
            color=colour,
            lw=3,
            label={"x": "x (towards the palm)", "y": "y (towards the thumb)", "z": "z (along the parent bone)"}[name],
        )
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Bone frames at the 15 angle joints (right hand, palm facing −z)", fontsize=10)
    ax.view_init(elev=28, azim=-128)
    lo, hi = joints.min(0), joints.max(0)
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre, strict=True):
        setter(c - half, c + half)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_zlabel("z (mm)")
    return save(fig, out)


def draw_signs(out: Path) -> Path:
    fig, (side, top) = plt.subplots(1, 2, figsize=(11, 5.0), width_ratios=(1.3, 1))
    # side view of the index finger: y (along the finger) to the right, z up; the palm faces down (−z)
    for flexion, style, label in (
        (0, "--", "0° (straight)"),
        (35, "-", "+35° flexion (towards the palm)"),
        (-25, ":", "−25° (hyperextension)"),
    ):
        hand = handkin.posed_hand({"index_mcp": (flexion, 0)}, degrees=True)
        chain = np.asarray(hand.joints)[[Joint.wrist, 5, 6, 7, 8]]
        side.plot(chain[:, 1], chain[:, 2], style, marker="o", ms=4, color="#ff7f0e" if flexion else "0.5", label=label)
    side.annotate("palm side (−z)", (40, -35), fontsize=9, color="0.3")
    side.annotate("index_mcp", (86, 3), fontsize=9)
    side.set_title("Flexion: rotation towards the palm is positive", fontsize=10)
    side.set_xlabel("y (mm)")
    side.set_ylabel("z (mm)")
    side.set_aspect("equal")
    side.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # below: off the data
    # top view (from the back of the hand): x right, y up; the thumb is on −x
    for abduction, style, label in (
        (0, "--", "0°"),
        (15, "-", "+15° abduction (towards the thumb)"),
        (-15, ":", "−15° (away from the thumb)"),
    ):
        hand = handkin.posed_hand({"index_mcp": (0, abduction)}, degrees=True)
        chain = np.asarray(hand.joints)[[Joint.wrist, 5, 6, 7, 8]]
        top.plot(
            chain[:, 0], chain[:, 1], style, marker="o", ms=4, color="#ff7f0e" if abduction else "0.5", label=label
        )
    flat = np.asarray(handkin.flat_hand().joints)
    for f in (Finger.thumb, Finger.middle):
        idx = [0] + [int(j) for j in handkin.FINGER_JOINTS[f]]
        top.plot(flat[idx, 0], flat[idx, 1], color=FINGER_COLOURS[f], alpha=0.4)
    top.annotate("thumb", flat[Joint.thumb_tip, :2] + [-5, 5], fontsize=9, color=FINGER_COLOURS[0])
    top.set_title("Abduction: rotation towards the thumb is positive", fontsize=10)
    top.set_xlabel("x (mm)")
    top.set_ylabel("y (mm)")
    top.set_aspect("equal")
    top.margins(0.06)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)  # beside: off the data
    return save(fig, out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=DOCS_IMG)
    args = parser.parse_args()
    print("wrote", draw_frames(args.out_dir / "frames.png"))
    print("wrote", draw_signs(args.out_dir / "angle_signs.png"))
