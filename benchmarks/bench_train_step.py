"""Training-step throughput of the paper's network: forward + Eq. 10 loss + backward + SGD step.

Run: python benchmarks/bench_train_step.py [--backbone resnet50] [--batches 8 32] [--steps 5]
Prints images/s at 128×128 for each batch size on the CPU, and on CUDA when present (channels_last and the
default mixed precision there: bf16 where supported, else fp16 with a scaler).
"""

import argparse
import time

import torch

from handkin_train.config import LossConfig, ModelConfig
from handkin_train.model import HandPoseNet
from handkin_train.objective import Objective


def fake_batch(n: int, size: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    k = torch.tensor([[size * 1.7, 0.0, size / 2], [0.0, size * 1.7, size / 2], [0.0, 0.0, 1.0]])
    batch = {
        "image": torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g),
        "K": k.expand(n, 3, 3).contiguous(),
        "uv": torch.rand(n, 21, 2, generator=g) * size,
        "z_rel": torch.randn(n, 21, generator=g) * 0.3,
        "z_root": torch.full((n,), 6.0),
        "has_2d": torch.ones(n, dtype=torch.bool),
        "has_3d": torch.ones(n, dtype=torch.bool),
    }
    return {k: v.to(device) for k, v in batch.items()}


def default_amp(device: torch.device) -> torch.dtype | None:
    """The trainer's ``precision: auto``: bf16 on GPUs that support it, else fp16 (with a scaler); none on the CPU."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def train_step_rate(
    backbone: str,
    n: int,
    device: torch.device,
    steps: int,
    size: int = 128,
    amp: torch.dtype | None = None,
    channels_last: bool = True,
    compile: bool = False,
) -> tuple[float, float]:
    """(images/s, seconds of the first step) of forward + Eq. 10 loss + backward + SGD step on ``n`` crops of
    ``size`` px: the median of ``steps`` timed steps after the first (which includes ``torch.compile``'s
    compilation when ``compile``). ``amp``: autocast dtype (``None``: fp32; fp16 also scales the loss)."""
    model = HandPoseNet(ModelConfig(backbone=backbone, image_size=size)).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    objective = Objective(LossConfig(), image_size=size).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=5e-3, momentum=0.9)
    net, loss_fn = (torch.compile(model), torch.compile(objective)) if compile else (model, objective)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    batch = fake_batch(n, size, device)
    if channels_last:
        batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            pred = net(batch["image"], batch["K"])
        loss = loss_fn(pred, batch).total
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    step()  # warm-up (and compilation)
    first = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return n / sorted(times)[len(times) // 2], first


def images_per_second(backbone: str, n: int, device: torch.device, steps: int) -> float:
    """Images/s at 128 px, channels_last, the default mixed precision of ``device`` (:func:`default_amp`)."""
    return train_step_rate(backbone, n, device, steps, amp=default_amp(device))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="resnet50", choices=["resnet18", "resnet34", "resnet50"])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"{args.backbone}, 128×128, forward + loss + backward + SGD step; median of {args.steps} steps")
    for device in devices:
        for n in args.batches:
            print(
                f"{device.type:<5} batch {n:>3}: {images_per_second(args.backbone, n, device, args.steps):8.1f} images/s"
            )


if __name__ == "__main__":
    main()
