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
    """An unpickled file (Python 2 pickles read with ``latin1``); errors name the file.

    Pickles can run code when loaded: read only dataset files you trust.
    """
    p = require_file(path, what)
    try:
        with p.open("rb") as f:
            return pickle.load(f, encoding="latin1")
    except OSError as exc:
        raise DatasetError(f"cannot read {p}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - truncated or foreign pickles raise many types
        raise DatasetError(f"{p} is not a readable pickle: {type(exc).__name__}: {exc}") from None


def check_images_exist(paths: Sequence[str], source: str, every: int = 1) -> None:
    """Raise naming the first missing image among ``paths[::every]`` (plus the last one)."""
    if len(paths) == 0:
        return
    for p in list(paths[::every]) + [paths[-1]]:
        if not os.path.isfile(p):
            raise DatasetError(f"{source}: image not found: {p}")


__all__ = ["check_images_exist", "load_json", "load_pickle", "require_dir", "require_file"]
