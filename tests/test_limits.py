"""JointLimits: validation, fitting, units, personalisation, checking, persistence, Hand-BMC import."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import random_hands, shared_path

import handkin
from handkin import AngleJoint, Bone, HandSkeleton
from handkin.errors import LimitsError, UnitsError
from handkin.limits import PALM_PAIRS, SCHEMA_VERSION, AnglePolygon, Coupling, Interval, JointLimits

SQUARE = [(0.0, -0.2), (1.0, -0.2), (1.0, 0.2), (0.0, 0.2)]


# ----------------------------------------------------------------------------- the model


def test_interval_validation():
    assert tuple(Interval(min=1, max=2)) == (1.0, 2.0)
    assert Interval.model_validate((1, 2)).max == 2.0
    with pytest.raises(LimitsError, match="min > max"):
        Interval(min=2, max=1)
    with pytest.raises(LimitsError, match="finite"):
        Interval(min=float("nan"), max=1)


@pytest.mark.parametrize(
    "points, match",
    [
        (SQUARE[::-1], "clockwise"),
        ([(0, 0), (1, 0), (0.2, 0.2), (0, 1)], "convex"),
        ([(0, 0), (1, 0), (float("nan"), 1)], "finite|NaN"),
        ([(0, 0), (1, 0)], "3"),
    ],
)
def test_polygon_validation_rejects(points, match):
    with pytest.raises(LimitsError, match=match):
        AnglePolygon(points=points)


def test_unknown_names_and_bad_values_are_rejected():
    with pytest.raises(LimitsError, match="index_knuckle"):
        JointLimits(units="mm", bone_lengths={"index_knuckle": (1, 2)})
    with pytest.raises(LimitsError, match="palm pair"):
        JointLimits(units="mm", palm_curvature={"thumb_little": (0, 1)})
    with pytest.raises(LimitsError, match="angle joint"):
        JointLimits(units="mm", joint_angles={"index_tip": SQUARE})
    with pytest.raises(LimitsError, match="negative"):
        JointLimits(units="mm", bone_lengths={"index_pip": (-1, 2)})
    with pytest.raises(LimitsError, match=r"\[0, π\]"):
        JointLimits(units="mm", palm_angles={"thumb_index": (0, 4)})
    with pytest.raises(LimitsError, match="twice"):
        JointLimits(units="mm", bone_lengths={"little_pip": (1, 2), "pinky_pip": (1, 2)})
    with pytest.raises(handkin.UnitsError):
        JointLimits(units="inch")
    with pytest.raises(LimitsError, match="thumb"):
        Coupling(finger="thumb")


def test_aliases_and_arrays():
    limits = JointLimits(units="mm", bone_lengths={"pinky_pip": (20, 40)}, joint_angles={"pinky_mcp": SQUARE})
    assert "little_pip" in limits.bone_lengths and "little_mcp" in limits.joint_angles
    assert limits.bone_bounds.shape == (20, 2) and limits.bone_bounds[Bone.little_pip].tolist() == [20, 40]
    assert np.isinf(limits.bone_bounds[Bone.index_pip]).all()
    assert limits.polygon_array.shape[:2] == (15, 4)


# ----------------------------------------------------------------------------- fitting


def sample_poses(n, rng, flexion=(-0.2, 1.2), abduction=(-0.3, 0.3), scale=(0.9, 1.1)):
    angles = np.stack([rng.uniform(*flexion, (n, 15)), rng.uniform(*abduction, (n, 15))], axis=-1)
    sk = handkin.posed_hand(angles)
    s = rng.uniform(*scale, (n, 1, 1))
    return HandSkeleton(joints=np.asarray(sk.joints) * s, units="mm"), angles, s[:, 0, 0]


def test_fit_recovers_sampling_ranges():
    rng = np.random.default_rng(0)
    sk, angles, s = sample_poses(20000, rng)
    limits = JointLimits.fit(sk)
    assert limits.provenance.source == "fit" and limits.units.value == "mm"
    for a in AngleJoint:
        poly = limits.joint_angles[a.name].array
        assert len(poly) == 10
        np.testing.assert_allclose(poly.min(0), [-0.2, -0.3], atol=0.02)
        np.testing.assert_allclose(poly.max(0), [1.2, 0.3], atol=0.02)
        area = 0.5 * abs(np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1]))
        assert area > 0.95 * 1.4 * 0.6
    template = np.asarray(handkin.flat_hand().bone_lengths)
    lo = np.array([limits.bone_lengths[b.name].min for b in Bone])
    hi = np.array([limits.bone_lengths[b.name].max for b in Bone])
    np.testing.assert_allclose(lo, template * s.min(), rtol=1e-9)
    np.testing.assert_allclose(hi, template * s.max(), rtol=1e-9)
    report = limits.check(sk)  # the data used to fit lie inside, but for corners cut by the 10-point polygons
    assert np.all(report.bone_lengths <= 1e-9) and np.all(report.palm_curvature <= 1e-12)
    assert np.mean(report.joint_angles > 0, axis=0).max() < 0.005
    assert report.joint_angles.max() < 1.0  # degrees


def test_fit_percentiles_margins_and_ref_units():
    rng = np.random.default_rng(1)
    sk, _, s = sample_poses(4000, rng)
    robust = JointLimits.fit(sk, percentiles=(5, 95), margin=0.1, units="ref", hull_points=8)
    assert robust.units.value == "ref" and len(robust.joint_angles["index_pip"].points) == 8
    plain = JointLimits.fit(sk, units="ref")
    assert (
        robust.bone_lengths["index_pip"].max - robust.bone_lengths["index_pip"].min
        < 1e-6 + (plain.bone_lengths["index_pip"].max - plain.bone_lengths["index_pip"].min) * 1.2
    )
    widened = JointLimits.fit(sk, angle_margin=0.05)
    assert (
        widened.joint_angles["ring_pip"].array.max(0)[0] > JointLimits.fit(sk).joint_angles["ring_pip"].array.max(0)[0]
    )


def test_fit_accepts_lists_and_left_hands():
    rng = np.random.default_rng(2)
    sk, _, _ = sample_poses(300, rng)
    both = JointLimits.fit([sk[:150], sk[150:].mirror()])
    alone = JointLimits.fit(sk)
    np.testing.assert_allclose(both.joint_angles["index_mcp"].array, alone.joint_angles["index_mcp"].array, atol=1e-9)


def test_fit_on_a_million_poses_is_possible():
    """Not a timing assertion: the fit path must handle 1e6 poses (benchmarks/bench_limits.py times it)."""
    rng = np.random.default_rng(3)
    angles = np.stack([rng.uniform(-0.2, 1.2, (200_000, 15)), rng.uniform(-0.3, 0.3, (200_000, 15))], axis=-1)
    limits = JointLimits.fit(handkin.posed_hand(angles))
    assert len(limits.joint_angles) == 15


# ----------------------------------------------------------------------------- units and personalisation


def test_to_units_scales_lengths_and_curvature():
    rng = np.random.default_rng(4)
    sk, _, _ = sample_poses(500, rng)
    limits = JointLimits.fit(sk)
    metres = limits.to_units("m")
    assert metres.bone_lengths["index_pip"].max == pytest.approx(limits.bone_lengths["index_pip"].max / 1000)
    assert metres.palm_curvature["index_middle"].max == pytest.approx(limits.palm_curvature["index_middle"].max * 1000)
    assert metres.joint_angles == limits.joint_angles and metres.palm_angles == limits.palm_angles
    with pytest.raises(UnitsError, match="reference_length"):
        limits.to_units("ref")
    ref = limits.to_units("ref", reference_length=87.0)
    assert ref.bone_lengths["index_pip"].max == pytest.approx(limits.bone_lengths["index_pip"].max / 87)
    back = ref.to_units("mm", reference_length=87.0)
    assert back.bone_lengths["index_pip"].max == pytest.approx(limits.bone_lengths["index_pip"].max)
    # a range of reference lengths widens the intervals (interval arithmetic)
    wide = ref.to_units("mm", reference_length=(80, 95))
    assert wide.bone_lengths["index_pip"].min == pytest.approx(ref.bone_lengths["index_pip"].min * 80)
    assert wide.bone_lengths["index_pip"].max == pytest.approx(ref.bone_lengths["index_pip"].max * 95)


def test_fit_in_ref_matches_converting_a_fit_in_mm():
    rng = np.random.default_rng(5)
    sk, _, _ = sample_poses(300, rng, scale=(1.0, 1.0))  # one hand size: reference bone 87 mm
    in_ref = JointLimits.fit(sk, units="ref")
    converted = JointLimits.fit(sk).to_units("ref", reference_length=87.0)
    for name in ("index_pip", "thumb_tip"):
        assert in_ref.bone_lengths[name].max == pytest.approx(converted.bone_lengths[name].max, rel=1e-9)
    for pair in PALM_PAIRS:
        assert in_ref.palm_curvature[pair].max == pytest.approx(converted.palm_curvature[pair].max, rel=1e-6, abs=1e-12)


def test_scaled_personalises_lengths_and_curvature_consistently():
    base = JointLimits.fit(sample_poses(300, np.random.default_rng(6))[0], units="ref")
    person = base.scaled(reference_length=80.0)
    assert person.units.value == "mm"
    for name in ("index_pip", "little_tip"):
        assert person.bone_lengths[name].max == pytest.approx(base.bone_lengths[name].max * 80)
    for pair in PALM_PAIRS:
        assert person.palm_curvature[pair].max == pytest.approx(base.palm_curvature[pair].max / 80)
    by_hand_length = base.scaled(hand_length=184.0 * 80 / 87)  # the template's hand length is 184 mm per 87 mm
    assert by_hand_length.bone_lengths["index_pip"].max == pytest.approx(person.bone_lengths["index_pip"].max)
    measured = np.asarray(handkin.flat_hand().bone_lengths) * 0.9
    own = base.scaled(bone_lengths=measured, tolerance=0.05)
    assert own.bone_lengths["index_pip"].min == pytest.approx(measured[Bone.index_pip] * 0.95)
    assert own.bone_lengths["index_pip"].max == pytest.approx(measured[Bone.index_pip] * 1.05)
    with pytest.raises(UnitsError):
        base.scaled()


def test_with_joint_overrides_one_joint():
    base = JointLimits.fit(sample_poses(300, np.random.default_rng(7))[0])
    stiff = base.with_joint("index_pip", flexion=(0, 30), abduction=(-5, 5), degrees=True)
    np.testing.assert_allclose(np.degrees(stiff.joint_angles["index_pip"].array.max(0)), [30, 5])
    assert stiff.joint_angles["middle_pip"] == base.joint_angles["middle_pip"]
    bent = handkin.posed_hand({"index_pip": (60, 0)}, degrees=True)
    assert stiff.check(bent).joint_angles[AngleJoint.index_pip] == pytest.approx(30.0, abs=1e-6)
    assert "index_pip" not in base.with_joint("index_pip").joint_angles
    with pytest.raises(LimitsError):
        base.with_joint("index_pip", flexion=(0, 1))


def test_merge_rules():
    a = JointLimits(units="mm", bone_lengths={"index_pip": (40, 45)}, joint_angles={"index_pip": SQUARE})
    b = JointLimits(
        units="mm",
        bone_lengths={"index_pip": (42, 50), "index_dip": (20, 30)},
        joint_angles={"index_pip": [(0.5, -0.1), (1.5, -0.1), (1.5, 0.1), (0.5, 0.1)]},
    )
    union = a.merge(b)
    assert tuple(union.bone_lengths["index_pip"]) == (40, 50) and "index_dip" in union.bone_lengths
    np.testing.assert_allclose(union.joint_angles["index_pip"].array.max(0), [1.5, 0.2])
    np.testing.assert_allclose(union.joint_angles["index_pip"].array.min(0), [0.0, -0.2])
    replaced = a.merge(b, rule="replace")
    assert tuple(replaced.bone_lengths["index_pip"]) == (42, 50)
    assert replaced.provenance.source == "merged"
    calibrated = JointLimits.fit(sample_poses(200, np.random.default_rng(8))[0], base=a)
    assert calibrated.bone_lengths["index_pip"].min <= 40


# ----------------------------------------------------------------------------- checking


def test_check_reports_by_how_much():
    base = JointLimits.fit(sample_poses(2000, np.random.default_rng(9), flexion=(-0.1, 1.0))[0])
    hyper = handkin.posed_hand({"index_mcp": (-30, 0)}, degrees=True)
    report = base.check(hyper)
    assert not report.ok
    assert report.joint_angles[AngleJoint.index_mcp] == pytest.approx(30.0 - np.degrees(0.1), abs=0.5)
    assert np.all(report.joint_angles[[a for a in AngleJoint if a != AngleJoint.index_mcp]] < 1e-6)
    v = report.violations()
    assert v[0].kind == "joint_angle" and v[0].name == "index_mcp" and v[0].unit == "deg"
    assert "index_mcp" in report.table()
    data = json.loads(report.to_json())
    assert data["violating_hands"] == 1 and data["violations"][0]["name"] == "index_mcp"
    # a bone 10 mm too long is reported in mm; in metres for a skeleton in metres
    long = np.asarray(handkin.flat_hand().joints).copy()
    long[[6, 7, 8]] += (
        (long[6] - long[5]) / np.linalg.norm(long[6] - long[5]) * (base.bone_lengths["index_pip"].max + 10 - 42)
    )
    r = base.check(HandSkeleton(joints=long, units="mm"))
    assert r.bone_lengths[Bone.index_pip] == pytest.approx(10.0, abs=1e-6)
    r_m = base.check(HandSkeleton(joints=long / 1000, units="m"))
    assert r_m.bone_lengths[Bone.index_pip] == pytest.approx(0.010, abs=1e-9) and r_m.length_unit == "m"


def test_check_batches_and_ref_limits_on_mm_hands():
    limits = JointLimits.fit(sample_poses(500, np.random.default_rng(10))[0], units="ref")
    hands = HandSkeleton(joints=random_hands(0, (3, 2), noise_mm=0.0), units="mm")
    report = limits.check(hands)
    assert report.ok.shape == (3, 2) and report.joint_angles.shape == (3, 2, 15)
    assert report.ok.all()


def test_couplings():
    limits = JointLimits(units="mm").with_couplings([{"finger": "index", "band": math.radians(10)}])
    ok = handkin.posed_hand({"index_pip": (60, 0), "index_dip": (40, 0)}, degrees=True)
    bad = handkin.posed_hand({"index_pip": (60, 0), "index_dip": (0, 0)}, degrees=True)
    assert limits.check(ok).ok
    assert limits.check(bad).couplings[0] == pytest.approx(30.0, abs=1e-6)  # |0 − ⅔·60| − 10


# ----------------------------------------------------------------------------- persistence


def test_save_load_round_trip(tmp_path):
    limits = JointLimits.fit(sample_poses(300, np.random.default_rng(11))[0]).with_couplings([{"finger": "ring"}])
    path = limits.save(tmp_path / "sub" / "limits.json")
    again = JointLimits.load(path)
    assert again == limits
    data = json.loads(path.read_text())
    assert data["provenance"]["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"units": "mm"}', "schema_version"),
        ('{"units": "mm", "provenance": {"schema_version": 99}}', "schema version 99"),
        ('{"units": "mm", "bone_lengths": {"index_pip": [5, 1]}, "provenance": {"schema_version": 1}}', "min > max"),
    ],
)
def test_load_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(LimitsError, match=match):
        JointLimits.load(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(LimitsError, match="cannot read"):
        JointLimits.load(tmp_path / "nope.json")


# ----------------------------------------------------------------------------- Hand-BMC import


@pytest.mark.shared_data
def test_from_hand_bmc():
    folder = shared_path("hand_bmc_reference_limits")
    limits = JointLimits.from_hand_bmc(folder)
    assert limits.units.value == "ref" and limits.joint_angles == {}
    assert len(limits.bone_lengths) == 20 and len(limits.palm_curvature) == 4
    np.testing.assert_allclose(limits.bone_bounds[:, 0], np.load(folder / "bone_len_min.npy"))
    assert limits.provenance.source == "hand_bmc"
    # the template hand is within its bone lengths (its palm is flat, outside its curvature minima)
    report = limits.check(handkin.flat_hand())
    assert np.all(report.bone_lengths == 0)


def test_from_hand_bmc_errors(tmp_path):
    with pytest.raises(LimitsError, match="cannot read"):
        JointLimits.from_hand_bmc(tmp_path)


def hand_bmc_folder(tmp_path, hulls) -> Path:
    """A Hand-BMC-pytorch limits folder (synthetic numbers) with ``hulls`` saved as CONVEX_HULLS.npy."""
    for name, size, lo, hi in [("bone_len", 20, 0.1, 1.2), ("curvatures", 4, -0.5, 2.0), ("PHI", 4, 0.05, 0.9)]:
        np.save(tmp_path / f"{name}_min.npy", np.full(size, lo))
        np.save(tmp_path / f"{name}_max.npy", np.full(size, hi))
    np.save(tmp_path / "CONVEX_HULLS.npy", hulls, allow_pickle=hulls.dtype == object)
    return tmp_path


def bmc_hull(k: int, n: int) -> np.ndarray:
    """Polygon k of a synthetic CONVEX_HULLS.npy: a CCW n-gon centred at flexion 0.1·k (radians), as Hand-BMC's
    monotone-chain hull orders it."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) - np.pi
    return np.c_[0.1 * k + 0.3 * np.cos(t), 0.2 * np.sin(t)]


