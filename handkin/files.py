"""Atomic file writes: nothing half-written is ever left at the destination, whatever happens mid-write.

A write goes to ``<name>.<8 random characters>.tmp`` beside the destination and is renamed over it at the end,
with the modes a plain ``open`` would give (``0o666`` / folders ``0o777`` less the umask; ``mkstemp`` makes 0600).
A process killed mid-write (SIGKILL, power loss) leaves that temporary file behind; the next write to the same
destination removes such leftovers — only files of exactly this pattern, older than its own temporary file and
not held by a live writer (each writer keeps a lock on its temporary file where the OS offers ``flock``).
:func:`temporary_folder` does the same for a folder written as a whole (``.<name>.<8 characters>.tmp``).
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted there anyway
    fcntl = None

_SUFFIX = ".tmp"


def _temp_pattern(prefix: str) -> re.Pattern[str]:
    """The names ``tempfile.mkstemp(prefix=prefix, suffix=".tmp")`` makes (8 characters of its alphabet)."""
    return re.compile(re.escape(prefix) + "[a-z0-9_]{8}" + re.escape(_SUFFIX))


def _umask() -> int:
    """The process's umask: from /proc on Linux (read without changing it), else read once by setting and
    restoring it (the only portable way; not repeated, since another thread could create a file meanwhile)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_once()


@cache
def _umask_once() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; ``False`` when another process holds one (or no flock)."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove_leftovers(folder: Path, prefix: str, own_tmp: str, own_mtime: float, folders: bool = False) -> None:
    """Delete the temporaries (files, or folders when ``folders``) of earlier, interrupted writes in ``folder``
    whose names start with ``prefix`` (see the module docstring)."""
    pattern = _temp_pattern(prefix)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.path == own_tmp or not pattern.fullmatch(entry.name):
            continue
        try:
            kind_ok = entry.is_dir(follow_symlinks=False) if folders else entry.is_file(follow_symlinks=False)
            if not kind_ok or entry.stat(follow_symlinks=False).st_mtime >= own_mtime:
                continue
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if fcntl is None or _try_lock(fd):  # a live writer holds its lock: leave its temporary alone
                if folders:
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """``with atomic_write(path, "w") as f: ...`` — writes a temporary file in ``path``'s folder, flushes it to
    disk and renames it over ``path`` only when the block succeeds; on any error the temporary file is removed
    and ``path`` keeps its old content. Parent folders are created; temporary files left by killed writes to
    ``path`` are removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=_SUFFIX, dir=path.parent)
    try:
        os.chmod(fd if os.chmod in os.supports_fd else tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            locked = _try_lock(f.fileno())
            _remove_leftovers(path.parent, path.name + ".", tmp, os.fstat(f.fileno()).st_mtime)
            yield f
            f.flush()
            os.fsync(f.fileno())
            if locked:  # renamed while still locked, so no other writer's clean-up can take it meanwhile
                os.replace(tmp, path)
        if not locked:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def temporary_folder(path: str | os.PathLike) -> Iterator[Path]:
    """``with temporary_folder(target) as tmp: ...`` — a new folder ``.<name>.<8 characters>.tmp`` beside
    ``target`` for writing a folder as a whole (the block renames it into place when done). It is removed if
    it still exists when the block ends, successfully or not; leftovers of killed writes to ``target`` are
    removed (those not locked by a live writer: this one holds a lock on its folder while the block runs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}."
    tmp = tempfile.mkdtemp(prefix=prefix, suffix=_SUFFIX, dir=path.parent)
    os.chmod(tmp, 0o777 & ~_umask())
    fd = os.open(tmp, os.O_RDONLY)
    try:
        _try_lock(fd)
        _remove_leftovers(path.parent, prefix, tmp, os.fstat(fd).st_mtime, folders=True)
        yield Path(tmp)
    finally:
        os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)


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
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {submodule}.{name}")


class RestrictedUnpickler(pickle.Unpickler):
    """Builds only numpy arrays / dtypes / scalars and builtin values (numbers, strings, containers,
    ``OrderedDict``); any other global is refused *before* it runs, with the exception :meth:`refuse` returns
    (subclasses name their file and error type)."""

    def refuse(self, module: str, name: str) -> Exception:
        return pickle.UnpicklingError(f"refused to unpickle {module}.{name}")

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
        raise self.refuse(module, name)


__all__ = ["atomic_write", "temporary_folder", "RestrictedUnpickler"]
