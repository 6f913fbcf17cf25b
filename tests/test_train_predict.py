"""``handkin-train predict`` on photos: the hand is found (box, keypoints, detector), cropped as training crops
are, and the results are mapped back into the photo (issue 18 point 3)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from conftest import SHARED_DATA  # noqa: E402
from test_train_engine import tiny_config  # noqa: E402

from handkin import camera  # noqa: E402
from handkin.errors import FileFormatError, ShapeError  # noqa: E402
from handkin_train import Trainer  # noqa: E402
from handkin_train.cli import main as cli_main  # noqa: E402
from handkin_train.data.crops import apply_affine  # noqa: E402
from handkin_train.errors import ConfigError  # noqa: E402
from handkin_train.predict import (  # noqa: E402
    HandLocation,
    crop_hands,
    entry_for,
    locate_hands,
    open_image,
    photo_intrinsics,
    read_keypoints,
    to_photo,
)

PHOTOS = SHARED_DATA / "gesture_photos"
MP_JSON = PHOTOS / "mp_results_gesture_images.json"
TASK = SHARED_DATA / "mediapipe_model" / "hand_landmarker.task"
#: A photo with one hand in the MediaPipe results, one with two, one with none.
ONE = PHOTOS / "call" / "0413d5c5-f5ba-476f-a921-ea5e967692a9.jpg"
NO_HAND = PHOTOS / "call" / "143f8b21-1dc3-4383-bf36-0a54244dfbc0.jpg"
needs_photos = pytest.mark.skipif(not MP_JSON.exists() or not ONE.exists(), reason="shared gesture photos absent")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny checkpoint (64 px crops, resnet18) after one optimiser step."""
    folder = tmp_path_factory.mktemp("predict_run")
    config = tiny_config(folder, data={"train": {"size": 4, "seed": 0}, "val": {"size": 2, "seed": 1}, "batch_size": 2})
    return Trainer(config).fit(max_steps=1).checkpoint


def predict(ckpt, tmp_path, images, *extra) -> dict:
    out = tmp_path / "pred.json"
    assert cli_main(["predict", str(ckpt), *map(str, images), "-o", str(out), *map(str, extra)]) == 0
    return json.loads(out.read_text())


def fails(capsys, ckpt, tmp_path, images, *extra) -> str:
    """The one-line error of a predict run that must fail (exit code 2, no traceback)."""
    args = ["predict", str(ckpt), *map(str, images), "-o", str(tmp_path / "bad.json"), *map(str, extra)]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert "handkin-train: error:" in err and "Traceback" not in err
    return err


def _box_contains(box, points, tol: float = 0.01) -> bool:
    """Whether the finite ``points (N, 2)`` lie in ``box`` (within ``tol`` px: the JSON rounds to 0.01 px)."""
    x0, y0, x1, y1 = np.asarray(box, dtype=np.float64) + [-tol, -tol, tol, tol]
    p = points[np.isfinite(points).all(axis=1)]
    return bool(((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)).all())


# ------------------------------------------------------------------------------------------- the crop maps
@pytest.mark.parametrize("side", ["right", "left"])
def test_crop_maps_keypoints_there_and_back_and_keeps_the_camera(side):
    """Keypoints into the crop (T) and back (to_photo) are the identity to 1e-6 px; the crop's K is T K Qᵀ,
    so the photo's 3D joints projected through the photo K land where the crop's joints project through K_crop."""
    rng = np.random.default_rng(0)
    from PIL import Image

    image = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    K = photo_intrinsics(400, 300, 350.0)
    joints = rng.normal(size=(21, 3)) * 30 + np.array([20.0, -10.0, 500.0])
    uv = camera.project(joints, K)
    box = np.concatenate([uv.min(0), uv.max(0)])
    crops = crop_hands(image, [HandLocation("keypoints", box, side, uv)], K, 64, 1.4)
    uv_crop = apply_affine(crops.T, uv[None])
    joints_crop = joints[None] @ np.swapaxes(crops.Q, 1, 2)
    np.testing.assert_allclose(camera.project(joints_crop, crops.K), uv_crop, atol=1e-6)
    assert uv_crop.min() > 0 and uv_crop.max() < 63  # the hand box × 1.4 fills the crop
    back_uv, back_joints = to_photo(crops.T, crops.Q, uv_crop, joints_crop)
    np.testing.assert_allclose(back_uv[0], uv, atol=1e-6)
    np.testing.assert_allclose(back_joints[0], joints, atol=1e-9)
    assert crops.images.shape == (1, 64, 64, 3) and crops.images.dtype == np.uint8


