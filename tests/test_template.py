"""The built-in template hand against independent facts and the published reference limits."""

import numpy as np
import pytest
from conftest import shared_path

import handkin
from handkin import Bone, Joint
from handkin.template import ADULT_BONE_LENGTHS_MM


def test_flat_hand_is_planar_and_faces_minus_z():
    hand = handkin.flat_hand()
    assert np.allclose(hand.joints[:, 2], 0)  # flat in the xy-plane
    assert hand.joint("thumb_tip")[0] < 0 < hand.joint("little_tip")[0]  # thumb on −x for a right hand
    assert hand.joint("middle_tip")[1] > 0  # fingers along +y
    np.testing.assert_allclose(hand.bone_lengths, [ADULT_BONE_LENGTHS_MM[b] for b in Bone])


def test_each_finger_is_straight():
    hand = handkin.flat_hand()
    for f in handkin.Finger:
        joints = np.vstack([hand.joints[Joint.wrist], hand.finger(f)])
        d = np.diff(joints, axis=0)
        cross = np.cross(d[:-1], d[1:])
        assert np.allclose(cross, 0, atol=1e-9)


@pytest.mark.parametrize("units, ref_length", [("mm", 87.0), ("cm", 8.7), ("m", 0.087), ("ref", 1.0)])
def test_units(units, ref_length):
    np.testing.assert_allclose(handkin.flat_hand(units=units).reference_length(), ref_length)


@pytest.mark.shared_data
def test_lengths_inside_hand_bmc_reference_ranges():
    folder = shared_path("hand_bmc_reference_limits")
    lo, hi = np.load(folder / "bone_len_min.npy"), np.load(folder / "bone_len_max.npy")
    lengths = np.asarray(handkin.flat_hand().normalized().bone_lengths)
    assert lo.shape == hi.shape == (20,)
    assert np.all(lo <= lengths + 1e-9) and np.all(lengths <= hi + 1e-9)
