"""Joint orders: index maps from names, round trips, two-hand layouts, agreement with real data."""

import json

import numpy as np
import pytest
from conftest import as_backend, random_hands, shared_path

from handkin import HandSkeleton, Joint, Side, flat_hand, get_order, orders, posed_hand
from handkin.errors import OrderError, ShapeError

ALL_ORDERS = orders.available_orders()


def test_registry_has_the_documented_orders():
    assert set(ALL_ORDERS) >= {"mp21", "mano21", "rhd", "interhand"}
    for alias, name in [("freihand", "mp21"), ("MediaPipe", "mp21"), ("ho3d", "mano21"), ("interhand26m", "interhand")]:
        assert get_order(alias).name == name


def test_mano21_written_out_independently():
    # MANO J_regressor order (wrist; index, middle, pinky, ring, thumb x3) + tips thumb, index, middle, ring, pinky.
    mano = [
        "wrist", "index_mcp", "index_pip", "index_dip", "middle_mcp", "middle_pip", "middle_dip", "little_mcp",
        "little_pip", "little_dip", "ring_mcp", "ring_pip", "ring_dip", "thumb_cmc", "thumb_mcp", "thumb_ip",
        "thumb_tip", "index_tip", "middle_tip", "ring_tip", "little_tip",
    ]  # fmt: skip
    assert [j.name for j in get_order("mano21").joints] == mano
    # the manopth/HO-3D map from MANO-21 to MP21, as published: canonical[k] = mano[map[k]]
    published = [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20]
    assert list(get_order("mano21").to_canonical_index) == published


def test_rhd_and_interhand_written_out():
    rhd = get_order("rhd").joints
    assert (
        rhd[0] is Joint.wrist and rhd[1] is Joint.thumb_tip and rhd[4] is Joint.thumb_cmc and rhd[8] is Joint.index_mcp
    )
    ih = get_order("interhand").joints
    assert (
        ih[0] is Joint.thumb_tip and ih[3] is Joint.thumb_cmc and ih[19] is Joint.little_mcp and ih[20] is Joint.wrist
    )
    assert get_order("rhd").two_hand_sides == (Side.left, Side.right)
    assert get_order("interhand").two_hand_sides == (Side.right, Side.left)


@pytest.mark.parametrize("name", ALL_ORDERS)
def test_index_maps_are_inverse_permutations(name):
    o = get_order(name)
    to_c, from_c = np.array(o.to_canonical_index), np.array(o.from_canonical_index)
    assert sorted(to_c.tolist()) == list(range(21))
    np.testing.assert_array_equal(to_c[from_c], np.arange(21))
    np.testing.assert_array_equal(from_c[to_c], np.arange(21))


@pytest.mark.parametrize("source", ALL_ORDERS)
@pytest.mark.parametrize("target", ALL_ORDERS)
def test_round_trip_every_pair(source, target, backend):
    x = as_backend(np.random.default_rng(0).normal(size=(2, 3, 21, 3)), backend)
    there = orders.convert(x, source, target)
    back = orders.convert(there, target, source)
    np.testing.assert_array_equal(np.asarray(back), np.asarray(x))
    # a joint ends up where the target order says it is
    canon = get_order(source).to_canonical(x)
    pos = get_order(target).joints.index(Joint.ring_dip)
    np.testing.assert_array_equal(np.asarray(there[..., pos, :]), np.asarray(canon[..., Joint.ring_dip, :]))


@pytest.mark.parametrize("name", ALL_ORDERS)
def test_skeleton_to_order_round_trip(name):
    joints = random_hands(3, (4,))
    sk = HandSkeleton(joints=joints, units="mm")
    native = sk.to_order(name)
    again = HandSkeleton(joints=native, order=name, units="mm")
    np.testing.assert_array_equal(again.joints, joints)
    assert again.source_order == name


def test_two_hand_split_and_sides():
    right = random_hands(1, (2,))
    left = HandSkeleton(joints=random_hands(2, (2,)), units="mm").mirror().joints
    rhd42 = np.concatenate([get_order("rhd").from_canonical(left), get_order("rhd").from_canonical(right)], axis=-2)
    hands = HandSkeleton.from_two_hands(rhd42, order="rhd", units="mm")
    assert hands.right.side is Side.right and hands.left.side is Side.left
    np.testing.assert_array_equal(hands.right.joints, right)
    np.testing.assert_array_equal(hands.left.joints, left)
    ih42 = np.concatenate(
        [get_order("interhand").from_canonical(right), get_order("interhand").from_canonical(left)], -2
    )
    hands = HandSkeleton.from_two_hands(ih42, order="interhand", units="mm")
    np.testing.assert_array_equal(hands.right.joints, right)
    np.testing.assert_array_equal(hands.left.joints, left)


def test_two_hand_errors():
    x = np.zeros((42, 3))
    with pytest.raises(OrderError, match="sides="):
        orders.split_two_hands(x, "mp21")
    assert set(orders.split_two_hands(x, "mp21", sides=("left", "right"))) == {Side.left, Side.right}
    with pytest.raises(OrderError):
        orders.split_two_hands(x, "mp21", sides=("left", "left"))
    with pytest.raises(ShapeError):
        orders.split_two_hands(np.zeros((21, 3)), "rhd")
    with pytest.raises(ShapeError, match="two hands"):
        get_order("rhd").to_canonical(np.zeros((42, 3)))


