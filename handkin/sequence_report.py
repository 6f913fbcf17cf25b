"""The report of a sequence analysis: ``report.md`` or ``report.html`` (summary, data problems, range of
motion, frames outside the limits, bone lengths), ``analysis.json`` and pictures (matplotlib; pyvista for the
3D snapshot) of a :class:`~handkin.timeseries.SequenceAnalysis`.

Not to be confused with :class:`~handkin.LimitReport` (:mod:`handkin.report`), the result of a limits check.

>>> from handkin import analysis
>>> analysis.write_report(analysis.analyze(seq), "report/")         # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .progress import progress as progress_bar
from .timeseries import ANGLE_NAMES, SequenceAnalysis

#: Below this largest relative deviation (0.01 %, a few micrometres on a finger bone) bone lengths are called
#: constant: what is left is floating-point rounding (e.g. 1e-14 % on forward-kinematics data), not tracking.
CONSTANT_BONE_DEVIATION = 1e-4


def _source_name(result: SequenceAnalysis) -> str:
    """The file name of the analysed recording (or ``"sequence"``), for titles."""
    return Path(result.sequence.source).name if result.sequence.source else "sequence"


def _finger_colours() -> list[str]:
    from .viz.colors import FINGER_COLOURS

    return list(FINGER_COLOURS.values())


def _save(fig: Any, path: str | os.PathLike, dpi: int = 90) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def angles_figure(result: SequenceAnalysis) -> Any:
    """The matplotlib Figure of :func:`plot_angles_over_time`."""
    from .viz._common import require

    require("matplotlib", "angle time-series plots")
    from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone

    deg = np.degrees(result.angles)
    t = result.times
    fig = Figure(figsize=(10, 11))
    axes = fig.subplots(5, 1, sharex=True)
    fingers = ("thumb", "index", "middle", "ring", "little")
    bad = result.violations.frames
    for f, (ax, colour) in enumerate(zip(axes, _finger_colours(), strict=True)):
        for k in range(3):
            a = 3 * f + k
            (line,) = ax.plot(t, deg[:, a, 0], lw=1.2, label=f"{ANGLE_NAMES[a]} flexion")
            ax.plot(t, deg[:, a, 1], lw=0.8, ls="--", color=line.get_color(), label=f"{ANGLE_NAMES[a]} abduction")
        if len(bad):
            ax.plot(t[bad], np.full(len(bad), ax.get_ylim()[1]), "|", color="#d62728", ms=6, label="outside limits")
        ax.set_ylabel(f"{fingers[f]} (°)", color=colour, fontweight="bold")
        ax.spines["left"].set_color(colour)
        ax.spines["left"].set_linewidth(2.5)
        ncol = (len(ax.get_legend_handles_labels()[0]) + 1) // 2  # flexion above abduction, joint by joint
        ax.legend(fontsize=7, ncol=ncol, loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False, borderaxespad=0.1)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(f"time ({result.time_unit})")
    fig.suptitle(f"Joint angles over time — {_source_name(result)} ({len(t)} frames)")
    fig.tight_layout()
    return fig


def plot_angles_over_time(result: SequenceAnalysis, path: str | os.PathLike) -> Path:
    """Flexion (solid) and abduction (dashed) of every joint over time, one panel per finger (matplotlib, PNG);
    the title names the recording, each panel's finger is written in its colour."""
    return _save(angles_figure(result), path)


def bones_figure(result: SequenceAnalysis) -> Any:
    """The matplotlib Figure of :func:`plot_bone_consistency`."""
    from .viz._common import require

    require("matplotlib", "bone-length plots")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3))
    ax = fig.subplots()
    pct = 100 * result.bones.deviation
    largest = float(np.nanmax(result.bones.deviation, initial=0.0))
    ax.set_xlabel(f"time ({result.time_unit})")
    ax.set_ylabel("max bone-length deviation\nfrom the median (%)")
    ax.grid(alpha=0.3)
    if largest < CONSTANT_BONE_DEVIATION:
        ax.plot(result.times, np.zeros_like(pct), lw=1.5, color="#1f77b4")
        ax.set_ylim(-1, 1)
        ax.text(
            0.5, 0.62, f"bone lengths constant (largest deviation {100 * largest:.1g} %, below "
            f"{100 * CONSTANT_BONE_DEVIATION:g} %: rounding, not tracking)", transform=ax.transAxes,
            ha="center", va="center", fontsize=11, gid="constant",
        )  # fmt: skip
    else:
        ax.plot(result.times, pct, lw=1, color="#1f77b4")
        ax.set_ylim(bottom=0)
    fig.suptitle(f"Bone-length consistency — {_source_name(result)}")
    fig.tight_layout()
    return fig


def plot_bone_consistency(result: SequenceAnalysis, path: str | os.PathLike) -> Path:
    """The per-frame largest relative bone-length deviation (%), a tracking-quality signal (PNG); below
    :data:`CONSTANT_BONE_DEVIATION` a flat line labelled "constant" instead of the rounding noise."""
    return _save(bones_figure(result), path)


def _snapshot_frame(result: SequenceAnalysis) -> tuple[int, dict[str, Any], str]:
    """The frame of the report's 3D snapshot, the drawing style (colour, limits, view) and a caption: the frame
    furthest outside the limits (coloured by violation, palm view), or else the most flexed valid frame (finger
    colours, side view: flexion is seen from the side)."""
    worst = result.violations.worst_angle
    valid = np.flatnonzero(result.sequence.valid)
    if np.nanmax(worst, initial=0) > 0:
        frame = int(np.nanargmax(worst))
        style = {"color": "violations", "limits": result.limits, "view": "palm"}
        what = "furthest outside the limits (coloured by violation)"
    else:
        bent = np.nansum(result.angles[:, :, 0], axis=1)
        frame = int(valid[np.argmax(bent[valid])])
        style = {"color": "fingers", "view": "side"}
        what = "the most flexed (seen from the thumb side)"
    return frame, style, what


