"""benchmarks/gpu_smoke.py on the CPU: every part's CUDA code path at tiny sizes (gloo for the DDP fit).

The script is not part of the package: it is imported by file path. torch.compile is skipped (minutes on a CPU);
the figures are not checked, only that each row is there and passes.
"""

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("tensorboard")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_smoke.py"


@pytest.fixture(scope="module")
def smoke():
    spec = importlib.util.spec_from_file_location("gpu_smoke", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_smoke"] = module  # (dataclasses look their module up)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("gpu_smoke", None)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_every_part_runs_on_the_cpu(smoke, one_thread):
    sizes = replace(
        smoke.QUICK,
        image_size=32,
        step_batch=2,
        step_repeats=1,
        loss_batches=(16, 64),
        loss_repeats=1,
        loader_hands=16,
        loader_batch=4,
        loader_seconds=0.2,
    )
    logged = []
    rows = smoke.run_all(torch.device("cpu"), sizes, compile=False, ddp_procs=2, log=logged.append)
    text = smoke.table(rows)
    assert text.splitlines()[0].split() == list(smoke.HEAD)
    by_part = {}
    for r in rows:
        by_part.setdefault(r.part.split()[0], []).append(r)
    assert [len(by_part[p]) for p in ("train", "BMC", "DDP", "resume", "loader", "total")] == [4, 4, 1, 1, 2, 1], text
    assert not [r for r in rows if r.failed], text
    skipped = [r for r in rows if r.status.startswith("skipped")]
    assert [r.setting for r in skipped] == [
        "bf16 autocast + channels_last + torch.compile",
        "compiled B=16",
        "compiled B=64",
    ]
    (ddp,) = by_part["DDP"]
    assert "2 proc, gloo" in ddp.setting and ddp.status == "ok (falls)", text
    first, last = (float(x) for x in ddp.figure.split(" -> "))
    assert last < 0.8 * first
    (resume,) = by_part["resume"]
    assert resume.status == "ok (bit-exact)" and float(resume.figure) == 0.0, text
    assert len(logged) == len(smoke.PARTS)


def test_a_failing_part_is_a_fail_row_and_exit_1(smoke, monkeypatch, capsys, one_thread):
    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr("bench_train_step.train_step_rate", broken)
    rows = smoke.train_step_rows(torch.device("cpu"), smoke.QUICK, compile=False)
    assert [r.status for r in rows[:3]] == ["FAIL: RuntimeError: CUDA error: out of memory"] * 3
    monkeypatch.setattr(smoke, "run_all", lambda *a, **k: rows)
    assert smoke.main(["--device", "cpu", "--quick"]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_cuda_it_exits_0_and_says_so(smoke, capsys):
    assert smoke.main([]) == 0
    assert "no CUDA GPU" in capsys.readouterr().out


def test_loss_falls_compares_the_first_and_last_quarter(smoke):
    assert smoke.loss_falls([5.0] * 10 + [1.0] * 10)[2]
    assert not smoke.loss_falls([5.0] * 10 + [4.5] * 10)[2]
    assert not smoke.loss_falls([5.0, 1.0])[2]  # too few steps to tell


def test_setup_runtime_accepts_cuda_without_an_index(monkeypatch):
    """``runtime.device: cuda`` (or ``auto``) on one GPU: torch.cuda.set_device(torch.device("cuda")) raises
    ValueError (it wants an index), so training on a GPU could not start. Checked here with CUDA faked."""
    from handkin_train.config import RuntimeConfig
    from handkin_train.runtime import setup_runtime

    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch._C, "_cuda_setDevice", chosen.append, raising=False)
    for device in ("cuda", "auto", "cuda:0"):
        runtime = setup_runtime(RuntimeConfig(device=device))
        assert runtime.device == torch.device("cuda", 0) and runtime.amp_dtype == torch.bfloat16
    assert chosen == [0, 0, 0]
