"""Atomic file writes: nothing half-written is ever left at the destination, whatever happens mid-write.

A write goes to ``<name>.<8 random characters>.tmp`` beside the destination and is renamed over it at the end.
A process killed mid-write (SIGKILL, power loss) leaves that temporary file behind; the next write to the same
destination removes such leftovers — only files of exactly this pattern, older than its own temporary file and
not held by a live writer (each writer keeps a lock on its temporary file where the OS offers ``flock``).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted there anyway
    fcntl = None

_SUFFIX = ".tmp"


def _temp_pattern(name: str) -> re.Pattern[str]:
    """The names ``tempfile.mkstemp(prefix=name + ".", suffix=".tmp")`` makes (8 characters of its alphabet)."""
    return re.compile(re.escape(name + ".") + "[a-z0-9_]{8}" + re.escape(_SUFFIX))


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; ``False`` when another process holds one (or no flock)."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove_leftovers(path: Path, own_tmp: str, own_mtime: float) -> None:
    """Delete the temporary files of earlier, interrupted writes to ``path`` (see the module docstring)."""
    pattern = _temp_pattern(path.name)
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if entry.path == own_tmp or not pattern.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= own_mtime:
                continue
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if fcntl is None or _try_lock(fd):  # a live writer holds its lock: leave its file alone
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
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            locked = _try_lock(f.fileno())
            _remove_leftovers(path, tmp, os.fstat(f.fileno()).st_mtime)
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


__all__ = ["atomic_write"]
