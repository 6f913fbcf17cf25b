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
    from .data.registry import available_readers
    from .datasets import build_dataset, dataset_from_spec
    from .evaluation import coverage_note, evaluate_dataset, scores_table
    from .runtime import setup_runtime

    model, config = model_from_checkpoint(args.checkpoint)
    runtime = setup_runtime(config.runtime.model_copy(update={"device": args.device}))
    model = model.to(runtime.device)
    size, cache = config.model.image_size, config.data.cache if args.cache is None else args.cache
    picked = {k: v for k, v in (("size", args.size), ("seed", args.seed)) if v is not None}
    sets = []  # (name, description for the JSON, dataset section)
    if not args.data:
        sets.append(("val", {"data": "val", "kind": config.data.val.kind}, config.data.val.model_copy(update=picked)))
    # the crop geometry of the run's data read from disk (the validation set's, else the training set's)
    like = next((d for d in (config.data.val, config.data.train) if d.kind not in ("synthetic", "mix")), None)
    for spec, pairs in args.data or []:
        try:
            section = dataset_from_spec(spec, _key_values(pairs), like=like, **picked)
        except DatasetError as exc:
            raise DatasetError(f"--data {exc}") from None  # the message starts with the spec
        name = f"{section.kind}:{Path(section.path).name}"
        sets.append((name, {"data": spec, "kind": section.kind, "path": str(Path(section.path).resolve())}, section))
    mean_pose = _checkpoint_mean_pose(args.checkpoint)  # the baseline beside the scores (when the run kept it)
    results, rows = {}, []
    for name, info, section in sets:
        try:
            data = build_dataset(section, size, cache)
            scores = evaluate_dataset(model, data, runtime, config.data.batch_size, mean_pose=mean_pose)
        except DatasetError as exc:
            if not args.data:
                raise
            guessed = section.kind == "folder" and not info["data"].lower().startswith("folder:")
            kinds = ", ".join(available_readers())
            hint = (
                f" (a bare PATH is read as a folder dataset; give KIND:PATH for another kind: {kinds})"
                if guessed
                else ""
            )
            raise DatasetError(f"--data {info['data']}: {exc}{hint}") from None
        name = name if name not in results else f"{name}#{len(results) + 1}"  # one row per set
        results[name] = scores
        n, n3 = int(scores["n"]), int(scores["n_3d"])
        clean = {k: (None if np.isnan(v) else v) for k, v in scores.items() if k not in ("n", "n_3d")}
        rows.append({**info, "name": name, **clean, "n": n, "n_3d": n3, "note": coverage_note(n, n3)})
    print(scores_table(results, markdown=args.markdown))
    print()
    for row in rows:
        print(f"{row['name']}: {row['note']}")
    print("(_mm: millimetres, px: crop pixels, auc: area under the PCK curve over 0-50 mm)")
    if args.output is not None:
        # JSON has no NaN: undefined scores are null; one set's scores also at the top level (as before --data)
        _write_json(
            args.output, {**(rows[0] if len(rows) == 1 else {}), "checkpoint": str(args.checkpoint), "sets": rows}
        )
    return 0


