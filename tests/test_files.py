"""handkin.files: folders written as a whole leave nothing behind (a killed write's folder is removed by the next
write of the same target, a live writer's folder is spared)."""

from __future__ import annotations

import os
import time

import pytest

from handkin.files import temporary_folder


def _age(path, seconds: float = 60.0) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_a_killed_writes_folder_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "cache"
    orphan = tmp_path / ".cache.k1ll3d_x.tmp"  # what mkdtemp made for a write that was SIGKILLed
    (orphan / "images.npy").parent.mkdir()
    (orphan / "images.npy").write_bytes(b"half")
    _age(orphan)
    keep = [tmp_path / n for n in (".other.abcdefgh.tmp", ".cache.notes.tmp", "cache.abcdefgh.tmp")]
    for path in keep:  # another target, not our pattern, or a file: never touched
        path.mkdir()
        _age(path)
    with temporary_folder(target) as tmp:
        assert tmp.is_dir() and tmp.parent == tmp_path and tmp.name.startswith(".cache.")
        (tmp / "x").write_text("whole")
        os.replace(tmp, target)
    assert not orphan.exists() and (target / "x").read_text() == "whole" and all(p.exists() for p in keep)


def test_a_live_writers_folder_is_spared_and_a_failed_write_cleans_up(tmp_path):
    target = tmp_path / "cache"
    with temporary_folder(target) as first:
        _age(first)
        with temporary_folder(target) as second:
            assert first.exists() and second != first
        assert not second.exists()  # not moved into place: removed at the end of its block
    assert not first.exists()
    with pytest.raises(RuntimeError), temporary_folder(target) as tmp:
        raise RuntimeError("crash mid-write")
    assert not tmp.exists() and list(tmp_path.iterdir()) == []
