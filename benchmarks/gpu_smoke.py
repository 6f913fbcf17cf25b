"""GPU readiness in one command: is this CUDA machine ready to train the paper's network? (issue 18)

Run: python benchmarks/gpu_smoke.py                      # one CUDA GPU, under 8 minutes
     python benchmarks/gpu_smoke.py --device cpu --quick  # the same functions on the CPU at tiny sizes (~1 min)

Prints one table (part, setting, figure, unit, status) of

* **train step** — ResNet-50 at 128 px, forward + Eq. 10 loss + backward + SGD (``bench_train_step``), images/s
  in fp32, bf16 autocast (fp16 with a scaler on GPUs without bf16), bf16 + channels_last, and
  bf16 + channels_last + ``torch.compile``;
* **BMC loss** — ``handkin.BMCLoss`` forward + backward at B = 256 and 4096, eager and compiled (one compile
  with a dynamic batch size for both);
* **DDP fit** — ``python -m torch.distributed.run -m handkin_train fit`` on synthetic hands (NCCL on GPUs,
  gloo on the CPU) whose loss must fall; with one process the trainer takes its non-distributed path (it joins a
  process group and wraps the model in DDP from two processes on);
* **resume** — train N steps, checkpoint, resume in a new ``Trainer``, and compare the next steps' losses to an
  uninterrupted run (as ``tests/test_train_engine.py`` does on the CPU), with ``runtime.deterministic``;
* **loader** — the trainer's loader on a prepared cache (``bench_loader``) with the batch moved to the device:
  the OpenCV warp in the workers, and the device warp (``augment.warp: device``, one ``grid_sample``).

Exits 0 when every part passes (or when ``--device cuda`` finds no GPU: there is nothing to test), 1 when one
fails. Sizes on a GPU and their budget (about a minute of compilation each for ResNet-50 and the BMC loss):
train step B = 128, 20 timed steps per setting (~2.5 min with compile); BMC loss 50 repeats (~2 min with
compile); DDP fit ResNet-50, 512 synthetic hands, batch 32, 300 steps (~1 min); resume ResNet-50, batch 16,
3 + 4 steps (~0.5 min); loader 2048 cached hands, batch 256, 8 s per setting (~0.5 min). ``--quick``: ResNet-18
at 64 px, batches of 4–16, a few steps.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules

import handkin_train  # noqa: E402
from handkin import BMCLoss, JointLimits  # noqa: E402
from handkin.tables import format_table  # noqa: E402
from handkin_train.config import AugmentConfig, TrainConfig  # noqa: E402
from handkin_train.datasets import build_dataset  # noqa: E402
from handkin_train.loader import to_device  # noqa: E402
from handkin_train.trainer import Trainer  # noqa: E402

#: Columns of the table.
HEAD = ("part", "setting", "figure", "unit", "status")
#: Wall-clock budget of a full run on one GPU, seconds.
BUDGET_S = 8 * 60


@dataclass(frozen=True)
class Row:
    part: str
    setting: str
    figure: str
    unit: str
    status: str

    @property
    def failed(self) -> bool:
        return self.status.startswith("FAIL")


@dataclass(frozen=True)
class Sizes:
    """How big each part runs (:data:`GPU` on a GPU, :data:`QUICK` for the CPU dry run)."""

    backbone: str = "resnet50"
    image_size: int = 128
    step_batch: int = 128
    step_repeats: int = 20
    loss_batches: tuple[int, ...] = (256, 4096)
    loss_repeats: int = 50
    fit_train: int = 512
    """Synthetic training hands of the DDP fit (seen again each epoch: the loss falls quickly)."""
    fit_val: int = 64
    fit_batch: int = 32
    fit_steps: int = 300
    fit_lr: float = 0.005
    fit_workers: int = 2
    resume_train: int = 64
    resume_val: int = 16
    resume_batch: int = 16
    resume_split: tuple[int, int] = (3, 4)
    """Steps before the checkpoint and after it (the run crosses an epoch: ``resume_train / resume_batch``)."""
    loader_hands: int = 2048
    loader_batch: int = 256
    loader_workers: int = 4
    loader_seconds: float = 8.0


GPU = Sizes()
QUICK = Sizes(
    backbone="resnet18",
    image_size=64,
    step_batch=8,
    step_repeats=3,
    loss_repeats=5,
    fit_train=8,
    fit_val=4,
    fit_batch=4,
    fit_steps=40,
    fit_lr=0.01,
    fit_workers=0,
    resume_train=16,
    resume_val=8,
    resume_batch=4,
    loader_hands=64,
    loader_batch=16,
    loader_workers=0,
    loader_seconds=1.0,
)


def half_dtype(device: torch.device) -> torch.dtype:
    """bf16 where ``device`` supports it (CPUs and Ampere+ GPUs), else fp16 (used with a gradient scaler)."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _failure(part: str, setting: str, unit: str, exc: BaseException) -> Row:
    message = " ".join(str(exc).split())
    return Row(part, setting, "-", unit, f"FAIL: {type(exc).__name__}: {message[:160]}")


