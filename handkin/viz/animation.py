"""Hand sequences ``(T, 21, 3)`` as GIF or MP4 (pyvista off-screen, written through imageio), with a time label."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, ShapeError
from ..io.sequence import HandSequence
from ..progress import progress as progress_bar
from ._common import require, sequence_list
from .scene import add_title, build

_FORMATS = (".gif", ".mp4")
_TIME_LABEL = "t = {t:.2f} s"


def animate(
    sequences: Any,
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    times: Any = None,
    time_label: str | None = _TIME_LABEL,
    title: str | None = None,
    window_size: tuple[int, int] = (640, 480),
    units: Any = "mm",
    side: Any = "right",
    progress: bool = False,
    **style: Any,
) -> Path:
    """Write a hand sequence (a ``HandSequence``, a ``HandSkeleton`` or array ``(T, 21, 3)``, or a list of
    skeletons/arrays drawn together) as a GIF or MP4 (by ``path``'s suffix) of T frames at ``fps``; returns the path.

    ``fps`` defaults to a ``HandSequence``'s own, else 10. ``times`` ``(T,)`` in seconds (default frame / ``fps``;
    a ``HandSequence``'s own times) fill ``time_label``, formatted with ``t`` (time) and ``i`` (frame index);
    None for no label. It is written on the title line at the top, after ``title`` (e.g. the source file), in a
    strip the hands are kept clear of. A ``HandSequence`` draws its valid frames (labelled by frame number when
    its fps is unknown). ``progress``: a progress bar over the frames rendered. ``style``: the keywords of
    :func:`~handkin.viz.plot_hands`
    (``view``, ``K``, ``image_size``, ``color``, ``limits``, ``labels``, ``palm``, ``frames``, …); the camera
    stays fixed and fits every frame. GIF needs imageio, MP4 also imageio-ffmpeg.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise FileFormatError(f"cannot write {path.name!r}: animations are {' or '.join(_FORMATS)} files.")
    require("imageio", "writing GIF/MP4 animations")
    if suffix == ".mp4":
        require(
            "imageio_ffmpeg", "writing MP4 animations", "pip install imageio-ffmpeg (in pip install 'handkin[viz]')"
        )
    if isinstance(sequences, HandSequence):
        sequences, fps, times, time_label = _sequence_frames(sequences, fps, times, time_label)
    fps = 10.0 if fps is None else fps
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}.")
    skeletons = sequence_list(sequences, units, side)
    n = skeletons[0].batch_shape[0]
    t = np.arange(n) / fps if times is None else np.asarray(times, dtype=float).reshape(-1)
    if t.shape != (n,):
        raise ShapeError(f"times must hold one value per frame ({n}), got shape {np.shape(times)}.")
    style.setdefault("off_screen", True)
    heading = title or ""
    labelled = time_label is not None or bool(heading)
    plotter, drawing = build(skeletons, window_size=window_size, title=" " if labelled else None, **style)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".gif":
            plotter.open_gif(str(path), fps=fps)
        else:
            plotter.open_movie(str(path), framerate=fps, macro_block_size=2)
        for i in progress_bar(range(n), total=n, desc="rendering", unit="frame", enabled=progress):
            drawing.update(i)
            if labelled:
                stamp = time_label.format(t=t[i], i=i) if time_label is not None else ""
                text = "  —  ".join(x for x in (heading, stamp) if x)
                add_title(plotter, text)
            plotter.write_frame()
    finally:
        plotter.close()
    return path


def _sequence_frames(
    seq: HandSequence, fps: float | None, times: Any, time_label: str | None
) -> tuple[Any, float | None, Any, str | None]:
    """A ``HandSequence``'s valid frames as a skeleton, with its fps and times unless given; without a known fps
    its times are frame numbers, so the default label names the frame instead of seconds."""
    ok = seq.valid
    if times is None:
        times = seq.times[ok]
        if seq.fps is None and time_label == _TIME_LABEL:
            time_label = "frame {t:.0f}"
    return seq.skeleton(), (seq.fps if fps is None else fps), times, time_label


__all__ = ["animate"]