def test_register_order_validates_names():
    with pytest.raises(OrderError, match="missing"):
        orders.register_order("broken", ["wrist"] * 21)
    with pytest.raises(OrderError, match="registered already"):
        orders.register_order("mp21", list(Joint))
    custom = orders.register_order("test_reversed", list(reversed(list(Joint))))
    x = np.arange(63.0).reshape(21, 3)
    np.testing.assert_array_equal(custom.to_canonical(x), x[::-1])


# ----------------------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_interhand_json_agrees_with_converted_npz():
    folder = shared_path("interhand26m_excerpt")
    data = json.loads((folder / "test_interhand2.6m_data.json").read_text())
    joints3d = json.loads((folder / "test_interhand2.6m_joint_3d.json").read_text())
    ref = np.load(folder / "excerpt_mp21_mm.npz")
    images = {im["file_name"]: im for im in data["images"]}
    checked = 0
    for xyz, side, image in zip(ref["xyz_world_mm"], ref["side"], ref["image"], strict=True):
        im = images[str(image)]
        world = np.asarray(joints3d[str(im["capture"])][str(im["frame_idx"])]["world_coord"])
        assert world.shape == (42, 3)
        hand = getattr(HandSkeleton.from_two_hands(world, order="interhand", units="mm"), str(side))
        np.testing.assert_allclose(hand.joints, xyz, atol=1e-4)
        assert hand.side.value == str(side)
        checked += 1
    assert checked == 6


@pytest.mark.shared_data
def test_rhd_json_agrees_with_converted_npz():
    folder = shared_path("rhd_excerpt")
    coco = json.loads((folder / "test_rhd.json").read_text())
    ref = np.load(folder / "excerpt_mp21_mm.npz")
    files = {im["id"]: im["file_name"] for im in coco["images"]}
    by_file = {files[a["image_id"]]: a for a in coco["annotations"]}
    for xyz, uv, side, image in zip(ref["xyz_cam_mm"], ref["uv_px"], ref["side"], ref["image"], strict=True):
        ann = by_file[str(image)]
        hand = HandSkeleton(joints=ann["joint_cam"], order="rhd", units="mm", side=str(side))
        np.testing.assert_allclose(hand.joints, xyz, atol=1e-4)
        uv_native = np.asarray(ann["keypoints"])[:, :2]
        np.testing.assert_allclose(get_order("rhd").to_canonical(uv_native), uv, atol=1e-4)
        # wrong order is not silently equal: reading RHD data as MP21 puts a tip where the thumb CMC is
        wrong = HandSkeleton(joints=ann["joint_cam"], order="mp21", units="mm")
        assert not np.allclose(wrong.joints, xyz)


# ----------------------------------------------------------------------------- telling orders apart by bone lengths
def _real_hands():
    """Real hands (MP21) from the shared data: label sets and tracker outputs, 3D and 2D."""
    sets = {
        "stb": np.load(shared_path("stb_sequences", "stb_train_mp21_mm.npz"))["xyz_cam_mm"][::25],
        "quest": np.load(shared_path("quest_handyjs_poses", "poses_mp21_mm.npz"))["xyz_mm"],
        "mediapipe_world": np.load(shared_path("mediapipe_video_sequence", "sequence_mp21_mm.npz"))[
            "xyz_wrist_frame_mm"
        ][::3],
    }
    for name in ("interhand26m_excerpt", "rhd_excerpt"):
        ref = np.load(shared_path(name, "excerpt_mp21_mm.npz"))
        sets[f"{name}_3d"] = ref["xyz_cam_mm"]
    tracked = np.load(shared_path("mediapipe_video_sequence", "mediapipe0.10.21_on_human_hand_video.npz"))
    sets["mediapipe_2d"] = (tracked["landmarks_norm"][::3, :, :2] * tracked["image_size"]).astype(np.float64)
    return {k: np.asarray(v, dtype=np.float64) for k, v in sets.items()}


def test_order_misfit_is_zero_for_the_template_and_pose_and_scale_free():
    hand = np.asarray(posed_hand({"index_pip": (1.2, 0.0), "thumb_mcp": (0.5, 0.2)}).joints)
    assert orders.order_misfit(np.asarray(flat_hand().joints)) < 1e-12
    assert orders.order_misfit(hand) < 1e-9 and orders.order_misfit(hand * 0.01) < 1e-9  # posed, in metres
    assert orders.order_misfit(hand, "rhd") > 0.2  # the same hand read in a wrong order
    assert orders.order_misfit(np.zeros((21, 3))) == np.inf


@pytest.mark.shared_data
def test_guess_order_recognises_every_registered_order_on_real_hands():
    for name, hands in _real_hands().items():
        for true in ALL_ORDERS:
            data = orders.convert(hands, "mp21", true)
            assert orders.guess_order(data) == true, (name, true)
            for declared in ALL_ORDERS:  # a wrong declaration is overturned, the right one kept
                assert orders.guess_order(data, declared) == true, (name, true, declared)


@pytest.mark.shared_data
def test_guess_order_per_hand_on_real_3d_hands():
    for name, hands in _real_hands().items():
        if hands.shape[-1] != 3:
            continue
        for true in ALL_ORDERS:
            data = orders.convert(hands, "mp21", true)
            fits = np.stack([orders.order_misfit(data, o) for o in ALL_ORDERS], axis=-1)
            assert (np.asarray(ALL_ORDERS)[fits.argmin(-1)] == true).all(), (name, true)  # each single hand


def test_guess_order_on_noisy_hands_and_its_errors():
    hands = random_hands(3, (40,), noise_mm=4.0)
    for true in ALL_ORDERS:
        assert orders.guess_order(orders.convert(hands, "mp21", true), "mp21") == true
    with pytest.raises(ShapeError):
        orders.guess_order(hands[0])
