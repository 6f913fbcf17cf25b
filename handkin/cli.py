"""The ``handkin`` command. ``handkin --help`` lists the subcommands; each has its own ``--help``."""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .anatomy import AngleJoint, Bone
from .demo import DEMO_KEY_POSES, DEMO_POSE, demo_angles, demo_sequence  # noqa: F401  (the demo data's old home)
from .errors import HandednessWarning, HandkinError
from .frames import JointAngles
from .limits import JointLimits
from .orders import available_orders, get_order
from .skeleton import HandSkeleton
from .tables import format_table
from .template import posed_hand


def _demo(args: argparse.Namespace) -> int:
    """Measure the built-in example hand (bones, palm, joint angles, a forward-kinematics round trip), then run
    the main job: a recorded-like sequence (open hand → fist → pinch → spread) analysed with the default limits,
    with a report and pictures written to --out."""
    hand = posed_hand(DEMO_POSE, degrees=True, units=args.units)
    m = hand.measure()
    u = hand.units.value
    print(f"handkin {__version__} — built-in example: a relaxed right hand posed from the adult template")
    print(f"  {hand}")
    lengths, ref = np.asarray(m.bone_lengths), np.asarray(hand.normalized().bone_lengths)
    rows = [[b.name, f"{b.parent.name}→{b.child.name}", f"{lengths[b]:.2f}", f"{ref[b]:.3f}"] for b in Bone]
    print("\n" + format_table(["bone", "parent→child", "length", "ref"], rows, markdown=False))
    pairs = ["thumb–index", "index–middle", "middle–ring", "ring–little"]
    palm = zip(pairs, np.asarray(m.palm_curvature), np.degrees(np.asarray(m.palm_angles)), strict=True)
    rows = [[name, f"{c:.5f}", f"{phi:.1f}"] for name, c, phi in palm]
    print("\n" + format_table(["palm pair", f"curvature (1/{u})", "angle°"], rows, markdown=False))
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
    broken = dict(DEMO_POSE, index_pip=(-60, 0), little_mcp=(35, -65))
    print("the same hand with the index bent backwards 60° at the PIP and the little finger spread 65°:")
    print(limits.check(posed_hand(broken, degrees=True, units=args.units)).table())
    _demo_sequence_report(args)
    return 0


def _demo_sequence_report(args: argparse.Namespace) -> None:
    """The main job: a recording (FK, open → fist → pinch → spread) analysed with the default limits, reported."""
    from .sequence_report import write_report
    from .timeseries import analyze

    seq = demo_sequence(units=args.units)
    result = analyze(seq)
    print(
        f"\ndemo sequence (open hand → fist → pinch → spread → open, forward kinematics): {len(seq)} frames "
        f"at {seq.fps:g} fps, {seq.duration:.2f} s"
    )
    print(f"frames outside the default limits: {len(result.violations.frames)}")
    flex = np.degrees(result.rom.max[:, 0])
    print("largest flexion per joint (°): " + ", ".join(f"{a.name} {flex[a]:.0f}" for a in AngleJoint))
    report = write_report(result, args.out, format=args.format, pictures=not args.no_pictures)
    print(f"report written to {report}")


def _load(path: str, args: argparse.Namespace):
    from .io import load

    extra = {}
    if getattr(args, "kind", "world") != "world" or getattr(args, "mirrored", False):
        extra = {"kind": args.kind, "mirrored": args.mirrored}
    return load(path, units=args.units, fps=args.fps, side=args.side, order=args.order, key=args.key, **extra)


def _limits(value: str | None) -> JointLimits | None:
    if value is None:
        return None
    return JointLimits.default() if value == "default" else JointLimits.load(value)


