"""handkin_train's datasets (issue #8): readers on fixtures written in each dataset's own layout and on the real
excerpts, crops and augmentation (labels re-projected, image content checked), the prepared cache, weak labels,
mixtures, config, engine dispatch and the ``prepare`` command."""

from __future__ import annotations

import json
import os
import pickle
import time

import numpy as np
import pytest
from conftest import shared_path

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

import handkin  # noqa: E402
from handkin import camera  # noqa: E402
from handkin.orders import convert  # noqa: E402
from handkin_train.cli import main as cli_main  # noqa: E402
from handkin_train.config import AugmentConfig, DatasetConfig, TrainConfig  # noqa: E402
from handkin_train.data import (  # noqa: E402
    MixedHands,
    PreparedHands,
    SyntheticHands,
    crop_geometry,
    prepare,
    read_folder,
    read_freihand,
    read_ho3d,
    read_interhand,
    read_rhd,
    weak_mask,
    write_submission,
)
from handkin_train.data.crops import (  # noqa: E402
    N_UNIFORMS,
    keyed_uniforms,
    sample_augmentation,
    warp_batch,
    warp_pil,
    warp_torch,
)
from handkin_train.data.freihand import TRAINING_SIZE, read_submission, scale_to_reference  # noqa: E402
from handkin_train.data.ho3d import GL_TO_CV  # noqa: E402
from handkin_train.data.prepare import read_manifest  # noqa: E402
from handkin_train.datasets import build_dataset  # noqa: E402
from handkin_train.errors import ConfigError, DatasetError  # noqa: E402
from handkin_train.evaluation import paper_scores  # noqa: E402

ITEM_KEYS = {"image", "uv", "z_rel", "z_root", "scale", "K", "joints", "has_2d", "has_3d", "uv_visible"}
BLOB_JOINT = 8  # the index tip carries a bright blob in every fixture image


# ------------------------------------------------------------------------------------------- fixture data
def hands_in_view(n: int, seed: int, f: float = 500.0, c: tuple[float, float] = (112.0, 112.0)):
    """``n`` right hands (MP21, mm, camera frame) in front of a camera ``K`` that sees them near the centre."""
    rng = np.random.default_rng(seed)
    from scipy.spatial.transform import Rotation

    base = np.asarray(handkin.flat_hand().joints)
    base = base - base.mean(axis=0)
    rot = Rotation.random(n, random_state=rng).as_matrix()
    joints = np.einsum("nij,kj->nki", rot, base)
    joints[..., 2] += rng.uniform(450.0, 650.0, (n, 1))
    joints[..., :2] += rng.uniform(-30.0, 30.0, (n, 1, 2))
    K = np.array([[f, 0.0, c[0]], [0.0, f * 1.02, c[1]], [0.0, 0.0, 1.0]])
    return joints, np.broadcast_to(K, (n, 3, 3)).copy()