def _guarded(part: str, setting: str, unit: str, fn: Callable[[], Row]) -> Row:
    """``fn()``, or a FAIL row naming the exception (the other rows still run)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 (a smoke test reports every failure in its table)
        return _failure(part, setting, unit, exc)


# -- train step
def train_step_rows(device: torch.device, sizes: Sizes, compile: bool = True) -> list[Row]:
    """Images/s of the training step in fp32, half-precision autocast, + channels_last, + torch.compile."""
    from bench_train_step import train_step_rate

    half = half_dtype(device)
    name = "bf16 autocast" if half == torch.bfloat16 else "fp16 autocast + scaler"
    settings = [
        ("fp32", None, False, False),
        (name, half, False, False),
        (f"{name} + channels_last", half, True, False),
        (f"{name} + channels_last + torch.compile", half, True, True),
    ]
    part = f"train step {sizes.backbone} {sizes.image_size} px B={sizes.step_batch}"
    rows = []
    for setting, amp, channels_last, compiled in settings:
        if compiled and not compile:
            rows.append(Row(part, setting, "-", "img/s", "skipped (--no-compile)"))
            continue

        def measure(amp=amp, channels_last=channels_last, compiled=compiled, setting=setting) -> Row:
            rate, first = train_step_rate(
                sizes.backbone,
                sizes.step_batch,
                device,
                sizes.step_repeats,
                sizes.image_size,
                amp,
                channels_last,
                compiled,
            )
            note = f"ok (first step {first:.0f} s)" if compiled else "ok"
            return Row(part, setting, f"{rate:.0f}", "img/s", note)

        rows.append(_guarded(part, setting, "img/s", measure))
    return rows


# -- BMC loss
def bmc_loss_rows(device: torch.device, sizes: Sizes, compile: bool = True) -> list[Row]:
    """Milliseconds of ``BMCLoss`` forward + backward on ``device`` at each of ``sizes.loss_batches``, eager and
    compiled (one ``torch.compile(dynamic=True)`` for all batch sizes)."""
    from bench_losses import poses
    from timing import median_ms

    rng = np.random.default_rng(0)
    module = BMCLoss(JointLimits.default()).to(device)
    inputs = {b: torch.tensor(poses(b, rng), dtype=torch.float32, device=device) for b in sizes.loss_batches}
    part = "BMC loss fwd+bwd"
    rows = []
    compiled = None
    compile_s = math.nan
    for mode in ("eager", "compiled"):
        for b, x in inputs.items():
            setting = f"{mode} B={b}"
            if mode == "compiled" and not compile:
                rows.append(Row(part, setting, "-", "ms", "skipped (--no-compile)"))
                continue

            def measure(b=b, x=x, mode=mode, setting=setting) -> Row:
                nonlocal compiled, compile_s
                fn = module
                if mode == "compiled":
                    if compiled is None:
                        compiled = torch.compile(module, dynamic=True)
                        t0 = time.perf_counter()
                        compiled(x.clone().requires_grad_()).backward()
                        _sync(device)
                        compile_s = time.perf_counter() - t0
                    fn = compiled
                leaf = x.clone().requires_grad_()

                def step() -> None:
                    leaf.grad = None
                    fn(leaf).backward()
                    _sync(device)

                ms = median_ms(step, sizes.loss_repeats)
                if not torch.isfinite(leaf.grad).all():
                    return Row(part, setting, f"{ms:.2f}", "ms", "FAIL: non-finite gradient")
                status = "ok"
                if mode == "compiled" and b == next(iter(inputs)):
                    status = f"ok (compiled in {compile_s:.0f} s)"
                return Row(part, setting, f"{ms:.2f}", "ms", status)

            rows.append(_guarded(part, setting, "ms", measure))
    return rows


# -- DDP fit
def _fit_config(sizes: Sizes, device: torch.device, out: Path, train: int, val: int, batch: int, epochs: int, **rt):
    return TrainConfig.from_dict(
        {
            "model": {"backbone": sizes.backbone, "image_size": sizes.image_size},
            "data": {
                "train": {"size": train, "seed": 0},
                "val": {"size": val, "seed": 1},
                "batch_size": batch,
                "num_workers": sizes.fit_workers,
            },
            "optim": {"epochs": epochs, "lr": sizes.fit_lr, "grad_clip": 1.0},
            "runtime": {"device": device.type, "seed": 0, **rt},
            "output": {"dir": str(out), "progress": False, "log_every": 1},
        }
    )


def _logged_losses(tb: Path) -> list[float]:
    """The ``train/total`` scalars that rank 0 wrote to TensorBoard, in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tb), size_guidance={"scalars": 0})
    events.Reload()
    return [e.value for e in sorted(events.Scalars("train/total"), key=lambda e: e.step)]