def _snapshot_title(result: SequenceAnalysis, frame: int, what: str) -> str:
    """``source — frame N, t = … s — what`` (the first words of ``what``)."""
    t = float(result.times[frame])
    when = f"t = {t:.2f} s" if result.time_unit == "s" else f"{result.time_unit} {t:g}"
    short = "most flexed" if "flexed" in what else "worst violation"
    return f"{_source_name(result)} — frame {frame}, {when} — {short}"


def write_report(
    result: SequenceAnalysis,
    out_dir: str | os.PathLike,
    *,
    format: Literal["md", "html"] = "md",
    pictures: bool = True,
    snapshot: bool = True,
    title: str = "Hand sequence analysis",
    progress: bool = False,
) -> Path:
    """Write ``report.md`` (or ``report.html``), ``analysis.json`` and pictures into ``out_dir``; returns the report.

    Pictures (matplotlib, pyvista for the 3D snapshot; skipped with a note when not installed):
    ``angles_over_time.png``, ``angle_planes.png`` (data and limits per joint), ``bone_lengths.png``,
    ``snapshot.png`` (the frame with the largest limit violation, or the middle frame, coloured by violation).
    ``progress``: a progress bar over the pictures (they take seconds).
    """
    if format not in ("md", "html"):
        raise ValueError(f"report format must be 'md' or 'html', got {format!r}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis.json").write_text(json.dumps(result.to_dict(), indent=2, default=_json_default), encoding="utf-8")
    images: list[tuple[str, str]] = []
    notes: list[str] = []
    bar = progress_bar(total=3 + snapshot, desc="pictures", unit="picture", enabled=progress and pictures)
    if pictures:
        try:
            images.append(("Joint angles over time", plot_angles_over_time(result, out / "angles_over_time.png").name))
            bar.update()
            images.append(("Bone-length consistency", plot_bone_consistency(result, out / "bone_lengths.png").name))
            bar.update()
            from .viz import plot_angle_planes

            ok = result.sequence.valid
            planes_title = f"Joint angles and limits — {_source_name(result)} ({int(ok.sum())} valid frames)"
            fig = plot_angle_planes(result.limits, data=result.angles[ok], title=planes_title)
            fig.savefig(out / "angle_planes.png", dpi=80)
            import matplotlib.pyplot as plt

            plt.close(fig)
            images.append(("Angle planes (data, limit polygon, min/max box)", "angle_planes.png"))
            bar.update()
        except ImportError as exc:
            notes.append(f"plots skipped: {exc}")
        if snapshot:
            try:
                from .viz import render

                frame, style, what = _snapshot_frame(result)
                caption = f"3D snapshot of frame {frame}, {what}"
                hand = result.sequence[frame : frame + 1].skeleton()[0]
                render(hand, out / "snapshot.png", window_size=(640, 480), title=_snapshot_title(result, frame, what), **style)
                images.append((caption, "snapshot.png"))
                bar.update()
            except ImportError as exc:
                notes.append(f"3D snapshot skipped: {exc}")
            except Exception as exc:  # pragma: no cover - rendering back-ends vary (no OpenGL, …)
                notes.append(f"3D snapshot skipped: {type(exc).__name__}: {exc}")
    bar.close()
    sections = [
        ("Summary", result.summary_table()),
        ("Data problems", "\n".join(f"- {p}" for p in result.problems) or "None: every frame is complete."),
        (f"Range of motion (degrees, {result.rom.frames} valid frames)", result.rom.table()),
        ("Frames outside the limits", result.violations.table()),
        ("Bone lengths (tracking quality)", result.bones.table()),
    ]
    if format == "md":
        parts = [f"# {title}", ""]
        for head, body in sections:
            parts += [f"## {head}", "", body, ""]
        if images:
            parts += ["## Pictures", ""]
            parts += [f"### {cap}\n\n![{cap}]({name})\n" for cap, name in images]
        parts += [f"- {n}" for n in notes]
        path = out / "report.md"
        path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    else:
        body = [f"<h1>{html.escape(title)}</h1>"]
        for head, text in sections:
            body.append(f"<h2>{html.escape(head)}</h2>{_md_table_to_html(text)}")
        if images:
            body.append("<h2>Pictures</h2>")
            body += [
                f"<figure><img src='{n}' alt='{html.escape(c)}'><figcaption>{html.escape(c)}</figcaption></figure>"
                for c, n in images
            ]
        body += [f"<p>{html.escape(n)}</p>" for n in notes]
        style = "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}"
        path = out / "report.html"
        path.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head><body>"
            + "\n".join(body)
            + "</body></html>\n",
            encoding="utf-8",
        )
    return path


def _md_table_to_html(text: str) -> str:
    """A report section as HTML: a Markdown table (from :func:`~handkin.tables.format_table`) as ``<table>``,
    any other text line by line as paragraphs (list dashes dropped)."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("|"):
        return "".join(f"<p>{html.escape(line.lstrip('- '))}</p>" for line in lines)
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines if not line.startswith("|---")]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
    return f"<table><tr>{head}</tr>{rows}</table>"


def _json_default(value: Any) -> Any:
    """``json.dumps`` fallback: numpy scalars as Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


__all__ = [
    "write_report",
    "plot_angles_over_time",
    "plot_bone_consistency",
    "angles_figure",
    "bones_figure",
    "CONSTANT_BONE_DEVIATION",
]