@pytest.mark.parametrize("ragged", [False, True])
def test_from_hand_bmc_reads_convex_hulls_in_level_major_order(tmp_path, ragged):
    if ragged:  # what Hand-BMC-pytorch's np.array(list of arrays) saves: an object array (a pickle)
        hulls = np.empty(15, dtype=object)
        for k in range(15):
            hulls[k] = bmc_hull(k, 5 + k % 4)
        hulls[4] = hulls[4][::-1]  # a clockwise one is reversed
    else:
        hulls = np.stack([bmc_hull(k, 8) for k in range(15)])
    limits = JointLimits.from_hand_bmc(hand_bmc_folder(tmp_path, hulls))
    assert len(limits.joint_angles) == 15
    # level-major: thumb…little first level (thumb_cmc, index_mcp, …), then second (thumb_mcp, index_pip, …), …
    names = ["thumb_cmc", "index_mcp", "middle_mcp", "ring_mcp", "little_mcp", "thumb_mcp", "index_pip"]
    names += ["middle_pip", "ring_pip", "little_pip", "thumb_ip", "index_dip", "middle_dip", "ring_dip", "little_dip"]
    for k, name in enumerate(names):
        poly = limits.joint_angles[name].array
        assert poly.mean(axis=0)[0] == pytest.approx(0.1 * k)
        assert {tuple(v) for v in poly} == {tuple(v) for v in np.asarray(hulls[k])}
    assert "CONVEX_HULLS" in limits.provenance.notes
    # a hand at those angles is inside: the polygons are checked
    assert limits.check(handkin.flat_hand()).joint_angles[..., AngleJoint.thumb_cmc] == 0


