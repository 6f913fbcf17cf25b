"""Draw the labelled hand used in docs/conventions.md (joint indices, names, bones, axes).

Run: python examples/draw_conventions.py [--out docs/img/conventions_hand.png]
"""

import argparse
from pathlib import Path

import numpy as np
from figure_style import DOCS_IMG, FINGER_COLOURS, plt, save

import handkin
from handkin import FINGER_JOINTS, Bone, Joint


def draw(out: Path) -> Path:
    hand = handkin.flat_hand(units="mm")
    xy = np.asarray(hand.joints)[:, :2]
    fig, (ax, legend) = plt.subplots(1, 2, figsize=(10, 7.5), gridspec_kw={"width_ratios": [2.2, 1]})
    for b in Bone:
        p, c = xy[b.parent], xy[b.child]
        ax.plot(
            [p[0], c[0]],
            [p[1], c[1]],
            color=FINGER_COLOURS[b.finger],
            lw=6 if b.is_root else 3,
            alpha=0.45 if b.is_root else 0.9,
            solid_capstyle="round",
        )
    for j in Joint:
        colour = "black" if j.finger is None else FINGER_COLOURS[j.finger]
        ax.scatter(*xy[j], s=170, color="white", edgecolor=colour, zorder=3, lw=2)
        ax.annotate(str(int(j)), xy[j], ha="center", va="center", fontsize=8, zorder=4, weight="bold")
    for f, colour in FINGER_COLOURS.items():
        ax.annotate(
            f.name,
            xy[FINGER_JOINTS[f][-1]],
            xytext=(0, 13),
            textcoords="offset points",
            ha="center",
            color=colour,
            weight="bold",
        )
    # one bone, to show the naming rule
    b = Bone.index_pip
    mid = (xy[b.parent] + xy[b.child]) / 2
    ax.annotate(
        "bone 'index_pip'\n(index_mcp → index_pip)",
        mid,
        xytext=(-95, 70),
        textcoords="offset points",
        fontsize=8.5,
        ha="center",
        va="center",
        arrowprops=dict(arrowstyle="->", color="0.3"),
    )
    ax.annotate(
        "root bones\n(span the palm)",
        (xy[Joint.ring_mcp] + xy[Joint.wrist]) / 2,
        xytext=(70, -10),
        textcoords="offset points",
        fontsize=8.5,
        arrowprops=dict(arrowstyle="->", color="0.3"),
    )
    origin = np.array([70.0, -25.0])
    for d, label in (((25, 0), "+x"), ((0, 25), "+y")):
        ax.arrow(*origin, *d, width=0.6, head_width=4, length_includes_head=True, color="black")
        ax.text(*(origin + np.array(d) * 1.3), label, ha="center", va="center", fontsize=9)
    ax.text(origin[0], origin[1] - 12, "+z: out of the page\n(back of the hand)", fontsize=8, ha="left", va="top")
    ax.set_title("Right hand, seen from the back (palm faces away)", fontsize=10)
    ax.set_aspect("equal")
    ax.margins(0.08)
    ax.axis("off")
    legend.axis("off")
    legend.set_title("MP21 order (canonical)", fontsize=10)
    for k, j in enumerate(Joint):
        colour = "black" if j.finger is None else FINGER_COLOURS[j.finger]
        legend.text(
            0.05,
            1 - (k + 0.5) / 22,
            f"{int(j):2d}  {j.name}",
            color=colour,
            fontsize=9.5,
            family="monospace",
            transform=legend.transAxes,
            va="center",
        )
    return save(fig, out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS_IMG / "conventions_hand.png")
    print("wrote", draw(parser.parse_args().out))
