"""Plausible random hand poses from JointLimits (handkin.sampling): numpy only, no handkin_train needed."""

from __future__ import annotations

import numpy as np
import pytest

import handkin
from handkin.anatomy import Joint
from handkin.handsize import REFERENCE_MM
from handkin.hull import contains
from handkin.sampling import SamplingConfig, sample_poses


@pytest.mark.parametrize(
    "limits, natural",
    [
        (handkin.JointLimits.default(), 0.6),
        (handkin.JointLimits.default(), 0.0),
        (handkin.JointLimits.default(), 1.0),
        (handkin.JointLimits.default(couplings=True), 0.6),
        (handkin.JointLimits.default(units="mm"), 0.6),
    ],
    ids=["default", "uniform", "natural", "couplings", "mm-limits"],
)
def test_poses_satisfy_the_limits(limits, natural):
    cfg = SamplingConfig(natural_fraction=natural)
    hands = sample_poses(400, limits, np.random.default_rng(0), cfg)
    assert hands.shape == (400, 21, 3) and hands.dtype == np.float64
    skeleton = handkin.HandSkeleton(joints=hands, units="mm")
    report = limits.check(skeleton)
    assert report.ok.all(), report.violations()[:5]
    angles = np.asarray(skeleton.joint_angles)
    assert contains(angles, limits.polygon_array).all()
    size = np.asarray(skeleton.reference_length())
    assert size.min() >= cfg.reference_mm[0] - 1e-9 and size.max() <= cfg.reference_mm[1] + 1e-9
    np.testing.assert_allclose(hands[:, Joint.wrist], 0.0, atol=1e-12)  # hand frame: wrist at the origin


def test_poses_are_varied_right_hands():
    hands = sample_poses(300, handkin.JointLimits.default(), np.random.default_rng(1), SamplingConfig())
    skeleton = handkin.HandSkeleton(joints=hands, units="mm")
    angles = np.degrees(np.asarray(skeleton.joint_angles))
    assert angles[..., 0].std(axis=0).min() > 10.0  # every joint's flexion varies
    ratio = np.asarray(skeleton.bone_lengths) / np.asarray(skeleton.reference_length())[:, None]
    template = np.asarray(handkin.flat_hand().bone_lengths) / REFERENCE_MM
    assert np.all(np.abs(ratio / template - 1.0) <= SamplingConfig().bone_jitter + 1e-9)
    # right hands in the template's frame: index_mcp × little_mcp points to −z, the palm side
    palm_normal = np.cross(hands[:, Joint.index_mcp], hands[:, Joint.little_mcp])
    assert np.all(palm_normal[:, 2] < 0)


def test_defaults_and_seeds():
    a = sample_poses(20, rng=3)  # default limits and config, a seed
    assert a.shape == (20, 21, 3)
    assert np.array_equal(a, sample_poses(20, handkin.JointLimits.default(), np.random.default_rng(3)))
    assert np.array_equal(a, sample_poses(20, rng=3, config=SamplingConfig()))
    assert not np.allclose(a, sample_poses(20, rng=4))
    rng = np.random.default_rng(0)
    assert not np.allclose(sample_poses(5, rng=rng), sample_poses(5, rng=rng))  # a Generator is advanced in place
    assert sample_poses(0).shape == (0, 21, 3)
    with pytest.raises(ValueError):
        sample_poses(-1)
    with pytest.raises(ValueError):
        sample_poses(2.5)


def test_hand_size_range():
    cfg = SamplingConfig(reference_mm=(80.0, 80.0))
    hands = sample_poses(50, rng=0, config=cfg)
    size = np.linalg.norm(hands[:, Joint.middle_mcp] - hands[:, Joint.wrist], axis=-1)
    np.testing.assert_allclose(size, 80.0, atol=1e-9)
    # physical limits clip the hand size to their middle_mcp interval; no overlap is an error naming the bone
    fitted = handkin.JointLimits.fit(handkin.HandSkeleton(sample_poses(200, rng=1), units="mm"), units="mm")
    lo, hi = fitted.bone_bounds[handkin.Bone.middle_mcp]
    assert 75.0 <= lo < hi <= 105.0
    hands = sample_poses(100, fitted, 2, SamplingConfig(reference_mm=(60.0, 200.0)))
    size = np.linalg.norm(hands[:, Joint.middle_mcp] - hands[:, Joint.wrist], axis=-1)
    assert size.min() >= lo - 1e-9 and size.max() <= hi + 1e-9
    with pytest.raises(handkin.LimitsError, match="middle_mcp"):
        sample_poses(5, fitted, 0, SamplingConfig(reference_mm=(hi + 10.0, hi + 20.0)))


def test_config_validation():
    cfg = SamplingConfig()
    assert cfg.reference_mm == (75.0, 105.0) and cfg.natural_fraction == 0.6 and cfg.palm_cup_deg == (0.0, 15.0)
    assert SamplingConfig(**cfg.model_dump()) == cfg
    for bad in (
        {"reference_mm": (0.0, 90.0)},  # not positive
        {"reference_mm": (100.0, 90.0)},  # lo > hi
        {"palm_cup_deg": (0.0, 60.0)},  # beyond 45°
        {"natural_fraction": 1.5},
        {"bone_jitter": 0.5},
        {"focal_px": (100.0, 200.0)},  # not a pose field: extra fields are forbidden
    ):
        with pytest.raises(ValueError):
            SamplingConfig(**bad)
