"""Reading the raw content of data files, shared by the readers: every failure is one
:class:`~handkin.errors.FileFormatError` naming the file (and the field), never a decoder's own exception."""

from __future__ import annotations

import json
import math
import tokenize
import zipfile
import zlib
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError

# What numpy's NPZ/NPY readers raise on a damaged file: a truncated or non-zip archive (BadZipFile), a corrupt
# deflate stream (zlib.error), a short member (EOFError), a bad header or a pickled object array (ValueError), an
# unsupported or encrypted zip member (NotImplementedError, RuntimeError), a header claiming a huge array
# (MemoryError, OverflowError), a garbled header dictionary (numpy parses it with tokenize and ast: TokenError,
# SyntaxError). Only the decoding is inside the guarded block.
_NUMPY_ERRORS = (
    OSError,
    SyntaxError,
    tokenize.TokenError,
    ValueError,
    EOFError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    MemoryError,
    OverflowError,
)


def read_json(path: Path) -> Any:
    """The JSON document in ``path``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read {path} as JSON: {exc}") from exc
    except RecursionError:
        raise FileFormatError(f"cannot read {path} as JSON: it is nested too deeply for a data file.") from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the NPZ archive ``path`` (read eagerly, so a damaged member fails here)."""
    data = _load(path, "an NPZ archive")
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise FileFormatError(f"{path} holds one NPY array, not an NPZ archive of named arrays: rename it to .npy.")
    try:
        with data:
            return {name: data[name] for name in data.files}
    except _NUMPY_ERRORS as exc:
        raise FileFormatError(f"cannot read {path} as an NPZ archive: {exc or type(exc).__name__}") from exc


def _load(path: Path, what: str) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except _NUMPY_ERRORS as exc:
        raise FileFormatError(f"cannot read {path} as {what}: {exc or type(exc).__name__}") from exc


def read_npy(path: Path) -> np.ndarray:
    """The array in the NPY file ``path``."""
    arr = _load(path, "an NPY array")
    if not isinstance(arr, np.ndarray):  # an NpzFile
        arr.close()
        raise FileFormatError(f"{path} is an NPZ archive, not an NPY array: rename it to .npz.")
    return arr


def scalar(value: Any) -> Any:
    """A 0-d array (as stored in an NPZ) as a Python scalar; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value.item() if isinstance(value, np.generic) else value


def fps(value: Any, path: Path, field: str = "'fps'") -> float | None:
    """A frame rate stated in a file: a positive number; ``None``/NaN (or an empty string) means unknown."""
    value = scalar(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise FileFormatError(f"{field} in {path} is {value!r}, not a number of frames per second.") from None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise FileFormatError(f"{field} in {path} is {value!r}, not a number of frames per second.")
    value = float(value)
    if math.isnan(value):
        return None
    if not math.isfinite(value) or value <= 0:
        raise FileFormatError(f"{field} in {path} is {value!r}; a frame rate must be a positive number.")
    return value


def text(value: Any, path: Path, field: str) -> str | None:
    """A name (units, side, order) stated in a file: a string, or ``None`` when absent."""
    value = scalar(value)
    if value is None or isinstance(value, str):
        return value
    raise FileFormatError(f"{field} in {path} is {value!r}; expected a name (a string).")


def sides(value: Any, path: Path, field: str = "'side'") -> str | np.ndarray | None:
    """The side(s) stated in a file: a name, one name per frame (a 1-D array or list of strings), or ``None``."""
    value = scalar(value)
    if value is None or isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 1 and arr.dtype.kind in "US":
        return arr.astype(str)
    if arr.ndim == 1 and arr.dtype == object and all(isinstance(v, str) for v in arr):
        return arr.astype(str)
    raise FileFormatError(
        f"{field} in {path} is {value!r}; expected a side name or one name per frame ('right'/'left')."
    )


def numbers(value: Any, path: Path | str, field: str) -> np.ndarray:
    """A field of numbers (nested lists; ``null`` → NaN) as a float64 array; ragged or non-numeric is an error."""
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        raise FileFormatError(f"{field} in {path} is not numeric (dtype {value.dtype}).")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise FileFormatError(f"{field} in {path} is not an array of numbers: {exc}") from None
    return arr


__all__: list[str] = []
