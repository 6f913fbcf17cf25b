"""Hand-centred crops and augmentation that keep the 2D labels, the 3D labels and ``K`` consistent.

Every crop is one affine image map ``T`` (pixels of the source → pixels of the crop) and one orthogonal map
``Q`` of the camera frame (applied to the 3D joints), composed of

1. an optional **mirror** (left hands become right hands): the image is reflected about the principal point's
   column, the camera frame about its y–z plane (``x → −x``); ``K``'s skew changes sign;
2. a **rotation about the optical axis** by an angle θ: the 3D joints rotate by ``R_z(θ)``, the image by
   ``K R_z K⁻¹`` (a rotation about the principal point when ``fx = fy`` and there is no skew); ``K`` is kept;
3. a **crop**: a scale ``s`` and a translation that put the hand's centre at the crop centre (plus a shift).

The crop's intrinsics are ``K' = T K Qᵀ`` and ``uv' = T(uv)``, ``joints' = Q joints``, so the projection of the
new 3D joints through the new ``K'`` is exactly the new 2D joints (up to rounding), for any ``K`` — including
skew and ``fx ≠ fy``. Depths do not change, hence neither do the 2.5D depth labels (``z_rel``, ``Z_root``, ``s``).

Pixel centres are at integer coordinates (pixel ``[row, col]`` is at ``(u, v) = (col, row)``); the crop's centre
is at ``((size − 1) / 2, (size − 1) / 2)``. Everything is vectorised over a batch ``(N, …)`` in numpy. Training
batches are warped on the CPU by OpenCV (:func:`warp_batch`: ``warpAffine`` and the colour ``transform``, SIMD C++,
one call each per image) or by ``torch.grid_sample`` on a whole batch on any device (:func:`warp_torch`), with the
same maps; :func:`warp_pil` (PIL, the reference) crops the source images when a cache is prepared.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from handkin.errors import ShapeError

from .augment import AugmentConfig

#: Luminance weights (ITU-R BT.601) used by the saturation and contrast augmentation.
LUMA = np.array([0.299, 0.587, 0.114])


class CropGeometry(NamedTuple):
    """Where a batch of crops comes from and its labels (``N`` crops)."""

    T: np.ndarray
    """(N, 3, 3) affine map, source pixels → crop pixels (last row 0, 0, 1)."""
    Q: np.ndarray
    """(N, 3, 3) orthogonal map of the camera frame (rotation about z, times diag(−1, 1, 1) when mirrored)."""
    K: np.ndarray
    """(N, 3, 3) the crop's intrinsics ``T K Qᵀ`` (upper triangular)."""
    uv: np.ndarray
    """(N, 21, 2) 2D joints in crop pixels."""
    joints: np.ndarray
    """(N, 21, 3) 3D joints in the crop's camera frame (same unit as given)."""


def _affine(n: int) -> np.ndarray:
    return np.broadcast_to(np.eye(3), (n, 3, 3)).copy()


