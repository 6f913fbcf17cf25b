"""Pictures of hands: 3D scenes (pyvista), animations (GIF/MP4), angle-plane plots (matplotlib), meshes (trimesh).

``import handkin`` never imports this package, and importing it loads none of pyvista, trimesh or
matplotlib: each function's module is imported on first use (so the matplotlib plots work without
pyvista). A missing package raises ImportError with the fix, ``pip install 'handkin[viz]'``.

>>> from handkin import viz
>>> viz.render(handkin.posed_hand(), "hand.png", view="palm")          # doctest: +SKIP
>>> viz.animate(sequence, "hand.gif", fps=10)                          # doctest: +SKIP
>>> viz.plot_angle_planes(limits, data=skeletons).savefig("angles.png")  # doctest: +SKIP
>>> viz.export_mesh(hand, "hand.glb")                                  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "plot_hands": "scene",
    "render": "scene",
    "save_png": "scene",
    "show": "scene",
    "set_view": "scene",
    "VIEWS": "scene",
    "animate": "animation",
    "plot_angle_plane": "angle_plot",
    "plot_angle_planes": "angle_plot",
    "hand_mesh": "mesh",
    "export_mesh": "mesh",
    "FINGER_COLOURS": "colors",
    "AXIS_COLOURS": "colors",
    "VIOLATION_COLOURS": "colors",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = list(_EXPORTS)
