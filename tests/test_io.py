"""Loading and saving hand sequences: NPY/NPZ, JSON, CSV, C3D and MediaPipe results."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import SHARED_DATA

from handkin import posed_hand
from handkin.errors import FileFormatError, OrderError, ShapeError, UnitsError
from handkin.io import HandSequence, hands_from_result, load, load_mediapipe, save, sequence_from_results, to_csv
from handkin.io.mediapipe import actual_side, geometry_sides
from handkin.orders import available_orders

DATA = SHARED_DATA
VIDEO = DATA / "mediapipe_video_sequence"
shared = pytest.mark.shared_data


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture
def seq() -> HandSequence:
    rng = np.random.default_rng(0)
    angles = np.radians(rng.uniform(-10, 60, size=(12, 15, 2)) * np.array([1, 0.3]))
    hand = posed_hand(angles, units="mm")
    return HandSequence.from_skeleton(hand, fps=25.0, source="test")


# ---------------------------------------------------------------------------------------------- container


def test_sequence_masks_and_reports_bad_frames(seq):
    j = seq.joints.copy()
    j[3, 8] = np.nan  # index_tip missing
    j[7, 0, 1] = np.inf
    bad = HandSequence.from_array(j, units="mm", fps=25)
    assert bad.valid.tolist() == [i not in (3, 7) for i in range(12)]
    assert np.isnan(bad.joints[7, 0]).any()  # inf is stored as missing
    (msg,) = bad.problems()
    assert "2 of 12 frame(s)" in msg and "frames 3, 7" in msg and "index_tip" in msg
    assert len(bad.skeleton()) == 10  # the skeleton holds the valid frames only


def test_sequence_times_and_units(seq):
    assert seq.times[1] == pytest.approx(0.04) and seq.duration == pytest.approx(11 / 25)
    assert HandSequence.from_array(seq.joints, units="mm").time_unit == "frame"
    metres = seq.to_units("m")
    np.testing.assert_allclose(metres.joints * 1000, seq.joints)
    ref = seq.to_units("ref")
    np.testing.assert_allclose(np.linalg.norm(ref.joints[:, 9] - ref.joints[:, 0], axis=-1), 1.0)
    assert seq[2:5].times.tolist() == pytest.approx([0.08, 0.12, 0.16])
    assert seq.mirror().side.value == "left" and np.allclose(seq.mirror().mirror().joints, seq.joints)


def test_wrong_units_are_caught(seq):
    with pytest.raises(UnitsError, match="look like 'mm'"):
        HandSequence.from_array(seq.joints, units="m", source="x.npy")
    with pytest.raises(UnitsError, match="units="):
        HandSequence.from_array(seq.joints, units=None)
    with pytest.raises(ShapeError, match="two hands"):
        HandSequence.from_array(np.zeros((3, 42, 3)), units="mm")


def test_order_is_converted_on_the_way_in(seq):
    rhd = seq.to_order("rhd")
    back = HandSequence.from_array(rhd, units="mm", order="rhd")
    np.testing.assert_array_equal(back.joints, seq.joints)


# ---------------------------------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".npz", ".json", ".csv"])
def test_round_trip_is_exact(seq, tmp_path, suffix):
    j = seq.joints.copy()
    j[4, 12] = np.nan  # a missing joint survives the trip
    s = HandSequence.from_array(j, units="mm", fps=25.0, side="left")
    back = load(save(s, tmp_path / f"hand{suffix}"))
    np.testing.assert_array_equal(back.joints, s.joints)  # exact, NaN where NaN
    np.testing.assert_array_equal(back.times, s.times)
    assert (back.units.value, back.side.value, back.fps) == ("mm", "left", 25.0)


@pytest.mark.parametrize("suffix", [".npz", ".json", ".csv"])
@pytest.mark.parametrize("order", available_orders())
def test_every_order_round_trips_in_every_format(seq, tmp_path, suffix, order):
    """A file saved in any joint order reloads as the same hands: the file's own order is honoured (JSON used
    to be read as MP21 whatever it said, joints off by ~100 mm)."""
    back = load(save(seq, tmp_path / f"h{suffix}", order=order))
    np.testing.assert_array_equal(back.joints, seq.joints)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_a_file_with_an_unknown_order_is_an_error(seq, tmp_path, suffix):
    path = save(seq, tmp_path / f"h{suffix}", order="rhd")
    if suffix == ".json":
        data = json.loads(path.read_text())
        data["order"] = "bogus"
        path.write_text(json.dumps(data))
    else:
        data = dict(np.load(path))
        data["order"] = np.array("bogus")
        np.savez(path, **data)
    with pytest.raises(OrderError, match="bogus"):
        load(path)


def test_npz_in_another_order_and_npy(seq, tmp_path):
    back = load(save(seq, tmp_path / "h.npz", order="interhand"))
    np.testing.assert_array_equal(back.joints, seq.joints)
    np.save(tmp_path / "h.npy", seq.joints)
    with pytest.raises(UnitsError, match="h.npy"):
        load(tmp_path / "h.npy")
    np.testing.assert_array_equal(load(tmp_path / "h.npy", units="mm", fps=25).joints, seq.joints)


def test_npz_key_choice_and_unit_suffix(seq, tmp_path):
    np.savez(tmp_path / "a.npz", hand_mm=seq.joints, other=np.zeros(3))
    assert load(tmp_path / "a.npz").units.value == "mm"  # from the key's suffix
    np.savez(tmp_path / "b.npz", left_mm=seq.joints, right_mm=seq.joints * 1.1)
    with pytest.raises(FileFormatError, match=r"several .*\(left_mm, right_mm\)"):
        load(tmp_path / "b.npz")
    # the same hands in two frames (world and camera coordinates): their angles agree, the first is used
    np.savez(
        tmp_path / "c.npz", world_mm=seq.joints, cam_mm=seq.joints @ np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]])
    )
    assert "'world_mm' is used" in load(tmp_path / "c.npz").problems()[0]
    assert len(load(tmp_path / "b.npz", key="right_mm")) == 12
    with pytest.raises(FileFormatError, match="no array 'nope'"):
        load(tmp_path / "b.npz", key="nope")


def test_csv_columns_any_order_and_clear_errors(seq, tmp_path):
    text = to_csv(seq)
    lines = text.splitlines()
    assert lines[0] == "# units: mm" and lines[3].startswith("frame,time,wrist_x,wrist_y,wrist_z,thumb_cmc_x")
    # reorder the columns and use the 'pinky' alias: still read correctly
    header = lines[3].split(",")
    rows = [line.split(",") for line in lines[4:]]
    perm = list(reversed(range(len(header))))
    renamed = [h.replace("little", "pinky") for h in header]
    out = "\n".join(lines[:3] + [",".join(renamed[i] for i in perm)] + [",".join(r[i] for i in perm) for r in rows])
    (tmp_path / "r.csv").write_text(out)
    np.testing.assert_array_equal(load(tmp_path / "r.csv").joints, seq.joints)
    # a missing column is named
    dropped = "\n".join(
        lines[:3] + [",".join(h for h in header if h != "index_tip_y")] + [",".join(r[:27] + r[28:]) for r in rows]
    )
    (tmp_path / "d.csv").write_text(dropped)
    with pytest.raises(FileFormatError, match=r"d\.csv lacks the column\(s\) index_tip_y"):
        load(tmp_path / "d.csv")
    # a bad cell is named by row and column
    rows[2][10] = "oops"
    (tmp_path / "b.csv").write_text("\n".join(lines[:4] + [",".join(r) for r in rows]))
    with pytest.raises(FileFormatError, match="data row 3, column 'thumb_mcp_z'"):
        load(tmp_path / "b.csv")
    # no units
    (tmp_path / "u.csv").write_text("\n".join(lines[3:]))
    with pytest.raises(FileFormatError, match="units"):
        load(tmp_path / "u.csv")
    assert load(tmp_path / "u.csv", units="mm").fps == pytest.approx(25.0)  # no '# fps:' line: the time column's


def test_empty_cells_are_masked(seq, tmp_path):
    lines = to_csv(seq).splitlines()
    cells = lines[6].split(",")
    cells[4] = ""  # frame 2, wrist_z
    lines[6] = ",".join(cells)
    (tmp_path / "g.csv").write_text("\n".join(lines))
    back = load(tmp_path / "g.csv")
    assert back.valid.tolist().count(False) == 1 and not back.valid[2]
    assert "wrist" in back.problems()[0]


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="cannot tell the format"):
        load(tmp_path / "x.txt")
    with pytest.raises(FileFormatError, match="no such file"):
        load(tmp_path / "x.csv")
    (tmp_path / "j.json").write_text('{"hello": 1}')
    with pytest.raises(FileFormatError, match="not a handkin sequence"):
        load(tmp_path / "j.json")


# ---------------------------------------------------------------------------------------------- damaged files


def _mediapipe_json(seq, **fields):
    """A MediaPipe JSON dump of ``seq`` (world landmarks in metres), one entry per frame, ``fields`` overriding."""
    world = seq.to_units("m").joints
    return {
        f"img{i}": {"landmarks": (0.5 + world[i]).tolist(), "world_landmarks": world[i].tolist()} | fields
        for i in range(len(seq))
    }


@pytest.mark.parametrize("mediapipe", [False, True])
def test_truncated_npz_is_a_file_format_error(seq, tmp_path, mediapipe):
    path = tmp_path / "t.npz"
    if mediapipe:
        np.savez(path, world_landmarks_m=seq.to_units("m").joints, handedness=np.array(["Left"] * len(seq)))
    else:
        save(seq, path)
    raw = path.read_bytes()
    for keep in (0, 10, len(raw) // 2, len(raw) - 30):  # before: zipfile.BadZipFile (or EOFError, zlib.error)
        path.write_bytes(raw[:keep])
        with pytest.raises(FileFormatError, match=f"cannot read {path} as an NPZ archive"):
            load(path)


def test_a_damaged_npy_is_a_file_format_error(seq, tmp_path):
    path = save(seq, tmp_path / "d.npy")
    raw = path.read_bytes()
    unbalanced = raw.replace(b"{'descr'", b"{{descr'", 1)  # the header dict garbled: numpy's tokenizer fails
    for damaged in (raw[:70], unbalanced, b"\x93NUMPY\x01\x00"):  # before: tokenize.TokenError for the second
        path.write_bytes(damaged)
        with pytest.raises(FileFormatError, match="as an NPY array"):
            load(path, units="mm")


@pytest.mark.parametrize("fps", ["fast", [30], {"value": 30}, True, 0, -5, "inf"])
@pytest.mark.parametrize("suffix", [".json", ".npz", ".csv"])
def test_a_bad_fps_in_a_file_is_a_file_format_error(seq, tmp_path, suffix, fps):
    path = save(seq, tmp_path / f"f{suffix}")
    if suffix == ".json":
        data = json.loads(path.read_text())
        path.write_text(json.dumps(data | {"fps": fps}))
    elif suffix == ".npz":
        data = dict(np.load(path))
        np.savez(path, **(data | {"fps": np.asarray(fps if not isinstance(fps, dict) else "x")}))
    else:
        path.write_text(path.read_text().replace("# fps: 25.0", f"# fps: {fps}"))
    # before: ValueError / TypeError from float(), or a ShapeError for 0 and -5
    with pytest.raises(FileFormatError, match=rf"fps.* in {path}"):
        load(path)


def test_unknown_fps_in_a_file_stays_unknown(seq, tmp_path):
    path = save(seq, tmp_path / "u.json")
    path.write_text(json.dumps(json.loads(path.read_text()) | {"fps": None, "times": None}))
    assert load(path).fps is None
    path.write_text(json.dumps(json.loads(path.read_text()) | {"times": seq.times.tolist()}))
    assert load(path).fps == pytest.approx(25.0)  # no fps stated: the times' median step gives it
    path = save(seq, tmp_path / "u.csv")
    path.write_text(path.read_text().replace("# fps: 25.0", "# fps: nan"))
    assert load(path).fps == pytest.approx(25.0)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("times", "soon", "'times'"),
        ("times", [[0.1, 0.2], [0.3]], "'times'"),
        ("units", 5, "'units'"),
        ("side", ["right"], "'side'"),
        ("order", {"name": "mp21"}, "'order'"),
        ("joints", [[[0.0, 0.0, 0.0]] * 20 + [[0.0]]], "'joints'"),
        ("joints", [[["a", "b", "c"]] * 21], "'joints'"),
    ],
)
def test_wrong_types_in_a_json_sequence_are_file_format_errors(seq, tmp_path, field, value, match):
    path = save(seq, tmp_path / "w.json")
    path.write_text(json.dumps(json.loads(path.read_text()) | {field: value}))
    with pytest.raises(FileFormatError, match=match):  # before: raw ValueError for times
        load(path)


def test_deeply_nested_json_is_a_file_format_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)  # before: RecursionError
    with pytest.raises(FileFormatError, match="nested too deeply"):
        load(path)
    path.write_text('{"a": {"landmarks": ' + "[" * 100_000 + "]" * 100_000 + "}}")
    with pytest.raises(FileFormatError, match="nested too deeply"):
        load_mediapipe(path)


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"world_landmarks": [[0.1, 0.2, 0.3]] * 20 + [[0.1, 0.2]]}, "'world_landmarks' of entry 'img0'"),  # ragged
        ({"world_landmarks": [["a", "b", "c"]] * 21}, "'world_landmarks' of entry 'img0'"),
        ({"handedness": 5}, "entry 'img0': 'handedness'"),
        ({"handedness": [[7, 0.9]]}, "entry 'img0': 'handedness'"),
    ],
)
def test_ragged_or_string_mediapipe_json_fields_name_the_entry(seq, tmp_path, fields, match):
    path = tmp_path / "mp.json"
    path.write_text(json.dumps(_mediapipe_json(seq, **fields)))
    with pytest.raises(FileFormatError, match=match):  # before: ValueError, TypeError, KeyError
        load(path)


def test_mediapipe_json_image_size_and_entries_are_checked(seq, tmp_path):
    path = tmp_path / "mp.json"
    path.write_text(json.dumps(_mediapipe_json(seq, image_size="big")))
    with pytest.raises(FileFormatError, match="entry 'img0': 'image_size'"):  # before: ValueError
        load_mediapipe(path, "image")
    with pytest.raises(ShapeError, match="image_size"):
        load_mediapipe(path.with_name("x.json"), "image", image_size=("a", 3))
    path.write_text(json.dumps({"img0": [1, 2]}))
    with pytest.raises(FileFormatError, match="entry 'img0' is list"):  # before: AttributeError
        load_mediapipe(path)
    # the labels MediaPipe writes in its several layouts are all read
    for label in ("Left", ["Left"], [["Left", 0.9]], [{"category_name": "Left", "score": 0.9}]):
        path.write_text(json.dumps(_mediapipe_json(seq, handedness=label)))
        assert load_mediapipe(path, handedness="label").side.value == "right"  # un-mirrored: swapped


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"world_landmarks_m": np.full((2, 21, 3), "a")}, "'world_landmarks_m' .* not numeric"),
        ({"handedness": np.array(["Left"] * 3)}, "'handedness' .* one label per frame"),
        ({"fps": np.array("fast")}, "'fps'"),
        ({"image_size": np.array(["a", "b"])}, "'image_size'"),
    ],
)
def test_bad_mediapipe_npz_fields_name_the_field(seq, tmp_path, arrays, match):
    path = tmp_path / "mp.npz"
    base = {"world_landmarks_m": seq.to_units("m").joints[:2], "landmarks_norm": 0.5 + seq.to_units("m").joints[:2]}
    np.savez(path, **(base | arrays))
    with pytest.raises(FileFormatError, match=match):  # before: ValueError, or a ValueError from zip(strict=True)
        load_mediapipe(path, "image" if "image_size" in arrays else "world")


def test_sequence_from_ragged_or_text_values_is_a_shape_error():
    with pytest.raises(ShapeError, match="joints must be an array of real numbers"):  # before: ValueError
        HandSequence.from_array([[0.0, 0.0, 0.0]] * 20 + [[0.0]], units="mm")
    with pytest.raises(ShapeError, match="joints must be an array of real numbers"):  # before: silently real part
        HandSequence.from_array(np.ones((1, 21, 3), complex), units="ref")
    with pytest.raises(ShapeError, match="fps must be a positive number"):  # before: ValueError
        HandSequence.from_array(np.zeros((1, 21, 3)), units="mm", fps="fast")
    with pytest.raises(ShapeError, match="times must be an array of real numbers"):
        HandSequence.from_array(np.zeros((1, 21, 3)), units="mm", times=["soon"])


def test_c3d_without_ezc3d_names_the_package(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ezc3d(name, *args, **kwargs):
        if name == "ezc3d":
            raise ImportError("no ezc3d")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ezc3d)
    (tmp_path / "m.c3d").write_bytes(b"\x00" * 16)
    with pytest.raises(ImportError, match="pip install ezc3d"):
        load(tmp_path / "m.c3d")


def test_c3d_markers_round_trip(seq, tmp_path):
    ezc3d = pytest.importorskip("ezc3d")
    c3d = ezc3d.c3d()
    labels = [f"R_{name.upper()}" for name in __import__("handkin").Joint.__members__]
    c3d["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = labels
    c3d["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, 21, len(seq)))
    pts[:3] = seq.joints.transpose(2, 1, 0)
    pts[:3, 8, 4] = np.nan  # a gap: index_tip lost in frame 4
    c3d["data"]["points"] = pts
    c3d.write(str(tmp_path / "m.c3d"))
    with pytest.raises(FileFormatError, match="no marker for wrist"):
        load(tmp_path / "m.c3d")
    markers = {name: f"R_{name.upper()}" for name in __import__("handkin").Joint.__members__}
    back = load(tmp_path / "m.c3d", markers=markers)
    assert back.valid.tolist() == [i != 4 for i in range(len(seq))] and "index_tip" in back.problems()[0]
    np.testing.assert_allclose(back.joints[back.valid], seq.joints[back.valid], atol=1e-3)
    assert back.fps == 100.0 and back.units.value == "mm"


# ---------------------------------------------------------------------------------------------- MediaPipe


def _lm(arr):
    return [SimpleNamespace(x=float(x), y=float(y), z=float(z)) for x, y, z in arr]


def test_tasks_and_legacy_results(seq):
    world = seq.to_units("m").joints[0]
    image = np.c_[world[:, :2] * 3 + 0.5, world[:, 2]]
    tasks = SimpleNamespace(
        hand_landmarks=[_lm(image)],
        hand_world_landmarks=[_lm(world)],
        handedness=[[SimpleNamespace(category_name="Left", score=0.97)]],
    )
    (hand,) = hands_from_result(tasks)
    np.testing.assert_allclose(hand.joints, world)
    assert (hand.label, hand.side, hand.score) == ("Left", "right", 0.97)  # un-mirrored photo: label swapped
    assert hands_from_result(tasks, mirrored=True)[0].side == "left"
    (img,) = hands_from_result(tasks, "image", image_size=(640, 480))
    np.testing.assert_allclose(img.joints[:, 1], image[:, 1] * 480)
    legacy = SimpleNamespace(
        multi_hand_landmarks=[SimpleNamespace(landmark=_lm(image))],
        multi_hand_world_landmarks=[SimpleNamespace(landmark=_lm(world))],
        multi_handedness=[SimpleNamespace(classification=[SimpleNamespace(label="Right", score=0.9)])],
    )
    assert hands_from_result(legacy)[0].side == "left"
    none = SimpleNamespace(hand_landmarks=[], hand_world_landmarks=[], handedness=[])
    s = sequence_from_results([tasks, none, tasks], fps=30)
    assert s.valid.tolist() == [True, False, True] and s.units.value == "m" and s.side.value == "right"
    with pytest.raises(FileFormatError, match="not a MediaPipe hands result"):
        hands_from_result(object())
    assert actual_side(None) == "unknown"
    # a left hand labelled "Left" by a mirrored pipeline: the geometry is used and the frames agree
    mirrored_world = world * np.array([-1, 1, 1])
    left = SimpleNamespace(hand_world_landmarks=[_lm(mirrored_world)], hand_landmarks=[], handedness=[])
    assert sequence_from_results([left, left]).side.value == "left"
    assert sequence_from_results([left], handedness="label").side.value == "right"  # no label: assumed right


@shared
def test_real_mediapipe_video_npz():
    path = needs(VIDEO / "mediapipe0.10.21_on_human_hand_video.npz")
    s = load(path, fps=30)
    assert len(s) == 621 and s.valid.all() and s.units.value == "m"
    assert s.side.value == "right"  # the video shows a right hand; MediaPipe said "Left" on the un-mirrored frames
    assert not any("geometry" in n for n in s.problems())  # label (swapped) and geometry agree
    assert (geometry_sides(s.joints) != "left").all()
    image = load_mediapipe(path, "image")
    assert image.units.value == "ref" and image.valid.all()
    ref = np.linalg.norm(image.joints[:, 9] - image.joints[:, 0], axis=-1)
    np.testing.assert_allclose(ref, 1.0)


@shared
def test_real_sequence_npz_and_parsed_landmarks():
    s = load(needs(VIDEO / "sequence_mp21_mm.npz"))
    assert (len(s), s.fps, s.units.value) == (621, 30.0, "mm")
    p = load(needs(DATA / "mediapipe_expected_landmarks" / "parsed_landmarks.json"))
    assert len(p) == 8 and p.valid.sum() == 6  # two entries have image landmarks only: masked and reported
    assert any("without world landmarks" in n for n in p.problems())
    # MediaPipe labels these hands "Right"; on un-mirrored images the label alone says left hands …
    assert load_mediapipe(p.source, handedness="label").side.value == "left"
    assert load_mediapipe(p.source, handedness="label", mirrored=True).side.value == "right"
    # … but their fingers flex forwards only as right hands: the geometry wins, with a note
    assert p.side.value == "right" and any("read the other way round" in n for n in p.problems())
    assert np.median(np.degrees(p.skeleton().joint_angles)[:, 3:, 0]) > 5
    with pytest.raises(FileFormatError, match="image_size"):
        load_mediapipe(p.source, "image")


@shared
def test_real_gesture_photos_mixed_hands_are_mirrored_to_one_side():
    path = needs(DATA / "gesture_photos" / "mp_results_gesture_images.json")
    s = load(path)
    assert len(s) == 40 and s.valid.sum() == 36
    assert any("mirrored" in n for n in s.problems())
    angles = np.degrees(s.skeleton().joint_angles)
    assert np.isfinite(angles).all() and np.median(angles[:, 3:, 0]) > -20  # fingers flex forwards, not backwards
