"""Mixed handedness (issue 17, point 4): per-hand sides, two-hand arrays, side="auto", the handedness warning."""

import warnings

import numpy as np
import pytest
from conftest import random_hands, shared_path, torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handkin import HandSkeleton, JointLimits, Side, cli
from handkin import io as hio
from handkin.demo import DEMO_POSE
from handkin.errors import FileFormatError, HandednessWarning, SideError
from handkin.sides import AMBIGUOUS, side_evidence
from handkin.template import posed_hand

quiet = pytest.mark.filterwarnings("ignore::handkin.errors.HandednessWarning")


def _demo_pair() -> np.ndarray:
    """A relaxed right hand and its mirror image (a left hand), ``(2, 21, 3)`` mm."""
    right = posed_hand(DEMO_POSE, degrees=True, units="mm")
    return np.stack([np.asarray(right.joints), np.asarray(right.mirror().joints)])


@quiet
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    shape=st.sampled_from([(2,), (3,), (2, 3), (1, 4)]),
    use_torch=st.booleans() if torch is not None else st.just(False),
)
def test_per_hand_sides_match_each_hand_measured_alone(seed, shape, use_torch):
    rng = np.random.default_rng(seed)
    joints = random_hands(seed, shape)
    names = np.where(rng.random(shape) < 0.5, "left", "right")
    x = torch.from_numpy(joints) if use_torch else joints
    sk = HandSkeleton(joints=x, units="mm", side=names.tolist())
    m = sk.measure()
    flat = joints.reshape(-1, 21, 3)
    for k, (j, s) in enumerate(zip(flat, names.reshape(-1), strict=True)):
        idx = np.unravel_index(k, shape)
        alone = HandSkeleton(joints=j, units="mm", side=str(s)).measure()
        np.testing.assert_allclose(np.asarray(m.joint_angles[idx]), np.asarray(alone.joint_angles), atol=1e-9)
        np.testing.assert_allclose(np.asarray(m.frames.matrices[idx]), np.asarray(alone.frames.matrices), atol=1e-9)
        np.testing.assert_allclose(np.asarray(sk.palm_curvature[idx]), np.asarray(alone.palm_curvature), atol=1e-12)
        np.testing.assert_allclose(np.asarray(sk.as_right().joints[idx]), np.asarray(sk[idx].as_right().joints))
        assert sk[idx].side == Side(str(s))
    rebuilt = HandSkeleton.from_angles(m.joint_angles, m.bone_lengths, palm=sk)
    np.testing.assert_allclose(np.asarray(rebuilt.joints), joints, atol=1e-6)
    assert np.array_equal(rebuilt.sides, sk.sides)


def test_two_hand_arrays():
    pair = np.repeat(_demo_pair()[None], 4, axis=0)  # (4, 2, 21, 3): right then left
    sk = HandSkeleton(joints=pair, units="mm", side=["right", "left"])
    assert sk.sides.shape == (4, 2) and "mixed (4 left, 4 right)" in repr(sk)
    angles = np.asarray(sk.joint_angles)
    np.testing.assert_allclose(angles[:, 0], angles[:, 1], atol=1e-12)  # a hand and its mirror image agree
    assert sk[:, 1].side is Side.left and sk[0, 0].side is Side.right and sk[0].side.tolist() == ["right", "left"]
    assert [h.side for h in sk[0]] == [Side.right, Side.left]
    assert HandSkeleton.concatenate([sk[:, 0], sk[:, 1]]).sides.tolist() == ["right"] * 4 + ["left"] * 4
    assert sk.mirror().sides[0].tolist() == ["left", "right"] and sk.as_right().side is Side.right
    assert sk == HandSkeleton(joints=pair, units="mm", side="auto") and sk != sk.mirror()
    assert HandSkeleton.model_validate_json(sk.model_dump_json()) == sk
    limits = JointLimits.default()
    np.testing.assert_allclose(
        np.asarray(limits.loss(sk, reduction="none").total), np.asarray(limits.loss(sk.as_right(), "none").total)
    )
    assert limits.check(sk).ok.shape == (4, 2)
    fitted, alone = JointLimits.fit(sk), JointLimits.fit(sk.as_right())
    assert fitted.model_dump() == alone.model_dump()
    if torch is not None:
        t = sk.torch()
        np.testing.assert_allclose(t.joint_angles.numpy(), angles, atol=1e-12)
        assert t[torch.tensor([0, 2])].sides.shape == (2, 2)


def test_uniform_sides_stay_one_side_and_bad_sides_raise():
    pair = _demo_pair()
    assert HandSkeleton(joints=pair[[1, 1]], units="mm", side=["left", "left"]).side is Side.left
    assert HandSkeleton(joints=pair, units="mm", side=np.array(["R", "l"])).sides.tolist() == ["right", "left"]
    with pytest.raises(SideError, match="does not broadcast over the batch shape"):
        HandSkeleton(joints=pair, units="mm", side=["right", "left", "left"])
    with pytest.raises(SideError, match="unknown hand side"):
        HandSkeleton(joints=pair, units="mm", side=["right", "up"])


