"""benchmarks/plausibility.py and benchmarks/real_sets.py on a small subsample of ../shared/data.

The benchmark scripts are imported from the benchmarks folder, which this module puts on ``sys.path``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import plausibility  # noqa: E402
import real_sets  # noqa: E402

from handkin import HandSkeleton, JointLimits, twins  # noqa: E402

needs_data = pytest.mark.skipif(not (SHARED_DATA / "stb_sequences").exists(), reason="shared data not available")
SOURCES = ["stb", "quest", "mediapipe_video", "interhand", "mediapipe_gestures", "rhd"]


@pytest.fixture(scope="module")
def sets():
    loaded = real_sets.load_real_sets(SHARED_DATA)
    return {n: plausibility.subsample(s, 60) for n, s in loaded.items()}


def test_auroc_counts_ties_half():
    assert plausibility.auroc(np.array([0.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(0.75)
    assert plausibility.auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert plausibility.auroc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 0.0
    assert plausibility.auroc(np.zeros(3), np.zeros(5)) == 0.5


def test_without_shared_data_nothing_is_scored(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HANDKIN_SHARED_DATA", str(tmp_path / "absent"))
    assert real_sets.load_real_sets() == {}
    assert real_sets.missing() == SOURCES
    assert plausibility.main(["--max-per-source", "5"]) == {}
    assert "no real hand sets found" in capsys.readouterr().out


@needs_data
def test_real_sets_are_right_hands_in_mm():
    loaded = real_sets.load_real_sets(SHARED_DATA)
    assert list(loaded) == SOURCES
    sizes = {n: len(s) for n, s in loaded.items()}
    assert sizes["stb"] == 15000 and sizes["quest"] == 110 and sizes["mediapipe_video"] == 621
    assert sizes["interhand"] == 6 and sizes["rhd"] == 3 and sizes["mediapipe_gestures"] >= 60
    for s in loaded.values():
        assert s.joints_mm.dtype == np.float64 and s.joints_mm.shape == (len(s), 21, 3)
        assert np.isfinite(s.joints_mm).all() and set(s.sides) <= {"right", "left"}
        ref = np.linalg.norm(s.joints_mm[:, 9] - s.joints_mm[:, 0], axis=-1)
        assert 50 < np.median(ref) < 130  # mm
        if s.camera_frame:
            assert (s.joints_mm[..., 2] > 0).all()
    assert loaded["stb"].camera_frame and not loaded["quest"].camera_frame and loaded["rhd"].synthetic
    assert len(np.unique(loaded["stb"].groups)) == 10
    assert (loaded["quest"].sides == "left").sum() == 55
    gestures = loaded["mediapipe_gestures"]
    assert (gestures.sides == "left").any() and (gestures.sides == "right").any()
    # sides come from geometry, so after mirroring every gesture hand reads as a right hand
    assert (real_sets.geometric_side(gestures.joints_mm) == "right").all()
    photos = np.char.startswith(gestures.groups.astype(str), "expected/")
    labelled = gestures.labels != ""
    # MediaPipe's label is mirrored on ordinary photos (selfie convention)
    assert (np.char.lower(gestures.labels[~photos & labelled].astype(str)) != gestures.sides[~photos & labelled]).all()


@needs_data
def test_main_prints_one_row_per_source_with_sane_numbers(tmp_path, capsys):
    out_json = tmp_path / "bench.json"
    results = plausibility.main(
        ["--limits", "default", "--max-per-source", "40", "--seed", "3", "--json", str(out_json)]
    )
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| ") and not line.startswith("| held out")]
    assert len(rows) == len(SOURCES)
    assert [r.split("|")[1].strip().split(" ")[0] for r in rows] == SOURCES
    for name, r in results["default"].items():
        for key in ("accept", *plausibility.TWINS):
            assert r[key] is None or 0.0 <= r[key] <= 100.0
        assert 0.0 <= r["auroc"] <= 1.0
        assert (r["depth flip"] is None) == (name in ("quest", "mediapipe_video", "mediapipe_gestures"))
        assert r["bend -60"] >= 90.0  # −60° flexion is outside every joint's default range
    saved = json.loads(out_json.read_text())
    assert saved["seed"] == 3 and saved["results"]["default"]["stb"]["n"] == 40


@needs_data
def test_rows_are_deterministic_and_independent_of_the_other_rows(sets):
    only = {"interhand": sets["interhand"]}
    a = plausibility.run(plausibility.build_default, sets, seed=5)["interhand"]
    b = plausibility.run(plausibility.build_default, only, seed=5)["interhand"]
    assert a == b


def _fit20(train):
    return JointLimits.fit(
        HandSkeleton(joints=np.concatenate([s.joints_mm for s in train.values()]), units="mm"), 20, units="ref"
    )


@needs_data
def test_limits_fitted_on_the_data_accept_it_without_holdout(sets):
    plain = plausibility.run(plausibility.build_fit, sets, holdout=False)
    wide = plausibility.run(_fit20, sets, holdout=False)
    for name, s in sets.items():
        # min/max intervals hold their own data exactly; the paper's 10-vertex polygons lose a few points
        assert plain[name]["rejected_by"]["bones"] == 0.0 and plain[name]["rejected_by"]["palm"] == 0.0
        assert plain[name]["accept"] >= 90.0
        if not s.synthetic:
            assert wide[name]["accept"] >= 99.0
    loso = plausibility.run(plausibility.build_fit, sets, holdout=True)
    assert loso["stb"]["accept"] < plain["stb"]["accept"]  # holding STB out does cost acceptance


@needs_data
def test_twins_of_real_hands_keep_what_they_promise(sets):
    stb = sets["stb"]
    t = plausibility.make_twins(stb, seed=0)
    np.testing.assert_allclose(twins.depth_flip(t["depth flip"]), stb.joints_mm, atol=1e-9)
    uv = stb.joints_mm[..., :2] / stb.joints_mm[..., 2:]
    np.testing.assert_allclose(t["finger flip"][..., :2] / t["finger flip"][..., 2:], uv, atol=1e-9)
    lengths = HandSkeleton(joints=stb.joints_mm, units="mm").bone_lengths
    for kind in ("bend -60", "twist ±40"):
        np.testing.assert_allclose(HandSkeleton(joints=t[kind], units="mm").bone_lengths, lengths, atol=1e-9)
    assert plausibility.make_twins(sets["quest"], seed=0)["depth flip"] is None