def apply_affine(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points ``(N, M, 2)`` mapped by affine ``T (N, 3, 3)``."""
    return points @ np.swapaxes(T[:, :2, :2], -1, -2) + T[:, None, :2, 2]


def crop_geometry(
    K: np.ndarray,
    uv: np.ndarray,
    joints: np.ndarray,
    centre: np.ndarray,
    side: np.ndarray,
    size: int,
    *,
    mirror: np.ndarray | None = None,
    angle: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    shift: np.ndarray | None = None,
) -> CropGeometry:
    """The crop of side ``size`` px around ``centre (N, 2)`` with ``side (N,)`` source pixels across, after an
    optional mirror (``mirror (N,)`` bool) and rotation by ``angle (N,)`` radians about the optical axis.

    ``scale (N,)`` makes the hand that much larger in the crop; ``shift (N, 2)`` moves the hand centre from the
    crop centre by that fraction of the crop side. ``K (N, 3, 3)``, ``uv (N, 21, 2)`` source pixels, ``joints
    (N, 21, 3)`` camera frame (any unit). Returns the maps and the crop's labels (:class:`CropGeometry`).
    """
    K = np.asarray(K, dtype=np.float64)
    n = len(K)
    centre = np.asarray(centre, dtype=np.float64).reshape(n, 2)
    T = _affine(n)
    Q = _affine(n)
    Kc = K.copy()
    if mirror is not None:
        m = np.asarray(mirror, dtype=bool).reshape(n)
        Tm = _affine(n)
        Tm[m, 0, 0] = -1.0
        Tm[m, 0, 2] = 2.0 * K[m, 0, 2]  # reflect about the principal point's column
        T = Tm
        Q[m, 0, 0] = -1.0
        Kc = Tm @ K @ Q  # Q is its own transpose here
        centre = apply_affine(Tm, centre[:, None])[:, 0]
    if angle is not None:
        a = np.asarray(angle, dtype=np.float64).reshape(n)
        c, s = np.cos(a), np.sin(a)
        R = _affine(n)
        R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1] = c, -s, s, c
        Tr = Kc @ R @ np.linalg.inv(Kc)
        Tr[:, 2] = (0.0, 0.0, 1.0)  # exact affine (K R K⁻¹ keeps the last row up to rounding)
        T = Tr @ T
        Q = R @ Q
        centre = apply_affine(Tr, centre[:, None])[:, 0]
    factor = size / np.asarray(side, dtype=np.float64).reshape(n)
    if scale is not None:
        factor = factor * np.asarray(scale, dtype=np.float64).reshape(n)
    target = np.full((n, 2), (size - 1) / 2.0)
    if shift is not None:
        target = target + np.asarray(shift, dtype=np.float64).reshape(n, 2) * size
    Tc = _affine(n)
    Tc[:, 0, 0] = Tc[:, 1, 1] = factor
    Tc[:, :2, 2] = target - factor[:, None] * centre
    T = Tc @ T
    K_crop = Tc @ Kc
    uv_crop = apply_affine(T, np.asarray(uv, dtype=np.float64))
    joints_crop = np.asarray(joints, dtype=np.float64) @ np.swapaxes(Q, -1, -2)
    return CropGeometry(T, Q, K_crop, uv_crop, joints_crop)


def hand_box(bbox: np.ndarray, pad: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(N, 2)`` and side ``(N,)`` of the square crop around hand boxes ``(N, 4)`` ``(x0, y0, x1, y1)``:
    the box centre, and its larger side × ``pad`` (at least 8 px)."""
    bbox = np.asarray(bbox, dtype=np.float64)
    centre = (bbox[:, :2] + bbox[:, 2:]) / 2.0
    side = np.maximum((bbox[:, 2:] - bbox[:, :2]).max(axis=1) * pad, 8.0)
    return centre, side


# ------------------------------------------------------------------------------------------- random draws
def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def keyed_uniforms(seed: int, salt: int, index: np.ndarray, k: int) -> np.ndarray:
    """``(N, k)`` uniform numbers in [0, 1) that depend only on ``(seed, salt, index[i], j)``: the same sample
    gets the same draws whichever batch, worker or process it is in (counter-based, splitmix64)."""
    with np.errstate(over="ignore"):
        key = _splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
        key = _splitmix64(key ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF))
        h = _splitmix64(key ^ np.asarray(index, dtype=np.int64).astype(np.uint64))
        bits = _splitmix64(h[:, None] + np.arange(1, k + 1, dtype=np.uint64)[None, :])
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 2.0**53)


#: Number of uniform numbers :func:`sample_augmentation` takes per sample.
N_UNIFORMS = 10


class Augmentation(NamedTuple):
    """Per-sample augmentation parameters (``N`` samples)."""

    angle: np.ndarray
    """(N,) radians about the optical axis."""
    scale: np.ndarray
    """(N,) factor on the hand size."""
    shift: np.ndarray
    """(N, 2) offset of the hand centre, fractions of the crop side."""
    colour: np.ndarray
    """(N, 3, 4) affine colour map ``rgb' = M rgb + b`` (``[M | b]``, 8-bit units)."""