def test_auto_reads_the_side_from_the_geometry():
    flexed = posed_hand(
        {f"{f}_{j}": (40, 0) for f in ("index", "middle", "ring", "little") for j in ("pip", "dip")}, degrees=True
    )
    left = np.asarray(flexed.mirror().joints)
    assert HandSkeleton(joints=left, units="mm", side="auto").side is Side.left
    assert HandSkeleton(joints=np.asarray(flexed.joints), units="mm", side="auto").side is Side.right
    flat = np.asarray(posed_hand().joints)  # a flat template hand: ambiguous, keeps the default (right)
    assert abs(float(side_evidence(flat))) < AMBIGUOUS
    assert HandSkeleton(joints=np.stack([flat, left]), units="mm", side="auto").sides.tolist() == ["right", "left"]


def test_a_left_hand_declared_right_warns_once():
    left = _demo_pair()[1]
    with pytest.warns(HandednessWarning, match="declared right but looks like one of the left hands.*side='auto'"):
        HandSkeleton(joints=left, units="mm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        HandSkeleton(joints=np.repeat(left[None], 50, axis=0), units="mm")
    assert sum(issubclass(w.category, HandednessWarning) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", HandednessWarning)
        HandSkeleton(joints=left, units="mm", side="left")
        HandSkeleton(joints=np.asarray(posed_hand().joints), units="mm")  # one flat hand: no warning
        HandSkeleton.unchecked(left, units="mm")  # unchecked: no geometry check


def _real_sets():
    stb = np.load(shared_path("stb_sequences", "stb_train_mp21_mm.npz"))
    quest = np.load(shared_path("quest_handyjs_poses", "poses_mp21_mm.npz"))
    video = np.load(shared_path("mediapipe_video_sequence", "sequence_mp21_mm.npz"))
    inter = np.load(shared_path("interhand26m_excerpt", "excerpt_mp21_mm.npz"))
    rhd = np.load(shared_path("rhd_excerpt", "excerpt_mp21_mm.npz"))
    return {
        "stb": (stb["xyz_cam_mm"].astype(float), "right"),
        "quest": (quest["xyz_mm"].astype(float), quest["side"]),
        "video": (video["xyz_wrist_frame_mm"].astype(float), "right"),
        "interhand": (inter["xyz_cam_mm"], inter["side"]),
        "rhd": (rhd["xyz_cam_mm"], rhd["side"]),
    }


# measured: every hand of these sets on its side; STB (a flat synthetic palm) has 7.3 % ambiguous hands (right)
@pytest.mark.parametrize(
    "name, max_ambiguous", [("stb", 0.08), ("quest", 0), ("video", 0), ("interhand", 0), ("rhd", 0)]
)
def test_auto_finds_the_sides_of_the_real_sets_and_their_sides_do_not_warn(name, max_ambiguous):
    joints, side = _real_sets()[name]
    truth = np.broadcast_to(np.asarray(side), joints.shape[:1])
    score = side_evidence(joints) * np.where(truth == "left", -1, 1)
    assert (score > -AMBIGUOUS).all() and np.mean(score < AMBIGUOUS) <= max_ambiguous
    assert np.array_equal(HandSkeleton(joints=joints, units="mm", side="auto").sides, truth)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HandednessWarning)
        HandSkeleton(joints=joints, units="mm", side=truth)
    if name != "stb":
        with pytest.warns(HandednessWarning, match="look like"):
            HandSkeleton(joints=joints, units="mm", side=np.where(truth == "left", "right", "left"))


@pytest.mark.parametrize("folder", ["rhd_excerpt", "interhand26m_excerpt"])
def test_analyze_reads_the_sides_of_both_excerpts(folder, capsys):
    path = shared_path(folder, "excerpt_mp21_mm.npz")
    assert cli.main(["analyze", str(path), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "mixed (" in out.out and "sides per frame: 0 " in out.out and "HandednessWarning" not in out.err
    assert cli.main(["analyze", str(path), "--no-progress", "--side", "auto"]) == 0
    seq = hio.load(path)
    assert seq.mixed_sides and seq.sides.tolist() == np.load(path)["side"].tolist()


def test_sequence_sides_per_frame_round_trip(tmp_path):
    pair = _demo_pair()
    seq = hio.HandSequence.from_array(pair[[0, 1, 1]], units="mm", side=["right", "left", "left"])
    assert seq[1:].side is Side.left and seq.as_right().side is Side.right
    for suffix in (".npz", ".json"):
        back = hio.load(hio.save(seq, tmp_path / f"s{suffix}"))
        assert back.sides.tolist() == ["right", "left", "left"]
    assert hio.HandSequence.from_array(pair, units="mm", side="auto").sides.tolist() == ["right", "left"]
    with pytest.raises(FileFormatError, match="one side"):
        hio.save(seq, tmp_path / "s.csv")
