"""The ``handkin`` command. ``handkin --help`` lists the subcommands; each has its own ``--help``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from . import __version__
from .anatomy import Bone, Joint
from .orders import available_orders, get_order
from .template import flat_hand


def _demo(args: argparse.Namespace) -> int:
    """Summarise the built-in example hand: joints, bones and units (the measurements come with later issues)."""
    hand = flat_hand(units=args.units)
    ref = hand.normalized()
    print(f"handkin {__version__} — built-in example: {hand}")
    print(f"\n{'joint':<12} {'x':>9} {'y':>9} {'z':>9}   ({hand.units.value})")
    for j in Joint:
        x, y, z = np.asarray(hand.joint(j))
        print(f"{j.name:<12} {x:9.2f} {y:9.2f} {z:9.2f}")
    print(f"\n{'bone':<12} {'parent→child':<24} {'length':>9} {'ref':>7}")
    lengths, ref_lengths = np.asarray(hand.bone_lengths), np.asarray(ref.bone_lengths)
    for b in Bone:
        print(f"{b.name:<12} {b.parent.name + '→' + b.child.name:<24} {lengths[b]:9.2f} {ref_lengths[b]:7.3f}")
    print(f"\nreference bone wrist→middle_mcp: {float(hand.reference_length()):.2f} {hand.units.value}")
    print(f"mirrored: {hand.mirror()}")
    print(f"registered joint orders: {', '.join(available_orders())}")
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