# ------------------------------------------------------------------------------------------- (a) keypoints
@needs_photos
def test_keypoints_file_crops_the_hand_not_the_centre(ckpt, tmp_path):
    """The MediaPipe results JSON puts the crop on the hand (its keypoints inside, × the run's pad), not on the
    image centre; the 2D output is in the photo's pixels (the crop's mapped back through the crop)."""
    result = predict(ckpt, tmp_path, [ONE], "--keypoints", MP_JSON)
    (hand,) = result["predictions"]
    w, h = hand["image_size"]
    keypoints = read_keypoints(MP_JSON)
    given = entry_for(keypoints, ONE, "mp")[0].uv * np.array([w, h]) - 0.5
    assert hand["source"] == "keypoints" and result["meta"]["pad"] == 1.4
    assert _box_contains(hand["crop_box"], given) and _box_contains(hand["hand_box"], given)
    x0, y0, x1, y1 = hand["hand_box"]
    side = max(x1 - x0, y1 - y0) * 1.4
    np.testing.assert_allclose(np.diff(np.reshape(hand["crop_box"], (2, 2)), axis=0)[0], [side, side], atol=0.02)
    centre_side = min(w, h)
    assert side < centre_side / 3  # not the centre crop
    image = open_image(ONE)
    (loc,) = locate_hands(ONE, image, keypoints=keypoints)
    crops = crop_hands(image, [loc], photo_intrinsics(w, h), 64, 1.4)
    uv, _ = to_photo(crops.T, crops.Q, np.array([hand["uv_crop_px"]]), np.zeros((1, 21, 3)))
    np.testing.assert_allclose(hand["uv_image_px"], uv[0], atol=0.01)
    np.testing.assert_allclose(hand["K_crop"], crops.K[0], atol=1e-4)
    assert np.isfinite(hand["joints_mm"]).all() and np.array(hand["joints_mm"]).shape == (21, 3)


@needs_photos
def test_images_without_a_hand_are_listed_and_two_hands_give_two_predictions(ckpt, tmp_path, capsys):
    data = json.loads(MP_JSON.read_text())
    two = next(PHOTOS.joinpath(*Path(k).parts[-2:]) for k, v in data.items() if len(v["landmarks_norm"]) == 2)
    result = predict(ckpt, tmp_path, [two, NO_HAND], "--keypoints", MP_JSON, "--no-overlay")
    assert [p["hand"] for p in result["predictions"]] == [0, 1]
    assert result["meta"]["images_without_hand"] == [str(NO_HAND)]
    assert "no hand in" in capsys.readouterr().err


def test_plain_pixel_keypoints_with_missing_ones_and_a_side(ckpt, tmp_path):
    from PIL import Image

    photo = tmp_path / "photos" / "p.png"
    photo.parent.mkdir()
    Image.new("RGB", (200, 100), "grey").save(photo)
    uv = np.random.default_rng(1).uniform([120, 30], [160, 80], (21, 2))
    points = uv.tolist()
    points[20] = [None, None]  # a missing keypoint
    (tmp_path / "kp.json").write_text(json.dumps({"photos/p.png": {"keypoints": points, "side": "left"}}))
    (hand,) = predict(ckpt, tmp_path, [photo], "--keypoints", tmp_path / "kp.json")["predictions"]
    assert hand["side"] == "left" and _box_contains(hand["crop_box"], uv[:20])
    np.testing.assert_allclose(hand["hand_box"], np.concatenate([uv[:20].min(0), uv[:20].max(0)]), atol=0.01)


