"""Hand sequences ``(T, 21, 3)`` as GIF or MP4 (pyvista off-screen, written through imageio), with a time label."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ShapeError
from ._common import require, sequence_list
from .scene import add_title, build

_FORMATS = (".gif", ".mp4")


def animate(
    sequences: Any,
    path: str | os.PathLike,
    *,
    fps: float = 10.0,
    times: Any = None,
    time_label: str | None = "t = {t:.2f} s",
    title: str | None = None,
    window_size: tuple[int, int] = (640, 480),
    units: Any = "mm",
    side: Any = "right",
    **style: Any,
) -> Path:
    """Write a hand sequence (a ``HandSkeleton`` or array ``(T, 21, 3)``, or a list of them drawn together)
    as a GIF or MP4 (by ``path``'s suffix) of T frames at ``fps``; returns the path.

    ``times`` ``(T,)`` in seconds (default frame / ``fps``) fill ``time_label``, formatted with ``t`` (time)
    and ``i`` (frame index); None for no label. It is written on the title line at the top, after ``title``
    (e.g. the source file), in a strip the hands are kept clear of. ``style``: the keywords of :func:`~handkin.viz.plot_hands`
    (``view``, ``K``, ``image_size``, ``color``, ``limits``, ``labels``, ``palm``, ``frames``, …); the camera
    stays fixed and fits every frame. GIF needs imageio, MP4 also imageio-ffmpeg.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"cannot write {path.name!r}: animations are {' or '.join(_FORMATS)} files.")
    require("imageio", "writing GIF/MP4 animations")
    if suffix == ".mp4":
        require("imageio_ffmpeg", "writing MP4 animations", "pip install imageio-ffmpeg")
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
        for i in range(n):
            drawing.update(i)
            if labelled:
                stamp = time_label.format(t=t[i], i=i) if time_label is not None else ""
                text = "  —  ".join(x for x in (heading, stamp) if x)
                add_title(plotter, text)
            plotter.write_frame()
    finally:
        plotter.close()
    return path


__all__ = ["animate"]