def sample_augmentation(config: AugmentConfig, uniforms: np.ndarray, mean_rgb: np.ndarray) -> Augmentation:
    """Parameters from ``uniforms (N, N_UNIFORMS)`` in [0, 1) (e.g. :func:`keyed_uniforms`) and each image's mean colour
    ``mean_rgb (N, 3)`` (the contrast pivots about its grey value)."""
    u = np.asarray(uniforms, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != N_UNIFORMS:
        raise ShapeError(f"uniforms must have shape (N, {N_UNIFORMS}), got {u.shape}.")

    def sym(x: np.ndarray, half: float) -> np.ndarray:
        return (2.0 * x - 1.0) * half

    lo, hi = config.scale
    angle = sym(u[:, 0], np.radians(config.rotation_deg))
    scale = np.exp(np.log(lo) + u[:, 1] * (np.log(hi) - np.log(lo)))  # log-uniform: zooming in and out alike
    shift = sym(u[:, 2:4], config.shift)
    gain = 1.0 + sym(u[:, 4:7], config.colour_gain)
    sat = 1.0 + sym(u[:, 7], config.saturation)
    bright = 1.0 + sym(u[:, 8], config.brightness)
    contrast = 1.0 + sym(u[:, 9], config.contrast)
    colour = colour_matrix(gain, sat, contrast, bright, mean_rgb)
    return Augmentation(angle, scale, shift, colour)


def colour_matrix(
    gain: np.ndarray, saturation: np.ndarray, contrast: np.ndarray, brightness: np.ndarray, mean_rgb: np.ndarray
) -> np.ndarray:
    """``(N, 3, 4)`` ``[M | b]``: per-channel ``gain (N, 3)``, then ``saturation`` (blend with the luminance),
    ``contrast`` (blend with the image's mean grey after the gains), ``brightness`` (a factor) — all ``(N,)``."""
    n = len(gain)
    eye = np.eye(3)
    grey = np.ones((3, 1)) * LUMA[None, :]  # rows: luminance
    sat = saturation[:, None, None] * eye + (1.0 - saturation)[:, None, None] * grey
    M = sat * gain[:, None, :]  # sat @ diag(gain)
    mean_grey = (np.asarray(mean_rgb, dtype=np.float64) * gain) @ LUMA  # saturation keeps the luminance
    M = (brightness * contrast)[:, None, None] * M
    b = (brightness * (1.0 - contrast) * mean_grey)[:, None] * np.ones((n, 3))
    return np.concatenate([M, b[..., None]], axis=-1)


def identity_colour(n: int) -> np.ndarray:
    """``(N, 3, 4)`` the colour map that changes nothing."""
    return np.broadcast_to(np.concatenate([np.eye(3), np.zeros((3, 1))], axis=1), (n, 3, 4)).copy()


# ------------------------------------------------------------------------------------------- warping
def pil_coefficients(T: np.ndarray) -> np.ndarray:
    """PIL's ``Image.transform(AFFINE)`` data ``(N, 6)`` for source → crop maps ``T (N, 3, 3)``: the inverse maps
    in PIL's pixel convention (pixel centres at ``i + 0.5``)."""
    A = np.linalg.inv(np.asarray(T, dtype=np.float64).reshape(-1, 3, 3))
    out = A[:, :2, :].reshape(-1, 6).copy()
    out[:, 2] += 0.5 - 0.5 * (A[:, 0, 0] + A[:, 0, 1])
    out[:, 5] += 0.5 - 0.5 * (A[:, 1, 0] + A[:, 1, 1])
    return out


def warp_pil(
    images: Any,
    T: np.ndarray,
    size: int,
    interpolation: str = "bilinear",
    colour: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Warp uint8 images ``images[i] (H, W, 3)`` (a batch array, a memmap, or a list of arrays / PIL images)
    by ``T (N, 3, 3)`` into ``(N, size, size, 3)`` uint8, with an optional colour map ``colour (N, 3, 4)``.
    Outside the source is black. PIL does the work in C, one call per image."""
    from PIL import Image

    resample = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST}[interpolation]
    n = len(T)
    if out is None:
        out = np.empty((n, size, size, 3), dtype=np.uint8)
    coeffs = [tuple(c) for c in pil_coefficients(T).tolist()]
    mats = None if colour is None else [tuple(c) for c in np.asarray(colour, dtype=np.float64).reshape(n, 12).tolist()]
    for i in range(n):
        src = images[i]
        if not isinstance(src, Image.Image):
            a = np.ascontiguousarray(src)
            src = Image.frombuffer("RGB", (a.shape[1], a.shape[0]), a, "raw", "RGB", 0, 1)
        img = src.transform((size, size), Image.AFFINE, coeffs[i], resample=resample)
        if mats is not None:
            img = img.convert("RGB", matrix=mats[i])
        out[i] = np.asarray(img)
    return out


def _cv2():
    try:
        import cv2
    except ImportError:  # pragma: no cover - a declared dependency of the train extra
        raise ImportError(
            "handkin_train warps training crops with OpenCV: pip install opencv-python-headless "
            "(or pip install 'handkin[train]')."
        ) from None
    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)  # one crop is far too small to split; DataLoader workers are the parallelism
    return cv2


def warp_batch(
    images: np.ndarray,
    T: np.ndarray,
    size: int,
    interpolation: str = "nearest",
    colour: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The training-batch warp on the CPU: uint8 ``images (N, H, W, 3)`` by ``T (N, 3, 3)`` (source px → crop px)
    into ``(N, size, size, 3)`` uint8, with an optional colour map ``colour (N, 3, 4)`` (``rgb' = M rgb + b``,
    rounded and saturated); outside the source is black (before the colour map, as :func:`warp_pil`).

    OpenCV's ``warpAffine`` (inverse map, pixel centres at integers as here; ``nearest`` rounds the source
    coordinate) and ``transform``: SIMD C++, about 0.1 ms per 128 px crop with colour, 2–3× less than PIL's
    affine transform and colour matrix. The same result as :func:`warp_pil` up to rounding (nearest: a source
    coordinate within ~1e-6 px of a pixel border may round the other way; colour: ±1 level).
    """
    cv2 = _cv2()
    flags = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR}[interpolation] | cv2.WARP_INVERSE_MAP
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ShapeError(f"images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}.")
    n = len(images)
    A = np.linalg.inv(np.asarray(T, dtype=np.float64).reshape(n, 3, 3))[:, :2, :]  # crop px → source px
    if out is None:
        out = np.empty((n, size, size, 3), dtype=np.uint8)
    if out.shape != (n, size, size, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ShapeError(f"out must be a C-contiguous uint8 array of shape {(n, size, size, 3)}.")
    mats = None if colour is None else np.asarray(colour, dtype=np.float64).reshape(n, 3, 4)
    src = np.ascontiguousarray(images)
    for i in range(n):  # one C++ call per image (a batched call does not exist; numpy gathers are 3× slower)
        cv2.warpAffine(src[i], A[i], (size, size), dst=out[i], flags=flags, borderMode=cv2.BORDER_CONSTANT)
        if mats is not None:
            cv2.transform(out[i], mats[i], dst=out[i])
    return out


def warp_torch(
    images: Any,
    T: Any,
    size: int,
    interpolation: str = "bilinear",
    colour: Any = None,
):
    """Batch warp on any torch device: uint8 ``images (N, H, W, 3)`` (tensor), ``T (N, 3, 3)`` → uint8
    ``(N, 3, size, size)`` (channels-last memory), with an optional colour map ``colour (N, 3, 4)``.

    One ``grid_sample`` over the whole batch (zeros outside the source); the same maps as :func:`warp_pil`.
    Meant for the GPU: on the CPU it is about ten times slower than :func:`warp_batch`.
    """
    import torch
    import torch.nn.functional as F

    device = images.device
    n, h, w, _ = images.shape
    T = torch.as_tensor(T, dtype=torch.float64, device=device)
    A = torch.linalg.inv(T)[:, :2, :].to(torch.float32)  # crop px → source px
    r = torch.arange(size, dtype=torch.float32, device=device)
    ys, xs = torch.meshgrid(r, r, indexing="ij")
    grid_in = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(1, -1, 3)  # (1, P, 3)
    src = grid_in @ A.transpose(1, 2)  # (N, P, 2) source pixel coordinates
    scale = torch.tensor([2.0 / w, 2.0 / h], device=device)
    grid = ((src + 0.5) * scale - 1.0).reshape(n, size, size, 2)  # align_corners=False convention
    x = images.permute(0, 3, 1, 2).to(torch.float32)
    y = F.grid_sample(x, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    if colour is not None:
        c = torch.as_tensor(colour, dtype=torch.float32, device=device)
        y = torch.einsum("nij,njhw->nihw", c[:, :, :3], y) + c[:, :, 3, None, None]
    return y.round_().clamp_(0, 255).to(torch.uint8).contiguous(memory_format=torch.channels_last)


def warp_image(image: Any, T: np.ndarray, size: int, antialias: bool = True) -> np.ndarray:
    """One source image (a PIL image) → ``(size, size, 3)`` uint8 crop by ``T (3, 3)``, bilinear. When the crop
    shrinks the image (by more than 1/0.8), the whole image is first resized by about that factor with PIL's
    antialiasing resize, and the remaining warp is at about unit scale (no aliasing)."""
    T = np.asarray(T, dtype=np.float64)
    shrink = float(np.sqrt(abs(np.linalg.det(T[:2, :2]))))
    if antialias and 0 < shrink < 0.8:
        from PIL import Image

        w, h = image.size
        nw, nh = max(1, round(w * shrink)), max(1, round(h * shrink))
        image = image.resize((nw, nh), Image.BILINEAR)  # filters over the scaled support: antialiased
        fx, fy = w / nw, h / nh
        R = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5], [0.0, 0.0, 1.0]])
        T = T @ R  # resized pixel (centres at integers) → source pixel
    return warp_pil([image], T[None], size)[0]


__all__ = [
    "Augmentation",
    "CropGeometry",
    "LUMA",
    "N_UNIFORMS",
    "apply_affine",
    "colour_matrix",
    "crop_geometry",
    "hand_box",
    "identity_colour",
    "keyed_uniforms",
    "pil_coefficients",
    "sample_augmentation",
    "warp_batch",
    "warp_image",
    "warp_pil",
    "warp_torch",
]