def test_keypoints_beyond_the_image_edge_are_a_hand_at_the_edge(ckpt, tmp_path, capsys):
    """MediaPipe places the keypoints of a hand cut by the image's edge beyond it (a real case: 58 % of the box
    below a 512 px high photo): the crop is made (black outside); keypoints all outside are an error."""
    from PIL import Image

    photo = tmp_path / "edge.png"
    Image.new("RGB", (100, 100), "grey").save(photo)
    uv = np.random.default_rng(2).uniform([30, 80], [60, 130], (21, 2))
    (tmp_path / "kp.json").write_text(json.dumps({"edge.png": uv.tolist()}))
    (hand,) = predict(ckpt, tmp_path, [photo], "--keypoints", tmp_path / "kp.json")["predictions"]
    assert hand["crop_box"][3] > 100
    (tmp_path / "far.json").write_text(json.dumps({"edge.png": (uv + 200).tolist()}))
    assert "lies outside the 100×100 image" in fails(
        capsys, ckpt, tmp_path, [photo], "--keypoints", tmp_path / "far.json"
    )
    (tmp_path / "side.json").write_text(json.dumps({"edge.png": {"keypoints": uv.tolist(), "side": "up"}}))
    assert "'left' or 'right'" in fails(capsys, ckpt, tmp_path, [photo], "--keypoints", tmp_path / "side.json")


def test_entries_match_by_trailing_path_parts():
    mapping = {"raw/a/x.jpg": 1, "raw/b/x.jpg": 2, "raw/b/y.jpg": 3}
    assert entry_for(mapping, "photos/b/x.jpg", "f") == 2
    assert entry_for(mapping, "/somewhere/y.jpg", "f") == 3
    with pytest.raises(FileFormatError, match="several entries"):
        entry_for(mapping, "x.jpg", "f")
    with pytest.raises(FileFormatError, match="no entry for image z.jpg"):
        entry_for(mapping, "z.jpg", "f")


# ------------------------------------------------------------------------------------------- (b) bbox
@needs_photos
def test_bbox_one_for_all_or_a_file_per_image(ckpt, tmp_path):
    box = [320.0, 100.0, 380.0, 180.0]
    (hand,) = predict(ckpt, tmp_path, [ONE], "--bbox", ",".join(map(str, box)))["predictions"]
    assert hand["source"] == "bbox" and hand["hand_box"] == box and hand["side"] == "right"
    np.testing.assert_allclose(hand["crop_box"], [350 - 56, 140 - 56, 350 + 56, 140 + 56])  # 80 px × 1.4
    (tmp_path / "boxes.json").write_text(json.dumps({ONE.name: [box, [10, 10, 60, 60]]}))
    result = predict(ckpt, tmp_path, [ONE], "--bbox", tmp_path / "boxes.json", "--side", "left")
    assert [p["hand_box"] for p in result["predictions"]] == [box, [10, 10, 60, 60]]
    assert {p["side"] for p in result["predictions"]} == {"left"}


# ------------------------------------------------------------------------------------------- (c) overlay
@needs_photos
def test_overlay_is_the_photo_with_the_skeleton_drawn(ckpt, tmp_path):
    from PIL import Image

    result = predict(ckpt, tmp_path, [ONE], "--keypoints", MP_JSON, "--overlay-dir", tmp_path / "ov")
    (hand,) = result["predictions"]
    assert hand["overlay"] == str(tmp_path / "ov" / f"{ONE.stem}.png")
    with Image.open(hand["overlay"]) as img:
        drawn = np.asarray(img.convert("RGB")).astype(int)
    photo = np.asarray(open_image(ONE)).astype(int)
    assert drawn.shape == photo.shape
    changed = np.abs(drawn - photo).sum(axis=-1) > 0
    ys, xs = np.nonzero(changed)
    uv = np.array(hand["uv_image_px"])
    drawn_box = np.concatenate(
        [np.minimum(uv.min(0), hand["crop_box"][:2]), np.maximum(uv.max(0), hand["crop_box"][2:])]
    )
    assert _box_contains(drawn_box + [-4, -4, 4, 4], np.stack([xs, ys], 1))  # nothing drawn elsewhere
    at = np.round(uv).astype(int)
    inside = (at >= 0).all(1) & (at < [photo.shape[1], photo.shape[0]]).all(1)
    assert inside.sum() > 10 and changed[at[inside, 1], at[inside, 0]].mean() > 0.8  # the joints are drawn
    # default folder: beside the JSON
    predict(ckpt, tmp_path, [ONE], "--bbox", "320,100,380,180")
    assert (tmp_path / "pred_overlays" / f"{ONE.stem}.png").exists()


