"""Checkpoints: no code runs from a checkpoint, flipped bytes are caught, a resume checks the run, writes fail
cleanly (read-only folder, disk full) and leftovers of killed writes are removed."""

import errno
import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from test_train_engine import SIZE, tiny_config  # noqa: E402

from handkin_train import Trainer  # noqa: E402
from handkin_train.checkpoints import load_checkpoint, model_from_checkpoint  # noqa: E402
from handkin_train.cli import main as cli_main  # noqa: E402
from handkin_train.datasets import build_dataset  # noqa: E402
from handkin_train.errors import CheckpointError, ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def data():
    """16 training, 12 other training and 8 validation synthetic hands."""
    c = tiny_config(Path("unused"))
    other = c.data.train.model_copy(update={"size": 12})
    return build_dataset(c.data.train, SIZE), build_dataset(other, SIZE), build_dataset(c.data.val, SIZE)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    """``last.pt`` of the tiny run after 2 of its 4 steps per epoch (mid-epoch, momentum buffers filled)."""
    train, _, val = data
    folder = tmp_path_factory.mktemp("trained")
    Trainer(tiny_config(folder), train, val).fit(max_steps=2)
    return folder / "run" / "last.pt"


def run_with(tmp_path, trained, **sections):
    """A config of the tiny run writing to ``tmp_path/run`` (which holds a copy of ``trained`` as last.pt)."""
    (tmp_path / "run").mkdir(exist_ok=True)
    shutil.copy(trained, tmp_path / "run" / "last.pt")
    return tiny_config(tmp_path, **sections)