def test_from_hand_bmc_convex_hulls_errors(tmp_path):
    with pytest.raises(LimitsError, match="15 joint polygons"):
        JointLimits.from_hand_bmc(hand_bmc_folder(tmp_path, np.stack([bmc_hull(k, 6) for k in range(14)])))
    bad = np.stack([bmc_hull(k, 6) for k in range(15)])
    bad[3, :, 1] = 0.0  # a flat polygon: ring_mcp (entry 3) bounds no region
    with pytest.raises(LimitsError, match=r"polygon 3 \(ring_mcp\)"):
        JointLimits.from_hand_bmc(hand_bmc_folder(tmp_path, bad))


class _Payload:
    def __reduce__(self):
        return (print, ("this must not run",))


def test_from_hand_bmc_refuses_foreign_pickles(tmp_path, capsys):
    import pickle

    folder = hand_bmc_folder(tmp_path, np.stack([bmc_hull(k, 6) for k in range(15)]))
    with open(folder / "CONVEX_HULLS.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (15,)})
        pickle.dump(np.array([_Payload()] * 15, dtype=object), f)
    with pytest.raises(LimitsError, match="refused.*builtins.print"):
        JointLimits.from_hand_bmc(folder)
    assert "must not run" not in capsys.readouterr().out


def test_derived_arrays_follow_copies():
    """Regression: arrays derived from the intervals must not be carried over stale by model_copy."""
    a = JointLimits(units="ref", bone_lengths={"index_pip": (0.4, 0.5)})
    assert a.bone_bounds[Bone.index_pip].tolist() == [0.4, 0.5]
    b = a.to_units("mm", reference_length=100.0)
    assert b.bone_bounds[Bone.index_pip].tolist() == pytest.approx([40.0, 50.0])
    c = a.with_joint("index_pip", flexion=(0, 1), abduction=(-0.1, 0.1))
    assert c.polygon_array[AngleJoint.index_pip].max() == pytest.approx(1.0)


def test_fit_on_a_single_pose_gives_small_boxes():
    limits = JointLimits.fit(handkin.posed_hand({"index_pip": (30, 0)}, degrees=True))
    poly = limits.joint_angles["index_pip"].array
    np.testing.assert_allclose(poly.min(0), [math.radians(30) - 1e-3, -1e-3], atol=1e-9)
    np.testing.assert_allclose(poly.max(0), [math.radians(30) + 1e-3, 1e-3], atol=1e-9)
    assert limits.check(handkin.posed_hand({"index_pip": (30, 0)}, degrees=True)).ok


def test_union_contains_both_polygons():
    """merge(rule="union") promises to only widen: its refitted polygon holds every vertex of both (issue 17; the
    paper's greedy cut some of them off)."""
    from handkin import hull

    t = np.radians(np.arange(0, 360, 36))  # two regular 10-gons, one turned by 18°: their union's hull has 20

    def decagon(turn: float) -> JointLimits:
        return JointLimits(units="ref", joint_angles={"index_pip": 0.5 * np.c_[np.cos(t + turn), np.sin(t + turn)]})

    a, b = decagon(0.0), decagon(np.radians(18))
    union = a.merge(b).joint_angles["index_pip"].array
    for part in (a, b):
        assert hull.contains(part.joint_angles["index_pip"].array, union, tol=1e-9).all()
