"""Synthetic images of hands (:func:`render`): a random background, the hand of :mod:`.hand` rasterised with a
depth buffer (:mod:`.raster`) and shaded (skin or glove albedo, ambient + Lambert + Blinn-Phong from a random
light), then blur and sensor noise. Images are uint8 RGB, ``(n, H, W, 3)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .config import RENDER_CHUNK, SyntheticConfig, uniform
from .hand import NUM_PARTS, PART_ARM, PART_PALM_INNER, hand_primitives, unit
from .raster import Covered, pixel_box, pixel_pairs, rasterize_sparse

#: Skin tones from light to dark (sRGB), interpolated by ``SyntheticConfig.skin_tone``.
SKIN_PALETTE = np.array(
    [[255, 224, 200], [241, 194, 167], [224, 172, 136], [198, 140, 102], [160, 106, 72], [115, 72, 48], [74, 46, 32]],
    dtype=np.float64,
)


def _skin(rng: np.random.Generator, tone: np.ndarray) -> np.ndarray:
    """``(n, 3)`` skin colours at palette positions ``tone`` in [0, 1], jittered per channel."""
    x = tone * (len(SKIN_PALETTE) - 1)
    i = np.clip(np.floor(x).astype(int), 0, len(SKIN_PALETTE) - 2)
    w = (x - i)[:, None]
    base = SKIN_PALETTE[i] * (1 - w) + SKIN_PALETTE[i + 1] * w
    return np.clip(base * rng.uniform(0.92, 1.08, (len(tone), 3)), 0, 255)


def _upsample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` linear-interpolation weights from a coarse grid spanning the image."""
    pos = np.linspace(0, n_in - 1, n_out)
    i = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    w = pos - i
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i] = 1 - w
    m[np.arange(n_out), i + 1] = w
    return m


class _Draws(NamedTuple):
    """Every random number of one chunk of :func:`render`, drawn before anything is drawn on the images."""

    c0: np.ndarray
    c1: np.ndarray
    gradient_angle: np.ndarray
    coarse: np.ndarray
    stripes: np.ndarray
    stripe_params: np.ndarray
    stripe_colour: np.ndarray
    n_shapes: np.ndarray
    shape_params: np.ndarray
    shape_colour: np.ndarray
    albedo: np.ndarray
    thickness: np.ndarray
    arm_length: np.ndarray
    light: np.ndarray
    ambient: np.ndarray
    specular: np.ndarray
    shininess: np.ndarray
    tint: np.ndarray
    noise_std: np.ndarray
    blur: np.ndarray
    noise: np.ndarray


def _draw(rng: np.random.Generator, n: int, config: SyntheticConfig) -> _Draws:
    size, m = config.image_size, config.max_shapes
    c0, c1 = rng.uniform(0, 255, (n, 3)), rng.uniform(0, 255, (n, 3))
    gradient_angle = rng.uniform(0, 2 * math.pi, n)
    coarse = rng.normal(0, 1, (n, 5, 5, 3)) * rng.uniform(0, 45, (n, 1, 1, 1))
    stripes = rng.random(n) < 0.2
    stripe_params = np.stack(  # cycles per image, direction, phase, strength
        [rng.uniform(2, 12, n), rng.uniform(0, math.pi, n), rng.uniform(0, 2 * math.pi, n), rng.uniform(0.2, 0.6, n)],
        -1,
    )
    stripe_colour = rng.uniform(0, 255, (n, 3))
    n_shapes = rng.integers(0, m + 1, n)
    shape_params = np.stack(  # centre u, v, half axes a, b, rotation, rectangle?, opacity
        [
            rng.uniform(-0.1, 1.1, (n, m)) * size,
            rng.uniform(-0.1, 1.1, (n, m)) * size,
            rng.uniform(0.03, 0.35, (n, m)) * size,
            rng.uniform(0.03, 0.35, (n, m)) * size,
            rng.uniform(0, math.pi, (n, m)),
            rng.random((n, m)) < 0.5,
            rng.uniform(0.5, 1.0, (n, m)),
        ],
        -1,
    )
    distractor = rng.random((n, m)) < 0.25  # skin-coloured shapes: skin is not a shortcut to the hand
    shape_colour = np.where(
        distractor[..., None],
        _skin(rng, rng.random(n * m)).reshape(n, m, 3) if m else np.zeros((n, 0, 3)),
        rng.uniform(0, 255, (n, m, 3)),
    )

    skin = _skin(rng, uniform(rng, config.skin_tone, n))
    glove = rng.random(n) < config.glove_probability
    glove_colour = rng.uniform(0, 255, (n, 3))
    hand = np.where(glove[:, None], glove_colour, skin)
    albedo = np.repeat(hand[:, None], NUM_PARTS, axis=1)
    finger = rng.uniform(0.95, 1.05, (n, 5))
    albedo[:, :20] *= np.repeat(finger, 4, axis=1)[..., None]
    inner = np.where(glove[:, None], hand, hand + 0.25 * (np.array([236.0, 190.0, 170.0]) - hand))  # lighter palm
    albedo[:, PART_PALM_INNER] = inner
    sleeve = rng.random(n) < 0.5
    albedo[:, PART_ARM] = np.where(sleeve[:, None], rng.uniform(0, 255, (n, 3)), hand)
    thickness = uniform(rng, config.thickness, n)
    arm = rng.random(n) < config.arm_probability
    arm_length = np.where(arm, rng.uniform(1.2, 2.5, n), 0.0)

    light = rng.normal(0, 1, (n, 3))
    light = unit(unit(light) + np.array([0.0, 0.0, -1.3]))  # mostly from the camera's side
    ambient = uniform(rng, config.ambient, n)
    specular = uniform(rng, config.specular, n)
    shininess = rng.uniform(8, 40, n)
    tint = rng.uniform(0.9, 1.1, (n, 3))
    noise_std = uniform(rng, config.noise_std, n)
    blur = uniform(rng, config.blur, n)
    noise = rng.random((n, 3, size, size), dtype=np.float32)  # uniform on [0, 1): scaled to the std when used
    noise -= np.float32(0.5)
    return _Draws(
        c0,
        c1,
        gradient_angle,
        coarse,
        stripes,
        stripe_params,
        stripe_colour,
        n_shapes,
        shape_params,
        shape_colour,
        albedo,
        thickness,
        arm_length,
        light,
        ambient,
        specular,
        shininess,
        tint,
        noise_std,
        blur,
        noise,
    )


