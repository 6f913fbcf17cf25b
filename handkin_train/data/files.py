"""File helpers of the dataset readers: every missing or unreadable file becomes one
:class:`~handkin_train.errors.DatasetError` that names it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handkin.files import RestrictedUnpickler

from ..errors import DatasetError


def require_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path; a :class:`DatasetError` naming it when it is not a file."""
    p = Path(path)
    if not p.is_file():
        hint = "" if p.parent.is_dir() else f" (folder {p.parent} does not exist either)"
        raise DatasetError(f"{what} not found: {p}{hint}.")
    return p


def require_dir(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise DatasetError(f"{what} not found: {p} is not a folder.")
    return p


def load_json(path: str | os.PathLike, what: str = "annotation file") -> Any:
    """Parsed JSON; missing or invalid files raise :class:`DatasetError` naming the file."""
    p = require_file(path, what)
    try:
        with p.open("rb") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {p}: {exc.strerror or exc}") from None


def load_pickle(path: str | os.PathLike, what: str = "annotation file") -> Any:
    """An unpickled dataset file (Python 2 pickles read with ``latin1``); errors name the file.

    The file is read by a restricted unpickler: it may hold numpy arrays, dtypes and scalars, numbers, strings,
    ``None`` and builtin containers — what RHD's and HO-3D's annotation pickles hold — and nothing else. A pickle
    naming any other class or function (which plain :func:`pickle.load` would call, running its code) is refused
    with a :class:`DatasetError` naming the file and that global, before anything of it runs.
    """
    p = require_file(path, what)
    try:
        with p.open("rb") as f:
            return _DatasetUnpickler(f, p).load()
    except DatasetError:
        raise
    except OSError as exc:
        raise DatasetError(f"cannot read {p}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - truncated or foreign pickles raise many types
        raise DatasetError(f"{p} is not a readable pickle: {type(exc).__name__}: {exc}") from None


class _DatasetUnpickler(RestrictedUnpickler):
    """:class:`handkin.files.RestrictedUnpickler` whose refusals are :class:`DatasetError` naming the file."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def refuse(self, module: str, name: str) -> Exception:
        return DatasetError(
            f"{self._path}: refused to unpickle: the pickle names {module}.{name}, and a dataset pickle may hold only "
            "numpy arrays, numbers, strings and builtin containers (loading one that names other code would run "
            "it). Check where the file came from; nothing of it was run."
        )


def open_image(path: str | os.PathLike):
    """An image file as an RGB PIL image; a missing or unreadable file is a :class:`DatasetError` naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise DatasetError(f"image not found: {path}") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(f"cannot read image {path}: {exc}") from None


def check_images_exist(paths: Sequence[str], source: str, every: int = 1) -> None:
    """Raise naming the first missing image among ``paths[::every]`` (plus the last one)."""
    if len(paths) == 0:
        return
    for p in list(paths[::every]) + [paths[-1]]:
        if not os.path.isfile(p):
            raise DatasetError(f"{source}: image not found: {p}")


__all__ = ["check_images_exist", "load_json", "load_pickle", "open_image", "require_dir", "require_file"]
