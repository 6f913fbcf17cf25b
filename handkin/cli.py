"""The ``handkin`` command. ``handkin --help`` lists the subcommands; each has its own ``--help``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from . import __version__
from .anatomy import Bone
from .frames import JointAngles
from .limits import JointLimits
from .orders import available_orders, get_order
from .skeleton import HandSkeleton
from .template import posed_hand

#: The pose of the built-in demo hand: a relaxed, slightly closed right hand (degrees).
DEMO_POSE = {
    "thumb_cmc": (15, 20), "thumb_mcp": (20, 0), "thumb_ip": (15, 0),
    "index_mcp": (20, 5), "index_pip": (30, 0), "index_dip": (15, 0),
    "middle_mcp": (25, 0), "middle_pip": (35, 0), "middle_dip": (20, 0),
    "ring_mcp": (30, -5), "ring_pip": (40, 0), "ring_dip": (25, 0),
    "little_mcp": (35, -10), "little_pip": (45, 0), "little_dip": (25, 0),
}  # fmt: skip


def _demo(args: argparse.Namespace) -> int:
    """Measure the built-in example hand: bones, palm, joint angles, and a forward-kinematics round trip."""
    hand = posed_hand(DEMO_POSE, degrees=True, units=args.units)
    m = hand.measure()
    u = hand.units.value
    print(f"handkin {__version__} — built-in example: a relaxed right hand posed from the adult template")
    print(f"  {hand}")
    print(f"\n{'bone':<12} {'parent→child':<24} {'length':>8} {'ref':>7}")
    lengths, ref = np.asarray(m.bone_lengths), np.asarray(hand.normalized().bone_lengths)
    for b in Bone:
        print(f"{b.name:<12} {b.parent.name + '→' + b.child.name:<24} {lengths[b]:8.2f} {ref[b]:7.3f}")
    pairs = ["thumb–index", "index–middle", "middle–ring", "ring–little"]
    print(f"\n{'palm pair':<14} {'curvature (1/' + u + ')':>18} {'angle°':>8}")
    for name, c, phi in zip(pairs, np.asarray(m.palm_curvature), np.degrees(np.asarray(m.palm_angles)), strict=True):
        print(f"{name:<14} {c:18.5f} {phi:8.1f}")
    print("\n" + JointAngles(m.joint_angles).table())
    rebuilt = HandSkeleton.from_angles(m.joint_angles, m.bone_lengths, palm=hand)
    error = float(np.abs(np.asarray(rebuilt.joints) - np.asarray(hand.joints)).max())
    print(f"\nforward kinematics round trip: max joint error {error:.2e} {u}")
    print(
        f"the same hand mirrored: {hand.mirror()}, joint angles equal: "
        f"{bool(np.allclose(hand.mirror().joint_angles, m.joint_angles))}"
    )
    limits = JointLimits.default()
    print(f"\nwithin the default (literature) joint limits: {bool(limits.check(hand).ok)}")
    broken = dict(DEMO_POSE, index_pip=(-60, 0), little_mcp=(35, -45))
    print("the same hand with the index bent backwards 60° at the PIP and the little finger spread 45°:")
    print(limits.check(posed_hand(broken, degrees=True, units=args.units)).table())
    return 0


def _orders(args: argparse.Namespace) -> int:
    """Print each registered joint order position by position."""
    names = [args.name] if args.name else available_orders()
    for name in names:
        order = get_order(name)
        aliases = f" (aliases: {', '.join(order.aliases)})" if order.aliases else ""
        print(f"{order.name}{aliases}: {order.description}")
        for i, j in enumerate(order.joints):
            print(f"  {i:2d} {j.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handkin", description="Hand kinematics and biomechanics.")
    parser.add_argument("--version", action="version", version=f"handkin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on built-in data", description=_demo.__doc__)
    demo.add_argument("--units", default="mm", choices=["m", "cm", "mm", "ref"], help="units to print in")
    demo.set_defaults(func=_demo)
    orders = sub.add_parser("orders", help="list the registered joint orders", description=_orders.__doc__)
    orders.add_argument("name", nargs="?", help="one order (default: all)")
    orders.set_defaults(func=_orders)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