def _draw_shapes(img: np.ndarray, d: _Draws) -> None:
    """Blend the random rectangles and ellipses into ``img (n, 3, H, W)`` in place: per shape slot, the pixels of
    its bounding box in every image at once (a slot's pixels are unique, so gather-blend-scatter is exact)."""
    n, size, f32 = img.shape[0], img.shape[-1], np.float32
    n_slots = d.shape_params.shape[1]
    if n_slots == 0:
        return
    active = (np.arange(n_slots)[None] < d.n_shapes[:, None]).T.ravel()  # slot-major
    p = np.swapaxes(d.shape_params, 0, 1).reshape(n_slots * n, 7)
    colour = np.swapaxes(d.shape_colour, 0, 1).reshape(n_slots * n, 3).astype(f32)
    reach = np.hypot(p[:, 2], p[:, 3])
    x0, x1, y0, y1 = pixel_box(p[:, 0] - reach, p[:, 0] + reach, p[:, 1] - reach, p[:, 1] + reach, size, size)
    count, px, py = pixel_pairs(x0, np.where(active, x1, -1), y0, y1)
    cos, sin = np.cos(p[:, 4]), np.sin(p[:, 4])
    per_shape = np.stack([p[:, 0], p[:, 1], cos / p[:, 2], sin / p[:, 2], cos / p[:, 3], sin / p[:, 3]], -1)
    q = [np.repeat(a, count) for a in per_shape.astype(f32).T]
    du, dv = px - q[0], py - q[1]
    a, b = du * q[2] + dv * q[3], dv * q[4] - du * q[5]
    rect = np.repeat(p[:, 5] > 0.5, count)
    inside = np.flatnonzero(np.where(rect, np.maximum(np.abs(a), np.abs(b)), a * a + b * b) <= 1.0)
    plane = size * size
    shape = np.arange(len(count))

    def spread(values: np.ndarray) -> np.ndarray:  # per-shape values at the pixels inside
        return np.repeat(values, count)[inside]

    index = spread(shape % n * (3 * plane)) + (py[inside] * size + px[inside]).astype(np.int64)
    alpha = spread(p[:, 6].astype(f32))
    colours = [spread(colour[:, ch] * p[:, 6].astype(f32)) for ch in range(3)]
    flat = img.reshape(-1)
    bounds = np.searchsorted(spread(shape // n), np.arange(n_slots + 1))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        keep = 1 - alpha[lo:hi]
        for ch in range(3):
            sel = index[lo:hi] + ch * plane
            flat[sel] = flat[sel] * keep + colours[ch][lo:hi]


def _background(d: _Draws, size: int) -> np.ndarray:
    """``(n, 3, H, W)`` float32 backgrounds (channel-first): gradient + low-frequency colour noise + stripes +
    rectangles and ellipses."""
    f32 = np.float32
    # the gradient is linear in (u, v), so adding it at the coarse grid's nodes before the (bilinear) upsampling
    # reproduces it exactly: one pair of small matrix products makes the whole smooth base
    nodes = np.linspace(0.0, 1.0, d.coarse.shape[1])
    gradient = 0.5 + np.cos(d.gradient_angle)[:, None, None] * (nodes[None, None, :] - 0.5)
    gradient = gradient + np.sin(d.gradient_angle)[:, None, None] * (nodes[None, :, None] - 0.5)  # (n, rows, cols)
    base = d.c0[:, :, None, None] + (d.c1 - d.c0)[:, :, None, None] * gradient[:, None]
    base = (base + d.coarse.transpose(0, 3, 1, 2)).astype(f32)  # (n, 3, g, g)
    m = _upsample_matrix(d.coarse.shape[1], size).astype(f32)
    img = np.matmul(np.matmul(m, base), m.T)
    v, u = np.mgrid[0:size, 0:size].astype(f32) / f32(size - 1)
    for i in np.flatnonzero(d.stripes):
        cycles, angle, phase, strength = d.stripe_params[i]
        wave = 0.5 + 0.5 * np.sin(2 * math.pi * cycles * (u * math.cos(angle) + v * math.sin(angle)) + phase)
        w = f32(strength) * wave
        img[i] = img[i] * (1 - w) + d.stripe_colour[i].astype(f32)[:, None, None] * w

    _draw_shapes(img, d)
    return img


def _shade(hits: Covered, d: _Draws, plane: int) -> np.ndarray:
    """Colours ``(M, 3)`` float32 of the covered pixels (``plane`` = H·W pixels per image)."""
    f32 = np.float32
    b = hits.pixel // plane
    per_image = np.bincount(b, minlength=len(d.light))  # pixels are sorted by image: spread with np.repeat

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(f32), per_image, axis=0)

    n = hits.normal
    light, half = spread(d.light), spread(unit(d.light + np.array([0.0, 0.0, -1.0])))
    lam = np.maximum(n[:, 0] * light[:, 0] + n[:, 1] * light[:, 1] + n[:, 2] * light[:, 2], 0.0)
    spec = np.maximum(n[:, 0] * half[:, 0] + n[:, 1] * half[:, 1] + n[:, 2] * half[:, 2], f32(1e-6))
    spec = np.exp(spread(d.shininess) * np.log(spec))
    amb = spread(d.ambient)
    albedo = d.albedo.astype(f32).reshape(-1, 3)[b * NUM_PARTS + hits.part]
    colour = albedo * ((amb + (1 - amb) * lam)[:, None] * spread(d.tint))
    colour += (f32(255) * spread(d.specular) * spec)[:, None]
    return colour


def _blur(img: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Separable ``[a, 1 − 2a, a]`` blur of ``(n, 3, H, W)`` in place, one ``a`` per image (edges replicated)."""
    w = a.astype(np.float32)[:, None, None, None]
    step = np.empty_like(img)  # a · (previous + next − 2 · self), without temporaries
    for axis in (2, 3):

        def cut(part: slice, axis: int = axis) -> tuple[slice, ...]:
            return (slice(None),) * axis + (part,)

        np.add(img[cut(slice(None, -2))], img[cut(slice(2, None))], out=step[cut(slice(1, -1))])
        np.add(img[cut(slice(0, 1))], img[cut(slice(1, 2))], out=step[cut(slice(0, 1))])
        np.add(img[cut(slice(-1, None))], img[cut(slice(-2, -1))], out=step[cut(slice(-1, None))])
        step -= img
        step -= img
        step *= w
        img += step
    return img


def render(
    joints_cam: np.ndarray, K: np.ndarray, rng: np.random.Generator, config: SyntheticConfig, draw_hand: bool = True
) -> np.ndarray:
    """``(n, H, W, 3)`` uint8 RGB images of right hands ``joints_cam (n, 21, 3)`` mm seen through ``K (n, 3, 3)``.

    A random background, then (``draw_hand``) the hand of :func:`hand_primitives` rasterised with a depth
    buffer (:func:`rasterize`) and shaded: albedo (skin tone or glove; slightly varying per finger; a lighter
    inner palm) × (ambient + Lambert from a random light mostly on the camera's side) + a Blinn-Phong
    highlight; then a slight blur and sensor noise. The random numbers drawn do not depend on
    ``draw_hand``, so the same ``rng`` state gives the same background with and without the hand. Works in
    chunks of :data:`~handkin_train.data.synthetic.config.RENDER_CHUNK` images.
    """
    joints_cam = np.asarray(joints_cam, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    n, size = len(joints_cam), config.image_size
    if joints_cam.shape != (n, 21, 3) or K.shape != (n, 3, 3):
        raise ValueError(f"render needs joints_cam (n, 21, 3) and K (n, 3, 3), got {joints_cam.shape}, {K.shape}.")
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for lo in range(0, n, RENDER_CHUNK):
        hi = min(lo + RENDER_CHUNK, n)
        d = _draw(rng, hi - lo, config)
        img = _background(d, size)
        if draw_hand:
            prims = hand_primitives(joints_cam[lo:hi], d.thickness, d.arm_length, 0.5 * config.min_depth_mm)
            hits = rasterize_sparse(K[lo:hi], (size, size), *prims)
            plane = size * size
            colour = _shade(hits, d, plane)
            image, pixel = np.divmod(hits.pixel, plane)
            flat = img.reshape(-1)
            for ch in range(3):
                flat[image * (3 * plane) + ch * plane + pixel] = colour[:, ch]
        img = _blur(img, d.blur)
        sigma = (math.sqrt(12.0) * d.noise_std).astype(np.float32)[:, None, None, None]
        noise = d.noise
        noise *= sigma
        noise += np.float32(0.5)  # the cast to uint8 truncates: + 0.5 rounds to nearest
        img += noise
        np.clip(img, 0.0, 255.0, out=img)
        out[lo:hi] = img.astype(np.uint8).transpose(0, 2, 3, 1)
    return out


__all__ = ["render", "SKIN_PALETTE"]
