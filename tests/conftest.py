"""Shared fixtures: backends (``backend``; ``case`` = backend × dtype × device from :mod:`base`), random
plausible hands, and the real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from base import BACKENDS, CASES, Case, as_backend, torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

import handkin

__all__ = ["BACKENDS", "as_backend", "torch", "random_hands", "batch_shapes", "seeds", "shared_path", "SHARED_DATA"]

settings.register_profile("default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HANDKIN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of each available backend in turn."""
    return request.param


@pytest.fixture(params=CASES)
def case(request) -> Case:
    """Each backend × dtype (float32, float64) × device (cpu; cuda when available) in turn (:class:`base.Case`)."""
    return request.param


def random_hands(seed: int, batch_shape=(), noise_mm: float = 4.0) -> np.ndarray:
    """Plausible right hands in mm: the template with per-joint noise, a random rotation and translation."""
    rng = np.random.default_rng(seed)
    base = np.asarray(handkin.flat_hand().joints)
    n = int(np.prod(batch_shape, dtype=np.int64))
    joints = base + rng.normal(scale=noise_mm, size=(n, 21, 3))
    rot = Rotation.random(n, random_state=rng).as_matrix()
    joints = np.einsum("nij,nkj->nki", rot, joints) + rng.uniform(-500, 500, size=(n, 1, 3))
    return joints.reshape(*batch_shape, 21, 3)


batch_shapes = st.sampled_from([(), (1,), (3,), (2, 4)])
seeds = st.integers(0, 2**32 - 1)


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; skips the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path
