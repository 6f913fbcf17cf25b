"""HandSkeleton: construction, validation, named access, batches, conversions, backends, autograd."""

import numpy as np
import pytest
from conftest import as_backend, batch_shapes, random_hands, seeds, torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

import handkin
from handkin import Bone, HandSkeleton, Joint, Side, Units
from handkin.errors import BackendError, NonFiniteError, ShapeError, SideError, UnitsError

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


def brute_force_bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Bone lengths by an explicit loop over the parent table (independent of the vectorised code)."""
    parents = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]
    flat = joints.reshape(-1, 21, 3)
    out = np.zeros((flat.shape[0], 20))
    for n in range(flat.shape[0]):
        for child in range(1, 21):
            d = flat[n, child] - flat[n, parents[child]]
            out[n, child - 1] = np.sqrt(sum(float(c) ** 2 for c in d))
    return out.reshape(*joints.shape[:-2], 20)


# ----------------------------------------------------------------------------- construction and errors


def test_constructor_keywords_and_repr():
    sk = HandSkeleton(joints=random_hands(0, (6,)), order="mp21", units="mm", side="right")
    assert sk.batch_shape == (6,) and len(sk) == 6
    assert sk.units is Units.mm and sk.side is Side.right and sk.order == "mp21"
    text = repr(sk)
    assert "batch_shape=(6,)" in text and "'mm'" in text and "'right'" in text and "numpy float64" in text


def test_lists_and_integers_become_float():
    sk = HandSkeleton(joints=np.round(random_hands(1)).astype(int).tolist(), units="mm")
    assert sk.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(joints=np.zeros((20, 3)), units="mm"), ShapeError, r"\(\.\.\., 21, 3\)"),
        (dict(joints=np.zeros((21, 2)), units="mm"), ShapeError, "21, 3"),
        (dict(joints=np.zeros(63), units="mm"), ShapeError, "21, 3"),
        (dict(joints=np.zeros((3, 42, 3)), units="mm"), ShapeError, "two hands"),
        (dict(joints=random_hands(0), units="inch"), UnitsError, "unknown length unit"),
        (dict(joints=random_hands(0)), UnitsError, "units are missing"),
        (dict(joints=random_hands(0) / 1000, units="mm"), UnitsError, "look like 'm'"),
        (dict(joints=random_hands(0), units="m"), UnitsError, "look like 'mm'"),
        (dict(joints=random_hands(0), units="mm", side="both"), SideError, "right"),
        (dict(joints=random_hands(0), units="mm", order="h36m"), handkin.OrderError, "registered orders"),
        (dict(joints=random_hands(0) / 100, units="mm"), UnitsError, "plausible"),
        (dict(units="mm"), ShapeError, "joints are missing"),
    ],
)
def test_bad_input_raises_one_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        HandSkeleton(**kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_joints_are_named(bad, backend):
    joints = random_hands(0, (3,))
    joints[2, Joint.ring_dip, 1] = bad
    with pytest.raises(NonFiniteError, match="ring_dip"):
        HandSkeleton(joints=as_backend(joints, backend), units="mm")


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unit"):
        HandSkeleton(joints=random_hands(0), units="mm", unit="mm")


def test_unchecked_skips_value_checks_but_not_shape():
    joints = np.full((2, 21, 3), np.nan)
    sk = HandSkeleton.unchecked(joints, units="mm")
    assert sk.batch_shape == (2,)
    with pytest.raises(ShapeError):
        HandSkeleton.unchecked(np.zeros((2, 42, 3)))
    native = handkin.get_order("rhd").from_canonical(random_hands(1))
    np.testing.assert_array_equal(HandSkeleton.unchecked(native, order="rhd", units="mm").joints, random_hands(1))


@needs_torch
def test_mixed_backends_raise():
    a = HandSkeleton(joints=random_hands(0, (2,)), units="mm")
    with pytest.raises(BackendError, match="numpy"):
        HandSkeleton.concatenate([a, a.torch()])


def test_zero_length_and_coincident_joints_are_accepted():
    joints = random_hands(4)
    joints[Joint.index_dip] = joints[Joint.index_pip]  # zero-length bone
    sk = HandSkeleton(joints=joints, units="mm")
    assert sk.bone_lengths[Bone.index_dip] == 0
    all_at_one_point = HandSkeleton(joints=np.zeros((21, 3)), units="mm")  # no scale to check
    assert np.all(all_at_one_point.bone_lengths == 0)
    assert np.all(np.isfinite(all_at_one_point.normalized().joints))


# ----------------------------------------------------------------------------- measurements


@given(seed=seeds, shape=batch_shapes)
def test_bones_and_lengths_against_brute_force(seed, shape):
    joints = random_hands(seed, shape)
    sk = HandSkeleton(joints=joints, units="mm")
    assert sk.bones.shape == (*shape, 20, 3) and sk.bone_lengths.shape == (*shape, 20)
    np.testing.assert_allclose(sk.bone_lengths, brute_force_bone_lengths(joints), rtol=1e-12)
    np.testing.assert_array_equal(sk.bone("index_pip"), joints[..., 6, :] - joints[..., 5, :])
    np.testing.assert_array_equal(sk.root_bones[..., 4, :], joints[..., 17, :] - joints[..., 0, :])


def test_named_access():
    joints = random_hands(5, (2,))
    sk = HandSkeleton(joints=joints, units="mm")
    np.testing.assert_array_equal(sk["index_tip"], joints[:, 8])
    np.testing.assert_array_equal(sk[Joint.index_tip], joints[:, 8])  # an enum member is a name, not a batch index
    np.testing.assert_array_equal(sk.joint("pinky_tip"), joints[:, 20])
    np.testing.assert_array_equal(sk.finger("thumb"), joints[:, 1:5])
    np.testing.assert_array_equal(sk.finger("pinky"), joints[:, 17:21])
    with pytest.raises(handkin.UnknownNameError):
        sk.joint("index_knuckle")


def test_batch_indexing_and_iteration():
    joints = random_hands(6, (4, 3))
    sk = HandSkeleton(joints=joints, units="cm" if False else "mm", side="left")
    assert sk[1].batch_shape == (3,) and sk[1, 2].batch_shape == ()
    np.testing.assert_array_equal(sk[1:3].joints, joints[1:3])
    np.testing.assert_array_equal(sk[np.array([True, False, True, False])].joints, joints[[0, 2]])
    assert sk[0].side is Side.left and sk[0].units is Units.mm
    assert [s.batch_shape for s in sk] == [(3,)] * 4
    with pytest.raises(ShapeError, match="batch only"):
        sk[..., 0, :]
    with pytest.raises(TypeError):
        len(sk[0, 0])


@given(seed=seeds, shape=batch_shapes)
def test_bone_lengths_invariant_under_rigid_motion(seed, shape):
    joints = random_hands(seed, shape)
    rng = np.random.default_rng(seed + 1)
    rot = Rotation.random(random_state=rng).as_matrix()
    moved = joints @ rot.T + rng.uniform(-1000, 1000, size=3)
    a = HandSkeleton(joints=joints, units="mm").bone_lengths
    b = HandSkeleton(joints=moved, units="mm").bone_lengths
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@given(seed=seeds, shape=batch_shapes)
def test_mirror_twice_is_identity(seed, shape):
    sk = HandSkeleton(joints=random_hands(seed, shape), units="mm", side="right")
    m = sk.mirror()
    assert m.side is Side.left and m.mirror().side is Side.right
    np.testing.assert_array_equal(m.mirror().joints, sk.joints)
    np.testing.assert_array_equal(m.joints[..., 0], -sk.joints[..., 0])
    np.testing.assert_array_equal(m.joints[..., 1:], sk.joints[..., 1:])
    np.testing.assert_allclose(m.bone_lengths, sk.bone_lengths)
    assert m.as_right().side is Side.right and sk.as_right() is sk


@given(seed=seeds, shape=batch_shapes, chain=st.permutations(["m", "cm", "mm"]))
def test_unit_conversions(seed, shape, chain):
    sk = HandSkeleton(joints=random_hands(seed, shape), units="mm")
    factor = {"m": 1e-3, "cm": 0.1, "mm": 1.0}
    out = sk
    for u in chain:
        out = out.to_units(u)
        np.testing.assert_allclose(out.bone_lengths, sk.bone_lengths * factor[u], rtol=1e-12)
    np.testing.assert_allclose(out.to_units("mm").joints, sk.joints, rtol=1e-12, atol=1e-9)


@given(seed=seeds, shape=batch_shapes, scale=st.floats(0.3, 3.0))
def test_normalized_is_scale_invariant_and_reversible(seed, shape, scale):
    sk = HandSkeleton(joints=random_hands(seed, shape), units="mm")
    ref = sk.normalized()
    assert ref.units is Units.ref
    np.testing.assert_allclose(ref.reference_length(), 1.0, rtol=1e-12)
    scaled = HandSkeleton(joints=sk.joints * scale, units="mm").normalized()
    np.testing.assert_allclose(scaled.joints, ref.joints, rtol=1e-9, atol=1e-9)
    back = ref.denormalized(sk.reference_length(), units="mm")
    np.testing.assert_allclose(back.joints, sk.joints, rtol=1e-12, atol=1e-9)
    assert sk.to_units("ref") == ref


def test_normalized_by_another_reference_bone():
    sk = handkin.flat_hand()
    ref = sk.normalized("index_mcp")
    np.testing.assert_allclose(ref.bone_lengths[Bone.index_mcp], 1.0)
    np.testing.assert_allclose(ref.bone_lengths[Bone.middle_mcp], 87 / 88)


def test_ref_units_cannot_go_back_without_scale():
    ref = handkin.flat_hand().normalized()
    with pytest.raises(UnitsError, match="denormalized"):
        ref.to_units("mm")
    with pytest.raises(UnitsError):
        handkin.flat_hand().denormalized(80.0, "mm")


def test_centered():
    sk = HandSkeleton(joints=random_hands(8, (3,)), units="mm")
    np.testing.assert_allclose(sk.centered().joint("wrist"), 0.0)
    np.testing.assert_allclose(sk.centered("middle_mcp").joint("middle_mcp"), 0.0)
    np.testing.assert_allclose(sk.centered().bone_lengths, sk.bone_lengths)


def test_concatenate_and_equality():
    a = HandSkeleton(joints=random_hands(1, (2,)), units="mm")
    b = HandSkeleton(joints=random_hands(2, (3,)), units="mm")
    c = HandSkeleton.concatenate([a, b])
    assert c.batch_shape == (5,)
    assert c[:2] == a and c[2:] == b and a != b
    with pytest.raises(UnitsError):
        HandSkeleton.concatenate([a, b.to_units("m")])


def test_json_round_trip():
    sk = HandSkeleton(joints=handkin.get_order("rhd").from_canonical(random_hands(3, (2,))), order="rhd", units="mm")
    again = HandSkeleton.model_validate_json(sk.model_dump_json())
    assert again == sk and again.source_order == "rhd"


def test_dtype_follows_input():
    sk = HandSkeleton(joints=random_hands(0).astype(np.float32), units="mm")
    assert sk.bone_lengths.dtype == np.float32
    assert sk.normalized().joints.dtype == np.float32 and sk.mirror().joints.dtype == np.float32
    assert sk.to_units("m").joints.dtype == np.float32


# ----------------------------------------------------------------------------- torch backend


@needs_torch
@given(seed=seeds, shape=batch_shapes)
def test_numpy_and_torch_agree(seed, shape):
    joints = random_hands(seed, shape)
    n = HandSkeleton(joints=joints, units="mm")
    t = HandSkeleton(joints=torch.from_numpy(joints), units="mm")
    assert t.backend == "torch" and t.dtype == torch.float64
    for f in (
        lambda s: s.bones,
        lambda s: s.bone_lengths,
        lambda s: s.root_bones,
        lambda s: s.normalized().joints,
        lambda s: s.mirror().joints,
        lambda s: s.to_units("m").joints,
        lambda s: s.centered().joints,
        lambda s: s.to_order("interhand"),
        lambda s: s.finger("ring"),
    ):
        np.testing.assert_allclose(f(t).numpy(), f(n), rtol=1e-12, atol=1e-12)


@needs_torch
def test_backend_conversions_keep_values():
    n = HandSkeleton(joints=random_hands(2, (3,)), units="mm", side="left")
    t = n.torch(dtype=torch.float32)
    assert t.backend == "torch" and t.dtype == torch.float32 and t.side is Side.left
    assert "device=cpu" in repr(t)
    back = t.numpy()
    assert back.backend == "numpy"
    np.testing.assert_allclose(back.joints, n.joints, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(n.torch()), n.joints)


@needs_torch
def test_gradients_flow_through_everything():
    joints = torch.from_numpy(random_hands(9, (2,))).requires_grad_(True)
    sk = HandSkeleton(joints=joints, order="mp21", units="mm")
    assert "requires_grad=True" in repr(sk)
    rhd = HandSkeleton(joints=sk.to_order("rhd"), order="rhd", units="mm")
    loss = (
        rhd.normalized().bone_lengths.sum()
        + sk.mirror().to_units("m").bone_lengths.sum()
        + sk[1].centered().joints.square().sum()
    )
    loss.backward()
    assert joints.grad is not None and torch.isfinite(joints.grad).all() and joints.grad.abs().sum() > 0


@needs_torch
def test_zero_length_bones_have_finite_zero_gradient():
    joints = torch.zeros(1, 21, 3, dtype=torch.float64, requires_grad=True)
    sk = HandSkeleton(joints=joints, units="mm")
    (sk.bone_lengths.sum() + sk.normalized().joints.sum()).backward()
    assert torch.isfinite(joints.grad).all()


@needs_torch
def test_gradcheck_bone_lengths_and_normalized():
    joints = torch.from_numpy(random_hands(11, (2,))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda j: HandSkeleton.unchecked(j, units="mm").bone_lengths, (joints,))
    assert torch.autograd.gradcheck(lambda j: HandSkeleton.unchecked(j, units="mm").normalized().joints, (joints,))


@needs_torch
def test_float32_torch_keeps_dtype():
    t = HandSkeleton(joints=torch.from_numpy(random_hands(0, (2,))).float(), units="mm")
    assert t.bone_lengths.dtype == torch.float32 and t.normalized().joints.dtype == torch.float32
