"""The ``handkin`` command. ``handkin --help`` lists the subcommands; each has its own ``--help``."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Only light imports here: `handkin --help` and argument errors must not load numpy's users, let alone torch;
# each command imports what it needs.
from . import __version__
from .errors import HandednessWarning, HandkinError

#: The views `handkin show` offers (handkin.viz.VIEWS without "camera": that one needs intrinsics K).
SHOW_VIEWS = ("palm", "back", "side")
#: `handkin show --out`: one frame, or the animation (chosen by the suffix).
PICTURE_SUFFIXES, ANIMATION_SUFFIXES = (".png", ".jpg", ".jpeg"), (".gif", ".mp4")


def __getattr__(name: str) -> Any:
    """The demo data's old home (``handkin.cli.DEMO_POSE`` …), now :mod:`handkin.demo`."""
    if name in ("DEMO_KEY_POSES", "DEMO_POSE", "demo_angles", "demo_sequence"):
        from . import demo

        return getattr(demo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _demo(args: argparse.Namespace) -> int:
    """Measure the built-in example hand (bones, palm, joint angles, a forward-kinematics round trip), then run
    the main job: a recorded-like sequence (open hand → fist → pinch → spread) analysed with the default limits,
    with a report and pictures written to --out."""
    import numpy as np

    from .anatomy import Bone
    from .demo import DEMO_POSE
    from .frames import JointAngles
    from .limits import JointLimits
    from .skeleton import HandSkeleton
    from .tables import format_table
    from .template import posed_hand

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
    import numpy as np

    from .anatomy import AngleJoint
    from .demo import demo_sequence
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
    report = write_report(result, args.out, format=args.format, pictures=not args.no_pictures, progress=_progress(args))
    print(f"report written to {report}")


def _load(path: str, args: argparse.Namespace):
    from .io import load

    extra = {}
    if getattr(args, "kind", "world") != "world" or getattr(args, "mirrored", False):
        extra = {"kind": args.kind, "mirrored": args.mirrored}
    inputs = {k: getattr(args, k, None) for k in ("markers", "time_unit", "detector_model")}
    video = {k: getattr(args, k) for k in ("start", "duration") if getattr(args, k, None) is not None}
    video["progress"] = _progress(args)
    if getattr(args, "out", None) and getattr(args, "command", "") == "analyze":
        video["save_landmarks"] = Path(args.out) / "landmarks.npz"  # re-analyse later without the detector
    return load(
        path, units=args.units, fps=args.fps, side=args.side, order=args.order, key=args.key, **inputs, **extra, **video
    )


def _limits(value: str | None):
    from .limits import JointLimits

    if value is None:
        return None
    return JointLimits.default() if value == "default" else JointLimits.load(value)


def _analyze(args: argparse.Namespace) -> int:
    """Analyse a hand recording: joint angles over time, angular velocities, range of motion per joint,
    bone-length consistency (a tracking-quality signal) and the frames outside the limits. Bad frames
    (missing joints, NaN) are reported and left out. With --out, a report (Markdown or HTML) with a
    summary table, ROM table, angle time series, angle-plane plots and a 3D snapshot is written."""
    from .sequence_report import write_report
    from .tidy import table_format
    from .timeseries import analyze

    if args.table:
        table_format(args.table)  # a bad suffix fails before the work
    seq = _load(args.file, args)
    if args.fill_gaps is not None:
        seq = seq.fill_gaps(**_gap_option(args.fill_gaps))
    if args.resample is not None:
        seq = seq.resample(args.resample)
    result = analyze(seq, _limits(args.limits), smoothing=args.smooth, progress=_progress(args))
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
        report = write_report(
            result, args.out, format=args.format, pictures=not args.no_pictures, progress=_progress(args)
        )
        print(f"\nreport written to {report}")
    if args.table:
        print(f"per-frame table written to {result.write_table(args.table)}")
    return 0


def _gap_option(value: str) -> dict[str, float]:
    """``--fill-gaps`` MAX: ``""`` (the default), seconds (``0.1``) or frames (``3f``) as fill_gaps' arguments."""
    text = value.strip().lower()
    if not text:
        return {}
    number = re.sub(r"\s*(frames?|f)$", "", text)
    frames = number != text
    try:
        x = float(number if frames else text.removesuffix("s"))
    except ValueError:
        raise HandkinError(f"--fill-gaps takes seconds (0.1) or frames (3f), got {value!r}.") from None
    return {"max_frames": x} if frames else {"max_gap": x}


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
    """Draw a recording: one frame as a picture (.png .jpg .jpeg; --frame, default the middle valid frame), or the
    sequence as an animation (.gif .mp4; sub-sampled to --max-frames). Needs the viz extra (pyvista, imageio,
    imageio-ffmpeg for MP4)."""
    import numpy as np

    from . import viz

    out = Path(args.out)
    _check_show_suffix(out)
    seq = _load(args.file, args)
    limits = _limits(args.limits)
    style = {"view": args.view}
    if limits is not None:
        style.update(color="violations", limits=limits)
    valid = np.flatnonzero(seq.valid)
    if not len(valid):
        raise HandkinError(f"{args.file}: no frame with all 21 joints to draw.")
    if out.suffix.lower() in ANIMATION_SUFFIXES:
        step = max(1, int(np.ceil(len(valid) / args.max_frames)))
        frames = valid[::step]
        fps = (seq.fps or 10.0) / step
        viz.animate(seq[frames], out, fps=fps, title=Path(args.file).name, progress=_progress(args), **style)
        print(f"animation of {len(frames)} frames written to {out}")
    else:
        frame = int(valid[len(valid) // 2]) if args.frame is None else args.frame
        if not 0 <= frame < len(seq) or not seq.valid[frame]:
            raise HandkinError(f"{args.file}: frame {frame} is out of range or has missing joints.")
        title = f"{Path(args.file).name} — frame {frame}" + (f", t = {seq.times[frame]:.2f} s" if seq.fps else "")
        viz.render(seq[frame : frame + 1].skeleton()[0], out, title=title, **style)
        print(f"frame {frame} written to {out}")
    return 0


def _check_show_suffix(out: Path) -> None:
    """A :class:`FileFormatError` unless ``out`` names a picture or an animation format `handkin show` writes."""
    from .errors import FileFormatError

    if out.suffix.lower() not in PICTURE_SUFFIXES + ANIMATION_SUFFIXES:
        raise FileFormatError(
            f"--out {str(out)!r}: unknown format {out.suffix or '(no suffix)'!r}; use one frame as "
            f"{' '.join(PICTURE_SUFFIXES)} or the animation as {' '.join(ANIMATION_SUFFIXES)}."
        )


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars on stderr: unless --no-progress, and only on a terminal (logs stay clean)."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def _number(kind: type, minimum: float, strict: bool = True):
    """An argparse ``type``: a finite ``kind`` (int or float) above ``minimum`` (or equal, unless ``strict``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>' if strict else '≥'} {minimum:g}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _convert(args: argparse.Namespace) -> int:
    """Convert a recording between formats (by the file suffixes), joint orders and length units."""
    from .io import save
    from .orders import get_order

    get_order(args.to_order)  # an unknown order is an error before reading, for CSV (named columns) too
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
    from .orders import available_orders, get_order

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
    g.add_argument("--fps", type=_number(float, 0), help="frames per second (default: what the file states)")
    g.add_argument("--key", help="which array of an NPZ holds the joints")
    g.add_argument("--kind", choices=["world", "image"], default="world", help="MediaPipe dumps: which landmarks")
    g.add_argument(
        "--mirrored",
        action="store_true",
        help="MediaPipe dumps: the images were mirrored (selfie view); by default MediaPipe's handedness is swapped",
    )
    g.add_argument(
        "--time-unit",
        choices=["s", "ms", "us"],
        help="unit of a CSV/JSON time column (default: from its name, e.g. time_ms, else guessed with a note)",
    )
    g.add_argument("--markers", metavar="FILE", help="C3D: joint -> marker label mapping (a JSON object or a CSV)")
    g.add_argument(
        "--detector-model",
        metavar="PATH",
        help="videos (.mp4 …): a MediaPipe hand_landmarker.task bundle to detect the hands with (never downloaded)",
    )
    g.add_argument(
        "--start",
        type=_number(float, 0, strict=False),
        metavar="S",
        help="videos: start at this many seconds (default 0)",
    )
    g.add_argument(
        "--duration", type=_number(float, 0), metavar="S", help="videos: analyse this many seconds (default all)"
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
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)

    analyze = sub.add_parser(
        "analyze",
        help="analyse a recording: angles, ROM, limits, bone lengths; write a report",
        description=_analyze.__doc__,
    )
    analyze.add_argument(
        "file", help="a hand sequence: .npz .npy .json .csv .c3d, a MediaPipe dump, or a video (with --detector-model)"
    )
    _add_input_options(analyze)
    analyze.add_argument("--limits", help="a limits JSON (from `handkin fit-limits`; default: the built-in limits)")
    analyze.add_argument(
        "--smooth", choices=["savgol", "gaussian", "median", "butterworth"], help="filter the joints first"
    )
    analyze.add_argument("--out", help="folder for the report, analysis.json and pictures (default: print only)")
    analyze.add_argument("--format", choices=["md", "html"], default="md", help="report format (default md)")
    analyze.add_argument("--no-pictures", action="store_true", help="no pictures in the report")
    analyze.add_argument("--no-progress", action="store_true", help="no progress bars")
    analyze.add_argument(
        "--table",
        metavar="PATH",
        help="write the per-frame results: .csv or .parquet (one row per frame x joint) or .nc (xarray, netCDF)",
    )
    analyze.add_argument(
        "--fill-gaps",
        nargs="?",
        const="",
        metavar="MAX",
        help="interpolate gaps of missing joints up to MAX seconds (e.g. 0.1) or frames (e.g. 3f); default 0.1 s, "
        "3 frames when the times are unknown; longer gaps stay missing and are listed",
    )
    analyze.add_argument(
        "--resample",
        type=_number(float, 0),
        metavar="FPS",
        help="resample to FPS frames per second (linear; after --fill-gaps)",
    )
    analyze.set_defaults(func=_analyze)

    from .defaults import (
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
        "show", help="draw a recording: one frame (.png .jpg) or an animation (.gif .mp4)", description=_show.__doc__
    )
    show.add_argument("file", help="a hand sequence (as for analyze)")
    _add_input_options(show)
    show.add_argument(
        "--out", required=True, help="picture.png/.jpg (one frame) or animation.gif/.mp4 (the sequence), by suffix"
    )
    show.add_argument(
        "--frame",
        type=_number(int, 0, strict=False),
        help="frame to draw in a picture (default: the middle valid frame)",
    )
    show.add_argument(
        "--max-frames",
        type=_number(int, 1, strict=False),
        default=60,
        help="animation: at most this many frames (evenly sub-sampled)",
    )
    show.add_argument("--limits", help="colour by violation of these limits (a limits JSON, or 'default')")
    show.add_argument("--view", default="palm", choices=SHOW_VIEWS, help="camera view (default palm)")
    show.add_argument("--no-progress", action="store_true", help="no progress bar while rendering an animation")
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
    """Run the ``handkin`` command. Bad input (a handkin error, a missing or unreadable file, a missing optional
    package) prints one line ``handkin COMMAND: error: …`` and returns 2, as argparse does for bad arguments; any
    other exception is a bug: one line saying so (exit 70), the traceback with ``HANDKIN_DEBUG=1``. Output piped
    into a reader that stops early (``| head``) ends quietly."""
    args = build_parser().parse_args(argv)
    debug = os.environ.get("HANDKIN_DEBUG", "") not in ("", "0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default", HandednessWarning)
        try:
            code = int(args.func(args))
            sys.stdout.flush()  # here, so that a closed pipe shows up inside the try
            return code
        except BrokenPipeError:
            return _stdout_closed()
        except (HandkinError, OSError, ImportError) as exc:
            if debug:
                raise
            print(f"handkin {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"handkin {args.command}: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            if debug:
                raise
            print(
                f"handkin {args.command}: internal error (a bug in handkin, please report it): "
                f"{type(exc).__name__}: {_one_line(exc)}; run with HANDKIN_DEBUG=1 for the traceback",
                file=sys.stderr,
            )
            return 70
        finally:
            for w in caught:  # handkin's own warnings as one line each; others as Python shows them
                if issubclass(w.category, HandednessWarning):
                    print(f"handkin {args.command}: warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _one_line(exc: BaseException) -> str:
    """An exception as one line: an OSError as ``file: reason``, anything else its message, newlines folded."""
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, HandkinError):
        text = f"{exc.filename}: {exc.strerror.lower()}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _stdout_closed() -> int:
    """stdout's reader went away (``handkin orders | head -1``): point stdout at /dev/null so that Python's final
    flush does not fail again, and exit as a process killed by SIGPIPE would (128 + 13)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (e.g. captured): nothing left to protect
        pass
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
