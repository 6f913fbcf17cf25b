"""Per-frame tables: tidy pandas DataFrames (one row per frame × item, or one row per frame), the column and
unit names they share with xarray Datasets, and writing them to CSV, Parquet or netCDF files (atomically).

pandas, xarray and pyarrow are optional (``pip install 'handkin[tables]'``) and imported only when a table is
made. The tables themselves are built by :meth:`HandSequence.to_dataframe <handkin.io.HandSequence.to_dataframe>`,
:meth:`HandSequence.to_xarray <handkin.io.HandSequence.to_xarray>` and the same methods of
:class:`~handkin.timeseries.SequenceAnalysis`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import FileFormatError, ShapeError
from .files import atomic_write

INSTALL_HINT = "pip install 'handkin[tables]'"

#: Table files by suffix.
TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".nc": "netcdf"}

Form = Literal["long", "wide"]


def require(module: str, feature: str = "per-frame tables") -> Any:
    """Import ``pandas``, ``xarray`` or ``pyarrow``, or raise one ``ImportError`` naming the ``tables`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{feature} need the {module!r} package: {INSTALL_HINT}") from exc


def time_label(time_unit: str) -> str:
    """The time column's name: ``time_s`` for seconds, ``time_frame`` when the times are frame numbers."""
    return f"time_{time_unit}"


def speed_label(time_unit: str) -> str:
    """The suffix of angular-speed columns: ``deg_s`` or ``deg_frame``."""
    return f"deg_{time_unit}"


def movement_time_unit(time_unit: str) -> str:
    """``time_unit`` as the ``movement`` package's datasets spell it (``"seconds"`` / ``"frames"``)."""
    return "seconds" if time_unit == "s" else "frames"


def frame_table(
    per_frame: Mapping[str, np.ndarray],
    per_item: Mapping[str, np.ndarray],
    items: Sequence[str],
    *,
    item: str = "joint",
    form: Form = "long",
) -> Any:
    """A pandas DataFrame of per-frame columns ``(T,)`` and per-item columns ``(T, N)`` (``N = len(items)``).

    ``form="long"`` (tidy): one row per frame × item, the per-frame columns repeated, a column ``item`` naming
    the item, then the per-item columns. ``form="wide"``: one row per frame, the per-item columns spread as
    ``{item name}_{column}`` (e.g. ``index_pip_flexion_deg``)."""
    pd = require("pandas")
    n = len(items)
    t = len(next(iter(per_frame.values())))
    for name, values in per_item.items():
        if np.shape(values) != (t, n):
            raise ShapeError(f"table column {name!r} has shape {np.shape(values)}, expected ({t}, {n}).")
    if form == "long":
        data = {k: np.repeat(np.asarray(v), n) for k, v in per_frame.items()}
        data[item] = np.tile(np.asarray(items, dtype=object), t)
        data.update({k: np.asarray(v).reshape(-1) for k, v in per_item.items()})
        return pd.DataFrame(data)
    if form == "wide":
        data = {k: np.asarray(v) for k, v in per_frame.items()}
        for j, name in enumerate(items):
            data.update({f"{name}_{k}": np.asarray(v)[:, j] for k, v in per_item.items()})
        return pd.DataFrame(data)
    raise ValueError(f"table form must be 'long' or 'wide', got {form!r}.")


def table_format(path: str | os.PathLike) -> str:
    """``"csv"``, ``"parquet"`` or ``"netcdf"`` from ``path``'s suffix; ``FileFormatError`` for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise FileFormatError(
            f"{path}: a table file must end in .csv, .parquet or .nc (netCDF, the xarray Dataset); "
            f"got {suffix or 'no suffix'!r}."
        )
    return TABLE_SUFFIXES[suffix]


def write_table(make_frame: Any, make_dataset: Any, path: str | os.PathLike) -> Path:
    """Write a table to ``path`` (format by suffix, :func:`table_format`), atomically: ``make_frame()`` (a
    DataFrame) for CSV and Parquet, ``make_dataset()`` (an xarray Dataset) for netCDF. Returns the path."""
    path = Path(path)
    kind = table_format(path)
    if kind == "csv":
        text = make_frame().to_csv(index=False)
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write(text)
    elif kind == "parquet":
        require("pyarrow", "Parquet tables")
        frame = make_frame()
        with atomic_write(path) as f:
            frame.to_parquet(f, index=False)
    else:
        data = _netcdf_bytes(make_dataset(), path)
        with atomic_write(path) as f:
            f.write(data)
    return path


def _netcdf_bytes(dataset: Any, path: Path) -> bytes:
    """The Dataset as netCDF bytes (xarray's in-memory writer; netCDF3 through scipy when no netCDF4 library)."""
    try:
        return bytes(dataset.to_netcdf())
    except ValueError as exc:  # no backend able to write to memory
        raise ImportError(
            f"writing {path} needs a netCDF backend for xarray (scipy, or h5netcdf/netCDF4): {exc}"
        ) from exc


__all__ = [
    "INSTALL_HINT",
    "TABLE_SUFFIXES",
    "require",
    "time_label",
    "speed_label",
    "movement_time_unit",
    "frame_table",
    "table_format",
    "write_table",
]