class Exploit:
    """Unpickling this object calls ``os.makedirs(target)``: what a hostile checkpoint does."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return (os.makedirs, (self.target,))


def hostile_files(tmp_path) -> tuple[Path, list[Path]]:
    """The directory an exploit would create and hostile checkpoints: a plain torch.save file (format 1) and
    one in format 2 with a valid hash (the hash is no signature: safety must come from the loader)."""
    target = tmp_path / "pwned"
    state = {"version": 1, "model": {"x": Exploit(target)}, "config": {}}
    plain = tmp_path / "plain.pt"
    torch.save(state, plain)
    buffer = io.BytesIO()
    torch.save({**state, "version": 2}, buffer)
    payload = buffer.getvalue()
    hashed = tmp_path / "hashed.pt"
    hashed.write_bytes(
        b"HANDKIN-TRAIN-CHECKPOINT 2 sha256:%s\n" % hashlib.sha256(payload).hexdigest().encode() + payload
    )
    return target, [plain, hashed]


def test_a_hostile_checkpoint_runs_no_code(tmp_path, data, capsys):
    target, files = hostile_files(tmp_path)
    for path in files:
        for load in (load_checkpoint, model_from_checkpoint):
            with pytest.raises(CheckpointError, match=f"{path.name}.*would run code"):
                load(path)
            assert not target.exists()
        assert cli_main(["evaluate", str(path)]) == 2 and "would run code" in capsys.readouterr().err
        assert cli_main(["predict", str(path), str(tmp_path / "x.png"), "-o", str(tmp_path / "o.json")]) == 2
        assert not target.exists()
    train, _, val = data
    (tmp_path / "run").mkdir()
    shutil.copy(files[0], tmp_path / "run" / "last.pt")
    with pytest.raises(CheckpointError, match="last.pt.*would run code"):
        Trainer(tiny_config(tmp_path), train, val).fit()
    assert not target.exists()


def test_checkpoints_hold_only_plain_data_and_round_trip(tmp_path, trained, data):
    raw = trained.read_bytes()
    header, payload = raw.split(b"\n", 1)
    assert header.startswith(b"HANDKIN-TRAIN-CHECKPOINT 2 sha256:")
    state = torch.load(io.BytesIO(payload), weights_only=True)  # nothing but tensors, numbers, strings, dicts
    assert state["step"] == state["step_in_epoch"] == 2 and state["train_size"] == 16 and state["world_size"] == 1
    assert state["optimizer"]["state"] and isinstance(state["config"], dict)
    train, _, val = data
    trainer = Trainer(run_with(tmp_path, trained), train, val)
    trainer.resume(tmp_path / "run" / "last.pt")
    assert (trainer.epoch, trainer.step, trainer.step_in_epoch) == (0, 2, 2)
    again = trainer.state_dict()
    assert all(torch.equal(again["model"][k], state["model"][k]) for k in state["model"])
    old_momentum, new_momentum = state["optimizer"]["state"], again["optimizer"]["state"]
    assert all(torch.equal(new_momentum[i]["momentum_buffer"], m["momentum_buffer"]) for i, m in old_momentum.items())
    from handkin_train.runtime import rng_state

    assert torch.equal(rng_state()["torch"], state["rng"]["torch"])  # (the exact replay: test_train_engine)


def test_flipped_bytes_anywhere_are_caught(tmp_path, trained):
    raw = trained.read_bytes()
    header_end = raw.index(b"\n")
    positions = [0, 10, header_end - 3, header_end, header_end + 1, header_end + 5000, len(raw) // 2, len(raw) - 1]
    for i in positions:
        bad = bytearray(raw)
        bad[i] ^= 0x10
        path = tmp_path / f"flip{i}.pt"
        path.write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match=f"flip{i}.pt"):
            load_checkpoint(path)
    (tmp_path / "short.pt").write_bytes(raw[: len(raw) - 100])
    with pytest.raises(CheckpointError, match="short.pt is corrupt"):
        load_checkpoint(tmp_path / "short.pt")


def test_resume_refuses_a_changed_batch_size_or_training_set(tmp_path, trained, data):
    train, other, val = data
    with pytest.raises(CheckpointError, match=r"data\.batch_size 4 → 2.*epoch 1 \(after 2 batches\).*--resume-anyway"):
        Trainer(run_with(tmp_path, trained, data={"batch_size": 2}), train, val).fit()
    config = run_with(tmp_path, trained, data={"train": {"size": 12, "seed": 0}})
    with pytest.raises(CheckpointError, match=r"data\.train\.size 16 → 12; training samples 16 → 12"):
        Trainer(config, other, val).fit()
    with pytest.raises(CheckpointError, match=r"training samples 16 → 12"):  # a dataset given in code
        Trainer(run_with(tmp_path, trained), other, val).fit()
    with pytest.raises(CheckpointError, match=r"optim\.lr 0\.01 → 0\.02.*applies the new optimiser settings"):
        Trainer(run_with(tmp_path, trained, optim={"lr": 0.02}), train, val).fit()
    before = (tmp_path / "run" / "last.pt").read_bytes()
    Trainer(run_with(tmp_path, trained, optim={"epochs": 3}), train, val).resume(tmp_path / "run" / "last.pt")
    assert (tmp_path / "run" / "last.pt").read_bytes() == before  # more epochs: a plain resume, nothing written


def test_resume_refuses_another_model_even_anyway(tmp_path, trained, data):
    train, _, val = data
    config = run_with(tmp_path, trained, model={"backbone": "resnet34"})
    for anyway in (False, True):
        with pytest.raises(
            CheckpointError, match=r"another model \(model\.backbone 'resnet18' → 'resnet34'\).*--restart"
        ):
            Trainer(config, train, val).fit(resume_anyway=anyway)


def test_resume_anyway_keeps_the_weights_and_restarts_the_epoch(tmp_path, trained, data):
    train, _, val = data
    state = load_checkpoint(trained)
    trainer = Trainer(run_with(tmp_path, trained, data={"batch_size": 2}, optim={"lr": 0.02}), train, val)
    with pytest.warns(UserWarning, match=r"data\.batch_size 4 → 2; epoch 1 restarts from its first batch"):
        trainer.resume(tmp_path / "run" / "last.pt", resume_anyway=True)
    assert (trainer.epoch, trainer.step, trainer.step_in_epoch) == (0, 2, 0)
    assert all(torch.equal(v, state["model"][k]) for k, v in trainer.model.state_dict().items())
    assert trainer.optimizer.state_dict()["state"].keys() == state["optimizer"]["state"].keys()
    assert trainer.optimizer.param_groups[0]["lr"] == 0.02 and trainer.scheduler.get_last_lr() == [0.02]


def test_cli_fit_resume_anyway(tmp_path, trained, capsys):
    config = run_with(tmp_path, trained, data={"batch_size": 8})
    path = tmp_path / "run.yaml"
    path.write_text(config.to_yaml())
    assert cli_main(["fit", str(path), "--max-steps", "1"]) == 2
    assert "data.batch_size 4 → 8" in capsys.readouterr().err
    with pytest.warns(UserWarning, match="restarts from its first batch"):
        assert cli_main(["fit", str(path), "--max-steps", "1", "--resume-anyway"]) == 0
    assert "epoch 0, step 3" in capsys.readouterr().out
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (state["step"], state["step_in_epoch"], state["config"]["data"]["batch_size"]) == (3, 1, 8)


def test_disk_full_keeps_the_last_checkpoint(tmp_path, trained, data, monkeypatch):
    train, _, val = data
    trainer = Trainer(run_with(tmp_path, trained), train, val)
    last = tmp_path / "run" / "last.pt"
    before = last.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(
        CheckpointError, match=f"cannot write checkpoint {last}: No space left.*last.pt there is intact"
    ):
        trainer.save()
    assert last.read_bytes() == before and sorted(p.name for p in last.parent.iterdir()) == ["last.pt"]


def test_unwritable_output_folder_is_one_clear_error(tmp_path, trained, data, monkeypatch):
    train, _, val = data
    (tmp_path / "file").write_text("not a folder")
    config = tiny_config(tmp_path, output={"dir": str(tmp_path / "file" / "run")})
    with pytest.raises(ConfigError, match=f"output.dir {tmp_path / 'file' / 'run'} cannot be written"):
        Trainer(config, train, val).fit()
    trainer = Trainer(run_with(tmp_path, trained), train, val)  # the folder turns read-only during the run

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    with pytest.raises(CheckpointError, match=r"cannot write checkpoint .*best.pt: Read-only file system"):
        trainer.save("best.pt")


def test_format_1_checkpoints_still_load_safely(tmp_path, trained, data):
    """A checkpoint of the previous release (plain torch.save, NumPy's and Python's own RNG tuples) resumes."""
    train, _, val = data
    state = load_checkpoint(trained)
    legacy = {**state, "version": 1, "rng": {**state["rng"]}}
    for key in ("train_size", "world_size"):
        legacy.pop(key)
    random.seed(5)
    np.random.seed(5)
    legacy["rng"]["python"], legacy["rng"]["numpy"] = random.getstate(), np.random.get_state()
    expected = (random.random(), float(np.random.rand()))
    config = run_with(tmp_path, trained)
    torch.save(legacy, tmp_path / "run" / "last.pt")
    trainer = Trainer(config, train, val)
    trainer.resume(tmp_path / "run" / "last.pt")
    assert (trainer.step, trainer.step_in_epoch) == (2, 2)
    assert (random.random(), float(np.random.rand())) == expected
    trainer.save()
    assert (tmp_path / "run" / "last.pt").read_bytes().startswith(b"HANDKIN-TRAIN-CHECKPOINT 2 ")


KILLED_WRITE = """
import os, signal, sys
from handkin.files import atomic_write
with atomic_write(sys.argv[1]) as f:
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_leftovers_of_a_killed_write_are_removed_by_the_next(tmp_path):
    from handkin.files import atomic_write

    target = tmp_path / "last.pt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    (orphan,) = tmp_path.glob("last.pt.*.tmp")
    old = time.time() - 60
    os.utime(orphan, (old, old))  # the killed write began before the next one (1 minute ago)
    keep = [tmp_path / n for n in ("last.pt.notes.tmp", "best.pt.abcdefgh.tmp", "last.pt.abcdefgh.tmp.bak")]
    for path in keep:  # other names, or not our pattern: never touched
        path.write_text("mine")
        os.utime(path, (old, old))
    with atomic_write(target) as f:
        f.write(b"whole")
    assert not orphan.exists() and target.read_bytes() == b"whole" and all(p.exists() for p in keep)


def test_the_clean_up_spares_a_live_writer(tmp_path):
    """Two writers of one file: the second removes no temporary file the first still holds open."""
    from handkin.files import atomic_write

    target = tmp_path / "out.json"
    with atomic_write(target) as first:
        first.write(b"first")
        (tmp, *_), old = list(tmp_path.glob("out.json.*.tmp")), time.time() - 60
        os.utime(tmp, (old, old))
        with atomic_write(target) as second:
            second.write(b"second")
        assert tmp.exists()
    assert target.read_bytes() == b"first"