def loss_falls(losses: list[float]) -> tuple[float, float, bool]:
    """(mean of the first quarter, mean of the last quarter, whether the latter is below 0.8 × the former); at
    least 3 steps in each. Quarters, because rank 0's loss of one step depends much on which hands its batch holds
    (in the quick mode, 4 of 8 drawn afresh each epoch)."""
    k = max(3, len(losses) // 4)
    first, last = float(np.mean(losses[:k])), float(np.mean(losses[-k:]))
    return first, last, len(losses) >= 2 * k and last < 0.8 * first


def ddp_fit_rows(device: torch.device, sizes: Sizes, procs: int, folder: Path) -> list[Row]:
    """``python -m torch.distributed.run --nproc_per_node PROCS -m handkin_train fit`` on synthetic hands for
    ``sizes.fit_steps`` steps; the loss (rank 0's, from TensorBoard) must fall."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    setting = f"torchrun {procs} proc, {backend if procs > 1 else 'no process group'}, {sizes.fit_steps} steps"
    part = f"DDP fit {sizes.backbone} {sizes.image_size} px B={sizes.fit_batch}"

    def run() -> Row:
        per_epoch = sizes.fit_train // procs // sizes.fit_batch
        epochs = -(-sizes.fit_steps // per_epoch) + 1
        out = folder / "ddp"
        config = _fit_config(sizes, device, out, sizes.fit_train, sizes.fit_val, sizes.fit_batch, epochs)
        path = folder / "ddp.yaml"
        path.write_text(config.to_yaml())
        root = str(Path(handkin_train.__file__).resolve().parents[1])  # the children run this same code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        env.setdefault("OMP_NUM_THREADS", "1")
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(procs),
            "-m",
            "handkin_train",
            "fit",
            str(path),
            "--max-steps",
            str(sizes.fit_steps),
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUDGET_S)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            return Row(part, setting, "-", "loss", f"FAIL: exit {done.returncode}: {tail[:160]}")
        losses = _logged_losses(out / "tb")
        first, last, falls = loss_falls(losses)
        figure = f"{first:.3g} -> {last:.3g}"
        if len(losses) != sizes.fit_steps:
            return Row(part, setting, figure, "loss", f"FAIL: {len(losses)} steps logged, not {sizes.fit_steps}")
        return Row(part, setting, figure, "loss first -> last", "ok (falls)" if falls else "FAIL: loss did not fall")

    return [_guarded(part, setting, "loss", run)]


# -- checkpoint and exact resume
def resume_rows(device: torch.device, sizes: Sizes, folder: Path) -> list[Row]:
    """Losses of the steps after a checkpoint + resume against an uninterrupted run (max |difference|)."""
    before, after = sizes.resume_split
    part = f"resume {sizes.backbone} {sizes.image_size} px B={sizes.resume_batch}"
    setting = f"{before} steps, checkpoint, resume, {after} steps vs uninterrupted"

    def run() -> Row:
        def config(name: str) -> TrainConfig:
            return _fit_config(
                sizes,
                device,
                folder / "resume" / name,
                sizes.resume_train,
                sizes.resume_val,
                sizes.resume_batch,
                epochs=4,
                deterministic=True,
            )

        c = config("straight")
        train, val = build_dataset(c.data.train, sizes.image_size), build_dataset(c.data.val, sizes.image_size)
        straight = Trainer(c, train, val).fit(max_steps=before + after).losses
        first = Trainer(config("split"), train, val).fit(max_steps=before).losses
        rest = Trainer(config("split"), train, val).fit(max_steps=after).losses
        resumed = first + rest
        diff = float(np.max(np.abs(np.subtract(resumed, straight)))) if len(resumed) == len(straight) else math.inf
        scale = float(np.max(np.abs(straight)))
        if resumed == straight:
            status = "ok (bit-exact)"
        elif diff <= 1e-3 * scale:
            status = "ok (within 1e-3 relative)"
        else:
            status = f"FAIL: resumed {np.round(resumed, 5).tolist()} != {np.round(straight, 5).tolist()}"
        return Row(part, setting, f"{diff:.2g}", "max |loss diff|", status)

    return [_guarded(part, setting, "max |loss diff|", run)]


# -- loader
def loader_rows(device: torch.device, sizes: Sizes, folder: Path) -> list[Row]:
    """Images/s of the trainer's loader on a prepared cache, each batch moved to ``device`` (``to_device``):
    the OpenCV warp in the loader, and the device warp."""
    from bench_loader import loader_rate, make_cache

    from handkin_train.data import PreparedHands

    part = f"loader {sizes.image_size} px B={sizes.loader_batch}, {sizes.loader_workers} workers"
    settings = (
        ("warp in the loader (OpenCV) + to_device", "loader"),
        (f"device warp (grid_sample on {device.type})", "device"),
    )
    try:
        cache = make_cache(folder / "loader", sizes.loader_hands, sizes.image_size)
    except Exception as exc:  # noqa: BLE001
        return [_failure(part, s, "img/s", exc) for s, _ in settings]
    rows = []
    for setting, where in settings:

        def measure(where=where, setting=setting) -> Row:
            data = PreparedHands(cache, augment=AugmentConfig(interpolation="bilinear", warp=where))
            shape = []

            def finish(batch) -> None:
                image = to_device(batch, device, channels_last=True)["image"]
                _sync(device)
                shape[:] = image.shape

            rate, _ = loader_rate(data, sizes.loader_batch, sizes.loader_workers, sizes.loader_seconds, device, finish)
            want = [sizes.loader_batch, 3, sizes.image_size, sizes.image_size]
            status = "ok" if list(shape) == want else f"FAIL: batch of shape {list(shape)}, not {want}"
            return Row(part, setting, f"{rate:.0f}", "img/s", status)

        rows.append(_guarded(part, setting, "img/s", measure))
    return rows


# -- all of it
PARTS = ("train", "loss", "ddp", "resume", "loader")


def run_all(
    device: torch.device,
    sizes: Sizes,
    compile: bool = True,
    ddp_procs: int = 1,
    parts: tuple[str, ...] = PARTS,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """Every part's rows, then a ``total`` row with the wall-clock time (against :data:`BUDGET_S` on CUDA)."""
    t_start = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gpu_smoke_") as tmp:
        folder = Path(tmp)
        runs = {
            "train": lambda: train_step_rows(device, sizes, compile),
            "loss": lambda: bmc_loss_rows(device, sizes, compile),
            "ddp": lambda: ddp_fit_rows(device, sizes, ddp_procs, folder),
            "resume": lambda: resume_rows(device, sizes, folder),
            "loader": lambda: loader_rows(device, sizes, folder),
        }
        for name in parts:
            t0 = time.perf_counter()
            new = runs[name]()
            rows += new
            log(
                f"{name}: {time.perf_counter() - t0:.0f} s"
                + "".join(f"\n  {r.setting}: {r.figure} {r.status}" for r in new)
            )
    total = time.perf_counter() - t_start
    over = device.type == "cuda" and total > BUDGET_S
    status = f"over the {BUDGET_S // 60} min budget" if over else "ok"
    rows.append(Row("total", "wall clock", f"{total:.0f}", "s", status))
    return rows


def table(rows: list[Row], markdown: bool = False) -> str:
    return format_table(HEAD, [(r.part, r.setting, r.figure, r.unit, r.status) for r in rows], markdown=markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (ResNet-18, 64 px, a few steps)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows (minutes on a CPU)")
    parser.add_argument(
        "--ddp-procs", type=int, help="torchrun processes (default: min(2, GPUs) on CUDA, 2 on the CPU (gloo))"
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            f"no CUDA GPU on this machine (torch {torch.__version__}, CUDA build {torch.version.cuda}): nothing to "
            "test. `--device cpu --quick` runs the same checks on the CPU."
        )
        return 0
    if device.type not in ("cuda", "cpu"):
        parser.error(f"--device must be cuda, cuda:N or cpu, not {args.device!r}")
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index)
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    procs = args.ddp_procs or (min(2, torch.cuda.device_count()) if device.type == "cuda" else 2)
    sizes = QUICK if args.quick else GPU
    if args.quick and device.type == "cuda":
        sizes = replace(sizes, fit_workers=2, loader_workers=2)
    if device.type == "cpu":
        torch.set_num_threads(1)  # a dry run: steadier on a shared machine than competing threads
    warnings.filterwarnings("ignore", message="Dynamo detected a call to a `functools.lru_cache`")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"handkin GPU smoke test on {name}, torch {torch.__version__}; sizes: {json.dumps(sizes.__dict__)}")
    rows = run_all(device, sizes, not args.no_compile, procs, tuple(args.parts))
    print()
    print(table(rows, args.markdown))
    failed = [r for r in rows if r.failed]
    if failed:
        print(f"\n{len(failed)} part(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
