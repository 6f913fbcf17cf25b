"""File helpers of the dataset readers: every missing or unreadable file becomes one
:class:`~handkin_train.errors.DatasetError` that names it."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


#: numpy's reconstruction functions a pickled array, dtype or scalar names, by submodule (``numpy._core.<sub>``
#: in numpy 2, ``numpy.core.<sub>`` in numpy 1 and in pickles written by it, also from Python 2).
_NUMPY_FUNCTIONS = {"multiarray": ("_reconstruct", "scalar"), "numeric": ("_frombuffer",)}
#: Builtins that pickles of containers and numbers name (``__builtin__`` in Python 2 and protocols < 3).
_BUILTINS = {"set": set, "frozenset": frozenset, "bytearray": bytearray, "complex": complex}


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as pickles of ``bytes`` at protocol < 3 use it (latin1 only; other codecs refused)."""
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} (only latin1 is expected)")
    return text.encode("latin1")


def _numpy_function(submodule: str, name: str) -> Any:
    import importlib

    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {submodule}.{name}")


class _DatasetUnpickler(pickle.Unpickler):
    """An unpickler that builds only numpy arrays / dtypes / scalars and builtin values (see :func:`load_pickle`)."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if module == "numpy" and name in ("ndarray", "dtype"):
            import numpy as np

            return getattr(np, name)
        package, _, sub = module.rpartition(".")
        if package in ("numpy.core", "numpy._core") and name in _NUMPY_FUNCTIONS.get(sub, ()):
            return _numpy_function(sub, name)
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return _BUILTINS[name]
        if (module, name) == ("collections", "OrderedDict"):
            from collections import OrderedDict

            return OrderedDict
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise DatasetError(
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