def _analyze(args: argparse.Namespace) -> int:
    """Analyse a hand recording: joint angles over time, angular velocities, range of motion per joint,
    bone-length consistency (a tracking-quality signal) and the frames outside the limits. Bad frames
    (missing joints, NaN) are reported and left out. With --out, a report (Markdown or HTML) with a
    summary table, ROM table, angle time series, angle-plane plots and a 3D snapshot is written."""
    from .sequence_report import write_report
    from .timeseries import analyze

    seq = _load(args.file, args)
    result = analyze(
        seq, _limits(args.limits), smoothing=args.smooth, progress=not args.no_progress and sys.stderr.isatty()
    )
    print(f"{seq}")
    if seq.mixed_sides:
        shown = ", ".join(f"{i} {s}" for i, s in enumerate(seq.sides[:20])) + (" …" if len(seq) > 20 else "")
        print(f"  sides per frame: {shown}")
    for p in result.problems:
        print(f"  warning: {p}")
    print(result.summary_table(markdown=False))
    print("\nrange of motion (degrees):")
    print(result.rom.table(markdown=False))
    print("\nlimits:")
    print(result.violations.table(markdown=False))
    if args.out:
        report = write_report(result, args.out, format=args.format, pictures=not args.no_pictures)
        print(f"\nreport written to {report}")
    return 0


def _fit_limits(args: argparse.Namespace) -> int:
    """Fit a person's joint limits from calibration recordings (their valid frames; outliers dropped by
    --percentiles, the rest widened by the margins so that the person's other recordings pass), merged into the
    built-in limits (or --base; `--base none` for the person's limits alone), and write them as JSON for
    `handkin analyze --limits`."""
    import warnings

    from .limits import outside_of
    from .personal import compare_limits, fit_user_limits

    seqs = [_load(f, args) for f in args.files]
    for s in seqs:
        for p in s.problems():
            print(f"  warning: {p}")
    base = None if args.base == "none" else (_limits(args.base))
    options = {
        "percentiles": tuple(args.percentiles),
        "margin": args.margin,
        "angle_margin": math.radians(args.angle_margin),
        "bone_tolerance": args.bone_tolerance,
        "curvature_tolerance": args.curvature_tolerance,
    }
    with warnings.catch_warnings(record=True) as notices:
        warnings.simplefilter("always")
        limits = fit_user_limits(seqs, base, rule=args.rule, user=args.user, **options)
    for w in notices:
        print(f"  note: {w.message}")
    if base is not None and args.rule == "union" and not notices and limits.units == base.units:
        widened = outside_of(limits, base)
        print(f"  the union widened the base at {len(widened)} constraint(s): {', '.join(widened)}")
    path = limits.save(args.output)
    n = sum(int(s.valid.sum()) for s in seqs)
    print(f"fitted on {n} valid frames of {len(seqs)} recording(s): {limits}")
    if base is not None:
        print(compare_limits(base, limits, names=("base", "fitted")).table(markdown=False))
    print(f"limits written to {path}")
    return 0


