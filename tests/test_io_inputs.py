"""Inputs users have (issue 19): time columns, MediaPipe-named CSVs with any separator, MediaPipe results as
dicts/JSON, C3D marker mapping files, and videos through MediaPipe's hand landmarker (a fake one everywhere, the
real one when mediapipe and the shared data are present)."""

import builtins
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import SHARED_DATA

from handkin import cli
from handkin.demo import demo_sequence
from handkin.errors import FileFormatError
from handkin.io import csv_columns, hands_from_result, load, read_markers
from handkin.io import video as hvideo

VIDEO_DIR = SHARED_DATA / "mediapipe_video_sequence"
VIDEO = VIDEO_DIR / "human_hand_video.mp4"
STORED = VIDEO_DIR / "mediapipe0.10.21_on_human_hand_video.npz"
MODEL = SHARED_DATA / "mediapipe_model" / "hand_landmarker.task"
MP_NAMES = ["WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP"] + [
    f"{f}_{p}" for f in ("INDEX_FINGER", "MIDDLE_FINGER", "RING_FINGER", "PINKY") for p in ("MCP", "PIP", "DIP", "TIP")
]


@pytest.fixture(scope="module")
def hands() -> np.ndarray:
    """40 frames of a moving right hand, mm."""
    return demo_sequence(units="mm").joints[:40]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], sep: str = ",", meta: str = "") -> Path:
    path.write_text(meta + "\n".join(sep.join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- time columns


@pytest.mark.parametrize(
    "name, scale, unit_option, guessed",
    [("time", 1.0, None, True), ("time_s", 1.0, None, False), ("time_ms", 1e3, None, False),
     ("timestamp_us", 1e6, None, False), ("t", 1e3, None, True), ("timestamp", 1e3, "ms", False)],
)  # fmt: skip
def test_a_csv_time_column_gives_seconds_and_the_fps(hands, tmp_path, name, scale, unit_option, guessed):
    t = 5.0 + np.arange(len(hands)) / 40.0  # 40 fps, not starting at 0
    rows = [[repr(float(t[i] * scale)), *map(repr, hands[i].ravel().tolist())] for i in range(len(hands))]
    path = _write_csv(tmp_path / "rec.csv", [name, *csv_columns()], rows)
    seq = load(path, units="mm", time_unit=unit_option)
    np.testing.assert_allclose(seq.times, t, rtol=1e-12)
    assert seq.fps == pytest.approx(40.0) and seq.time_unit == "s"
    assert any("does not state its unit" in n for n in seq.problems()) == guessed
    assert not any("unusual" in n for n in seq.problems())
    if unit_option:  # a wrong unit given: obeyed, with a note on the rate it implies
        wrong = load(path, units="mm", time_unit="us")
        assert wrong.fps == pytest.approx(40e3) and any("unusual rate" in n for n in wrong.problems())


def test_a_given_fps_that_disagrees_with_the_timestamps_yields_to_them(hands, tmp_path):
    t = np.arange(len(hands)) / 30.0
    rows = [[repr(float(t[i])), *map(repr, hands[i].ravel().tolist())] for i in range(len(hands))]
    path = _write_csv(tmp_path / "rec.csv", ["time_s", *csv_columns()], rows)
    seq = load(path, units="mm", fps=25)
    assert seq.fps == pytest.approx(30.0)
    (note,) = [n for n in seq.problems() if "fps 25" in n]
    assert "timestamps are used" in note
    assert load(path, units="mm", fps=30.1).fps == 30.1  # within 1 %: the given fps stays, no note
    assert not load(path, units="mm", fps=30.1).problems()


def test_time_columns_that_cannot_be_read_are_one_error(hands, tmp_path):
    rows = [[str(v), *map(repr, hands[0].ravel().tolist())] for v in (0.0, 0.1, 0.1)]
    with pytest.raises(FileFormatError, match="does not increase at data row 3"):
        load(_write_csv(tmp_path / "a.csv", ["time", *csv_columns()], rows), units="mm")
    rows = [[str(v), *map(repr, hands[0].ravel().tolist()), str(v)] for v in (0.0, 0.1)]
    with pytest.raises(FileFormatError, match="several time columns"):
        load(_write_csv(tmp_path / "b.csv", ["time", *csv_columns(), "t"], rows), units="mm")


def test_handkin_csv_and_json_round_trips_keep_their_times(tmp_path):
    from handkin.io import save

    seq = demo_sequence(units="mm")[:20]
    unknown = type(seq)(seq.joints, seq.units, None, source="x")  # fps unknown: 'time' holds frame numbers
    for s in (seq, unknown):
        for suffix in (".csv", ".json"):
            back = load(save(s, tmp_path / f"s{suffix}"))
            assert back.fps == s.fps and np.array_equal(back.times, s.times) and not back.problems()


def test_a_json_sequence_with_a_time_field_in_ms(tmp_path, hands):
    data = {"units": "mm", "joints": hands.tolist(), "time_ms": (np.arange(len(hands)) * 10.0).tolist()}
    (tmp_path / "s.json").write_text(json.dumps(data))
    seq = load(tmp_path / "s.json")
    assert seq.fps == pytest.approx(100.0) and seq.times[1] == pytest.approx(0.01)


# ---------------------------------------------------------------------------------------------- CSV names


@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize(
    "style",
    [lambda n, a: f"{n}_{a}", lambda n, a: f"{n.lower()}_{a}", lambda n, a: f"{a}_{n}", lambda n, a: f"{n}.{a}"],
)
def test_csvs_with_mediapipe_names_and_any_separator_load(hands, tmp_path, sep, style):
    header = ["frame", "time_ms", *(style(n, a) for n in MP_NAMES for a in "xyz")]
    comma = sep != ","  # European CSVs: decimal commas with ';' or tab
    fmt = (lambda v: f"{v:.6f}".replace(".", ",")) if comma else (lambda v: f"{v:.6f}")
    rows = [[str(i), fmt(i * 1000 / 30), *(fmt(v / 1000) for v in hands[i].ravel())] for i in range(len(hands))]
    seq = load(_write_csv(tmp_path / "mp.csv", header, rows, sep, meta="# units: m\n"))
    np.testing.assert_allclose(seq.joints, hands / 1000, atol=1e-6)
    assert seq.fps == pytest.approx(30.0, rel=1e-4) and seq.units.value == "m"


def test_an_unreadable_csv_header_names_the_separator_and_both_naming_styles(tmp_path):
    path = _write_csv(tmp_path / "x.csv", ["a", "b", "c"], [["1", "2", "3"]], ";")
    with pytest.raises(FileFormatError, match=r"';' as separator.*INDEX_FINGER_TIP_x"):
        load(path, units="mm")


# ---------------------------------------------------------------------------------------------- MediaPipe dicts


def _lm(arr: np.ndarray) -> list[dict]:
    return [{"x": float(x), "y": float(y), "z": float(z), "visibility": None, "presence": None} for x, y, z in arr]


def _result(world_m, image_norm=None, label="Left", score=0.97) -> dict:
    """A MediaPipe HandLandmarkerResult as ``dataclasses.asdict`` gives it (``None`` → no hand)."""
    if world_m is None:
        return {"handedness": [], "hand_landmarks": [], "hand_world_landmarks": []}
    image = image_norm if image_norm is not None else np.c_[world_m[:, :2] * 2 + 0.5, world_m[:, 2]]
    category = {"index": 0, "score": score, "display_name": label, "category_name": label}
    return {"handedness": [[category]], "hand_landmarks": [_lm(image)], "hand_world_landmarks": [_lm(world_m)]}


def test_mediapipe_results_as_dicts_and_json_load(hands, tmp_path):
    world = (hands - hands[:, 9:10]) / 1000
    (hand,) = hands_from_result(_result(world[0]))
    np.testing.assert_allclose(hand.joints, world[0])
    assert (hand.label, hand.side, hand.score) == ("Left", "right", 0.97)
    frames = [_result(w) for w in world]
    frames[3] = _result(None)
    for i, f in enumerate(frames):
        f["timestamp_ms"] = i * 40
    layouts = {
        "list": frames,
        "wrapped": {"fps": 25, "frames": frames},
        "named": {f"img{i}.png": f for i, f in enumerate(frames)},
    }
    for name, data in layouts.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        seq = load(tmp_path / f"{name}.json")
        assert len(seq) == len(world) and seq.valid.tolist() == [i != 3 for i in range(len(world))], name
        assert seq.units.value == "m" and seq.side.value == "right" and seq.fps == pytest.approx(25.0), name
        np.testing.assert_allclose(seq.times[:3], [0, 0.04, 0.08])
    (tmp_path / "one.json").write_text(json.dumps(_result(world[0])))
    assert len(load(tmp_path / "one.json")) == 1


def test_a_dict_that_is_not_a_mediapipe_result_is_one_error(hands):
    with pytest.raises(FileFormatError, match="'landmarks', 'score'.*hand_landmarks"):
        hands_from_result({"landmarks": [], "score": 1})
    bad = _result(hands[0] / 1000)
    bad["hand_world_landmarks"] = [bad["hand_world_landmarks"][0][:20]]
    with pytest.raises(FileFormatError, match="21 landmarks"):
        hands_from_result(bad)


# ---------------------------------------------------------------------------------------------- C3D markers


def test_marker_mapping_files(tmp_path):
    labels = {j: f"R_{j.upper()}" for j in (c[:-2] for c in csv_columns()[::3])}
    (tmp_path / "m.json").write_text(json.dumps(labels))
    (tmp_path / "r.json").write_text(json.dumps({v: k for k, v in labels.items()}))  # label → joint
    (tmp_path / "m.csv").write_text("# lab markers\njoint;label\n" + "".join(f"{k};{v}\n" for k, v in labels.items()))
    (tmp_path / "mp.csv").write_text("INDEX_FINGER_TIP,RIF3\nwrist,RWRA\n")
    for name in ("m.json", "r.json", "m.csv"):
        assert read_markers(tmp_path / name) == labels, name
    assert read_markers(tmp_path / "mp.csv") == {"index_tip": "RIF3", "wrist": "RWRA"}
    bad = {"nose.csv": "nose,RNOSE\n", "twice.csv": "wrist,A\nindex_tip,a\n", "three.csv": "wrist,A,B\n"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(FileFormatError, match="'nose' is not a joint name"):
        read_markers(tmp_path / "nose.csv")
    with pytest.raises(FileFormatError, match="mapped to several joints"):
        read_markers(tmp_path / "twice.csv")
    with pytest.raises(FileFormatError, match="row 1"):
        read_markers(tmp_path / "three.csv")


class _FakeEzc3d:
    """``ezc3d.c3d(path)`` returning a file with markers R_<JOINT> (one frame gap) at 100 Hz in mm."""

    def __init__(self, hands: np.ndarray) -> None:
        self.hands = hands

    def c3d(self, path: str) -> dict:
        labels = [f"R_{c[:-2].upper()}" for c in csv_columns()[::3]]
        points = np.ones((4, 21, len(self.hands)))
        points[:3] = self.hands.transpose(2, 1, 0)
        residuals = np.zeros((1, 21, len(self.hands)))
        residuals[0, 8, 2] = -1  # index_tip lost in frame 2
        return {
            "parameters": {
                "POINT": {"LABELS": {"value": labels}, "RATE": {"value": [100.0]}, "UNITS": {"value": ["mm"]}}
            },
            "data": {"points": points, "meta_points": {"residuals": residuals}},
        }


def test_cli_analyze_c3d_with_a_markers_file(hands, tmp_path, monkeypatch, capsys):
    (tmp_path / "rec.c3d").write_bytes(b"\0" * 16)
    (tmp_path / "m.csv").write_text("".join(f"{c[:-2]},R_{c[:-2].upper()}\n" for c in csv_columns()[::3]))
    monkeypatch.setitem(sys.modules, "ezc3d", _FakeEzc3d(hands))
    assert cli.main(["analyze", str(tmp_path / "rec.c3d"), "--markers", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert "frames=40, 100 fps" in out and "invalid_frames=1" in out
    assert cli.main(["analyze", str(tmp_path / "rec.c3d")]) == 2  # default labels are the joint names
    assert "no marker for wrist" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ezc3d", None)  # not installed
    assert cli.main(["analyze", str(tmp_path / "rec.c3d"), "--markers", str(tmp_path / "m.csv")]) == 2
    assert "pip install ezc3d" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("nose,RNOSE\n")
    assert cli.main(["analyze", str(tmp_path / "rec.c3d"), "--markers", str(tmp_path / "bad.csv")]) == 2
    assert "'nose' is not a joint name" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- videos


class FakeLandmarker:
    """``detect_for_video(rgb, timestamp_ms)`` answering from stored per-frame results (dicts, as
    ``dataclasses.asdict(HandLandmarkerResult)``); records what it was given."""

    def __init__(self, results: list[dict], fps: float) -> None:
        self.results, self.fps, self.calls, self.closed = results, fps, [], False

    def detect_for_video(self, rgb: np.ndarray, timestamp_ms: int) -> dict:
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
        self.calls.append(timestamp_ms)
        return self.results[int(round(timestamp_ms * self.fps / 1000))]

    def close(self) -> None:
        self.closed = True


def _tiny_video(path: Path, frames: int, fps: float = 30.0, size=(64, 48)) -> Path:
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 5) % 255, dtype=np.uint8))
    writer.release()
    if not path.exists() or hvideo.video_info(path).frames != frames:
        pytest.skip("this OpenCV cannot write an MJPG AVI")
    return path


def _synthetic_results(hands: np.ndarray) -> list[dict]:
    """A right hand labelled "Right" (as MediaPipe ≥ 0.10.22 does on un-mirrored video: wrong for the swap rule),
    no hand in frame 5, and in frames 10–14 also a left hand (mirrored) with a higher score."""
    world = (hands - hands[:, 9:10]) / 1000
    out = [_result(w, label="Right", score=0.9) for w in world]
    out[5] = _result(None)
    for i in range(10, 15):
        left = _result(world[i] * [-1, 1, 1], label="Left", score=0.99)
        for key in ("handedness", "hand_landmarks", "hand_world_landmarks"):
            out[i][key] = left[key] + out[i][key]
    return out


def test_video_to_sequence_with_a_fake_landmarker(hands, tmp_path):
    video = _tiny_video(tmp_path / "clip.avi", len(hands))
    fake = FakeLandmarker(_synthetic_results(hands), 30.0)
    found = hvideo.detect_video(video, landmarker=fake, start=0.2, duration=0.8)
    assert fake.calls == [round(i * 1000 / 30) for i in range(6, 30)] and not fake.closed  # ours to close
    np.testing.assert_allclose(found.times, np.arange(6, 30) / 30)
    assert found.side == "right" and found.hands[4:9].tolist() == [2] * 5 and found.image_size == (64, 48)
    assert any("read the other way round" in n for n in found.notes)
    seq = found.sequence()
    world = (hands - hands[:, 9:10]) / 1000
    np.testing.assert_allclose(seq.joints, world[6:30])  # the right hand followed, the left one left out
    assert seq.fps == 30 and seq.side.value == "right" and seq.valid.all()
    image = found.sequence("image")
    assert image.units.value == "ref"
    np.testing.assert_allclose(found.image_px[0, :, 1], (world[6, :, 1] * 2 + 0.5) * 48)
    whole = hvideo.sequence_from_video(video, landmarker=FakeLandmarker(_synthetic_results(hands), 30.0))
    assert len(whole) == len(hands) and whole.valid.tolist() == [i != 5 for i in range(len(hands))]
    assert any("no hand detected in 1 of 40" in n for n in whole.problems())
    left = hvideo.detect_video(video, landmarker=FakeLandmarker(_synthetic_results(hands), 30.0), side="left")
    assert (
        left.side == "left"
        and left.hands.tolist().count(2) == 5
        and np.isfinite(left.world_m).all(axis=(1, 2)).sum() == 5
    )


def test_cli_analyze_a_video_writes_the_report(hands, tmp_path, monkeypatch, capsys):
    video = _tiny_video(tmp_path / "clip.avi", len(hands))
    fakes = []

    def fake_landmarker(model, **kwargs):
        assert Path(model) == tmp_path / "model.task"
        fakes.append(FakeLandmarker(_synthetic_results(hands), 30.0))
        return fakes[-1]

    monkeypatch.setattr(hvideo, "make_landmarker", fake_landmarker)
    out = tmp_path / "report"
    args = [
        "analyze",
        str(video),
        "--detector-model",
        str(tmp_path / "model.task"),
        "--start",
        "0.2",
        "--duration",
        "1",
    ]
    assert cli.main([*args, "--out", str(out), "--no-pictures"]) == 0
    text = capsys.readouterr().out
    assert "frames=30, 30 fps" in text and "side='right'" in text and "deg per s" in text
    assert fakes[0].closed and (out / "report.md").exists() and (out / "analysis.json").exists()
    again = load(out / "landmarks.npz", fps=30)  # the detections, re-readable without the detector
    assert len(again) == 30 and again.side.value == "right"
    np.testing.assert_allclose(again.times, 0.2 + np.arange(30) / 30)  # the clip's own times, not from 0


def test_video_errors_name_the_option_and_the_extra(tmp_path, monkeypatch, capsys):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0" * 32)
    assert cli.main(["analyze", str(video)]) == 2
    assert "--detector-model PATH" in capsys.readouterr().err
    assert cli.main(["analyze", str(video), "--detector-model", str(tmp_path / "none.task")]) == 2
    assert "no hand detector model" in capsys.readouterr().err
    (tmp_path / "model.task").write_bytes(b"\0")
    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name.split(".")[0] == "mediapipe":
            raise ImportError("No module named 'mediapipe'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    with pytest.raises(ImportError, match=r"pip install handkin\[mediapipe\]"):
        hvideo.make_landmarker(tmp_path / "model.task")


def _stored_results(n: int) -> tuple[list[dict], np.lib.npyio.NpzFile]:
    stored = np.load(STORED)
    return [_result(w, norm, str(lab)) for w, norm, lab in zip(
        stored["world_landmarks_m"][:n], stored["landmarks_norm"][:n], stored["handedness"][:n], strict=True
    )], stored  # fmt: skip


@pytest.mark.shared_data
def test_the_shared_video_with_a_landmarker_answering_from_the_stored_results():
    if not (VIDEO.exists() and STORED.exists()):
        pytest.skip("the shared MediaPipe video is absent")
    results, stored = _stored_results(621)
    fake = FakeLandmarker(results, 30.0)
    found = hvideo.detect_video(VIDEO, landmarker=fake, start=1.0, duration=2.0)
    assert len(found.times) == 60 and fake.calls[:2] == [1000, 1033]
    np.testing.assert_allclose(found.world_m, stored["world_landmarks_m"][30:90])
    np.testing.assert_allclose(found.image_px, stored["landmarks_norm"][30:90] * [1280, 720, 1280], rtol=1e-6)
    assert found.side == "right" and (found.hands == 1).all()
    assert not any("other way round" in n for n in found.notes)  # 0.10.21 said "Left": swapped = right = geometry


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_real_landmarker_on_two_seconds_of_the_shared_video():
    pytest.importorskip("mediapipe")
    if not (VIDEO.exists() and STORED.exists() and MODEL.exists()):
        pytest.skip("the shared MediaPipe video or model is absent")
    found = hvideo.detect_video(VIDEO, MODEL, duration=2.0)
    stored = np.load(STORED)
    assert len(found.times) == 60 and (found.hands >= 1).all() and found.side == "right"
    error_mm = np.abs(found.world_m - stored["world_landmarks_m"][:60]).max(axis=(1, 2)) * 1000
    assert np.median(error_mm) < 3 and error_mm[2:].max() < 5  # the first frames settle the tracker
    error_px = np.abs(found.image_px[:, :, :2] - stored["landmarks_norm"][:60, :, :2] * [1280, 720]).max(axis=(1, 2))
    assert np.median(error_px) < 3
    seq = found.sequence()
    assert seq.fps == 30 and seq.side.value == "right" and seq.valid.all()
    np.testing.assert_allclose(seq.times, np.arange(60) / 30)


def test_a_real_result_as_asdict_loads_like_the_result():
    pytest.importorskip("mediapipe")
    import dataclasses

    from mediapipe.tasks.python.components.containers import category, landmark
    from mediapipe.tasks.python.vision.hand_landmarker import HandLandmarkerResult

    pts = np.random.default_rng(0).uniform(size=(21, 3))
    lm = [landmark.Landmark(x=float(x), y=float(y), z=float(z)) for x, y, z in pts]
    nlm = [landmark.NormalizedLandmark(x=float(x), y=float(y), z=float(z)) for x, y, z in pts]
    result = HandLandmarkerResult([[category.Category(score=0.9, category_name="Left")]], [nlm], [lm])
    for form in (result, dataclasses.asdict(result), vars(result), json.loads(json.dumps(dataclasses.asdict(result)))):
        (hand,) = hands_from_result(form)
        np.testing.assert_allclose(hand.joints, pts, rtol=1e-6)
        assert (hand.label, hand.side) == ("Left", "right")


def test_video_reader_checks_its_numbers(tmp_path, hands):
    video = _tiny_video(tmp_path / "clip.avi", 5)
    with pytest.raises(FileFormatError, match="duration must be a positive number"):
        hvideo.detect_video(video, landmarker=SimpleNamespace(), duration=0)
    with pytest.raises(FileFormatError, match="no frame read from 9 s"):
        hvideo.detect_video(video, landmarker=FakeLandmarker([], 30.0), start=9)