def blob_image(uv: np.ndarray, width: int, height: int, sigma: float = 4.0) -> np.ndarray:
    """A dark image with a small grey dot at every joint and a bright Gaussian blob at the index tip."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.full((height, width, 3), 10.0)
    for j, (u, v) in enumerate(uv):
        if j == BLOB_JOINT:
            continue
        img[int(np.clip(round(v), 0, height - 1)), int(np.clip(round(u), 0, width - 1))] = 60.0
    u, v = uv[BLOB_JOINT]
    g = np.exp(-((xs - u) ** 2 + (ys - v) ** 2) / (2 * sigma**2))
    img += 240.0 * g[..., None] * np.array([1.0, 0.8, 0.6])
    return np.clip(img, 0, 255).astype(np.uint8)


def save_image(path, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, quality=97) if str(path).endswith(".jpg") else Image.fromarray(array).save(path)


def blob_centre(image_chw: np.ndarray) -> np.ndarray:
    """Centroid (u, v) of the bright blob in a (3, H, W) uint8 image."""
    g = image_chw[0].astype(np.float64)
    w = np.clip(g - 100.0, 0.0, None)
    ys, xs = np.mgrid[0 : g.shape[0], 0 : g.shape[1]]
    return np.array([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()])


def mirror_x(joints: np.ndarray) -> np.ndarray:
    return joints * np.array([-1.0, 1.0, 1.0])


def write_freihand(root, n: int = 3, versions: int = 4, evaluation_labels: bool = True):
    joints, K = hands_in_view(n, seed=1)
    uv = np.asarray(camera.project(joints, K))
    root.mkdir(parents=True, exist_ok=True)
    (root / "training_xyz.json").write_text(json.dumps((joints / 1000.0).tolist()))
    (root / "training_K.json").write_text(json.dumps(K.tolist()))
    scale = np.linalg.norm(joints[:, 10] - joints[:, 9], axis=-1) / 1000.0
    (root / "training_scale.json").write_text(json.dumps(scale.tolist()))
    for v in range(versions):
        for i in range(n):
            save_image(str(root / "training" / "rgb" / f"{i + TRAINING_SIZE * v:08d}.jpg"), blob_image(uv[i], 224, 224))
    (root / "evaluation_K.json").write_text(json.dumps(K[:2].tolist()))
    (root / "evaluation_scale.json").write_text(json.dumps(scale[:2].tolist()))
    if evaluation_labels:
        (root / "evaluation_xyz.json").write_text(json.dumps((joints[:2] / 1000.0).tolist()))
    for i in range(2):
        save_image(str(root / "evaluation" / "rgb" / f"{i:08d}.jpg"), blob_image(uv[i], 224, 224))
    return joints, K


def write_rhd(root, visible_counts):
    """RHD training folder: per sample, (left visible keypoints, right visible keypoints)."""
    n = len(visible_counts)
    right, K = hands_in_view(n, seed=2, f=300.0, c=(160.0, 160.0))
    left = mirror_x(hands_in_view(n, seed=3, f=300.0, c=(160.0, 160.0))[0])
    anno = {}
    for i, (nl, nr) in enumerate(visible_counts):
        xyz = np.concatenate([convert(left[i], "mp21", "rhd"), convert(right[i], "mp21", "rhd")]) / 1000.0
        uv = np.asarray(camera.project(xyz, K[i]))
        vis = np.zeros(42)
        vis[:nl], vis[21 : 21 + nr] = 1.0, 1.0
        anno[i * 7] = {"xyz": xyz.astype(np.float32), "uv_vis": np.concatenate([uv, vis[:, None]], 1), "K": K[i]}
        pick = right[i] if nr >= nl else left[i]
        save_image(
            str(root / "training" / "color" / f"{i * 7:05d}.png"),
            blob_image(np.asarray(camera.project(pick, K[i])), 320, 320),
        )
    with open(root / "training" / "anno_training.pickle", "wb") as f:
        pickle.dump(anno, f, protocol=2)
    return left, right, K


def write_ho3d(root, version: int = 3, frames: int = 3):
    joints, K = hands_in_view(frames, seed=4, f=600.0, c=(160.0, 120.0))
    ext = ".jpg" if version == 3 else ".png"
    names = []
    for i in range(frames):
        seq = "ABF10" if i < 2 else "MC1"
        name = f"{seq}/{i:04d}"
        names.append(name)
        gl = convert(joints[i], "mp21", "ho3d") / 1000.0 @ GL_TO_CV.T  # the OpenGL frame flips y and z
        meta = {"handJoints3D": gl, "camMat": K[i], "handPose": np.zeros(48), "objName": "mug"}
        (root / "train" / seq / "meta").mkdir(parents=True, exist_ok=True)
        with open(root / "train" / seq / "meta" / f"{i:04d}.pkl", "wb") as f:
            pickle.dump(meta, f)
        save_image(
            str(root / "train" / seq / "rgb" / f"{i:04d}{ext}"), blob_image(camera.project(joints[i], K[i]), 320, 240)
        )
    (root / "train.txt").write_text("\n".join(names) + "\n")
    return joints, K


def write_folder(root, n: int = 4, fmt: str = "json", with_xyz=True, left=(1,)):
    joints, K = hands_in_view(n, seed=5)
    sides = ["left" if i in left else "right" for i in range(n)]
    joints = np.where(np.array([s == "left" for s in sides])[:, None, None], mirror_x(joints), joints)
    uv = np.asarray(camera.project(joints, K))
    for i in range(n):
        save_image(str(root / "images" / f"{i:03d}.png"), blob_image(uv[i], 224, 224))
    images = [f"images/{i:03d}.png" for i in range(n)]
    if fmt == "json":
        samples = [{"image": images[i], "side": sides[i], "K": K[i].tolist(), "uv": uv[i].tolist()} for i in range(n)]
        for i in range(n):
            if with_xyz:
                samples[i]["xyz"] = (joints[i] / 1000.0).tolist()
        (root / "hands.json").write_text(json.dumps({"format": "handkin-hands", "units": "m", "samples": samples}))
    else:
        arrays = {"image": np.array(images), "K": K, "uv": uv, "side": np.array(sides)}
        if with_xyz:
            arrays["xyz"] = joints
        np.savez(root / "hands.npz", **arrays)
    return joints, K, uv, sides


# ------------------------------------------------------------------------------------------- readers
def test_freihand_reader_reads_the_published_layout(tmp_path):
    joints, K = write_freihand(tmp_path)
    r = read_freihand(tmp_path)
    assert len(r) == 12 and r.name == "freihand"
    np.testing.assert_allclose(r.joints[:3], joints, atol=1e-9)  # FreiHAND's order is MP21; metres → mm
    np.testing.assert_allclose(r.joints[3:6], joints, atol=1e-9)  # version "hom" repeats the labels
    assert r.image[4].endswith(f"{1 + TRAINING_SIZE:08d}.jpg") and r.image[11].endswith(
        f"{2 + 3 * TRAINING_SIZE:08d}.jpg"
    )
    assert r.group.tolist() == [0, 1, 2] * 4 and not r.left.any() and r.has_3d.all() and r.has_2d.all()
    assert r.projection_error().max() < 1e-9
    np.testing.assert_allclose(r.extra["scale_m"][:3], np.linalg.norm(joints[:, 10] - joints[:, 9], axis=-1) / 1000)
    gs = read_freihand(tmp_path, versions="gs,auto")
    assert len(gs) == 6 and gs.image[3].endswith(f"{3 * TRAINING_SIZE:08d}.jpg")
    assert gs.skeleton(0).units.value == "mm" and gs.skeletons().joints.shape == (6, 21, 3)


def test_freihand_evaluation_split(tmp_path):
    write_freihand(tmp_path)
    ev = read_freihand(tmp_path, split="evaluation")
    assert len(ev) == 2 and ev.has_3d.all()
    (tmp_path / "evaluation_xyz.json").unlink()
    unlabelled = read_freihand(tmp_path, split="evaluation")
    assert not unlabelled.has_3d.any() and not unlabelled.has_2d.any()
    np.testing.assert_array_equal(unlabelled.bbox, [[0, 0, 223, 223]] * 2)  # the whole image is the crop


def test_freihand_errors_name_the_file(tmp_path):
    write_freihand(tmp_path, n=2, versions=1)
    with pytest.raises(DatasetError, match="training_xyz.json: entry 1 has shape"):
        xyz = json.loads((tmp_path / "training_xyz.json").read_text())
        (tmp_path / "training_xyz.json").write_text(json.dumps([xyz[0], xyz[1][:20]]))
        read_freihand(tmp_path, versions="gs")
    (tmp_path / "training_xyz.json").write_text(json.dumps(xyz[:1]))
    with pytest.raises(DatasetError, match="training_xyz.json: holds 1 entries, but the other annotation files hold 2"):
        read_freihand(tmp_path, versions="gs")
    (tmp_path / "training_xyz.json").write_text(json.dumps(xyz))
    (tmp_path / "training_K.json").unlink()
    with pytest.raises(DatasetError, match="training_K.json"):
        read_freihand(tmp_path)
    with pytest.raises(DatasetError, match="unknown FreiHAND colour version"):
        read_freihand(tmp_path, versions="sepia")


def test_freihand_missing_image_and_metres_as_mm(tmp_path):
    joints, K = write_freihand(tmp_path, n=2, versions=1)
    with pytest.raises(DatasetError, match=f"image not found: .*{TRAINING_SIZE:08d}.jpg"):
        read_freihand(tmp_path)  # only the gs version was written
    (tmp_path / "training_xyz.json").write_text(json.dumps(joints.tolist()))  # millimetres where metres belong
    with pytest.raises(
        DatasetError, match=r"training_xyz.json: sample '0' \(and 1 more of the 2 samples\) has a wrist→middle_mcp bone"
    ):
        read_freihand(tmp_path, versions="gs")


def test_rhd_reader_picks_the_visible_hand(tmp_path):
    left, right, K = write_rhd(tmp_path, [(21, 3), (2, 15), (10, 10), (0, 0)])
    r = read_rhd(tmp_path)  # the folder RHD_published_v2 (holding training/)
    assert r.key.tolist() == ["0", "7", "14"]  # sample 21 has no visible keypoint
    area = [np.prod(np.ptp(camera.project(h[2], K[2]), axis=0)) for h in (left, right)]
    assert r.left.tolist() == [True, False, bool(area[0] > area[1])]  # a tie goes to the larger 2D box
    np.testing.assert_allclose(r.joints[0], left[0], atol=1e-3)  # float32 metres in the pickle
    np.testing.assert_allclose(r.joints[1], right[1], atol=1e-3)
    assert r.uv_visible.all()  # occluded joints keep their exact rendered 2D labels
    assert r.extra["visible"][1].sum() == 15
    assert r.projection_error().max() < 1e-3
    both = read_rhd(tmp_path / "training" / "anno_training.pickle", hands="both", min_visible=3)
    assert both.key.tolist() == ["0", "0", "7", "14", "14"] and both.group.tolist() == [0, 0, 1, 2, 2]


def test_rhd_errors_name_the_file_and_sample(tmp_path):
    write_rhd(tmp_path, [(21, 21)])
    path = tmp_path / "training" / "anno_training.pickle"
    with open(path, "rb") as f:
        anno = pickle.load(f)
    anno[0] = {k: v for k, v in anno[0].items() if k != "uv_vis"}
    with open(path, "wb") as f:
        pickle.dump(anno, f)
    with pytest.raises(DatasetError, match=r"anno_training.pickle: sample 0 lacks 'xyz', 'uv_vis' or 'K'"):
        read_rhd(tmp_path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="anno_training.pickle is not a readable pickle"):
        read_rhd(tmp_path)
    with pytest.raises(DatasetError, match="RHD annotation pickle not found: .*anno_evaluation.pickle"):
        read_rhd(tmp_path, split="evaluation")


def test_rhd_real_excerpt_in_mmpose_layout():
    folder = shared_path("rhd_excerpt")
    ref = np.load(folder / "excerpt_mp21_mm.npz")
    r = read_rhd(folder / "test_rhd.json")
    assert len(r) == 3 and r.side.tolist() == ref["side"].tolist()
    np.testing.assert_allclose(r.joints, ref["xyz_cam_mm"], atol=1e-6)
    np.testing.assert_allclose(r.K, ref["K"], atol=1e-9)
    assert r.projection_error().max() < 0.1  # the 2D labels project from the 3D ones with K


def test_ho3d_reader_converts_mano_order_and_opengl_frame(tmp_path):
    for version in (2, 3):
        root = tmp_path / f"v{version}"
        joints, K = write_ho3d(root, version=version)
        r = read_ho3d(root)
        np.testing.assert_allclose(r.joints, joints, atol=1e-9)
        assert (r.joints[..., 2] > 0).all() and r.projection_error().max() < 1e-9
        assert r.key.tolist() == ["ABF10/0000", "ABF10/0001", "MC1/0002"]
        assert r.image[0].endswith(".jpg" if version == 3 else ".png")
    (root / "train.txt").unlink()  # without the list: every meta file
    assert len(read_ho3d(root)) == 3


def test_ho3d_evaluation_split_and_errors(tmp_path):
    write_ho3d(tmp_path)
    meta = tmp_path / "train" / "MC1" / "meta" / "0002.pkl"
    with open(meta, "rb") as f:
        m = pickle.load(f)
    with open(meta, "wb") as f:
        pickle.dump({**m, "handJoints3D": None}, f)
    with pytest.raises(DatasetError, match=r"MC1/meta/0002.pkl: 'handJoints3D' is None"):
        read_ho3d(tmp_path)
    assert len(read_ho3d(tmp_path, skip_unannotated=True)) == 2
    with open(meta, "wb") as f:
        pickle.dump({"handJoints3D": m["handJoints3D"]}, f)
    with pytest.raises(DatasetError, match=r"0002.pkl: expected a dict with 'handJoints3D' and 'camMat'"):
        read_ho3d(tmp_path)
    ev = tmp_path / "evaluation" / "SM1"
    (ev / "meta").mkdir(parents=True)
    with open(ev / "meta" / "0000.pkl", "wb") as f:
        pickle.dump(
            {"handJoints3D": np.array([0.0, 0.0, -0.5]), "camMat": m["camMat"], "handBoundingBox": [40, 30, 140, 150]},
            f,
        )
    save_image(str(ev / "rgb" / "0000.jpg"), np.zeros((240, 320, 3), np.uint8))
    (tmp_path / "evaluation.txt").write_text("SM1/0000\n")
    r = read_ho3d(tmp_path, split="evaluation")
    assert not r.has_2d.any() and not r.has_3d.any() and r.bbox.tolist() == [[40, 30, 140, 150]]


def test_interhand_real_excerpt():
    folder = shared_path("interhand26m_excerpt")
    ref = np.load(folder / "excerpt_mp21_mm.npz")
    r = read_interhand(folder / "test_interhand2.6m_data.json")
    assert len(r) == 6
    order = [
        int(np.flatnonzero((ref["image"] == os.path.basename(p)) & (ref["side"] == s))[0])
        for p, s in zip(r.image, r.side, strict=True)
    ]
    np.testing.assert_allclose(r.joints, ref["xyz_cam_mm"][order], atol=1e-6)
    np.testing.assert_allclose(r.uv, ref["uv_px"][order], atol=0.1)  # 2D from 3D with K within 0.1 px
    np.testing.assert_allclose(r.K, ref["K"][order], atol=1e-9)
    assert r.has_3d.all() and r.group.tolist() == [0, 0, 1, 1, 2, 3]  # interacting images give two hands


def test_interhand_fixture_errors_and_partial_hands(tmp_path):
    folder = shared_path("interhand26m_excerpt")
    for name in ("data", "camera", "joint_3d"):
        (tmp_path / f"x_{name}.json").write_text((folder / f"test_interhand2.6m_{name}.json").read_text())
    data = json.loads((tmp_path / "x_data.json").read_text())
    valid = np.array(data["annotations"][0]["joint_valid"]).reshape(42)
    valid[:5] = 0  # five joints of the first (right) hand unlabelled
    valid[21:35] = 0  # the left hand keeps only 7 valid joints: dropped (min_valid 10)
    data["annotations"][0]["joint_valid"] = valid.reshape(42, 1).tolist()
    (tmp_path / "x_data.json").write_text(json.dumps(data))
    r = read_interhand(tmp_path / "x_data.json", images=folder)
    assert len(r) == 5 and r.key[0].endswith("/right") and r.key[1].endswith("/right")
    assert not r.has_3d[0] and r.uv_visible[0].sum() == 16 and r.has_3d[1:].all()
    (tmp_path / "x_camera.json").unlink()
    with pytest.raises(DatasetError, match="camera file not found: .*x_camera.json"):
        read_interhand(tmp_path / "x_data.json", images=folder)
    with pytest.raises(DatasetError, match="image not found: .*image69148.jpg"):
        (tmp_path / "x_camera.json").write_text((folder / "test_interhand2.6m_camera.json").read_text())
        read_interhand(tmp_path / "x_data.json")  # images are not beside this JSON


@pytest.mark.parametrize("fmt", ["json", "npz"])
def test_folder_format(tmp_path, fmt):
    joints, K, uv, sides = write_folder(tmp_path, fmt=fmt)
    r = read_folder(tmp_path)
    np.testing.assert_allclose(r.joints, joints, atol=1e-9)
    np.testing.assert_allclose(r.uv, uv, atol=1e-9)
    assert r.side.tolist() == sides and r.has_3d.all()
    if fmt == "json":
        data = json.loads((tmp_path / "hands.json").read_text())
        del data["samples"][2]["xyz"]  # 2D only
        data["samples"][3]["uv"][4] = None  # one unlabelled joint
        (tmp_path / "hands.json").write_text(json.dumps(data))
        r = read_folder(tmp_path / "hands.json")
        assert r.has_3d.tolist() == [True, True, False, True] and r.has_2d.all()
        assert r.uv_visible[3].sum() == 20 and not r.uv_visible[3, 4]


def test_folder_format_errors(tmp_path):
    write_folder(tmp_path)
    data = json.loads((tmp_path / "hands.json").read_text())
    good = json.dumps(data)
    data["samples"][1]["xyz"] = (np.array(data["samples"][1]["xyz"]) * [1, -1, -1]).tolist()  # an OpenGL frame
    (tmp_path / "hands.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"hands.json: sample 1 has 3D joints at or behind the camera"):
        read_folder(tmp_path)
    data = json.loads(good)
    data["samples"][2]["uv"] = (np.array(data["samples"][2]["uv"]) + [0, 25]).tolist()
    (tmp_path / "hands.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"hands.json: sample 2: its 2D joints lie 25.0 px from its 3D joints"):
        read_folder(tmp_path)
    data = json.loads(good)
    del data["samples"][0]["K"]
    (tmp_path / "hands.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="hands.json: sample 0 has no 'K'"):
        read_folder(tmp_path)
    data = json.loads(good)
    data["samples"][3]["image"] = "images/missing.png"
    (tmp_path / "hands.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="image not found: .*missing.png"):
        read_folder(tmp_path)
    with pytest.raises(DatasetError, match="holds neither hands.json nor hands.npz"):
        read_folder(tmp_path / "images")


# ------------------------------------------------------------------------------------------- crops
def random_cameras(n: int, seed: int):
    rng = np.random.default_rng(seed)
    joints, _ = hands_in_view(n, seed)
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = rng.uniform(300, 900, n)
    K[:, 1, 1] = K[:, 0, 0] * rng.uniform(0.9, 1.1, n)
    K[:, 0, 1] = rng.uniform(-8, 8, n)  # skew
    K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = rng.uniform(50, 400, n), rng.uniform(50, 300, n), 1.0
    return joints, K, rng


def test_crop_geometry_keeps_labels_consistent():
    joints, K, rng = random_cameras(200, seed=11)
    uv = np.asarray(camera.project(joints, K))
    mirror = rng.random(200) < 0.5
    g = crop_geometry(
        K,
        uv,
        joints,
        uv.mean(1),
        rng.uniform(80, 300, 200),
        128,
        mirror=mirror,
        angle=rng.uniform(-np.pi, np.pi, 200),
        scale=rng.uniform(0.7, 1.3, 200),
        shift=rng.uniform(-0.2, 0.2, (200, 2)),
    )
    np.testing.assert_allclose(np.asarray(camera.project(g.joints, g.K)), g.uv, atol=1e-8)  # re-projection
    camera.check_intrinsics(g.K)  # still pinhole matrices
    np.testing.assert_allclose(g.T @ K @ np.swapaxes(g.Q, 1, 2), g.K, atol=1e-9)
    np.testing.assert_allclose(g.joints[..., 2], joints[..., 2], atol=1e-9)  # depths (hence 2.5D labels) unchanged
    np.testing.assert_allclose(np.linalg.det(g.Q), np.where(mirror, -1.0, 1.0), atol=1e-12)
    right = handkin.HandSkeleton(g.joints[mirror], units="mm", side="right")  # mirrored left hands are right hands
    left = handkin.HandSkeleton(joints[mirror], units="mm", side="left")
    np.testing.assert_allclose(right.joint_angles, left.joint_angles, atol=1e-9)


def test_keyed_uniforms_are_per_sample():
    a = keyed_uniforms(3, 7, np.array([5, 9, 11]), N_UNIFORMS)
    b = keyed_uniforms(3, 7, np.array([11, 5]), N_UNIFORMS)
    np.testing.assert_array_equal(a[[2, 0]], b)  # independent of the batch it is in
    assert not np.allclose(keyed_uniforms(3, 8, np.array([5]), N_UNIFORMS), a[:1])
    big = keyed_uniforms(0, 0, np.arange(20000), 2)
    assert 0 <= big.min() and big.max() < 1 and abs(big.mean() - 0.5) < 0.01


@pytest.fixture(scope="module")
def folder_cache(tmp_path_factory):
    """A folder dataset (4 hands, one left) prepared at 64 px, on disk."""
    root = tmp_path_factory.mktemp("folder")
    joints, K, uv, sides = write_folder(root)
    out = prepare(read_folder(root), root / "cache", image_size=64, pad=1.5, context=1.5)
    return root, out, joints, sides


def test_prepared_crops_match_their_labels(folder_cache):
    root, out, joints, sides = folder_cache
    data = PreparedHands(out)
    assert len(data) == 4 and data.stored_size == 96
    for i in range(4):
        item = data[i]
        assert set(item) == ITEM_KEYS and item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.uint8
        uv = item["uv"].numpy()
        np.testing.assert_allclose(
            np.asarray(camera.project(item["joints"].double().numpy(), item["K"].double().numpy())), uv, atol=1e-3
        )
        np.testing.assert_allclose(blob_centre(item["image"].numpy()), uv[BLOB_JOINT], atol=0.35)
        hand = handkin.HandSkeleton(item["joints"].double().numpy(), units="mm", side="right")
        source = handkin.HandSkeleton(joints[i], units="mm", side=sides[i])
        np.testing.assert_allclose(hand.joint_angles, source.joint_angles, atol=1e-4)
    assert data.array("mirrored").tolist() == [s == "left" for s in sides]


def test_cache_served_at_another_size(folder_cache):
    _, out, _, _ = folder_cache
    with pytest.warns(UserWarning, match="prepared at 64 px and is served at 80 px"):
        data = PreparedHands(out, image_size=80)
    batch = data.batch(np.arange(4))
    assert batch["image"].shape == (4, 3, 80, 80)
    proj = np.asarray(camera.project(batch["joints"].double().numpy(), batch["K"].double().numpy()))
    np.testing.assert_allclose(proj, batch["uv"].numpy(), atol=1e-3)
    for i in range(4):
        np.testing.assert_allclose(blob_centre(batch["image"][i].numpy()), batch["uv"][i, BLOB_JOINT].numpy(), atol=0.4)


@pytest.mark.parametrize("path", ["bilinear", "nearest", "torch"])
def test_augmented_crops_match_their_labels(folder_cache, path):
    _, out, _, _ = folder_cache
    cfg = AugmentConfig(
        brightness=0,
        contrast=0,
        saturation=0,
        colour_gain=0,
        interpolation="nearest" if path == "nearest" else "bilinear",
    )
    data = PreparedHands(out, augment=cfg, seed=4)
    for salt in range(4):
        batch = data.batch(np.arange(4), salt=salt, device="cpu" if path == "torch" else None)
        assert batch["image"].shape == (4, 3, 64, 64)
        proj = np.asarray(camera.project(batch["joints"].double().numpy(), batch["K"].double().numpy()))
        np.testing.assert_allclose(proj, batch["uv"].numpy(), atol=1e-3)
        for i in range(4):
            uv = batch["uv"][i, BLOB_JOINT].numpy()
            if np.all((uv > 6) & (uv < 58)):
                tol = 0.75 if path == "nearest" else 0.4
                np.testing.assert_allclose(blob_centre(batch["image"][i].numpy()), uv, atol=tol)
    plain = PreparedHands(out).batch(np.arange(4))
    for k in ("z_rel", "z_root", "scale", "has_3d", "uv_visible"):
        torch.testing.assert_close(batch[k], plain[k])  # augmentation leaves the depth labels alone


def test_pil_and_torch_warps_agree():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    src = np.asarray([np.asarray(Image.fromarray(s).resize((40, 40), Image.BILINEAR)) for s in src])
    c = 19.5  # rotations about the source centre, which lands at the crop centre
    T = np.stack(
        [
            np.array([[0.9 * np.cos(t), -0.9 * np.sin(t), 0], [0.9 * np.sin(t), 0.9 * np.cos(t), 0], [0, 0, 1]])
            @ np.array([[1, 0, -c], [0, 1, -c], [0, 0, 1]])
            + np.array([[0, 0, 15.5], [0, 0, 15.5], [0, 0, 0]])
            for t in (0.3, -1.2, 2.5)
        ]
    )
    colour = sample_augmentation(AugmentConfig(), rng.random((3, N_UNIFORMS)), src.reshape(3, -1, 3).mean(1)).colour
    a = warp_pil(src, T, 32, colour=colour).astype(int)
    b = warp_torch(torch.from_numpy(src), T, 32, colour=colour).permute(0, 2, 3, 1).numpy().astype(int)
    inner = (slice(None), slice(6, 26), slice(6, 26))  # inside the source for every angle
    assert np.abs(a - b)[inner].max() <= 3  # rounding of PIL's fixed-point bilinear and colour matrix


def nearest_warp_reference(images, T, size):
    """Independent nearest-neighbour warp: every crop pixel (col, row) takes the source pixel at
    round(T⁻¹ (col, row, 1)) (black outside), by plain numpy indexing."""
    A = np.linalg.inv(T)
    r, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    pix = np.stack([c, r, np.ones_like(c)], -1).reshape(-1, 3).astype(float)
    out = np.zeros((len(T), size, size, 3), np.uint8)
    h, w = images.shape[1:3]
    for i in range(len(T)):
        src = pix @ A[i].T
        x, y = np.floor(src[:, 0] + 0.5).astype(int), np.floor(src[:, 1] + 0.5).astype(int)
        ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        flat = out[i].reshape(-1, 3)
        flat[ok] = images[i][y[ok], x[ok]]
    return out


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_batched_warp_matches_the_per_image_path(folder_cache, interpolation):
    """PreparedHands' batch (OpenCV, warp_batch) against PIL's per-image warp and colour matrix (warp_pil) on the
    same draws, and (nearest) against an independent numpy warp; labels unchanged by the warp backend."""
    _, out, _, _ = folder_cache
    data = PreparedHands(out, augment=AugmentConfig(interpolation=interpolation, scale=(0.7, 1.3)), seed=5)
    stored = np.load(out / "images.npy")
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, stored.shape, dtype=np.uint8)  # texture everywhere: every pixel counts
    noisy = np.repeat(np.repeat(noisy[:, ::4, ::4], 4, axis=1), 4, axis=2)[:, : stored.shape[1], : stored.shape[2]]
    noisy = np.ascontiguousarray(noisy)
    data._arrays["images"] = noisy
    idx = np.arange(4)
    for salt in range(8):  # draws are keyed by (seed, salt, row)
        batch = data.batch(idx, salt=salt)
        geom, colour = data.geometry(idx, salt=salt)
        got = batch["image"].permute(0, 2, 3, 1).numpy().astype(int)
        ref = warp_pil(noisy[data.rows[idx]], geom.T, 64, interpolation, colour).astype(int)
        diff = np.abs(got - ref)
        if interpolation == "nearest":
            assert (diff > 1).mean() < 1e-3, (diff > 1).mean()  # only source coordinates on a pixel border differ
            plain = warp_batch(noisy[data.rows[idx]], geom.T, 64, "nearest")
            indep = nearest_warp_reference(noisy[data.rows[idx]], geom.T, 64)
            assert (plain != indep).any(-1).mean() < 1e-3
        else:
            # OpenCV quantises the source position to 1/32 px, PIL's fixed-point bilinear rounds otherwise
            assert np.percentile(diff, 99) <= 3 and diff.mean() < 0.5
        np.testing.assert_allclose(batch["uv"].numpy(), geom.uv, atol=1e-4)
        np.testing.assert_allclose(batch["K"].numpy(), geom.K, rtol=1e-6, atol=1e-4)
        proj = np.asarray(camera.project(batch["joints"].double().numpy(), batch["K"].double().numpy()))
        np.testing.assert_allclose(proj, batch["uv"].numpy(), atol=1e-3)
    with pytest.raises(ValueError, match=r"images must be uint8 \(N, H, W, 3\)"):
        warp_batch(noisy[:2, ..., 0], geom.T[:2], 64)


def test_colour_augmentation_matches_its_matrix(folder_cache):
    _, out, _, _ = folder_cache
    data = PreparedHands(out, augment=AugmentConfig(rotation_deg=0, shift=0, scale=(1, 1)), seed=1)
    geom, colour = data.geometry(np.arange(4), salt=0)
    batch = data.batch(np.arange(4), salt=0)
    plain = PreparedHands(out).batch(np.arange(4))["image"].permute(0, 2, 3, 1).numpy().astype(float)
    expected = np.clip(np.einsum("nij,nhwj->nhwi", colour[..., :3], plain) + colour[:, None, None, :, 3], 0, 255)
    got = batch["image"].permute(0, 2, 3, 1).numpy().astype(float)
    assert np.abs(got - expected)[:, 2:-2, 2:-2].max() <= 2.0


# ------------------------------------------------------------------------------------------- cache
def test_cache_round_trips_exactly(folder_cache, tmp_path):
    root, out, _, _ = folder_cache
    manifest = read_manifest(out)
    assert manifest["count"] == 4 and manifest["layout"] == "NHWC" and manifest["image_size"] == 64
    memory = prepare(read_folder(root), None, image_size=64, pad=1.5, context=1.5)
    for name in ("images", "K", "uv", "uv_visible", "joints", "has_3d", "mirrored", "T", "mean_rgb", "key", "group"):
        stored = np.load(out / f"{name}.npy")
        np.testing.assert_array_equal(stored, memory[name], err_msg=name)
        assert stored.dtype == memory[name].dtype
    disk, ram = PreparedHands(out), PreparedHands(memory)
    for k, v in disk.batch(np.arange(4)).items():
        torch.testing.assert_close(v, ram.batch(np.arange(4))[k])
    images = np.load(out / "images.npy", mmap_mode="r")
    np.testing.assert_array_equal(disk[1]["image"].permute(1, 2, 0).numpy(), images[1, 16:80, 16:80])  # exact crop
    again = prepare(read_folder(root), tmp_path / "again", image_size=64, pad=1.5, context=1.5)
    np.testing.assert_array_equal(np.load(again / "images.npy"), images)  # deterministic


def test_prepare_removes_the_folder_a_killed_prepare_left(tmp_path):
    """Was: every killed ``prepare`` left its (possibly multi-GB) ``.name.*.tmp`` folder behind for ever."""
    write_folder(tmp_path, n=2)
    orphan = tmp_path / ".cache.abc_1234.tmp"
    orphan.mkdir()
    np.save(orphan / "images.npy", np.zeros((4, 8, 8, 3), np.uint8))
    old = time.time() - 60
    os.utime(orphan, (old, old))  # the killed prepare began a minute before this one
    out = prepare(read_folder(tmp_path), tmp_path / "cache", image_size=32)
    assert not orphan.exists() and read_manifest(out)["count"] == 2


def test_prepare_is_atomic_and_names_bad_images(tmp_path):
    write_folder(tmp_path, n=3)
    records = read_folder(tmp_path)
    (tmp_path / "images" / "002.png").write_bytes(b"broken")
    with pytest.raises(DatasetError, match="cannot read image .*002.png"):
        prepare(records, tmp_path / "cache", image_size=32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hands.json", "images"]  # nothing half-written left
    ok = prepare(records.select([0, 1]), tmp_path / "cache", image_size=32)
    with pytest.raises(DatasetError, match="exists already"):
        prepare(records.select([0]), ok, image_size=32)
    assert prepare(records.select([0]), ok, image_size=32, if_exists="keep") == ok and read_manifest(ok)["count"] == 2
    prepare(records.select([0]), ok, image_size=32, if_exists="overwrite", workers=2)
    assert read_manifest(ok)["count"] == 1 and len(list(tmp_path.iterdir())) == 3
    (ok / "uv.npy").write_bytes(np.lib.format.magic(1, 0) + b"junk")
    with pytest.raises(DatasetError, match="cannot read uv.npy"):
        PreparedHands(ok)
    with pytest.raises(DatasetError, match="is not a prepared cache"):
        PreparedHands(tmp_path)


def test_set_epoch_makes_augmentation_reproducible(folder_cache):
    _, out, _, _ = folder_cache
    a, b = PreparedHands(out, augment=True, seed=2), PreparedHands(out, augment=True, seed=2)
    a.set_epoch(3)
    b.set_epoch(3)
    torch.testing.assert_close(a.batch([0, 1, 2])["image"], b.batch([2, 0, 1])["image"][[1, 2, 0]])
    b.set_epoch(4)
    assert not torch.equal(a.batch([0])["uv"], b.batch([0])["uv"])


def test_dataloader_workers_fetch_whole_batches(folder_cache):
    _, out, _, _ = folder_cache
    data = PreparedHands(out, augment=True)
    loader = torch.utils.data.DataLoader(data, batch_size=4, num_workers=2, shuffle=False)
    torch.manual_seed(0)
    first = [b["uv"] for b in loader]
    torch.manual_seed(0)
    second = [b["uv"] for b in loader]
    assert len(first) == 1 and first[0].shape == (4, 21, 2)
    torch.testing.assert_close(first, second)  # the workers' augmentation follows torch's seed
    direct = next(iter(torch.utils.data.DataLoader(data, batch_size=4, num_workers=0)))
    assert set(direct) == ITEM_KEYS and direct["image"].is_contiguous(memory_format=torch.channels_last)
    subset = next(iter(torch.utils.data.DataLoader(torch.utils.data.Subset(data, [3, 1]), batch_size=2)))
    assert subset["image"].shape == (2, 3, 64, 64) and subset["has_3d"].shape == (2,)


@pytest.mark.parametrize("kind", ["prepared", "mix"])
def test_persistent_workers_follow_the_epoch(folder_cache, kind):
    """make_loader's workers persist across epochs and still draw each epoch's augmentation (and mixture): the
    batches equal those fetched directly in this process after set_epoch, also when an epoch is resumed."""
    from torch.utils.data import default_collate

    from handkin_train.loader import EpochSampler, make_loader

    _, out, _, _ = folder_cache

    def dataset():
        if kind == "prepared":
            return PreparedHands(out, augment=True, seed=3)
        return MixedHands([PreparedHands(out, augment=True, seed=3), PreparedHands(out)], size=6, seed=1)

    data, direct = dataset(), dataset()
    sampler = EpochSampler(len(data), seed=0, rank=0, world_size=1)
    loader = make_loader(data, sampler, 2, 2, torch.device("cpu"), drop_last=False)
    pids, seen = set(), []
    for epoch, skip in ((0, 0), (1, 0), (2, 2), (1, 0)):
        sampler.set_epoch(epoch, skip)
        got = list(loader)
        pids.add(tuple(w.pid for w in loader._iterator._workers))
        direct.set_epoch(epoch)
        order = sampler.indices()[skip:]
        assert len(got) == -(-len(order) // 2)
        for j, b in enumerate(got):
            want = default_collate(direct.__getitems__(order[2 * j : 2 * j + 2]))
            for k in ("image", "uv", "K", "joints", "has_3d"):
                torch.testing.assert_close(b[k], want[k], msg=f"epoch {epoch}, batch {j}, {k}")
        seen.append(torch.cat([b["uv"] for b in got]))
    assert len(pids) == 1  # the same worker processes throughout
    assert not torch.equal(seen[0], seen[1]) and torch.equal(seen[1], seen[3])  # per epoch, and replayed exactly
    del loader


def test_augmentation_warped_on_the_device(folder_cache, tmp_path):
    """augment.warp = device: the loader hands over the stored crops and the draws, the trainer's to_device warps
    them (grid_sample); the labels are those of the loader path exactly, the pixels agree, a tiny fit runs."""
    from handkin_train.data.cache import WARP_KEYS
    from handkin_train.loader import to_device

    _, out, _, _ = folder_cache
    here = PreparedHands(out, augment=AugmentConfig(), seed=2)
    there = PreparedHands(out, augment=AugmentConfig(warp="device"), seed=2)
    for salt in range(3):
        a = here.batch(np.arange(4), salt=salt)
        raw = there.batch(np.arange(4), salt=salt)
        assert raw["image"].shape == (4, 3, 96, 96) and set(WARP_KEYS) <= set(raw)
        b = to_device(raw, torch.device("cpu"), channels_last=True)
        assert set(b) == ITEM_KEYS and b["image"].shape == (4, 3, 64, 64) and b["image"].dtype == torch.uint8
        for k in ITEM_KEYS - {"image"}:
            torch.testing.assert_close(a[k], b[k])
        diff = (a["image"].int() - b["image"].int()).abs()
        assert (diff > 2).float().mean() < 0.01 and diff.float().mean() < 0.3
    with pytest.raises(ConfigError, match="warp 'device' does not work inside a mix"):
        mix = {"kind": "mix", "parts": [{"kind": "prepared", "path": str(out), "augment": {"warp": "device"}}]}
        TrainConfig.from_dict({"data": {"train": mix}})
    train = {"kind": "prepared", "path": str(out), "augment": {"warp": "device"}}
    assert_tiny_fit_runs(tmp_path, train, out, batch_size=2)


# ------------------------------------------------------------------------------------------- weak labels, mixing
def test_weak_mask_is_deterministic_and_respects_groups():
    group = np.repeat(np.arange(50), 4)  # four colour versions per sample, as FreiHAND
    has_3d = np.ones(200, bool)
    a = weak_mask(has_3d, group, fraction=0.3, seed=1)
    np.testing.assert_array_equal(a, weak_mask(has_3d, group, fraction=0.3, seed=1))
    assert not np.array_equal(a, weak_mask(has_3d, group, fraction=0.3, seed=2))
    assert a.sum() == 60 and all(len(set(a[group == g])) == 1 for g in range(50))
    kept = [set(group[~weak_mask(has_3d, group, labelled_3d=k, seed=1)]) for k in (1, 5, 14, 27)]
    assert [len(k) for k in kept] == [1, 5, 14, 27] and kept[0] <= kept[1] <= kept[2] <= kept[3]  # nested, §5.6
    assert set(group[~a]) == set(group[~weak_mask(has_3d, group, labelled_3d=35, seed=1)])
    assert weak_mask(has_3d, group, count=7, seed=0).sum() == 28
    has_3d[:20] = False
    assert not weak_mask(has_3d, group, fraction=1.0)[:20].any() and weak_mask(has_3d, group, fraction=1.0)[20:].all()
    with pytest.raises(ValueError, match="only 45 samples"):
        weak_mask(has_3d, group, labelled_3d=46)


def test_mixed_hands_draw_by_ratio(folder_cache):
    _, out, _, _ = folder_cache
    synthetic = SyntheticHands(6, seed=0, config=handkin_train_synthetic_config(64))
    mix = MixedHands([synthetic, PreparedHands(out)], ratios=[1, 3], size=20, seed=0)
    assert mix.counts.tolist() == [5, 15] and len(mix) == 20
    assert np.bincount(mix.local[mix.part == 1], minlength=4).tolist() in (
        [4, 4, 4, 3],
        [4, 4, 3, 4],
        [4, 3, 4, 4],
        [3, 4, 4, 4],
    )
    batch = next(iter(torch.utils.data.DataLoader(mix, batch_size=20)))
    assert set(batch) == ITEM_KEYS and batch["image"].shape == (20, 3, 64, 64)
    single = torch.stack([mix[i]["uv"] for i in range(20)])
    torch.testing.assert_close(batch["uv"], single)  # the batched fetch keeps the order
    before = mix.local.copy()
    mix.set_epoch(1)
    assert not np.array_equal(before, mix.local)


def handkin_train_synthetic_config(size):
    from handkin_train.data import SyntheticConfig

    return SyntheticConfig(image_size=size)


# ------------------------------------------------------------------------------------------- config, engine, CLI
def test_config_keeps_old_files_and_validates_new_kinds(tmp_path):
    old = TrainConfig.from_dict({"data": {"train": {"size": 16, "seed": 0, "weak_fraction": 0.5}}})
    assert old.data.train.kind == "synthetic" and old.data.train.synthetic_size == 16
    assert TrainConfig().data.train.synthetic_size == 2048
    cfg = DatasetConfig(
        kind="mix",
        parts=[
            {"kind": "rhd", "path": "x"},
            {"kind": "freihand", "path": "y", "labelled_3d": 5, "augment": {"rotation_deg": 30}},
        ],
        ratios=[1, 1],
    )
    assert cfg.parts[1].augment_config.rotation_deg == 30 and not cfg.parts[0].augment_config.enabled
    for bad, msg in (
        ({"kind": "freihand"}, "needs path"),
        ({"kind": "mix", "parts": [{"kind": "synthetic"}], "weak_fraction": 0.5}, "on the parts"),
        ({"kind": "prepared", "path": "x", "weak_count": 3, "labelled_3d": 3}, "one of"),
        ({"kind": "prepared", "path": "x", "augment": {"scale": [1.2, 1.1]}}, "scale"),
    ):
        with pytest.raises(ConfigError, match=msg):
            TrainConfig.from_dict({"data": {"train": bad}})


def test_build_dataset_reads_prepares_once_and_selects(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    write_folder(root, n=6)
    cfg = DatasetConfig(kind="folder", path=root, subset=(0.0, 0.5), labelled_3d=1, augment=True, seed=3)
    data = build_dataset(cfg, 32, cache=tmp_path / "cache")
    assert isinstance(data, PreparedHands) and len(data) == 3 and int(data.has_3d.sum()) == 1
    caches = list((tmp_path / "cache").iterdir())
    assert len(caches) == 1 and caches[0].name.startswith("folder_default_32px_")
    stamp = (caches[0] / "manifest.json").stat().st_mtime_ns
    again = build_dataset(cfg.model_copy(update={"subset": (0.5, 1.0), "size": 2}), 32, cache=tmp_path / "cache")
    assert len(again) == 2 and (caches[0] / "manifest.json").stat().st_mtime_ns == stamp  # reused, not re-prepared
    assert set(again.key.tolist()) <= {"3", "4", "5"}
    prepared = build_dataset(DatasetConfig(kind="prepared", path=caches[0]), 32)
    assert len(prepared) == 6 and prepared[0]["image"].shape == (3, 32, 32)
    in_memory = build_dataset(DatasetConfig(kind="folder", path=root, weak_fraction=1.0), 32)
    assert len(in_memory) == 6 and not in_memory.has_3d.any()


def test_cli_prepare(tmp_path, capsys):
    write_folder(tmp_path / "mine", n=3)
    assert (
        cli_main(["prepare", "folder", str(tmp_path / "mine"), "-o", str(tmp_path / "c"), "--image-size", "32", "-q"])
        == 0
    )
    assert "3 hands (3 with 3D labels, 1 left hands mirrored)" in capsys.readouterr().out
    assert read_manifest(tmp_path / "c")["sources"][0]["name"] == "folder"
    assert cli_main(["prepare", "rhd", str(tmp_path / "nowhere"), "-o", str(tmp_path / "d"), "-q"]) == 2
    assert f"handkin-train: error: RHD data not found: {tmp_path / 'nowhere'}" in capsys.readouterr().err


def test_training_runs_on_a_prepared_mix(tmp_path, folder_cache):

    _, out, _, _ = folder_cache
    parts = [
        {"kind": "synthetic", "size": 4},
        {"kind": "prepared", "path": str(out), "augment": True, "weak_fraction": 0.5},
    ]
    assert_tiny_fit_runs(tmp_path, {"kind": "mix", "parts": parts}, out, batch_size=4)


def assert_tiny_fit_runs(tmp_path, train: dict, val_cache, batch_size: int) -> None:
    """One CPU epoch of a ResNet-18 at 64 px on ``train``, validated on the prepared ``val_cache``: two steps,
    finite losses and a finite best metric."""
    config = TrainConfig.from_dict(
        {
            "model": {"backbone": "resnet18", "image_size": 64},
            "data": {
                "train": train,
                "val": {"kind": "prepared", "path": str(val_cache)},
                "batch_size": batch_size,
                "num_workers": 0,
            },
            "optim": {"epochs": 1, "lr": 0.003, "grad_clip": 1.0},
            "runtime": {"device": "cpu"},
            "output": {"dir": str(tmp_path / "run"), "progress": False},
        }
    )
    from handkin_train import Trainer

    result = Trainer(config).fit()
    assert result.step == 2 and np.isfinite(result.losses).all() and np.isfinite(result.best_metric)


# ------------------------------------------------------------------------------------------- evaluation
def test_paper_scores_and_submission(tmp_path):
    gt, K = hands_in_view(40, seed=9)
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 4.0, gt.shape)
    s = paper_scores(pred, gt, K)
    ref = handkin.metrics.evaluate(pred, gt, alignments=("none",), K=K)
    assert s["epe_mm"] == ref["none"].epe_mean and s["uv_px"] == ref.error_2d_px and s["z_mm"] == ref.error_z_mm
    assert s["epe_aligned_mm"] < s["epe_root_mm"] <= s["epe_mm"] * 1.5 and 0 < s["auc"] < s["auc_aligned"] <= 1
    shifted = paper_scores(gt + [0, 0, 30.0], gt, K)
    assert shifted["epe_mm"] == pytest.approx(30.0) and shifted["epe_root_mm"] < 1e-9 and shifted["z_rel_mm"] < 1e-9
    ref_scale = np.linalg.norm(gt[:, 10] - gt[:, 9], axis=-1) / 1000.0
    metres = scale_to_reference(pred / np.linalg.norm(pred[:, 9] - pred[:, 0], axis=-1)[:, None, None], ref_scale)
    np.testing.assert_allclose(np.linalg.norm(metres[:, 10] - metres[:, 9], axis=-1), ref_scale)
    path = write_submission(tmp_path / "pred.zip", pred, units="mm", expected=40)
    xyz, verts = read_submission(path)
    np.testing.assert_allclose(xyz, pred / 1000.0) and verts.shape == (40, 778, 3)
    with pytest.raises(ValueError, match="3960 samples"):
        write_submission(tmp_path / "pred.json", pred)


# ------------------------------------------------------------------------------------------- reader registry
def test_reader_registry_drives_config_cli_and_read_dataset(tmp_path, monkeypatch, capsys):
    """A reader registered with its options model becomes a dataset kind everywhere: read_dataset, DATASETS,
    the config (its options checked when the config is read), the prepared cache and the prepare command."""
    from handkin_train.data import DATASETS, read_dataset, registry
    from handkin_train.data.registry import ReaderOptions, dataset_kinds, get_reader, register_reader

    assert tuple(DATASETS) == ("freihand", "rhd", "ho3d", "interhand", "folder")
    assert dataset_kinds() == ["synthetic", *DATASETS, "prepared", "mix"]
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # registrations end with the test
    seen = {}

    def read_mine(path, flip=False, check_images=True):
        seen.update(flip=flip, check_images=check_images)
        return read_folder(path, check_images=check_images)

    class MineOptions(ReaderOptions):
        flip: bool | None = None

    register_reader("mine", read_mine, MineOptions, description="a test reader")
    with pytest.raises(DatasetError, match="exists already"):
        register_reader("mine", read_mine, MineOptions)
    assert "mine" in DATASETS and get_reader("MINE").option_names == ["check_images", "flip"]
    root = tmp_path / "mine"
    root.mkdir()
    write_folder(root, n=3)
    assert len(read_dataset("mine", root, flip=True, check_images=None)) == 3 and seen == {
        "flip": True,
        "check_images": True,
    }
    with pytest.raises(DatasetError, match=r"the mine reader takes no option split \(it takes check_images, flip\)"):
        read_dataset("mine", root, split="training")
    with pytest.raises(DatasetError, match="flip: Input should be a valid boolean"):
        read_dataset("mine", root, flip="sideways")
    cfg = TrainConfig.from_dict({"data": {"train": {"kind": "mine", "path": str(root), "flip": True}}})
    assert cfg.data.train.reader_options.as_kwargs() == {"flip": True}
    assert TrainConfig.from_dict(cfg.model_dump(mode="json")) == cfg  # the options dump beside the other fields
    assert len(build_dataset(cfg.data.train, 32)) == 3
    with pytest.raises(ConfigError, match=r"data\.train: .*the mine reader takes no option versions"):
        TrainConfig.from_dict({"data": {"train": {"kind": "mine", "path": str(root), "versions": ["gs"]}}})
    out = tmp_path / "c"
    assert (
        cli_main(["prepare", "mine", str(root), "-o", str(out), "--image-size", "32", "-q", "--option", "flip=1"]) == 0
    )
    assert read_manifest(out)["sources"][0] == {**read_manifest(out)["sources"][0], "name": "mine", "flip": "1"}
    capsys.readouterr()


def test_config_checks_reader_options_per_kind():
    ok = DatasetConfig(kind="freihand", path="y", versions=["gs", "hom"], split="training")
    assert ok.reader_options.as_kwargs() == {"split": "training", "versions": "gs,hom"}  # the cache-key spelling
    assert DatasetConfig(kind="rhd", path="x", images="imgs").reader_options.as_kwargs() == {"images": "imgs"}
    assert DatasetConfig().reader_options is None
    # configs saved before the registry (checkpoints) wrote every reader option, None, for every kind
    old = TrainConfig.from_dict(
        {"data": {"train": {"kind": "synthetic", "split": None, "images": None, "versions": None}}}
    )
    assert old.data.train.model_extra == {}
    for bad, msg in (
        ({"kind": "rhd", "path": "x", "versions": ["gs"]}, "the rhd reader takes no option versions"),
        ({"kind": "synthetic", "split": "training"}, "unknown field.* split for kind 'synthetic'"),
        ({"kind": "prepared", "path": "x", "images": "y"}, "unknown field.* images for kind 'prepared'"),
        ({"kind": "nope"}, "unknown dataset kind 'nope'; choose from synthetic, freihand"),
        ({"kind": "rhd", "path": "x", "min_visible": "many"}, "min_visible"),
        ({"kind": "synthetic", "subset": [0, 0.5]}, "subset applies to datasets read from disk"),
    ):
        with pytest.raises(ConfigError, match=msg):
            TrainConfig.from_dict({"data": {"train": bad}})


def test_errors_are_typed_handkin_errors():
    from handkin.errors import HandkinError
    from handkin_train import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), HandkinError), name
    assert issubclass(errors.TrainingDiverged, RuntimeError)
    import handkin_train
    from handkin_train import config, data, model
    from handkin_train.data import readers

    assert config.ConfigError is errors.ConfigError is handkin_train.ConfigError
    assert data.DatasetError is readers.DatasetError is errors.DatasetError
    assert model.CheckpointError is errors.CheckpointError
    with pytest.raises(DatasetError, match="only 2 samples"):
        weak_mask(np.ones(2, bool), labelled_3d=3)