# ------------------------------------------------------------------------------------------- centre crop
def test_without_a_location_the_centre_crop_with_a_warning(ckpt, tmp_path, capsys):
    from PIL import Image

    photo = tmp_path / "wide.png"
    Image.new("RGB", (120, 80), "white").save(photo)
    (hand,) = predict(ckpt, tmp_path, [photo])["predictions"]
    assert "no hand location given" in capsys.readouterr().err
    assert hand["source"] == "centre" and hand["hand_box"] is None
    np.testing.assert_allclose(hand["crop_box"], [19.5, -0.5, 99.5, 79.5])  # the central 80 px square


# ------------------------------------------------------------------------------------------- (d) detector
@needs_photos
@pytest.mark.skipif(not TASK.exists(), reason="no HandLandmarker .task bundle in the shared data")
def test_detector_finds_the_hand(ckpt, tmp_path):
    pytest.importorskip("mediapipe")
    result = predict(ckpt, tmp_path, [ONE], "--detector-model", TASK, "--no-overlay")
    (hand,) = result["predictions"]
    stored = entry_for(read_keypoints(MP_JSON), ONE, "mp")[0].uv * np.array(hand["image_size"])
    assert hand["source"] == "detector"
    assert _box_contains(np.array(hand["crop_box"]) + [-10, -10, 10, 10], stored)  # where the stored run found it


def test_detector_without_mediapipe_says_what_to_install(ckpt, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe → ImportError
    (tmp_path / "x.task").write_bytes(b"")
    from PIL import Image

    Image.new("RGB", (64, 64)).save(tmp_path / "p.png")
    err = fails(capsys, ckpt, tmp_path, [tmp_path / "p.png"], "--detector-model", tmp_path / "x.task")
    assert "pip install 'handkin[mediapipe]'" in err


# ------------------------------------------------------------------------------------------- (e) bad inputs
@needs_photos
def test_bad_inputs_are_one_clear_error(ckpt, tmp_path, capsys):
    assert "image not found: " in fails(capsys, ckpt, tmp_path, [tmp_path / "missing.jpg"])
    err = fails(capsys, ckpt, tmp_path, [ONE], "--bbox", "600,400,700,500")
    assert "outside the 512×384 image" in err and ONE.name in err
    assert "not normalised" in fails(capsys, ckpt, tmp_path, [ONE], "--bbox", "0.1,0.1,0.5,0.5")
    assert "x1 > x0" in fails(capsys, ckpt, tmp_path, [ONE], "--bbox", "300,100,200,180")
    (tmp_path / "other.json").write_text(json.dumps({"elsewhere.jpg": [[1.0, 2.0]] * 21}))
    err = fails(capsys, ckpt, tmp_path, [ONE], "--keypoints", tmp_path / "other.json")
    assert f"has no entry for image {ONE}" in err and "other.json" in err
    (tmp_path / "short.json").write_text(json.dumps({ONE.name: [[1.0, 2.0]] * 5}))
    assert "shape (1, 5, 2)" in fails(capsys, ckpt, tmp_path, [ONE], "--keypoints", tmp_path / "short.json")
    assert "no such file" in fails(capsys, ckpt, tmp_path, [ONE], "--keypoints", tmp_path / "none.json")
    assert "one of --bbox" in fails(capsys, ckpt, tmp_path, [ONE], "--bbox", "1,2,3,4", "--keypoints", MP_JSON)
    with pytest.raises(ShapeError, match="outside"):
        locate_hands("p.png", open_image(ONE), boxes=np.array([-500.0, -500, -400, -400]))
    with pytest.raises(ConfigError, match="--focal"):
        photo_intrinsics(10, 10, -1.0)
