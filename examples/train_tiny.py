"""A tiny training run of the paper's network on built-in rendered hands, on the CPU in about a minute.

Run: python examples/train_tiny.py [--out runs/tiny] [--steps 30]

ResNet-18 on 64×64 crops (the paper: ResNet-50 on 128×128), half of the hands 2D-only, trained with
Eq. 10 (masked L1 terms + handkin's BMC loss), then evaluated and used to predict one rendered crop.
The same code runs on GPUs: see examples/configs/paper.yaml and docs/training.md.
"""

import argparse
from pathlib import Path

import torch

from handkin_train import TrainConfig, Trainer, model_from_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/tiny"))
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    config = TrainConfig.from_dict(
        {
            "model": {"backbone": "resnet18", "image_size": 64},
            "data": {
                "train": {"size": 128, "seed": 0, "weak_fraction": 0.5},
                "val": {"size": 32, "seed": 1},
                "batch_size": 16,
                "num_workers": 0,
            },
            "optim": {"lr": 0.003, "grad_clip": 1.0, "epochs": 100},
            "runtime": {"device": "cpu", "seed": 0},
            "output": {"dir": str(args.out), "progress": False, "log_every": 5},
        }
    )
    trainer = Trainer(config)
    result = trainer.fit(resume=False, max_steps=args.steps)
    print(f"loss: first step {result.losses[0]:.3f}, last step {result.losses[-1]:.3f} ({result.step} steps)")
    scores = trainer.validate()
    print("validation:", ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))

    model, _ = model_from_checkpoint(result.checkpoint)
    sample = trainer.val_set[0]
    with torch.no_grad():
        pred = model(sample["image"][None], sample["K"][None])
    error = (pred.uv[0] - sample["uv"]).norm(dim=-1).mean()
    print(
        f"one prediction: 2D error {error:.1f} px, Z_root {float(pred.z_root[0]) * float(sample['scale']):.0f} mm "
        f"(true {float(sample['z_root']) * float(sample['scale']):.0f} mm)"
    )


if __name__ == "__main__":
    main()