class _DataSets(argparse.Action):
    """``--data SPEC`` and ``--option KEY=VALUE`` in command-line order, into ``args.data`` = [(SPEC, [KEY=VALUE,
    …])]: each ``--option`` belongs to the ``--data`` before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        sets = list(namespace.data or [])
        if self.dest == "data":
            sets.append((values, []))
        elif not sets:
            parser.error(f"{option_string} {values}: give it after the --data it is an option of")
        else:
            sets[-1] = (sets[-1][0], [*sets[-1][1], values])
        namespace.data = sets


def _write_json(path: Path, data) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def _predict(args: argparse.Namespace) -> int:
    from functools import partial

    from .checkpoints import model_from_checkpoint
    from .errors import ConfigError
    from .predict import Detector, locate_hands, overlay_paths, predict_photos, read_boxes, read_keypoints, training_pad

    given = [name for name in ("bbox", "keypoints", "detector_model") if getattr(args, name) is not None]
    if len(given) > 1:
        raise ConfigError(f"give one of --bbox, --keypoints and --detector-model, not {' and '.join(given)}.")
    missing = [str(p) for p in args.images if not Path(p).is_file()]
    if missing:
        raise DatasetError(f"image not found: {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""))
    boxes = read_boxes(args.bbox) if args.bbox is not None else None
    keypoints = read_keypoints(args.keypoints) if args.keypoints is not None else None
    model, config = model_from_checkpoint(args.checkpoint, args.device)
    if not given:
        print(
            "handkin-train: warning: no hand location given (--bbox, --keypoints or --detector-model): predicting "
            "on the square centre crop of each image, which must then be mostly hand.",
            file=sys.stderr,
        )
    overlay_dir = (
        args.overlay_dir if args.overlay_dir is not None else args.output.parent / f"{args.output.stem}_overlays"
    )
    overlays = None if args.no_overlay else overlay_paths(args.images, overlay_dir)
    detector = Detector(args.detector_model) if args.detector_model is not None else None
    sources = {"bbox": str(args.bbox), "keypoints": str(args.keypoints)}
    hands_of = partial(
        locate_hands, boxes=boxes, keypoints=keypoints, detector=detector, side=args.side, sources=sources
    )
    pad = training_pad(config)
    try:
        results = predict_photos(
            model,
            args.images,
            hands_of,
            size=config.model.image_size,
            pad=pad,
            focal=args.focal,
            reference_mm=args.reference_mm,
            device=args.device,
            batch_size=args.batch_size,
            overlays=overlays,
        )
    finally:
        if detector is not None:
            detector.close()
    found = {r["image"] for r in results}
    without = [str(p) for p in args.images if str(p) not in found]
    for path in without:
        print(
            f"handkin-train: warning: no hand in {path} ({given[0].replace('_', '-')}): nothing predicted.",
            file=sys.stderr,
        )
    meta = {
        "checkpoint": str(args.checkpoint),
        "crop_size": config.model.image_size,
        "pad": pad,
        "focal_px": args.focal,
        "reference_mm": args.reference_mm,
        "source": results[0]["source"] if results else None,
        "images_without_hand": without,
    }
    _write_json(args.output, {"meta": meta, "order": "mp21", "predictions": results})
    where = "" if overlays is None else f"; overlays in {overlay_dir}"
    print(
        f"{len(results)} hands in {len(args.images) - len(without)} of {len(args.images)} images written to {args.output}{where}"
    )
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
        help="the paper's scores of a checkpoint on its validation set or on any dataset (--data)",
        description="The paper's scores (2D px, depth, 3D EPE and AUC unaligned / root-relative / Procrustes-"
        "aligned) of CHECKPOINT on its run's validation set, or on each --data set (one table row per set), "
        "cropped as the run's data at the checkpoint's image size. 3D scores cover the hands with 3D labels only; "
        "without any they are n/a (null in the JSON).",
    )
    ev.add_argument("checkpoint", type=Path)
    from .data.registry import available_readers

    ev.add_argument(
        "--data",
        action=_DataSets,
        metavar="[KIND:]PATH",
        help="evaluate on this dataset instead (repeatable): KIND:PATH for a registered reader ("
        + ", ".join(available_readers())
        + ") or prepared:CACHE; a bare PATH is a prepared cache (a folder with manifest.json) or a folder dataset",
    )
    ev.add_argument(
        "--option",
        action=_DataSets,
        metavar="KEY=VALUE",
        help="an option of the reader of the --data before it, e.g. --data rhd:PATH --option hands=both (repeatable)",
    )
    ev.add_argument("--size", type=int, help="number of hands (default: the run's validation size; for --data: all)")
    ev.add_argument("--seed", type=int, help="validation seed; with --size on --data, the seed of the random subset")
    ev.add_argument(
        "--cache", type=Path, help="keep the crops of datasets read from disk here (default: the run's data.cache)"
    )
    ev.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("-o", "--output", type=Path, help="also write the scores as JSON")
    ev.set_defaults(run=_evaluate)
    pr = sub.add_parser(
        "predict",
        help="predict hands in photos: find the hand, crop it as training does, write JSON and overlays",
        description="Crop each hand of each photo as training does (the hand box × the run's pad), run the network "
        "and write 2D keypoints in the photo's pixels and 3D joints (mm) in its camera frame, plus an overlay PNG "
        "per photo. The hand is located by --bbox, --keypoints or --detector-model; without them the square "
        "centre crop is used (with a warning). See docs/training.md, 'Predict on photos'.",
    )
    pr.add_argument("checkpoint", type=Path)
    pr.add_argument("images", type=Path, nargs="+")
    pr.add_argument("-o", "--output", type=Path, required=True, help="the JSON file to write")
    pr.add_argument(
        "--bbox",
        metavar="X0,Y0,X1,Y1|FILE",
        help="the hand's box in the photo's pixels, one for every image, or a JSON file mapping image names to a "
        "box or a list of boxes",
    )
    pr.add_argument(
        "--keypoints",
        type=Path,
        metavar="FILE",
        help="2D keypoints: a MediaPipe results JSON (landmarks_norm, handedness per image) or a JSON mapping image "
        "names to (21, 2) pixel keypoints (or lists of hands); the hand box is theirs",
    )
    pr.add_argument(
        "--detector-model",
        type=Path,
        metavar="TASK",
        help="run MediaPipe's HandLandmarker from this local .task bundle (needs pip install 'handkin[mediapipe]')",
    )
    pr.add_argument(
        "--side",
        choices=("auto", "right", "left"),
        default="auto",
        help="hand side (left hands are mirrored for the network); auto: from MediaPipe's landmarks where given, "
        "else right",
    )
    pr.add_argument(
        "--focal",
        type=float,
        help="the photo's focal length in pixels (default: its longer side, a 53° field of view)",
    )
    pr.add_argument("--overlay-dir", type=Path, help="folder for the overlay PNGs (default: OUTPUT's stem + _overlays)")
    pr.add_argument("--no-overlay", action="store_true", help="write no overlay PNGs")
    pr.add_argument("--reference-mm", type=float, default=REFERENCE_MM, help="wrist→middle_mcp length for joints_mm")
    pr.add_argument("--batch-size", type=int, default=16, help="images per network call")
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
