"""The ``handkin-train`` command: ``fit CONFIG``, ``evaluate CHECKPOINT``, ``predict CHECKPOINT IMAGES -o OUT``,
``prepare DATASET PATH -o CACHE``.

Multi-GPU: ``torchrun --nproc_per_node=4 -m handkin_train fit run.yaml`` (one process per GPU).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from handkin.errors import HandkinError
from handkin.files import atomic_write
from handkin.handsize import REFERENCE_MM

from .errors import DatasetError

"""Wrist→middle_mcp length assumed by ``predict`` to report millimetres (handkin's adult template)."""


def _fit(args: argparse.Namespace) -> int:
    from .config import TrainConfig
    from .trainer import Trainer

    config = TrainConfig.load(args.config)
    if args.out is not None:
        config = config.with_overrides(output={"dir": str(args.out)})
    if args.epochs is not None:
        config = config.with_overrides(optim={"epochs": args.epochs})
    trainer = Trainer(config)
    result = trainer.fit(resume=not args.restart, max_steps=args.max_steps, resume_anyway=args.resume_anyway)
    if not trainer.runtime.is_main:
        return 0
    scores = _versus_baseline(result.scores)
    if not result.losses and result.epoch >= config.optim.epochs:
        print(
            f"already trained: the run in {trainer.out} has finished its {result.epoch} epochs (train on with "
            f"--epochs N, N > {result.epoch}; start afresh with --restart); best validation EPE "
            f"{result.best_metric:.2f} mm{scores}; checkpoint {result.checkpoint}"
        )
    else:
        loss = f"last loss {result.last_loss:.4g}" if result.losses else "no step taken"
        print(
            f"epoch {result.epoch}, step {result.step}, {loss}, best validation EPE {result.best_metric:.2f} mm"
            f"{scores}; checkpoint {result.checkpoint}"
        )
    return 0


def _versus_baseline(scores: dict[str, float] | None) -> str:
    """``"; last validation: root-relative EPE 41.2 mm, mean-pose baseline 98.7 mm (0.42×)"`` (empty without scores)."""
    if not scores or "baseline_epe_root_mm" not in scores:
        return ""
    epe, base = scores["epe_root_mm"], scores["baseline_epe_root_mm"]
    ratio = f" ({epe / base:.2f}×)" if base > 0 else ""
    return f"; last validation: root-relative EPE {epe:.2f} mm, mean-pose baseline {base:.2f} mm{ratio}"


def _checkpoint_mean_pose(path: Path) -> np.ndarray | None:
    """The mean root-relative training pose ``(21, 3)`` a checkpoint keeps for the baseline (``None``: none kept)."""
    from .checkpoints import load_checkpoint

    state = load_checkpoint(path)
    count = int(state.get("pose_count", 0))
    return state["pose_sum"].double().numpy().reshape(21, 3) / count if count else None


def _evaluate(args: argparse.Namespace) -> int:
    from .checkpoints import model_from_checkpoint
    from .datasets import build_dataset
    from .evaluation import evaluate_model
    from .loader import EpochSampler, make_loader
    from .runtime import setup_runtime

    model, config = model_from_checkpoint(args.checkpoint)
    runtime = setup_runtime(config.runtime.model_copy(update={"device": args.device}))
    model = model.to(runtime.device)
    val = config.data.val
    if args.size is not None or args.seed is not None:
        val = val.model_copy(update={k: v for k, v in (("size", args.size), ("seed", args.seed)) if v is not None})
    data = build_dataset(val, config.model.image_size, config.data.cache)
    loader = make_loader(
        data, EpochSampler(len(data), 0, 0, 1, shuffle=False), config.data.batch_size, 0, runtime.device, False
    )
    scores = evaluate_model(model, loader, runtime, mean_pose=_checkpoint_mean_pose(args.checkpoint))
    n, n3 = int(scores.pop("n")), int(scores.pop("n_3d"))
    if n3 == 0:
        note = f"none of the {n} hands has 3D labels: the 3D scores (and uv_px) are not defined (NaN)"
    elif n3 < n:
        note = f"3D scores (and uv_px) over the {n3} of {n} hands with 3D labels; uv_px_all over all with 2D labels"
    else:
        note = f"{n} hands, all with 3D labels"
    print(f"{note}\n")
    for k, v in scores.items():
        print(f"{k:<16} {v:10.3f}" + ("  (mm)" if k.endswith("_mm") else "  (px)" if "px" in k else ""))
    if args.output is not None:
        clean = {k: (None if np.isnan(v) else v) for k, v in scores.items()}  # JSON has no NaN
        _write_json(args.output, {**clean, "n": n, "n_3d": n3, "note": note})
    return 0


def _read_image(path: Path, size: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """A square centre crop resized to ``size``: (uint8 (3, size, size), crop pixels per model pixel, crop offset)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            side = min(w, h)
            left, top = (w - side) / 2, (h - side) / 2
            img = img.crop((int(left), int(top), int(left) + side, int(top) + side)).resize(
                (size, size), Image.BILINEAR
            )
            array = np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(f"cannot read image {path}: {exc}") from exc
    return array, side / size, (int(left), int(top))


def _write_json(path: Path, data) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def _predict(args: argparse.Namespace) -> int:
    import torch

    from handkin import camera

    from .checkpoints import model_from_checkpoint

    model, config = model_from_checkpoint(args.checkpoint, args.device)
    size = config.model.image_size
    focal = args.focal if args.focal is not None else nominal_focal(size)
    K = torch.tensor(camera.intrinsics(focal, focal, size / 2, size / 2), dtype=torch.float32)
    results = []
    for start in range(0, len(args.images), args.batch_size):
        paths = args.images[start : start + args.batch_size]
        crops = [_read_image(Path(p), size) for p in paths]
        images = torch.from_numpy(np.stack([c[0] for c in crops])).to(args.device)
        with torch.no_grad():
            pred = model(images, K.to(args.device).expand(len(paths), 3, 3))
        for i, (path, (_, factor, offset)) in enumerate(zip(paths, crops, strict=True)):
            uv = pred.uv[i].cpu().numpy()
            joints = pred.joints[i].cpu().numpy()
            results.append(
                {
                    "image": str(path),
                    "uv_image_px": (uv * factor + np.array(offset)).round(2).tolist(),
                    "uv_crop_px": uv.round(3).tolist(),
                    "z_rel": pred.z_rel[i].cpu().numpy().round(4).tolist(),
                    "z_root_ref": float(pred.z_root[i]),
                    "joints_ref": joints.round(4).tolist(),
                    "joints_mm": (joints * args.reference_mm).round(2).tolist(),
                    "valid": bool(pred.valid[i]),
                }
            )
    meta = {"checkpoint": str(args.checkpoint), "focal_px": focal, "crop_size": size, "reference_mm": args.reference_mm}
    _write_json(args.output, {"meta": meta, "order": "mp21", "side": "right", "predictions": results})
    print(f"{len(results)} predictions written to {args.output}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    import time

    from .data.prepare import prepare_dataset, read_manifest

    t0 = time.perf_counter()
    options = {"split": args.split, "images": args.images, "versions": args.versions, **_key_values(args.option)}
    out = prepare_dataset(
        args.dataset,
        args.path,
        args.output,
        args.image_size,
        args.pad,
        args.context,
        if_exists="overwrite" if args.overwrite else "error",
        workers=args.workers,
        progress=not args.quiet,
        **options,
    )
    manifest = read_manifest(out)
    has_3d = np.load(out / "has_3d.npy")
    mirrored = np.load(out / "mirrored.npy")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(
        f"{manifest['count']} hands ({int(has_3d.sum())} with 3D labels, {int(mirrored.sum())} left hands mirrored) "
        f"cropped to {manifest['stored_size']} px (training crops of {manifest['image_size']} px) in "
        f"{time.perf_counter() - t0:.1f} s: {out} ({size / 2**20:.1f} MiB)"
    )
    return 0


def nominal_focal(size: int) -> float:
    """The crop focal length (px) ``predict`` assumes without ``--focal``: the middle of the synthetic range."""
    from .data.synthetic import SyntheticConfig

    lo, hi = SyntheticConfig().focal_px
    return (lo + hi) / 2 * size / SyntheticConfig().image_size


def _key_values(pairs: list[str]) -> dict[str, str]:
    """``--option KEY=VALUE`` pairs (the reader's options model converts the values)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DatasetError(f"--option takes KEY=VALUE (an option of the dataset's reader), got {pair!r}.")
        out[key.strip().replace("-", "_")] = value
    return out


def _reader_help() -> str:
    """The registered readers and their options, for ``prepare --help``."""
    from .data.registry import available_readers, get_reader

    return "; ".join(
        f"{name} ({get_reader(name).description}; options {', '.join(get_reader(name).option_names)})"
        for name in available_readers()
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="handkin-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="train from a YAML config (resumes from OUT/last.pt)")
    fit.add_argument("config", type=Path)
    fit.add_argument("--out", type=Path, help="override output.dir")
    fit.add_argument("--epochs", type=int, help="override optim.epochs")
    fit.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (checkpoint written)")
    fit.add_argument("--restart", action="store_true", help="ignore an existing last.pt")
    fit.add_argument(
        "--resume-anyway",
        action="store_true",
        help="resume from last.pt although the data, batch size, seed or optimiser settings changed: keeps the "
        "weights and optimiser state, applies the new settings, restarts the current epoch (another model is "
        "still refused)",
    )
    fit.set_defaults(run=_fit)
    ev = sub.add_parser(
        "evaluate",
        help="the paper's scores of a checkpoint on its validation set",
        description="The paper's scores (2D px, depth, 3D EPE and AUC unaligned / root-relative / Procrustes-"
        "aligned) of CHECKPOINT on its run's validation set. 3D scores cover the hands with 3D labels only; "
        "without any they are NaN (null in the JSON).",
    )
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument("--size", type=int, help="number of validation hands (default: the run's)")
    ev.add_argument("--seed", type=int, help="validation seed (default: the run's)")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("-o", "--output", type=Path, help="also write the metrics as JSON")
    ev.set_defaults(run=_evaluate)
    pr = sub.add_parser("predict", help="predict hands in images (square centre crops) into JSON")
    pr.add_argument("checkpoint", type=Path)
    pr.add_argument("images", type=Path, nargs="+")
    pr.add_argument("-o", "--output", type=Path, required=True)
    pr.add_argument("--focal", type=float, help="focal length of the crop in pixels (default: the training data's)")
    pr.add_argument("--reference-mm", type=float, default=REFERENCE_MM, help="wrist→middle_mcp length for joints_mm")
    pr.add_argument("--batch-size", type=int, default=16)
    pr.add_argument("--device", default="cpu")
    pr.set_defaults(run=_predict)
    pp = sub.add_parser(
        "prepare",
        help="crop a dataset once into a memory-mapped cache for training (kind: prepared)",
        description="Read DATASET at PATH (see docs/datasets.md for the layouts) and write hand crops at training "
        "resolution plus label arrays into the folder OUTPUT (atomically). Train on it with "
        "data.train: {kind: prepared, path: OUTPUT}.",
    )
    from .data.registry import available_readers

    pp.add_argument("dataset", choices=available_readers(), help=_reader_help())
    pp.add_argument("path", type=Path, help="the dataset's folder or annotation file")
    pp.add_argument("-o", "--output", type=Path, required=True, help="cache folder to create")
    pp.add_argument("--split", help="the dataset's split (FreiHAND/RHD: training|evaluation, HO-3D: train|evaluation)")
    pp.add_argument("--images", type=Path, help="image folder (InterHand2.6M: images/<split>)")
    pp.add_argument("--versions", help="FreiHAND colour versions, comma-separated (gs,hom,sample,auto; default all)")
    pp.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other option of the dataset's reader, e.g. --option hands=both (repeatable)",
    )
    pp.add_argument("--image-size", type=int, default=128, help="training crop side, pixels (default 128)")
    pp.add_argument("--pad", type=float, default=1.4, help="crop side / hand box side (default 1.4)")
    pp.add_argument("--context", type=float, default=1.25, help="stored crop / training crop (default 1.25)")
    pp.add_argument("--workers", type=int, default=0, help="processes decoding images (default 0: this one)")
    pp.add_argument("--overwrite", action="store_true", help="replace an existing cache")
    pp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    pp.set_defaults(run=_prepare)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except HandkinError as exc:
        print(f"handkin-train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
