"""Speed of the training data loader on a prepared cache (handkin_train.data.cache): augmented images per second.

Run: python benchmarks/bench_loader.py [--n 2048] [--size 128] [--batch 256] [--workers 2] [--seconds 6]

Builds a prepared cache of ``--n`` hands in a temporary folder (synthetic poses and cameras, blocky noise
images: the warp's cost does not depend on the picture), then measures

* ``PreparedHands.batch`` in this process (one batch = one gather from the memory map, the OpenCV warp and colour
  map per image, vectorised labels), for nearest (the default) and bilinear resampling and without augmentation;
* the same warp by PIL (``crops.warp_pil``, the reference implementation) on the same draws, for comparison;
* the loader the trainer uses (``handkin_train.loader.make_loader``: DataLoader, EpochSampler, batched fetch
  via ``__getitems__``, default collate) with ``--workers`` worker processes and with none;
* the torch ``grid_sample`` warp (the GPU path) on the CPU, and on CUDA when present.

Prints wall-clock images/s, the CPU time per image of this process and its workers, and from that an estimate
for cores of its own (``min(workers, CPUs) / CPU time per image``), with the load average before and after:
on a shared machine the wall-clock figure is only as good as the machine is idle.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import handkin  # noqa: E402
from handkin import camera  # noqa: E402
from handkin_train.config import AugmentConfig  # noqa: E402
from handkin_train.data import PreparedHands, SyntheticConfig, sample_cameras, sample_poses  # noqa: E402
from handkin_train.data.crops import warp_pil  # noqa: E402
from handkin_train.data.prepare import crop_records, margin_for, save_prepared  # noqa: E402
from handkin_train.data.records import build_records  # noqa: E402
from handkin_train.loader import EpochSampler, make_loader  # noqa: E402


def make_cache(folder: Path, n: int, size: int, context: float = 1.25) -> Path:
    """A prepared cache of ``n`` synthetic hands (labels exact, images smooth noise)."""
    rng = np.random.default_rng(0)
    cfg = SyntheticConfig(image_size=size)
    hands = sample_poses(n, handkin.JointLimits.default(), rng, cfg)
    joints, K = sample_cameras(hands, rng, cfg)
    left = rng.random(n) < 0.5
    joints = np.where(left[:, None, None], joints * [-1.0, 1.0, 1.0], joints)  # some left hands, mirrored back
    K = np.where(left[:, None, None], K * [[1, -1, 1], [1, 1, 1], [1, 1, 1]], K)
    records = build_records("bench", "bench", ["-"] * n, K, joints_mm=joints, left=left)
    geom, stored = crop_records(records, size, 1.4, context)
    base = rng.integers(0, 256, (n, stored // 8 + 1, stored // 8 + 1, 3), dtype=np.uint8)
    images = np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)[:, :stored, :stored]  # blocky, not white noise
    images = (images.astype(np.int16) + rng.integers(-20, 21, images.shape)).clip(0, 255).astype(np.uint8)
    manifest = {
        "format": "handkin-prepared",
        "version": 1,
        "count": n,
        "image_size": size,
        "stored_size": stored,
        "margin": margin_for(size, context),
        "pad": 1.4,
        "context": context,
        "layout": "NHWC",
        "sources": [{"name": "bench"}],
    }
    arrays = {
        "manifest": manifest,
        "images": images,
        "K": geom.K,
        "uv": geom.uv,
        "uv_visible": records.uv_visible,
        "joints": geom.joints,
        "has_2d": records.has_2d,
        "has_3d": records.has_3d,
        "mirrored": left,
        "group": np.arange(n),
        "source": np.zeros(n),
        "key": records.key,
        "T": geom.T,
        "mean_rgb": images.reshape(n, -1, 3).mean(1),
    }
    out = save_prepared(arrays, folder / "cache")
    check = np.asarray(camera.project(geom.joints, geom.K))
    assert np.abs(check - geom.uv).max() < 1e-6
    return out


def rate(fn, images_per_call: int, seconds: float) -> tuple[float, float]:
    """(images/s wall-clock, CPU ms per image of this process) running ``fn`` for about ``seconds``."""
    fn()  # warm-up
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += images_per_call
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, cpu / n * 1e3


def loader_rate(
    data, batch: int, workers: int, seconds: float, device: torch.device | None = None, finish=None
) -> tuple[float, float]:
    """(images/s, CPU ms per image of this process and its worker processes) through the trainer's loader
    (``make_loader``: workers persist across epochs, pinned memory when ``device`` is CUDA), whole epochs until
    ``seconds`` have passed. ``finish(batch)``, when given, is applied to every batch as part of the
    measurement (e.g. the trainer's ``to_device`` and the device warp).

    The cache's rows are repeated into an epoch of at least 64 batches, as in real training (FreiHAND: 500
    batches of 256). The loader is built once and iterated once per epoch (``sampler.set_epoch``), as the
    trainer does; its workers' start is included. Their CPU time is counted once they have exited.
    """
    reps = -(-64 * batch // len(data))
    data = data.subset(np.tile(np.arange(len(data)), reps))
    sampler = EpochSampler(len(data), seed=0, rank=0, world_size=1)
    n, t0, epoch = 0, time.perf_counter(), 0
    cpu0 = _cpu_seconds()
    loader = make_loader(data, sampler, batch, workers, device or torch.device("cpu"), drop_last=True)
    while True:
        sampler.set_epoch(epoch)
        for b in loader:
            n += b["image"].shape[0]
            if finish is not None:
                finish(b)
        epoch += 1
        if time.perf_counter() - t0 >= seconds:
            wall = time.perf_counter() - t0
            del loader, b  # the workers exit and are reaped: their CPU time is counted
            gc.collect()
            return n / wall, (_cpu_seconds() - cpu0) / n * 1e3


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the DataLoader workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2048, help="hands in the cache")
    parser.add_argument("--size", type=int, default=128, help="training crop side, pixels")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0, help="time per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min) before")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = make_cache(Path(tmp), args.n, args.size)
        print(f"cache of {args.n} hands at {args.size} px built in {time.perf_counter() - t0:.1f} s")
        idx = np.arange(args.batch)
        rng = np.random.default_rng(1)
        print(f"\n{'in this process (one thread)':<44} {'img/s':>8} {'CPU ms/img':>11}")
        for name, augment in (
            ("batch, nearest augmentation (default)", AugmentConfig(interpolation="nearest")),
            ("batch, bilinear augmentation", AugmentConfig(interpolation="bilinear")),
            ("batch, no augmentation (centre crop)", False),
        ):
            data = PreparedHands(out, augment=augment)
            r, c = rate(lambda d=data: d.batch(rng.choice(args.n, args.batch, replace=False)), args.batch, args.seconds)
            print(f"{name:<44} {r:8.0f} {c:11.3f}")
        data = PreparedHands(out, augment=AugmentConfig(interpolation="nearest"))
        images = np.load(out / "images.npy", mmap_mode="r")

        def pil_batch():
            rows = rng.choice(args.n, args.batch, replace=False)
            geom, colour = data.geometry(rows, salt=0)
            warp_pil(images[rows], geom.T, args.size, "nearest", colour)

        r, c = rate(pil_batch, args.batch, args.seconds)
        print(f"{'PIL warp_pil + colour (nearest), reference':<44} {r:8.0f} {c:11.3f}")
        data = PreparedHands(out, augment=AugmentConfig(interpolation="bilinear"))
        r, c = rate(lambda: data.batch(idx, device="cpu"), args.batch, args.seconds)
        print(f"{'batch, torch grid_sample (bilinear) on the CPU':<44} {r:8.0f} {c:11.3f}")
        if torch.cuda.is_available():
            torch.cuda.synchronize()

            def cuda_batch():
                data.batch(idx, device="cuda")
                torch.cuda.synchronize()

            r, _ = rate(cuda_batch, args.batch, args.seconds)
            print(f"{'batch, torch grid_sample (bilinear) on CUDA':<44} {r:8.0f}")
        cpus = os.cpu_count() or 1
        print(f"\n{'the trainer loader (make_loader, collated)':<44} {'img/s':>8} {'CPU ms/img':>11} {'idle est.':>10}")
        for interpolation in ("nearest", "bilinear"):
            data = PreparedHands(out, augment=AugmentConfig(interpolation=interpolation))
            for workers in sorted({0, args.workers}):
                r, c = loader_rate(data, args.batch, workers, args.seconds)
                idle = min(cpus, max(workers, 1)) / c * 1e3  # all CPU time of loader processes, if they had the cores
                print(
                    f"{f'{interpolation}, {workers} workers, batch {args.batch}':<44} {r:8.0f} {c:11.3f} {idle:10.0f}"
                )
        print("idle est.: images/s if the loader's processes had min(workers, CPUs) cores to themselves")
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after (this benchmark adds up to {args.workers})")


if __name__ == "__main__":
    main()