def _show(args: argparse.Namespace) -> int:
    """Draw a recording: one frame as a PNG (--frame, default the middle valid frame), or the sequence as a
    GIF (sub-sampled to --max-frames). Needs the viz extra (pyvista, imageio)."""
    from . import viz

    seq = _load(args.file, args)
    limits = _limits(args.limits)
    style = {"view": args.view}
    if limits is not None:
        style.update(color="violations", limits=limits)
    out = Path(args.out)
    valid = np.flatnonzero(seq.valid)
    if not len(valid):
        raise HandkinError(f"{args.file}: no frame with all 21 joints to draw.")
    if out.suffix.lower() == ".gif":
        step = max(1, int(np.ceil(len(valid) / max(1, args.max_frames))))
        frames = valid[::step]
        sub = seq[frames]
        fps = (seq.fps or 10.0) / step
        viz.animate(sub.skeleton(), out, fps=fps, times=sub.times, title=Path(args.file).name, **style)
        print(f"animation of {len(frames)} frames written to {out}")
    else:
        frame = int(valid[len(valid) // 2]) if args.frame is None else args.frame
        if not 0 <= frame < len(seq) or not seq.valid[frame]:
            raise HandkinError(f"{args.file}: frame {frame} is out of range or has missing joints.")
        title = f"{Path(args.file).name} — frame {frame}" + (f", t = {seq.times[frame]:.2f} s" if seq.fps else "")
        viz.render(seq[frame : frame + 1].skeleton()[0], out, title=title, **style)
        print(f"frame {frame} written to {out}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    """Convert a recording between formats (by the file suffixes), joint orders and length units."""
    from .io import save

    seq = _load(args.file, args)
    if args.to_units:
        seq = seq.to_units(args.to_units)
    path = save(seq, args.output, order=args.to_order)
    print(f"{seq} → {path} (order {args.to_order})")
    return 0


def _compare(args: argparse.Namespace) -> int:
    """Compare two sets of limits joint by joint: flexion and abduction ranges, polygon areas and overlap (IoU)."""
    from .personal import compare_limits

    a, b = _limits(args.a), _limits(args.b)
    print(compare_limits(a, b, names=(Path(args.a).stem, Path(args.b).stem)).table(markdown=False))
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


def _add_input_options(p: argparse.ArgumentParser) -> None:
    """The options every command that reads hand files shares."""
    g = p.add_argument_group("input")
    g.add_argument(
        "--order",
        default=None,
        help="joint order of the file's arrays (see `handkin orders`; default: the order the file states, else mp21)",
    )
    g.add_argument(
        "--units", choices=["m", "cm", "mm", "ref"], help="length unit of the file (default: what the file states)"
    )
    g.add_argument(
        "--side",
        choices=["right", "left", "auto"],
        help="handedness (default: what the file states, one side or one per frame, else right); auto: each frame's "
        "side from its geometry",
    )
    g.add_argument("--fps", type=float, help="frames per second (default: what the file states)")
    g.add_argument("--key", help="which array of an NPZ holds the joints")
    g.add_argument("--kind", choices=["world", "image"], default="world", help="MediaPipe dumps: which landmarks")
    g.add_argument(
        "--mirrored",
        action="store_true",
        help="MediaPipe dumps: the images were mirrored (selfie view); by default MediaPipe's handedness is swapped",
    )


FIT_LIMITS_RECIPE = """\
recipe: calibration recording -> personal limits -> check a new recording
  1. record the person moving every joint through its range (open hand, fist, spread, thumb circles)
  2. handkin fit-limits calibration.npz -o limits_ana.json --base none --user ana
     (the person's own range; with the default --base and --rule union the built-in limits are only widened)
  3. handkin analyze new_recording.npz --limits limits_ana.json
     (frames outside the person's range are listed; poses absent from the calibration are flagged too)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handkin",
        description="Hand kinematics and biomechanics: measure, check and draw 21-joint hand skeletons.",
        epilog="Each command has its own --help. Start with `handkin demo`.",
    )
    parser.add_argument("--version", action="version", version=f"handkin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the main job on built-in data", description=_demo.__doc__)
    demo.add_argument("--units", default="mm", choices=["m", "cm", "mm", "ref"], help="units to print in")
    demo.add_argument(
        "--out", default="handkin-demo", help="folder for the report and pictures (default ./handkin-demo)"
    )
    demo.add_argument("--format", choices=["md", "html"], default="md", help="report format (default md)")
    demo.add_argument("--no-pictures", action="store_true", help="write the report without pictures (faster)")
    demo.set_defaults(func=_demo)

    analyze = sub.add_parser(
        "analyze",
        help="analyse a recording: angles, ROM, limits, bone lengths; write a report",
        description=_analyze.__doc__,
    )
    analyze.add_argument("file", help="a hand sequence: .npz .npy .json .csv .c3d, or a MediaPipe dump")
    _add_input_options(analyze)
    analyze.add_argument("--limits", help="a limits JSON (from `handkin fit-limits`; default: the built-in limits)")
    analyze.add_argument(
        "--smooth", choices=["savgol", "gaussian", "median", "butterworth"], help="filter the joints first"
    )
    analyze.add_argument("--out", help="folder for the report, analysis.json and pictures (default: print only)")
    analyze.add_argument("--format", choices=["md", "html"], default="md", help="report format (default md)")
    analyze.add_argument("--no-pictures", action="store_true", help="no pictures in the report")
    analyze.add_argument("--no-progress", action="store_true", help="no progress bar")
    analyze.set_defaults(func=_analyze)

    from .personal import (
        USER_ANGLE_MARGIN,
        USER_BONE_TOLERANCE,
        USER_CURVATURE_TOLERANCE,
        USER_MARGIN,
        USER_PERCENTILES,
    )

    fit = sub.add_parser(
        "fit-limits",
        help="fit a person's limits from calibration recordings",
        description=_fit_limits.__doc__,
        epilog=FIT_LIMITS_RECIPE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("files", nargs="+", help="calibration recordings of one person")
    _add_input_options(fit)
    fit.add_argument("-o", "--output", required=True, help="where to write the limits JSON")
    fit.add_argument("--base", default="default", help="'default' (built-in), 'none', or a limits JSON to merge into")
    fit.add_argument(
        "--rule",
        choices=["union", "replace"],
        default="union",
        help="how to merge into the base: union only widens it (a note says when the result equals the base), "
        "replace takes the person's range where fitted (default union)",
    )
    fit.add_argument(
        "--percentiles",
        nargs=2,
        type=float,
        default=USER_PERCENTILES,
        metavar=("LO", "HI"),
        help=f"drop outliers: keep each quantity's LO…HI percentiles (default {USER_PERCENTILES[0]:g} {USER_PERCENTILES[1]:g})",
    )
    fit.add_argument(
        "--margin",
        type=float,
        default=USER_MARGIN,
        help=f"widen every interval by this share of its width (default {USER_MARGIN:g})",
    )
    fit.add_argument(
        "--angle-margin",
        type=float,
        default=math.degrees(USER_ANGLE_MARGIN),
        metavar="DEG",
        help=f"grow angle polygons and palm angles by this many degrees (default {math.degrees(USER_ANGLE_MARGIN):g})",
    )
    fit.add_argument(
        "--bone-tolerance",
        type=float,
        default=USER_BONE_TOLERANCE,
        help=f"widen bone lengths by at least this share (default {USER_BONE_TOLERANCE:g}: fixed skeletons pass)",
    )
    fit.add_argument(
        "--curvature-tolerance",
        type=float,
        default=USER_CURVATURE_TOLERANCE,
        help=f"widen palm curvature by at least this much per reference length (default {USER_CURVATURE_TOLERANCE:g})",
    )
    fit.add_argument("--user", help="the person's name or id (stored in the provenance)")
    fit.set_defaults(func=_fit_limits)

    show = sub.add_parser(
        "show", help="draw a recording: one frame (.png) or an animation (.gif)", description=_show.__doc__
    )
    show.add_argument("file", help="a hand sequence (as for analyze)")
    _add_input_options(show)
    show.add_argument("--out", required=True, help="picture.png (one frame) or animation.gif (the sequence)")
    show.add_argument("--frame", type=int, help="frame to draw in a PNG (default: the middle valid frame)")
    show.add_argument("--max-frames", type=int, default=60, help="GIF: at most this many frames (evenly sub-sampled)")
    show.add_argument("--limits", help="colour by violation of these limits (a limits JSON, or 'default')")
    show.add_argument("--view", default="palm", help="camera view (palm, back, side, …)")
    show.set_defaults(func=_show)

    convert = sub.add_parser(
        "convert", help="convert a recording between formats, joint orders and units", description=_convert.__doc__
    )
    convert.add_argument("file", help="input hand sequence")
    convert.add_argument("output", help="output file (.npz .npy .json .csv)")
    _add_input_options(convert)
    convert.add_argument("--to-order", default="mp21", help="joint order of the written arrays (default mp21)")
    convert.add_argument("--to-units", choices=["m", "cm", "mm", "ref"], help="length unit of the output")
    convert.set_defaults(func=_convert)

    compare = sub.add_parser(
        "compare-limits", help="compare two limits files joint by joint", description=_compare.__doc__
    )
    compare.add_argument("a", help="limits JSON, or 'default'")
    compare.add_argument("b", help="limits JSON, or 'default'")
    compare.set_defaults(func=_compare)

    orders = sub.add_parser("orders", help="list the registered joint orders", description=_orders.__doc__)
    orders.add_argument("name", nargs="?", help="one order (default: all)")
    orders.set_defaults(func=_orders)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``handkin`` command; bad input prints one clear error and returns 1."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default", HandednessWarning)
        try:
            return int(args.func(args))
        except (HandkinError, ImportError) as exc:
            print(f"handkin {args.command}: error: {exc}", file=sys.stderr)
            return 1
        finally:
            for w in caught:  # handkin's own warnings as one line each; others as Python shows them
                if issubclass(w.category, HandednessWarning):
                    print(f"handkin {args.command}: warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
