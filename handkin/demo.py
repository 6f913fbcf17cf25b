"""The built-in demo data of ``handkin demo``, the examples and the tests: a relaxed right hand
(:data:`DEMO_POSE`) and a recording-like sequence (open hand → fist → pinch → spread → open) built by forward
kinematics of the adult template.

>>> from handkin.demo import demo_sequence
>>> seq = demo_sequence()
>>> len(seq), seq.fps
(165, 30.0)
"""

from __future__ import annotations

import numpy as np

from .anatomy import AngleJoint
from .io.sequence import HandSequence
from .template import posed_hand

#: The pose of the built-in demo hand: a relaxed, slightly closed right hand (degrees).
DEMO_POSE = {
    "thumb_cmc": (15, 20), "thumb_mcp": (20, 0), "thumb_ip": (15, 0),
    "index_mcp": (20, 5), "index_pip": (30, 0), "index_dip": (15, 0),
    "middle_mcp": (25, 0), "middle_pip": (35, 0), "middle_dip": (20, 0),
    "ring_mcp": (30, -5), "ring_pip": (40, 0), "ring_dip": (25, 0),
    "little_mcp": (35, -10), "little_pip": (45, 0), "little_dip": (25, 0),
}  # fmt: skip

_FINGERS = ("index", "middle", "ring", "little")

#: Key poses of the demo sequence (degrees, (flexion, abduction); joints not named stay at 0).
DEMO_KEY_POSES: dict[str, dict[str, tuple[float, float]]] = {
    "open": {f"{f}_{j}": (5.0, 0.0) for f in _FINGERS for j in ("mcp", "pip", "dip")},
    "fist": {
        "thumb_cmc": (30, 10), "thumb_mcp": (45, 0), "thumb_ip": (60, 0),
        **{f"{f}_mcp": (85, 0) for f in _FINGERS},
        **{f"{f}_pip": (100, 0) for f in _FINGERS},
        **{f"{f}_dip": (60, 0) for f in _FINGERS},
    },
    "pinch": {
        "thumb_cmc": (35, 35), "thumb_mcp": (20, 0), "thumb_ip": (20, 0),
        "index_mcp": (45, 0), "index_pip": (50, 0), "index_dip": (30, 0),
        **{f"{f}_{j}": (20, 0) for f in ("middle", "ring", "little") for j in ("mcp", "pip", "dip")},
    },
    "spread": {
        "thumb_cmc": (-20, -30), "thumb_mcp": (-10, 0),
        "index_mcp": (-10, 20), "middle_mcp": (-10, 0), "ring_mcp": (-10, -15), "little_mcp": (-10, -25),
    },
}  # fmt: skip


def demo_angles(fps: float = 30.0, seconds_per_move: float = 1.0, hold: float = 0.3) -> np.ndarray:
    """The demo's joint angles ``(T, 15, 2)`` radians: open hand → fist → pinch → spread → open, each move
    eased (cosine) over ``seconds_per_move`` and each pose held for ``hold`` seconds."""
    keys = ["open", "fist", "pinch", "spread", "open"]
    poses = []
    for k in keys:
        a = np.zeros((15, 2))
        for name, pair in DEMO_KEY_POSES[k].items():
            a[int(AngleJoint[name])] = pair
        poses.append(np.radians(a))
    n_move, n_hold = max(2, round(seconds_per_move * fps)), max(1, round(hold * fps))
    s = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n_move, endpoint=False))[:, None, None]
    frames = [np.repeat(poses[0][None], n_hold, axis=0)]
    for a, b in zip(poses[:-1], poses[1:], strict=True):
        frames += [a + s * (b - a), np.repeat(b[None], n_hold, axis=0)]
    return np.concatenate(frames)


def demo_sequence(fps: float = 30.0, units: str = "mm") -> HandSequence:
    """The demo recording as a :class:`~handkin.io.HandSequence` (forward kinematics of the adult template)."""
    hand = posed_hand(demo_angles(fps), units=units)
    return HandSequence.from_skeleton(hand, fps=fps, source="handkin demo: open → fist → pinch → spread (FK)")


__all__ = ["DEMO_POSE", "DEMO_KEY_POSES", "demo_angles", "demo_sequence"]
