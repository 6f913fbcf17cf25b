"""The default limits on real hands (issue 17): every real source accepted, impossible twins flagged.

Thresholds are the rates measured with ``benchmarks/plausibility.py`` over seeds 0–5 (docs/limits.md) minus a
margin; acceptance does not depend on the seed, the twins do (random joint / finger / sign per hand).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import calibrate_defaults  # noqa: E402
import plausibility  # noqa: E402
import real_sets  # noqa: E402

from handkin import HandSkeleton, JointLimits  # noqa: E402
from handkin.defaults import CALIBRATION_SOURCES  # noqa: E402

pytestmark = pytest.mark.skipif(
    any(real_sets.missing(SHARED_DATA)), reason=f"shared real sets not available under {SHARED_DATA}"
)

#: Real sets held to the issue's 97 % acceptance; the MediaPipe gestures are estimator output on photos,
#: a quarter of them on hard dataset images where MediaPipe fails (checked separately below).
GROUND_TRUTH_LIKE = ("stb", "quest", "mediapipe_video", "interhand")


@pytest.fixture(scope="module")
def sets():
    return real_sets.load_real_sets(SHARED_DATA)


@pytest.fixture(scope="module")
def default_scores(sets):
    return plausibility.run(plausibility.build_default, sets, seed=0)


@pytest.fixture(scope="module")
def loso_scores(sets):
    return plausibility.run(plausibility.build_calibrated, sets, seed=0)


@pytest.mark.parametrize("name", GROUND_TRUTH_LIKE)
def test_defaults_accept_every_real_source(default_scores, name):
    assert default_scores[name]["accept"] >= 97.0, default_scores[name]["top"]


@pytest.mark.parametrize("name", GROUND_TRUTH_LIKE)
def test_the_recipe_accepts_a_source_it_was_not_built_on(loso_scores, name):
    assert loso_scores[name]["accept"] >= 97.0, loso_scores[name]["top"]


def test_mediapipe_gestures_fail_only_where_mediapipe_does(sets):
    s = sets["mediapipe_gestures"]
    ok = np.asarray(JointLimits.default().check(HandSkeleton(joints=s.joints_mm, units="mm")).ok)
    group = np.array([g.split("/")[0] for g in s.groups])
    photos = np.isin(group, ["expected", "mp_gesture"])  # MediaPipe's own test images and gesture photos
    assert ok[photos].mean() >= 0.85  # measured 0.894 (42 of 47)
    assert ok.mean() >= 0.75  # measured 0.788; on the 19 dataset images (FreiHAND, OneHand10k, Panoptic, RHD...) 0.53


@pytest.mark.parametrize(
    "name, kind, at_least",
    [
        ("stb", "depth flip", 77.0),  # 80.2; the rest are near-flat hands, whose mirror image is a plausible hand
        ("interhand", "depth flip", 99.0),  # 100
        ("stb", "bend -60", 99.0),  # 100
        ("quest", "bend -60", 99.0),  # 100
        ("mediapipe_video", "bend -60", 99.0),  # 100
        ("stb", "twist ±40", 78.0),  # 83.3–84.0 over seeds 0–5
        ("quest", "twist ±40", 65.0),  # 71.8–79.1
        ("mediapipe_video", "twist ±40", 68.0),  # 72.6–79.1
        ("stb", "finger flip", 45.0),  # 47.8–48.3
        ("quest", "finger flip", 40.0),  # 44.5–55.5
        ("mediapipe_video", "finger flip", 60.0),  # 64.7–68.9
    ],
)
def test_defaults_flag_impossible_twins(default_scores, name, kind, at_least):
    assert default_scores[name][kind] >= at_least


def test_the_bmc_score_ranks_twins_above_real_hands(default_scores):
    for name in GROUND_TRUTH_LIKE:
        assert default_scores[name]["auroc"] >= 0.85, name  # measured 0.87–0.98 over seeds 0–5


def test_shipped_polygons_are_the_recipe_on_the_shared_sets():
    sources = calibrate_defaults.calibration_sources()
    assert {k: int(np.prod(v.batch_shape)) for k, v in sources.items()} == CALIBRATION_SOURCES
    text = Path(calibrate_defaults.DEFAULTS).read_text(encoding="utf-8")
    assert calibrate_defaults.generated_block(sources) in text, "run benchmarks/calibrate_defaults.py --write"
