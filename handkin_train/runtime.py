"""Where and how a training process computes: device, precision, process group, random generators.

* ``runtime.device = "auto"`` takes CUDA when present. Under ``torchrun`` (``WORLD_SIZE > 1``) each rank joins a
  process group — NCCL on GPUs, gloo on the CPU — and takes its ``LOCAL_RANK`` GPU.
* Precision ``auto``: bf16 autocast on GPUs that support it, fp16 with a gradient scaler otherwise, fp32 on the
  CPU; ``bf16`` also works on the CPU.
* :func:`rng_state` / :func:`set_rng_state` save and restore every global generator (checkpoints hold them).
"""

from __future__ import annotations

import os
import random
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .config import RuntimeConfig
from .errors import DeviceError


@dataclass
class Runtime:
    """Where and how this process computes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp_dtype: torch.dtype | None = None
    use_scaler: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, value: Any) -> list[Any]:
        """``value`` from every rank, in rank order (a collective: every rank must call it; ``[value]`` alone)."""
        if not self.distributed:
            return [value]
        out: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(out, value)
        return out

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)


def setup_runtime(config: RuntimeConfig) -> Runtime:
    """Resolve the device and precision; join the process group when launched by ``torchrun``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    name = config.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)  # (the config validated the name: auto, cpu, mps, cuda or cuda:N)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(
            f"runtime.device is {config.device!r} but MPS (Apple GPU) is not available on this machine: set "
            "runtime.device to 'cpu' (or 'auto')."
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"runtime.device is {config.device!r} but CUDA is not available on this machine: set runtime.device "
                "to 'cpu' (or 'auto')."
            )
        if world_size > 1:
            device = torch.device("cuda", local_rank)
        elif device.index is None:  # (torch.cuda.set_device wants an index)
            device = torch.device("cuda", torch.cuda.current_device())
        count = torch.cuda.device_count()
        if (device.index or 0) >= count:
            raise DeviceError(
                f"runtime.device is {config.device!r} (GPU {device.index}) but this machine has {count} GPU(s): "
                f"use cuda:0 … cuda:{count - 1}, 'cuda' or 'auto' (under torchrun, at most {count} processes per node)."
            )
        torch.cuda.set_device(device)
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device.type == "cuda" else "fp32"
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not config.deterministic
        torch.backends.cudnn.deterministic = config.deterministic
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return Runtime(device, rank, world_size, amp_dtype, use_scaler=precision == "fp16")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every global RNG state (Python, NumPy, torch, CUDA when present), for a checkpoint: tensors, numbers and
    dicts only, so ``torch.load(weights_only=True)`` reads it back."""
    version, words, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": version, "state": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states :func:`rng_state` returned (exact resume)."""
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["state"].tolist()), py["gauss"]))
    np.random.set_state(("MT19937", npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


__all__ = ["Runtime", "rng_state", "seed_everything", "set_rng_state", "setup_runtime"]
