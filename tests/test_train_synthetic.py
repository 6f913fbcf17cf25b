"""The built-in synthetic training data (handkin_train.data.synthetic, issue #7)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import handkin  # noqa: E402
from handkin import camera  # noqa: E402
from handkin.anatomy import Bone, Joint  # noqa: E402
from handkin_train.data import (  # noqa: E402
    SyntheticConfig,
    SyntheticHands,
    hand_primitives,
    rasterize,
    render,
    sample_cameras,
    sample_poses,
    synthetic,  # noqa: E402
)

SIZE = 128
ITEM_FORMAT = {
    "image": (torch.uint8, (3, SIZE, SIZE)),
    "uv": (torch.float32, (21, 2)),
    "z_rel": (torch.float32, (21,)),
    "z_root": (torch.float32, ()),
    "scale": (torch.float32, ()),
    "K": (torch.float32, (3, 3)),
    "joints": (torch.float32, (21, 3)),
    "has_2d": (torch.bool, ()),
    "has_3d": (torch.bool, ()),
}


@pytest.fixture(scope="module")
def dataset() -> SyntheticHands:
    return SyntheticHands(40, seed=5, weak_fraction=0.3)


def _posed(hand_frame: np.ndarray, rotation: np.ndarray, depth: float = 400.0) -> np.ndarray:
    """A hand ``(21, 3)`` rotated and centred ``depth`` mm in front of the camera, as a batch of one."""
    j = hand_frame @ rotation.T
    return (j - 0.5 * (j.max(0) + j.min(0)) + np.array([0.0, 0.0, depth]))[None]


FIST = {
    f"{f}_{j}": a
    for f in ("index", "middle", "ring", "little")
    for j, a in (("mcp", (80, 0)), ("pip", (100, 0)), ("dip", (60, 0)))
}
K0 = camera.intrinsics(200.0, 200.0, 63.5, 63.5)[None]
PALM_TOWARDS_CAMERA = np.eye(3)  # the template's palm faces −z: the camera (looking along +z) sees the palm
BACK_TOWARDS_CAMERA = np.diag([-1.0, 1.0, -1.0])  # turned 180° about y


# ------------------------------------------------------------------------------------------ configuration


def test_config_defaults_and_validation():
    cfg = SyntheticConfig()
    assert cfg.image_size == 128 and cfg.focal_px == (150.0, 300.0) and cfg.reference_mm == (75.0, 105.0)
    assert SyntheticConfig(image_size=256).focal_px == (300.0, 600.0)  # the same fields of view
    assert SyntheticConfig(image_size=256, focal_px=(100, 200)).focal_px == (100.0, 200.0)
    assert SyntheticConfig(**cfg.model_dump()) == cfg
    with pytest.raises(ValueError):
        SyntheticConfig(focal_px=(300.0, 150.0))  # lo > hi
    with pytest.raises(ValueError):
        SyntheticConfig(reference_mm=(0.0, 90.0))  # not positive
    with pytest.raises(ValueError):
        SyntheticConfig(fill=(0.5, 1.5))
    with pytest.raises(ValueError):
        SyntheticConfig(image_size=8)
    with pytest.raises(ValueError):
        SyntheticConfig(colour="red")  # extra fields are forbidden


# ------------------------------------------------------------------------------------------ poses


def test_pose_sampling_is_handkins():
    """The poses come from handkin.sampling (tested in tests/test_sampling.py); the pose fields of a
    SyntheticConfig are those of a handkin SamplingConfig."""
    from handkin import sampling

    assert sample_poses is sampling.sample_poses and synthetic.sample_poses is sampling.sample_poses
    assert issubclass(SyntheticConfig, sampling.SamplingConfig)
    cfg = SyntheticConfig(natural_fraction=0.3, palm_cup_deg=(2.0, 10.0), image_size=64)
    pose_part = sampling.SamplingConfig(**{k: getattr(cfg, k) for k in sampling.SamplingConfig.model_fields})
    limits = handkin.JointLimits.default()
    a = sample_poses(50, limits, np.random.default_rng(0), cfg)
    assert np.array_equal(a, sampling.sample_poses(50, limits, np.random.default_rng(0), pose_part))


def test_every_name_of_the_module_before_the_split_is_importable():
    names = (
        "SyntheticConfig SyntheticHands sample_poses sample_cameras render rasterize hand_primitives Raster "
        "HandPrimitives JOINT_RADII_REF SKIN_PALETTE CHUNK PALM_HALF_THICKNESS_REF PART_PALM PART_PALM_INNER "
        "PART_ARM NUM_PARTS FILE_VERSION Range"
    ).split()
    for name in names:
        assert hasattr(synthetic, name), name
    assert set(synthetic.__all__) >= set(names[:12])
    assert synthetic.CHUNK == 256 and synthetic.RENDER_CHUNK == 16 and synthetic.FILE_VERSION == 1


# ------------------------------------------------------------------------------------------ cameras


def test_cameras_fit_the_hand_in_the_crop():
    cfg = SyntheticConfig()
    hands = sample_poses(300, handkin.JointLimits.default(), np.random.default_rng(2), cfg)
    joints, K = sample_cameras(hands, np.random.default_rng(3), cfg)
    assert joints.shape == (300, 21, 3) and K.shape == (300, 3, 3)
    camera.check_intrinsics(K)
    assert joints[..., 2].min() >= cfg.min_depth_mm - 1e-9
    uv = camera.project(joints, K)
    assert uv.min() >= 0.0 and uv.max() <= SIZE - 1
    span = (uv.max(axis=1) - uv.min(axis=1)).max(axis=1) / (SIZE - 1)
    assert span.min() > 0.45 and span.max() < 0.95
    assert np.all((K[:, 0, 0] >= 150.0) & (K[:, 0, 0] <= 300.0)) and np.all(K[:, 0, 0] == K[:, 1, 1])
    assert np.abs(K[:, :2, 2] - (SIZE - 1) / 2).max() <= 3 * cfg.principal_jitter_px + 1e-9
    # a rigid motion: all pairwise joint distances are kept
    d_hand = np.linalg.norm(hands[:, :, None] - hands[:, None], axis=-1)
    d_cam = np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1)
    np.testing.assert_allclose(d_cam, d_hand, atol=1e-9)
    # orientations cover the sphere: the palm faces the camera about half of the time
    normal = np.cross(joints[:, Joint.index_mcp] - joints[:, 0], joints[:, Joint.little_mcp] - joints[:, 0])
    facing = np.mean(np.sum(normal * joints[:, 0], axis=-1) < 0)
    assert 0.3 < facing < 0.7


# ------------------------------------------------------------------------------------------ dataset and labels


def test_item_keys_dtypes_and_shapes(dataset):
    item = dataset[0]
    assert set(item) == set(ITEM_FORMAT)
    for key, (dtype, shape) in ITEM_FORMAT.items():
        assert item[key].dtype == dtype, key
        assert tuple(item[key].shape) == shape, key
    assert bool(item["has_2d"])
    assert dataset[-1]["uv"].equal(dataset[len(dataset) - 1]["uv"])
    with pytest.raises(IndexError):
        dataset[len(dataset)]
    assert dataset.images.shape == (40, SIZE, SIZE, 3) and dataset.images.dtype == np.uint8
    assert torch.equal(item["image"], torch.from_numpy(dataset.images[0]).permute(2, 0, 1))


def test_labels_are_exact(dataset):
    for i in range(0, len(dataset), 7):
        item = dataset[i]
        joints, K = item["joints"].double(), item["K"].double()
        torch.testing.assert_close(camera.project(joints, K), item["uv"].double(), atol=1e-4, rtol=0)
        pose = camera.to_25d(joints, K)
        torch.testing.assert_close(pose.z_rel, item["z_rel"].double(), atol=1e-5, rtol=0)
        torch.testing.assert_close(pose.scale, item["scale"].double(), atol=1e-3, rtol=0)
        torch.testing.assert_close(pose.z_root / pose.scale, item["z_root"].double(), atol=1e-5, rtol=0)
    # float64 bulk arrays: exact, and the 2.5D labels give the joints back
    pose = camera.to_25d(dataset.joints, dataset.K)
    np.testing.assert_allclose(dataset.uv, pose.uv, atol=1e-4)
    back = camera.from_25d(
        dataset.uv.astype(float), dataset.z_rel.astype(float), dataset.K, dataset.z_root.astype(float), pose.scale
    )
    np.testing.assert_allclose(back, dataset.joints, atol=0.05)
    uv = dataset.uv
    assert uv.min() >= 0 and uv.max() <= SIZE - 1 and dataset.joints[..., 2].min() > 0


def test_dataloader_batches(dataset):
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=0, shuffle=True)
    batch = next(iter(loader))
    for key, (dtype, shape) in ITEM_FORMAT.items():
        assert batch[key].dtype == dtype, key
        assert tuple(batch[key].shape) == (4, *shape), key
    assert sum(1 for _ in loader) == 10


def test_determinism():
    a, b, c = SyntheticHands(12, seed=1), SyntheticHands(12, seed=1), SyntheticHands(12, seed=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.joints, b.joints) and np.array_equal(a.K, b.K)
    assert not np.array_equal(a.images, c.images) and not np.allclose(a.joints, c.joints)


def test_weak_fraction_and_mark_2d_only(dataset):
    assert (~dataset.has_3d).sum() == 12  # round(0.3 · 40)
    again = SyntheticHands(40, seed=5, weak_fraction=0.3, config=SyntheticConfig(image_size=32))
    assert np.array_equal(again.has_3d, dataset.has_3d)  # chosen from the seed alone
    assert SyntheticHands(3, seed=0).has_3d.all()
    ds = SyntheticHands(6, seed=0, config=SyntheticConfig(image_size=32), progress=True)
    ds.mark_2d_only([0, 2])
    ds.mark_2d_only(torch.tensor([False, False, False, False, False, True]))
    ds.mark_2d_only(np.array([-2]))
    assert ds.has_3d.tolist() == [False, True, False, True, False, False]
    assert [bool(ds[i]["has_3d"]) for i in range(6)] == ds.has_3d.tolist()
    with pytest.raises(ValueError):
        ds.mark_2d_only(np.ones(5, dtype=bool))
    with pytest.raises(IndexError):
        ds.mark_2d_only([6])


def test_save_load_round_trip(tmp_path):
    dataset = SyntheticHands(10, seed=3, weak_fraction=0.5, config=SyntheticConfig(image_size=64, focal_px=(90, 150)))
    dataset.mark_2d_only([0])
    path = dataset.save(tmp_path / "sub" / "synthetic.npz")
    assert sorted(p.name for p in path.parent.iterdir()) == ["synthetic.npz"]  # no temporary file left
    loaded = SyntheticHands.load(path)
    for name in ("images", "joints", "K", "has_3d", "uv", "z_rel", "z_root", "scale"):
        assert np.array_equal(getattr(loaded, name), getattr(dataset, name)), name
    assert loaded.config == dataset.config and loaded.seed == dataset.seed
    assert loaded.limits == dataset.limits
    for key, value in loaded[3].items():
        assert torch.equal(value, dataset[3][key]), key
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError):
        SyntheticHands.load(tmp_path / "bad.npz")


# ------------------------------------------------------------------------------------------ rendering


def test_render_draws_the_hand_over_the_background():
    cfg = SyntheticConfig(thickness=(1.0, 1.0), arm_probability=0.0, glove_probability=0.0, specular=(0.0, 0.0))
    hands = sample_poses(24, handkin.JointLimits.default(), np.random.default_rng(4), cfg)
    joints, K = sample_cameras(hands, np.random.default_rng(5), cfg)
    with_hand = render(joints, K, np.random.default_rng(6), cfg)
    without = render(joints, K, np.random.default_rng(6), cfg, draw_hand=False)
    assert with_hand.shape == (24, SIZE, SIZE, 3) and with_hand.dtype == np.uint8
    changed = np.abs(with_hand.astype(int) - without.astype(int)).max(axis=-1) > 0
    mask = rasterize(K, (SIZE, SIZE), *hand_primitives(joints)).part >= 0

    # the pixel of every joint changed (it lies inside its own sphere's silhouette)
    uv = np.rint(camera.project(joints, K)).astype(int)
    rows, cols = uv[..., 1], uv[..., 0]
    assert changed[np.arange(24)[:, None], rows, cols].mean() > 0.98
    # the changed area is the hand's silhouette (up to the 1-pixel blur at its border)
    grown = mask.copy()
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    grown[:, :, 1:] |= grown[:, :, :-1].copy()
    grown[:, :, :-1] |= grown[:, :, 1:].copy()
    assert not np.any(changed & ~grown)
    assert (changed & mask).sum() / mask.sum() > 0.97
    assert 0.05 < mask.mean() < 0.6

    # the nearest fingertip shows skin (reddish: R > B) that differs from the background there
    tips = np.array([int(Joint[f"{f}_tip"]) for f in ("thumb", "index", "middle", "ring", "little")])
    nearest = tips[np.argmin(joints[:, tips, 2], axis=1)]
    r, c = rows[np.arange(24), nearest], cols[np.arange(24), nearest]
    skin = with_hand[np.arange(24), r, c].astype(int)
    background = without[np.arange(24), r, c].astype(int)
    assert np.all(np.abs(skin - background).max(axis=-1) > 8)
    assert np.mean(skin[:, 0] > skin[:, 2]) > 0.9
    hand_pixels = with_hand[mask].astype(int)
    assert np.mean(hand_pixels[:, 0] > hand_pixels[:, 2]) > 0.9


def test_nearer_capsule_occludes_the_farther_one():
    # two capsules crossing at the image centre: a horizontal one at Z = 300 and a vertical one at Z = 400
    near = np.array([[-40.0, 0.0, 300.0], [40.0, 0.0, 300.0]])
    far = np.array([[0.0, -50.0, 400.0], [0.0, 50.0, 400.0]])
    K = camera.intrinsics(200.0, 200.0, 64.0, 64.0)[None]
    for order in ((near, far), (far, near)):
        capsules = np.stack(order)[None]
        raster = rasterize(K, (129, 129), capsules, np.full((1, 2, 2), 10.0), capsule_part=[7, 9])
        nearer_part = 7 if order[0] is near else 9
        assert raster.part[0, 64, 64] == nearer_part
        assert raster.depth[0, 64, 64] == pytest.approx(290.0, abs=0.05)  # the near axis at 300 minus r = 10
        np.testing.assert_allclose(raster.normal[0, 64, 64], [0.0, 0.0, -1.0], atol=1e-6)
        # the far capsule is visible above and below the near one, the near one to the sides
        assert raster.part[0, 64 - 20, 64] == (9 if nearer_part == 7 else 7)
        assert raster.part[0, 64, 64 + 20] == nearer_part
        assert raster.part[0, 5, 5] == -1 and np.isinf(raster.depth[0, 5, 5])
    # whole hands, overlapping: wherever both cover a pixel the nearer one is seen, elsewhere each is seen
    hand = np.asarray(handkin.flat_hand().joints)
    front = _posed(hand, BACK_TOWARDS_CAMERA, 300.0)
    behind = _posed(hand, BACK_TOWARDS_CAMERA, 450.0) + np.array([70.0, 30.0, 0.0])
    prims = [hand_primitives(h) for h in (front, behind)]
    alone = [rasterize(K, (129, 129), *p).part[0] >= 0 for p in prims]
    both = rasterize(
        K,
        (129, 129),
        np.concatenate([p.capsules for p in prims], axis=1),
        np.concatenate([p.radii for p in prims], axis=1),
        np.concatenate([prims[0].capsule_part, prims[1].capsule_part + 100]),
        np.concatenate([p.triangles for p in prims], axis=1),
        np.concatenate([p.vertex_normals for p in prims], axis=1),
        np.concatenate([prims[0].triangle_part, prims[1].triangle_part + 100]),
    ).part[0]
    overlap = alone[0] & alone[1]
    assert overlap.sum() > 200 and (alone[1] & ~alone[0]).sum() > 200
    assert np.all(both[overlap] < 100)
    assert np.all(both[alone[1] & ~alone[0]] >= 100)
    assert np.all((both >= 0) == (alone[0] | alone[1]))


def test_fingers_occlude_by_depth_order():
    hand = np.asarray(handkin.posed_hand(FIST, degrees=True).joints)
    for rotation, tip_visible in ((PALM_TOWARDS_CAMERA, True), (BACK_TOWARDS_CAMERA, False)):
        joints = _posed(hand, rotation)
        raster = rasterize(K0, (SIZE, SIZE), *hand_primitives(joints))
        u, v = np.rint(camera.project(joints, K0)[0, Joint.index_tip]).astype(int)
        part = raster.part[0, v, u]
        distal = part in (Bone.index_tip, Bone.index_dip)
        assert distal == tip_visible, (rotation, part)
        if tip_visible:  # the surface seen there is the fingertip's, just in front of the joint
            assert joints[0, Joint.index_tip, 2] - 15.0 < raster.depth[0, v, u] < joints[0, Joint.index_tip, 2]
        else:  # hidden behind the back of the hand, which is nearer to the camera than the tip
            assert raster.depth[0, v, u] < joints[0, Joint.index_tip, 2] - 10.0


def test_palm_faces_are_one_sided():
    hand = np.asarray(handkin.flat_hand().joints)
    for rotation, part in (
        (PALM_TOWARDS_CAMERA, synthetic.PART_PALM_INNER),
        (BACK_TOWARDS_CAMERA, synthetic.PART_PALM),
    ):
        joints = _posed(hand, rotation)
        raster = rasterize(K0, (SIZE, SIZE), *hand_primitives(joints))
        centre = np.rint(camera.project(joints[:, [0, 5, 9, 13, 17]].mean(1, keepdims=True), K0)[0, 0]).astype(int)
        assert raster.part[0, centre[1], centre[0]] == part
        assert raster.normal[0, centre[1], centre[0], 2] < -0.95  # facing the camera


def test_render_without_hand_is_background_only():
    cfg = SyntheticConfig(image_size=64)
    hands = sample_poses(5, handkin.JointLimits.default(), np.random.default_rng(7), cfg)
    joints, K = sample_cameras(hands, np.random.default_rng(8), cfg)
    a = render(joints, K, np.random.default_rng(9), cfg, draw_hand=False)
    b = render(joints + np.array([0.0, 0.0, 500.0]), K, np.random.default_rng(9), cfg, draw_hand=False)
    assert np.array_equal(a, b) and a.shape == (5, 64, 64, 3)
    assert a.std(axis=(1, 2)).mean() > 5.0  # not flat colour
    with pytest.raises(ValueError):
        render(joints[:, :20], K, np.random.default_rng(0), cfg)
